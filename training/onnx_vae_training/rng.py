"""Reference implementation of the onnx-vae random number generator `normal-v1` (see docs/rng.md).

    PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.rng [SEED] [COUNT]   # prints the first draws

SplitMix64 seeding -> xoshiro128** (32-bit) -> 53-bit uniform doubles -> Box-Muller standard normals (float64),
served as a stream: a request for k values takes the next k, and a half-used pair carries over.

    >>> from onnx_vae_training.rng import NormalV1
    >>> rng = NormalV1(0)
    >>> first = rng.normals(3)   # list of 3 Python floats (float64)
"""

import math

__all__ = ["NormalV1"]

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
TWO_PI = 2.0 * math.pi


def _rotl32(x, k):
    return ((x << k) | (x >> (32 - k))) & MASK32


class NormalV1:
    """Seeded standard-normal stream, identical across the onnx-vae runtimes."""

    def __init__(self, seed):
        seed = int(seed)
        if seed < 0 or seed >= 2 ** 53:
            raise ValueError("seed must be an integer with 0 <= seed < 2**53")
        self._sm = seed & MASK64
        a = self._next64()
        b = self._next64()
        self._s = [a & MASK32, a >> 32, b & MASK32, b >> 32]
        self._spare = None  # second value of a Box-Muller pair not yet handed out

    # SplitMix64 (seeding only)
    def _next64(self):
        self._sm = (self._sm + 0x9E3779B97F4A7C15) & MASK64
        z = self._sm
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    # xoshiro128**
    def next32(self):
        s = self._s
        result = (_rotl32((s[1] * 5) & MASK32, 7) * 9) & MASK32
        t = (s[1] << 9) & MASK32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl32(s[3], 11)
        return result

    def uniform(self):
        """Uniform double in [0, 1) with 53 random bits."""
        a = self.next32() >> 5  # 27 bits
        b = self.next32() >> 6  # 26 bits
        return (a * 67108864 + b) / 9007199254740992.0  # (a * 2^26 + b) / 2^53

    def _pair(self):
        u1 = 1.0 - self.uniform()  # (0, 1]
        u2 = self.uniform()
        r = math.sqrt(-2.0 * math.log(u1))
        theta = TWO_PI * u2
        return r * math.cos(theta), r * math.sin(theta)

    def normals(self, k):
        """The next k standard normals of the stream, as a list of float64 values."""
        k = int(k)
        if k < 0:
            raise ValueError("k must be >= 0")
        out = []
        if k > 0 and self._spare is not None:
            out.append(self._spare)
            self._spare = None
        while len(out) < k:
            n0, n1 = self._pair()
            out.append(n0)
            if len(out) < k:
                out.append(n1)
            else:
                self._spare = n1
        return out


if __name__ == "__main__":
    import sys

    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for v in NormalV1(seed).normals(count):
        print(repr(v))
