#!/usr/bin/env python3
"""PyTorch eager twins of onnx-vae's image models, with the weights read from the ONNX files themselves, for the
PyTorch comparison of scripts/bench-images.mjs (`pnpm bench:images`).

Models:
  taef2   madebyollin/taesd's tiny autoencoder with the TAEF2 (FLUX.2) weights: TAESD's Encoder/Decoder plus the
          GroupNorm "pool" branch of the mid blocks. The structure is read off the ONNX graph (channels, latent
          channels, which blocks have the pool branch, GroupNorm groups) and every initializer must find its
          parameter, so a graph of another shape fails to load instead of loading wrongly.
  kl-f8   the Encoder/Decoder classes of scripts/train-kl-f8.py (imported, not copied), with channels and blocks per
          level inferred from the ONNX initializers.

GroupNorm's affine parameters are folded by torch.onnx.export into Mul/Add initializers after an
InstanceNormalization; they are matched to the torch GroupNorm modules in execution order (forward hooks on a dry
run), and the group count is checked against the graph's Reshape constant.

Usage (Debian's /usr/bin/python3 with python3-torch, python3-onnx, python3-numpy):
  /usr/bin/python3 scripts/torch_vaes.py check           # versions as one JSON line; exit 3 without torch or onnx
  /usr/bin/python3 scripts/torch_vaes.py serve --threads 2
      JSON lines on stdin, one JSON reply per line on stdout (bench-images.mjs drives it):
      {"cmd": "load", "model": "taef2"|"kl-f8", "key": K, "encoder": PATH, "decoder": PATH}
      {"cmd": "run", "key": K, "part": "encoder"|"decoder", "input": X.npy, "output": Y.npy}
      {"cmd": "time", "key": K, "part": ..., "input": X.npy, "iters": N}  -> {"seconds": [...], "faults": [...]}
          (time.perf_counter around each forward call under torch.inference_mode(), and the minor page faults it
          took; the input is loaded once and cached)
"""

import argparse
import importlib.util
import json
import os
import platform
import re
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import numpy as np
    import onnx
    import torch
    import torch.nn as nn
    from onnx import numpy_helper
except ImportError as error:  # `check` and `serve` answer with one JSON line the driver prints, then exit 3
    print(json.dumps({"ok": False, "error": f"{error} in {sys.executable}; install python3-torch, python3-onnx and "
                                            "python3-numpy (Debian) or torch, onnx and numpy (pip)"}), flush=True)
    sys.exit(3)


