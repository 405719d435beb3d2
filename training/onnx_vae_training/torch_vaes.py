"""PyTorch eager twins of onnx-vae's image models, with the weights read from the ONNX files themselves, for the
PyTorch comparison of bench/images.mjs (`pnpm bench:images`).

Models (built and loaded from the graphs by onnx_weights.OnnxWeights, which refuses a graph of another shape):
  taef2   models.taesd: madebyollin/taesd's tiny autoencoder with the TAEF2 (FLUX.2) weights
  kl-f8   models.kl_f8: the classes train_kl_f8 trains, with channels and blocks per level read off the initializers

Usage (from the repository root; Debian's /usr/bin/python3 with python3-torch, python3-onnx, python3-numpy):
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.torch_vaes check   # versions as one JSON line; exit 3
                                                                                 # without torch or onnx
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.torch_vaes serve --threads 2
      JSON lines on stdin, one JSON reply per line on stdout (bench-images.mjs drives it):
      {"cmd": "load", "model": "taef2"|"kl-f8", "key": K, "encoder": PATH, "decoder": PATH}
      {"cmd": "run", "key": K, "part": "encoder"|"decoder", "input": X.npy, "output": Y.npy}
      {"cmd": "time", "key": K, "part": ..., "input": X.npy, "iters": N}  -> {"seconds": [...], "faults": [...]}
          (time.perf_counter around each forward call under torch.inference_mode(), and the minor page faults it
          took; the input is loaded once and cached)
"""

import argparse
import json
import platform
import resource
import sys
import time

try:
    import numpy as np
    import onnx
    import torch
except ImportError as error:  # `check` and `serve` answer with one JSON line the driver prints, then exit 3
    print(json.dumps({"ok": False, "error": f"{error} in {sys.executable}; install python3-torch, python3-onnx and "
                                            "python3-numpy (Debian) or torch, onnx and numpy (pip)"}), flush=True)
    sys.exit(3)

from .models import count_parameters, kl_f8, taesd

MODELS = {"taef2": taesd.pair_from_onnx, "kl-f8": kl_f8.pair_from_onnx}


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
                params = count_parameters(encoder, decoder)
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
