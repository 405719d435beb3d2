#!/usr/bin/env python3
"""A full-size Stable Diffusion 1.x VAE with random weights, for memory and speed benchmarks (bench/memory.mjs).

diffusers' AutoencoderKL as SD 1.x configures it, written out here (diffusers is not a dependency): 4 latent
channels, block channels 128/256/512/512, 2 resnets per down block and 3 per up block, GroupNorm(32, eps 1e-6) +
SiLU resnets (scripts/train-kl-f8.py's ResBlock, which is diffusers' ResnetBlock2D without the time embedding), a
single-head self-attention in both mid blocks, quant_conv / post_quant_conv. Encoder 34.2 M and decoder 49.5 M
parameters, as SD's. The weights are PyTorch's default initialisation from a fixed seed: the numbers it decodes are
meaningless, the work and memory are the real model's.

Commands (Debian's /usr/bin/python3 with python3-torch and python3-onnx; from the repository root):
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.make_sd_vae export [--out bench/models/sd-vae]
      writes encoder.onnx, decoder.onnx (opset 17, float32, dynamic batch/height/width), vae.json and the PyTorch
      weights (encoder.pt, decoder.pt). The folder is git-ignored; never commit it (~320 MiB).
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.make_sd_vae decode --size 1024 [--tiled] [--runs 2] [--threads 2] [--model DIR]
      PyTorch decodes of a seeded latent in this (fresh) process; tiled as onnx-vae's default
      (64-latent-pixel tiles, 16 overlap, linear ramps); prints one JSON line with the times and the peak RSS (VmHWM).
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .models.kl_f8 import ResBlock  # diffusers' ResnetBlock2D without time embedding: GN-SiLU-conv x2, 1x1 skip
from .onnx_export import OPSET
from .paths import REPO

DEFAULT_OUT = os.path.join(REPO, "bench", "models", "sd-vae")

CHANNELS = (128, 256, 512, 512)
LAYERS = 2
LATENT = 4
SCALING = 0.18215


class Attention(nn.Module):
    """diffusers' mid-block Attention: GroupNorm, one head over all H*W positions, residual."""

    def __init__(self, c):
        super().__init__()
        self.group_norm = nn.GroupNorm(32, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v, self.to_out = (nn.Linear(c, c) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        out = self.to_out(weights @ v).transpose(1, 2).reshape(b, c, h, w)
        return x + out


class Mid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.resnet0, self.attention, self.resnet1 = ResBlock(c, c), Attention(c), ResBlock(c, c)

    def forward(self, x):
        return self.resnet1(self.attention(self.resnet0(x)))


class Downsample(nn.Module):
    """diffusers' Downsample2D: pad right/bottom by one, 3x3 conv stride 2."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Encoder(nn.Module):
    """sample [B, 3, H, W] -> latent_parameters [B, 8, H/8, W/8] (mean, then logvar), after quant_conv."""

    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(3, CHANNELS[0], 3, padding=1)
        layers, previous = [], CHANNELS[0]
        for i, c in enumerate(CHANNELS):
            for _ in range(LAYERS):
                layers.append(ResBlock(previous, c))
                previous = c
            if i < len(CHANNELS) - 1:
                layers.append(Downsample(c))
        self.down = nn.Sequential(*layers)
        self.mid = Mid(CHANNELS[-1])
        self.norm_out = nn.GroupNorm(32, CHANNELS[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(CHANNELS[-1], 2 * LATENT, 3, padding=1)
        self.quant_conv = nn.Conv2d(2 * LATENT, 2 * LATENT, 1)

    def forward(self, x):
        h = self.mid(self.down(self.conv_in(x)))
        return self.quant_conv(self.conv_out(F.silu(self.norm_out(h))))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Decoder(nn.Module):
    """latent_sample [B, 4, h, w] -> sample [B, 3, 8h, 8w], after post_quant_conv."""

    def __init__(self):
        super().__init__()
        reverse = CHANNELS[::-1]
        self.post_quant_conv = nn.Conv2d(LATENT, LATENT, 1)
        self.conv_in = nn.Conv2d(LATENT, reverse[0], 3, padding=1)
        self.mid = Mid(reverse[0])
        layers, previous = [], reverse[0]
        for i, c in enumerate(reverse):
            for _ in range(LAYERS + 1):
                layers.append(ResBlock(previous, c))
                previous = c
            if i < len(reverse) - 1:
                layers.append(Upsample(c))
        self.up = nn.Sequential(*layers)
        self.norm_out = nn.GroupNorm(32, CHANNELS[0], eps=1e-6)
        self.conv_out = nn.Conv2d(CHANNELS[0], 3, 3, padding=1)

    def forward(self, z):
        h = self.up(self.mid(self.conv_in(self.post_quant_conv(z))))
        return self.conv_out(F.silu(self.norm_out(h)))


def parameters(module):
    return sum(p.numel() for p in module.parameters())


def export(out):
    import onnx
    torch.manual_seed(0)
    encoder, decoder = Encoder().eval(), Decoder().eval()
    os.makedirs(out, exist_ok=True)
    spatial = {0: "batch", 2: "height", 3: "width"}
    latent = {0: "batch", 2: "latent_height", 3: "latent_width"}
    specs = [
        (encoder, torch.zeros(1, 3, 64, 64), "encoder", "sample", "latent_parameters", spatial, latent),
        (decoder, torch.zeros(1, LATENT, 8, 8), "decoder", "latent_sample", "sample", latent, spatial),
    ]
    for module, dummy, name, input_name, output_name, input_axes, output_axes in specs:
        path = os.path.join(out, f"{name}.onnx")
        with torch.no_grad():
            torch.onnx.export(module, (dummy,), path, export_params=True, opset_version=OPSET, input_names=[input_name],
                              output_names=[output_name], dynamic_axes={input_name: input_axes, output_name: output_axes},
                              do_constant_folding=True)
        onnx.checker.check_model(path)
        torch.save(module.state_dict(), os.path.join(out, f"{name}.pt"))
        print(f"{path}: {parameters(module):,} parameters, {os.path.getsize(path) / 2**20:.1f} MiB", flush=True)
    manifest = {
        "format": "onnx-vae", "version": 1, "name": "sd-vae-random",
        "description": "Stable Diffusion 1.x VAE architecture with random weights (training/onnx_vae_training/make_sd_vae.py), for benchmarks only",
        "encoder": {"file": "encoder.onnx", "input": "sample", "output": {"kind": "moments", "name": "latent_parameters"}},
        "decoder": {"file": "decoder.onnx", "input": "latent_sample", "output": "sample"},
        "data": {"shape": [3, None, None], "layout": "NCHW", "range": [-1, 1]},
        "latent": {"shape": [LATENT, None, None], "scalingFactor": SCALING, "shiftFactor": 0, "spatialFactor": 8},
        "likelihood": {"kind": "none"},
    }
    with open(os.path.join(out, "vae.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def tile_starts(size, tile, overlap):
    """onnx-vae's tileStarts (packages/core/src/tiling.ts): every tile - overlap, the last moved back to the edge."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, tile - overlap)) + [size - tile]
    return sorted(set(starts))


def ramp(length, before, after):
    """Blend weights along one axis of a tile: linear ramps over the overlaps with its neighbours."""
    w = torch.ones(length)
    for i in range(before):
        w[i] = min(w[i], (i + 1) / (before + 1))
    for i in range(after):
        w[length - 1 - i] = min(w[length - 1 - i], (i + 1) / (after + 1))
    return w


def tiled_decode(decoder, z, tile=64, overlap=16, factor=8):
    _, _, h, w = z.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    th, tw = min(tile, h), min(tile, w)
    out = torch.zeros(z.shape[0], 3, h * factor, w * factor)
    total = torch.zeros(1, 1, h * factor, w * factor)
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            part = decoder(z[:, :, y:y + th, x:x + tw])
            before_y = (ys[iy - 1] + th - y) * factor if iy > 0 else 0
            after_y = (y + th - ys[iy + 1]) * factor if iy + 1 < len(ys) else 0
            before_x = (xs[ix - 1] + tw - x) * factor if ix > 0 else 0
            after_x = (x + tw - xs[ix + 1]) * factor if ix + 1 < len(xs) else 0
            weight = ramp(th * factor, before_y, after_y)[:, None] * ramp(tw * factor, before_x, after_x)[None, :]
            region = (slice(None), slice(None), slice(y * factor, (y + th) * factor), slice(x * factor, (x + tw) * factor))
            out[region] += part * weight
            total[region] += weight
            del part
    return out / total


def vm_hwm_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def decode(args):
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    decoder = Decoder().eval()
    decoder.load_state_dict(torch.load(os.path.join(args.model, "decoder.pt")))
    generator = torch.Generator().manual_seed(1)
    load_seconds = time.perf_counter() - started
    loaded = vm_hwm_mib()
    latent = args.size // 8
    z = torch.randn(1, LATENT, latent, latent, generator=generator)
    seconds = []
    for _ in range(1 if args.tiled else args.runs):
        start = time.perf_counter()
        with torch.no_grad():
            x = tiled_decode(decoder, z) if args.tiled else decoder(z)
        seconds.append(time.perf_counter() - start)
    digest = hashlib.sha256(x.numpy().tobytes()).hexdigest()[:16]
    print(json.dumps({"runner": "pytorch", "torch": torch.__version__, "threads": args.threads, "size": args.size,
                      "tiled": args.tiled, "loadSeconds": load_seconds, "seconds": seconds, "peakMiB": vm_hwm_mib(),
                      "peakAfterLoadMiB": loaded, "sha256": digest, "dims": list(x.shape)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export")
    p.add_argument("--out", default=DEFAULT_OUT)
    p = sub.add_parser("decode")
    p.add_argument("--model", default=DEFAULT_OUT)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--tiled", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=2, help="untiled decodes in this process (a tiled decode runs once)")
    args = parser.parse_args()
    if args.command == "export":
        export(args.out)
    else:
        decode(args)


if __name__ == "__main__":
    sys.exit(main())