# ------------------------------------------------------------------------------------------- ONNX weights
class OnnxWeights:
    """An ONNX graph's initializers, and the GroupNorm affine parameters torch.onnx.export folded into it."""

    def __init__(self, path):
        model = onnx.load(path)
        graph = model.graph
        self.path = path
        self.arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        constants = {}
        for node in graph.node:
            if node.op_type == "Constant":
                constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        consumers = {}
        for node in graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        producer = {out: node for node in graph.node for out in node.output}

        def only_consumer(name, op):
            nodes = consumers.get(name, [])
            if len(nodes) != 1 or nodes[0].op_type != op:
                raise ValueError(f"{path}: expected {name} to feed one {op}, found {[n.op_type for n in nodes]}")
            return nodes[0]

        def initializer_input(node):
            names = [n for n in node.input if n in self.arrays]
            if len(names) != 1:
                raise ValueError(f"{path}: expected {node.op_type} {node.name} to take one initializer")
            return names[0]

        # GroupNorm as exported: Reshape [0, G, -1] -> InstanceNormalization(ones, zeros) -> Reshape -> Mul -> Add.
        self.group_norms = []
        for node in graph.node:
            if node.op_type != "InstanceNormalization":
                continue
            before = producer[node.input[0]]
            shape = constants.get(before.input[1], self.arrays.get(before.input[1])) if before.op_type == "Reshape" else None
            if shape is None or len(shape) != 3:
                raise ValueError(f"{path}: InstanceNormalization {node.name} is not the GroupNorm pattern")
            mul = only_consumer(only_consumer(node.output[0], "Reshape").output[0], "Mul")
            add = only_consumer(mul.output[0], "Add")
            eps = next(a.f for a in node.attribute if a.name == "epsilon")
            self.group_norms.append({"groups": int(shape[1]), "eps": eps, "weight": initializer_input(mul),
                                     "bias": initializer_input(add)})

    def load_into(self, module, dry_run_input):
        """Copies every parameter of `module` from the graph; raises unless parameters and initializers match 1:1."""
        order = []
        hooks = [m.register_forward_hook(lambda m, i, o: order.append(m))
                 for m in module.modules() if isinstance(m, nn.GroupNorm)]
        with torch.inference_mode():
            module(dry_run_input)
        for h in hooks:
            h.remove()
        if len(order) != len(self.group_norms):
            raise ValueError(f"{self.path}: {len(self.group_norms)} GroupNorms in the graph, {len(order)} in the module")
        used = set()
        state = {}
        norm_names = {id(m): name for name, m in module.named_modules()}
        for gn, found in zip(order, self.group_norms):
            name = norm_names[id(gn)]
            if gn.num_groups != found["groups"] or abs(gn.eps - found["eps"]) > 1e-9:
                raise ValueError(f"{self.path}: GroupNorm {name} has {gn.num_groups} groups (eps {gn.eps}), the graph "
                                 f"{found['groups']} (eps {found['eps']})")
            state[f"{name}.weight"] = self.arrays[found["weight"]].reshape(-1)
            state[f"{name}.bias"] = self.arrays[found["bias"]].reshape(-1)
            used.update((found["weight"], found["bias"]))
        for key in module.state_dict():
            if key in state:
                continue
            if key not in self.arrays:
                raise ValueError(f"{self.path}: no initializer for parameter {key}")
            state[key] = self.arrays[key]
            used.add(key)
        unused = sorted(set(self.arrays) - used)
        if unused:
            raise ValueError(f"{self.path}: initializers without a parameter: {unused[:8]}")
        expected = module.state_dict()
        for key, value in state.items():
            if tuple(value.shape) != tuple(expected[key].shape):
                raise ValueError(f"{self.path}: {key} is {tuple(value.shape)} in the graph, "
                                 f"{tuple(expected[key].shape)} in the module")
        module.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()},
                               strict=True)
        return module.eval()


# ------------------------------------------------------------------------------------------- TAEF2 (TAESD)
def conv(n_in, n_out, **kwargs):
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)


class Clamp(nn.Module):
    """TAESD's soft clamp of the latents: 3 tanh(x / 3)."""

    def forward(self, x):
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    """TAESD's residual block: conv-relu-conv-relu-conv + skip, fused ReLU; with `groups`, first the mid blocks'
    pool branch x + conv1x1(relu(GroupNorm(conv1x1(x)))) (4x wider, no biases)."""

    def __init__(self, n_in, n_out, groups=0):
        super().__init__()
        self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()
        self.pool = None
        if groups:
            wide = 4 * n_in
            self.pool = nn.Sequential(nn.Conv2d(n_in, wide, 1, bias=False), nn.GroupNorm(groups, wide), nn.ReLU(),
                                      nn.Conv2d(wide, n_in, 1, bias=False))

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


def taesd_pair(encoder_path, decoder_path):
    """TAESD Encoder and Decoder (nn.Sequential, upstream's layer indices) shaped and loaded from the two graphs."""
    enc_w, dec_w = OnnxWeights(encoder_path), OnnxWeights(decoder_path)
    c = enc_w.arrays["0.weight"].shape[0]
    latent = enc_w.arrays["14.weight"].shape[0]
    image = enc_w.arrays["0.weight"].shape[1]

    def groups(weights, index):
        # the pool branch of layer `index`, if the graph has one: its GroupNorm is the n-th in graph order
        if f"{index}.pool.0.weight" not in weights.arrays:
            return 0
        pools = sorted(int(k.split(".")[0]) for k in weights.arrays if k.endswith(".pool.0.weight"))
        return weights.group_norms[pools.index(index)]["groups"]

    encoder = nn.Sequential(
        conv(image, c), Block(c, c, groups(enc_w, 1)),
        conv(c, c, stride=2, bias=False), *(Block(c, c, groups(enc_w, i)) for i in (3, 4, 5)),
        conv(c, c, stride=2, bias=False), *(Block(c, c, groups(enc_w, i)) for i in (7, 8, 9)),
        conv(c, c, stride=2, bias=False), *(Block(c, c, groups(enc_w, i)) for i in (11, 12, 13)),
        conv(c, latent),
    )
    decoder = nn.Sequential(
        Clamp(), conv(latent, c), nn.ReLU(),
        *(Block(c, c, groups(dec_w, i)) for i in (3, 4, 5)), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        *(Block(c, c, groups(dec_w, i)) for i in (8, 9, 10)), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        *(Block(c, c, groups(dec_w, i)) for i in (13, 14, 15)), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        Block(c, c, groups(dec_w, 18)), conv(c, image),
    )
    enc_w.load_into(encoder, torch.zeros(1, image, 32, 32))
    dec_w.load_into(decoder, torch.zeros(1, latent, 4, 4))
    return encoder, decoder


# ------------------------------------------------------------------------------------------------- kl-f8
def kl_f8_pair(encoder_path, decoder_path):
    """scripts/train-kl-f8.py's Encoder and Decoder, configured from the graphs' initializers and loaded from them."""
    spec = importlib.util.spec_from_file_location("train_kl_f8", os.path.join(HERE, "train-kl-f8.py"))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    enc_w, dec_w = OnnxWeights(encoder_path), OnnxWeights(decoder_path)
    downs = sorted((int(m.group(1)), enc_w.arrays[k].shape[0])
                   for k in enc_w.arrays if (m := re.fullmatch(r"body\.(\d+)\.weight", k)))
    if len(downs) != 3:
        raise ValueError(f"{encoder_path}: expected 3 downsampling convs body.N.weight, found {len(downs)}")
    cfg = {"channels": [int(enc_w.arrays["conv_in.weight"].shape[0])] + [int(c) for _, c in downs],
           "blocks": downs[0][0]}
    encoder, decoder = train.build(cfg)
    enc_w.load_into(encoder, torch.zeros(1, 3, 16, 16))
    dec_w.load_into(decoder, torch.zeros(1, train.LATENT_CHANNELS, 2, 2))
    return encoder, decoder


MODELS = {"taef2": taesd_pair, "kl-f8": kl_f8_pair}


# ----------------------------------------------------------------------------------------------- protocol
def versions():
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "onnx": onnx.__version__, "torchThreads": torch.get_num_threads(),
            "mkldnn": bool(torch.backends.mkldnn.is_available())}


def serve(threads):
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    pairs, inputs = {}, {}

    def tensor(path):
        if path not in inputs:
            inputs[path] = torch.from_numpy(np.load(path).astype(np.float32, copy=False))
        return inputs[path]

    def module(request):
        return pairs[request["key"]][0 if request["part"] == "encoder" else 1]

    reply({"ok": True, "ready": True, **versions(), "threads": torch.get_num_threads()})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            cmd = request["cmd"]
            if cmd == "load":
                t0 = time.perf_counter()
                encoder, decoder = MODELS[request["model"]](request["encoder"], request["decoder"])
                pairs[request["key"]] = (encoder, decoder)
                params = sum(p.numel() for m in (encoder, decoder) for p in m.parameters())
                reply({"ok": True, "parameters": params, "seconds": time.perf_counter() - t0})
            elif cmd == "run":
                with torch.inference_mode():
                    y = module(request)(tensor(request["input"]))
                np.save(request["output"], y.numpy())
                reply({"ok": True, "dims": list(y.shape)})
            elif cmd == "time":
                m, x = module(request), tensor(request["input"])
                seconds, faults = [], []
                with torch.inference_mode():
                    for _ in range(int(request.get("iters", 1))):
                        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                        t0 = time.perf_counter()
                        m(x)
                        seconds.append(time.perf_counter() - t0)
                        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
                reply({"ok": True, "seconds": seconds, "faults": faults})
            else:
                raise ValueError(f"unknown command {cmd!r}; expected load, run or time")
        except Exception as error:  # the driver prints it and skips the part
            reply({"ok": False, "error": f"{type(error).__name__}: {error}"})


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "serve"])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (intra-op), default 2")
    args = parser.parse_args()
    if args.command == "check":
        print(json.dumps({"ok": True, **versions()}))
    else:
        serve(args.threads)


if __name__ == "__main__":
    main()
