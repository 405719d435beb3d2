#!/usr/bin/env python3
"""Train the onnx-vae image model kl-f8 and write models/kl-f8/.

A small convolutional KL-VAE with Stable Diffusion's VAE interface ("kl-f8"): RGB images in [-1, 1], NCHW, any
height and width that are multiples of 8; 4 latent channels at 1/8 resolution; the encoder emits the posterior as one
`latent_parameters` tensor of 8 channels (mean, then logvar), as Hugging Face optimum exports SD's VAE encoder; the
decoder maps `latent_sample` [B, 4, h, w] to `sample` [B, 3, 8h, 8w] (unclamped, roughly [-1, 1]).

Architecture (SD's AutoencoderKL layout, scaled down): GroupNorm + SiLU residual blocks, three stride-2 conv
downsamplings in the encoder, three nearest-neighbour x2 upsamplings + conv in the decoder, channels per level
--channels (default 16,32,64,128), no attention. Trained on random crops (random scale, horizontal flips) of real
photographs listed in scripts/photos.txt (shipped by Debian packages), loss = L1 + MSE per element + kl_weight * KL
(KL summed over the latent and divided by the number of data elements, the same normalisation as SD's loss, where
kl_weight is 1e-6). The held-out test photos are never sampled; their PSNR is reported.

Stages (all in this one script):
  1. train            time-budgeted (--minutes) and/or step-limited (--steps); cosine learning-rate decay over the
                      budget; checkpoints to --ckpt-dir (outside the repository) every --ckpt-every seconds;
                      --resume continues a stopped run; skipped with --export-only
  2. evaluate         PSNR on the held-out test photos, latent statistics, RMS reconstruction error on training photos
  3. export ONNX      encoder.onnx, decoder.onnx (opset 17, float32, dynamic batch/height/width)
  4. golden.json      reference values computed by PyTorch for the TypeScript SDK's tests
  5. vae.json, metrics.json, README.md

Usage (from the repository root; Debian's /usr/bin/python3 with python3-torch, python3-onnx, python3-skimage,
python3-pil; install the wallpaper packages listed in scripts/photos.txt first):
  /usr/bin/python3 scripts/train-kl-f8.py --minutes 33           # train and export
  /usr/bin/python3 scripts/train-kl-f8.py --minutes 33 --resume  # continue after an interruption
  /usr/bin/python3 scripts/train-kl-f8.py --export-only          # rewrite models/kl-f8/ from the checkpoint
  /usr/bin/python3 scripts/train-kl-f8.py --smoke                # tiny end-to-end run into /tmp (no checkpoint reuse)
"""

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

Image.MAX_IMAGE_PIXELS = None  # some wallpapers are 6000 px wide

OPSET = 17
LATENT_CHANNELS = 4
DOWN = 8
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0  # the SDK clamps logvar to this range (as diffusers does)
LOG2PI = math.log(2.0 * math.pi)
EVAL_SHORT_SIDE = 768   # large photos are resized so that their shorter side is this, then centre-cropped
EVAL_CROP = 512
TRAIN_SCALES = (1.0, 0.5, 0.25)  # relative to the photo, each also capped/floored below


# ----------------------------------------------------------------------------------------------------- data
def read_photo_list(path):
    """[(split, path, license)] from scripts/photos.txt."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 2 or parts[0] not in ("train", "test"):
                raise ValueError(f"{path}:{n}: expected '<train|test> <path> [license]', got {line!r}")
            rows.append((parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return rows


def load_rgb(path):
    im = Image.open(path)
    im.load()
    return im.convert("RGB")


def resize_short(im, short):
    w, h = im.size
    s = short / min(w, h)
    if s >= 1.0:
        return im
    return im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)


def display_name(path):
    """A short unique name for a photo: plasma wallpapers are <Name>/contents/images/<size>.jpg."""
    parts = path.split("/")
    if "contents" in parts:
        i = parts.index("contents")
        return f"{parts[i - 1]}/{parts[-1]}"
    return parts[-1]


def eval_image(path):
    """The evaluation view of a photo, uint8 [H, W, 3]: small photos (shorter side <= 768) at native size
    centre-cropped to multiples of 8; larger ones resized (Lanczos) to a shorter side of 768 and centre-cropped to
    512x512."""
    im = load_rgb(path)
    w, h = im.size
    if min(w, h) > EVAL_SHORT_SIDE:
        im = resize_short(im, EVAL_SHORT_SIDE)
        w, h = im.size
        cw = ch = EVAL_CROP
    else:
        cw, ch = w // DOWN * DOWN, h // DOWN * DOWN
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return np.asarray(im.crop((x0, y0, x0 + cw, y0 + ch)), dtype=np.uint8)


def native_crop(path):
    """Secondary view for large photos: the centre 512x512 crop at native resolution (no resizing)."""
    im = load_rgb(path)
    w, h = im.size
    c = min(EVAL_CROP, w // DOWN * DOWN, h // DOWN * DOWN)
    x0, y0 = (w - c) // 2, (h - c) // 2
    return np.asarray(im.crop((x0, y0, x0 + c, y0 + c)), dtype=np.uint8)


class CropSampler:
    """Random training crops: pick a photo uniformly, one of its scales uniformly, a uniform crop position, and a
    horizontal flip with probability 1/2. Each photo is kept at up to three scales (native with the longer side capped
    at 2560 px, half and quarter size, but never a shorter side below 256 px), so that crops see both fine texture
    and whole-object structure."""

    def __init__(self, paths, crop, seed, max_long=2560, min_short=256):
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.images = []  # list of lists of uint8 arrays
        for p in paths:
            im = load_rgb(p)
            w, h = im.size
            if max(w, h) > max_long:
                s = max_long / max(w, h)
                im = im.resize((round(w * s), round(h * s)), Image.LANCZOS)
            levels = []
            for s in TRAIN_SCALES:
                w, h = im.size
                tw, th = round(w * s), round(h * s)
                if min(tw, th) < max(min_short, crop) and levels:
                    break
                levels.append(np.asarray(im if s == 1.0 else im.resize((tw, th), Image.LANCZOS), dtype=np.uint8))
            self.images.append(levels)

    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, st):
        self.rng.bit_generator.state = st

    def batch(self, n):
        c = self.crop
        out = np.empty((n, c, c, 3), dtype=np.uint8)
        for i in range(n):
            levels = self.images[self.rng.integers(len(self.images))]
            a = levels[self.rng.integers(len(levels))]
            y = self.rng.integers(a.shape[0] - c + 1)
            x = self.rng.integers(a.shape[1] - c + 1)
            patch = a[y:y + c, x:x + c]
            out[i] = patch[:, ::-1] if self.rng.random() < 0.5 else patch
        return to_model(out)


def to_model(u8):
    """uint8 [N, H, W, 3] (or [H, W, 3]) -> float32 NCHW in [-1, 1]."""
    a = np.asarray(u8)
    if a.ndim == 3:
        a = a[None]
    x = torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))).float()
    return x / 127.5 - 1.0


def to_u8(x):
    """float NCHW in [-1, 1] -> uint8 [N, H, W, 3]: clamp, map to [0, 255], round."""
    y = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return y.permute(0, 2, 3, 1).numpy()


def psnr_u8(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


# --------------------------------------------------------------------------------------------------- model
def groups(c):
    return min(32, c // 4)


class ResBlock(nn.Module):
    """SD's ResnetBlock without time embedding or dropout: GN-SiLU-conv, GN-SiLU-conv, 1x1 skip on channel change."""

    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups(cin), cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups(cout), cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Upsample(nn.Module):
    """Nearest-neighbour x2 (ONNX Resize), then a 3x3 conv."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    """sample [B, 3, H, W] -> latent_parameters [B, 8, H/8, W/8] (channels 0-3 mean, 4-7 logvar)."""

    def __init__(self, ch, blocks):
        super().__init__()
        c0, c1, c2, c3 = ch
        self.conv_in = nn.Conv2d(3, c0, 3, padding=1)
        layers = []
        cprev = c0
        for level, c in enumerate((c0, c1, c2)):
            for _ in range(blocks):
                layers.append(ResBlock(cprev, c))
                cprev = c
            layers.append(nn.Conv2d(c, ch[level + 1], 3, stride=2, padding=1))
            cprev = ch[level + 1]
        for _ in range(blocks):
            layers.append(ResBlock(c3, c3))
        layers.append(ResBlock(c3, c3))  # "mid" block
        self.body = nn.Sequential(*layers)
        self.norm_out = nn.GroupNorm(groups(c3), c3, eps=1e-6)
        self.conv_out = nn.Conv2d(c3, 2 * LATENT_CHANNELS, 3, padding=1)

    def forward(self, x):
        h = self.body(self.conv_in(x))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    """latent_sample [B, 4, h, w] -> sample [B, 3, 8h, 8w]."""

    def __init__(self, ch, blocks):
        super().__init__()
        c0, c1, c2, c3 = ch
        self.conv_in = nn.Conv2d(LATENT_CHANNELS, c3, 3, padding=1)
        layers = [ResBlock(c3, c3)]  # "mid" block
        for _ in range(blocks):
            layers.append(ResBlock(c3, c3))
        for cin, cout in ((c3, c2), (c2, c1), (c1, c0)):
            layers.append(Upsample(cin, cout))
            for _ in range(blocks):
                layers.append(ResBlock(cout, cout))
        self.body = nn.Sequential(*layers)
        self.norm_out = nn.GroupNorm(groups(c0), c0, eps=1e-6)
        self.conv_out = nn.Conv2d(c0, 3, 3, padding=1)

    def forward(self, z):
        h = self.body(self.conv_in(z))
        return self.conv_out(F.silu(self.norm_out(h)))


def build(cfg):
    return Encoder(cfg["channels"], cfg["blocks"]), Decoder(cfg["channels"], cfg["blocks"])


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------------------------------------- training
def ckpt_path(args):
    return os.path.join(args.ckpt_dir, "last.pt")


def save_ckpt(args, state):
    os.makedirs(args.ckpt_dir, exist_ok=True)
    tmp = ckpt_path(args) + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, ckpt_path(args))


def lr_at(progress, args):
    warm = args.warmup_frac
    if progress < warm:
        return args.lr * max(progress / warm, 0.02)
    t = min(1.0, (progress - warm) / (1.0 - warm))
    return args.lr_min + 0.5 * (args.lr - args.lr_min) * (1.0 + math.cos(math.pi * t))


def losses(enc, dec, x, kl_weight, gen=None):
    p = enc(x)
    mean, logvar = p[:, :LATENT_CHANNELS], p[:, LATENT_CHANNELS:].clamp(LOGVAR_MIN, LOGVAR_MAX)
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(mean.shape, generator=gen) if gen is not None else torch.randn_like(mean)
    xr = dec(mean + std * eps)
    d = xr - x
    rec = d.abs().mean() + (d * d).mean()
    kl = 0.5 * (mean * mean + logvar.exp() - 1.0 - logvar).sum() / x.shape[0]
    loss = rec + kl_weight * kl / x[0].numel()
    return loss, rec, kl, xr


def train(args, cfg, train_paths):
    torch.manual_seed(args.seed)
    enc, dec = build(cfg)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
    print(f"loading {len(train_paths)} training photos ...", flush=True)
    t0 = time.time()
    sampler = CropSampler(train_paths, args.crop, args.seed)
    n_views = sum(len(v) for v in sampler.images)
    print(f"  {n_views} scaled views, {sum(a.nbytes for v in sampler.images for a in v) / 2**20:.0f} MiB, "
          f"{time.time() - t0:.1f}s", flush=True)
    # a fixed monitoring batch of training crops (the test photos are never looked at during training)
    mon_sampler = CropSampler([], 128, 0)
    mon_sampler.images = sampler.images
    mon_sampler.rng = np.random.default_rng(12345)
    mon_x = mon_sampler.batch(8)

    step, elapsed, history = 0, 0.0, []
    if args.resume and os.path.exists(ckpt_path(args)):
        st = torch.load(ckpt_path(args))
        if st["cfg"] != cfg:
            raise SystemExit(f"checkpoint config {st['cfg']} differs from {cfg}")
        enc.load_state_dict(st["encoder"])
        dec.load_state_dict(st["decoder"])
        opt.load_state_dict(st["opt"])
        step, elapsed, history = st["step"], st["elapsed"], st["history"]
        sampler.set_state(st["sampler"])
        torch.set_rng_state(st["torch_rng"])
        print(f"resumed from {ckpt_path(args)} at step {step}, {elapsed / 60:.1f} min trained", flush=True)
    elif args.resume:
        print(f"--resume: no checkpoint at {ckpt_path(args)}, starting fresh", flush=True)

    budget = args.minutes * 60.0

    def progress():
        p = 0.0
        if budget > 0:
            p = max(p, elapsed / budget)
        if args.steps > 0:
            p = max(p, step / args.steps)
        return p

    def checkpoint(final=False):
        save_ckpt(args, {"cfg": cfg, "encoder": enc.state_dict(), "decoder": dec.state_dict(),
                         "opt": opt.state_dict(), "step": step, "elapsed": elapsed, "history": history,
                         "sampler": sampler.state(), "torch_rng": torch.get_rng_state(), "final": final,
                         "args": vars(args), "argv": sys.argv[1:]})

    enc.train()
    dec.train()
    last_ckpt = time.time()
    run_loss = run_rec = run_kl = 0.0
    run_n = 0
    t_log = time.time()
    while progress() < 1.0:
        t_step = time.time()
        lr = lr_at(progress(), args)
        for g in opt.param_groups:
            g["lr"] = lr
        x = sampler.batch(args.batch)
        loss, rec, kl, _ = losses(enc, dec, x, args.kl_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        elapsed += time.time() - t_step
        run_loss += loss.item()
        run_rec += rec.item()
        run_kl += kl.item()
        run_n += 1
        if step % args.log_every == 0 or progress() >= 1.0:
            with torch.no_grad():
                enc.eval(), dec.eval()
                pm = enc(mon_x)
                mon_psnr = psnr_u8(to_u8(dec(pm[:, :LATENT_CHANNELS])), to_u8(mon_x))
                enc.train(), dec.train()
            rate = run_n / (time.time() - t_log)
            row = {"step": step, "minutes": round(elapsed / 60, 2), "lr": lr, "loss": run_loss / run_n,
                   "rec": run_rec / run_n, "kl": run_kl / run_n, "monitorPsnr": round(mon_psnr, 3),
                   "latentStd": float(pm[:, :LATENT_CHANNELS].std()),
                   "logvarMean": float(pm[:, LATENT_CHANNELS:].mean())}
            history.append(row)
            print(f"step {step:6d} {elapsed / 60:6.1f} min lr {lr:.2e} loss {row['loss']:.4f} "
                  f"(rec {row['rec']:.4f} KL/item {row['kl']:.1f}) train-crop PSNR {mon_psnr:.2f} dB "
                  f"latent std {row['latentStd']:.3f} logvar {row['logvarMean']:.2f} {rate:.2f} it/s", flush=True)
            run_loss = run_rec = run_kl = 0.0
            run_n = 0
            t_log = time.time()
        if time.time() - last_ckpt > args.ckpt_every:
            checkpoint()
            last_ckpt = time.time()
    checkpoint(final=True)
    print(f"training done: {step} steps, {elapsed / 60:.1f} min; checkpoint {ckpt_path(args)}", flush=True)


# ---------------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def reconstruct(enc, dec, u8):
    x = to_model(u8)
    p = enc(x)
    mean = p[:, :LATENT_CHANNELS]
    return to_u8(dec(mean))[0], dec(mean), p


@torch.no_grad()
def evaluate(enc, dec, test_rows, train_paths, eps_seed=7):
    per_photo = []
    latents, logvars = [], []
    gen = torch.Generator().manual_seed(eps_seed)
    samples = []
    for _, path, _ in test_rows:
        u8 = eval_image(path)
        rec_u8, _, p = reconstruct(enc, dec, u8)
        mean, logvar = p[:, :LATENT_CHANNELS], p[:, LATENT_CHANNELS:].clamp(LOGVAR_MIN, LOGVAR_MAX)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen)
        latents.append(mean.reshape(LATENT_CHANNELS, -1))
        samples.append(z.reshape(LATENT_CHANNELS, -1))
        logvars.append(logvar.reshape(-1))
        row = {"photo": display_name(path), "path": path, "size": [int(u8.shape[1]), int(u8.shape[0])],
               "psnr": round(psnr_u8(rec_u8, u8), 3)}
        im = load_rgb(path)
        if min(im.size) > EVAL_SHORT_SIDE:
            row["view"] = f"resized to shorter side {EVAL_SHORT_SIDE}, centre {EVAL_CROP}x{EVAL_CROP} crop"
            nat = native_crop(path)
            row["psnrNativeCrop"] = round(psnr_u8(reconstruct(enc, dec, nat)[0], nat), 3)
        else:
            row["view"] = "native size, centre crop to multiples of 8"
        per_photo.append(row)
        print(f"  test {row['photo']:40s} {row['size'][0]}x{row['size'][1]}  PSNR {row['psnr']:.2f} dB"
              + (f"  (native 512 crop {row['psnrNativeCrop']:.2f} dB)" if "psnrNativeCrop" in row else ""),
              flush=True)
    m = torch.cat(latents, 1)
    zs = torch.cat(samples, 1)
    lv = torch.cat(logvars)
    lat = {"std": float(zs.std()), "meanStd": float(m.std()), "mean": float(zs.mean()),
           "channelStd": [round(float(v), 4) for v in zs.std(1)],
           "channelMean": [round(float(v), 4) for v in zs.mean(1)],
           "logvarMean": float(lv.mean()), "logvarMin": float(lv.min()), "logvarMax": float(lv.max()),
           "note": "pooled over all latent elements of the test photos (evaluation views); std is of z sampled "
                   "from the posterior (as SD's scale factor was computed); meanStd uses the posterior mean"}
    # RMS reconstruction error (decode(mean), unquantised, [-1, 1] units) on the training photos' evaluation views
    se, cnt, tr_psnr = 0.0, 0, []
    for path in train_paths:
        u8 = eval_image(path)
        rec_u8, xr, _ = reconstruct(enc, dec, u8)
        d = (xr - to_model(u8)).double()
        se += float((d * d).sum())
        cnt += d.numel()
        tr_psnr.append(psnr_u8(rec_u8, u8))
    rms = math.sqrt(se / cnt)
    return per_photo, lat, rms, float(np.mean(tr_psnr))


# ---------------------------------------------------------------------------------------------- ONNX export
def export_onnx(enc, dec, out_dir):
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    spatial = {0: "batch", 2: "height", 3: "width"}
    lat = {0: "batch", 2: "latent_height", 3: "latent_width"}
    specs = [
        (enc, torch.zeros(1, 3, 64, 96), "encoder.onnx", ["sample"], ["latent_parameters"],
         {"sample": spatial, "latent_parameters": lat}),
        (dec, torch.zeros(1, LATENT_CHANNELS, 8, 12), "decoder.onnx", ["latent_sample"], ["sample"],
         {"latent_sample": lat, "sample": spatial}),
    ]
    import onnx
    report = {}
    for module, dummy, fn, ins, outs, axes in specs:
        path = os.path.join(out_dir, fn)
        module.eval()
        with torch.no_grad():
            torch.onnx.export(module, (dummy,), path, export_params=True, opset_version=OPSET, input_names=ins,
                              output_names=outs, dynamic_axes=axes, do_constant_folding=True)
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)

        def desc(v):
            t = v.type.tensor_type
            return f"{v.name}{[d.dim_param or d.dim_value for d in t.shape.dim]}:" \
                   f"{onnx.TensorProto.DataType.Name(t.elem_type)}"
        ops = sorted({n.op_type for n in m.graph.node})
        report[fn] = {"inputs": [desc(v) for v in m.graph.input], "outputs": [desc(v) for v in m.graph.output],
                      "ops": ops, "bytes": os.path.getsize(path)}
        print(f"exported {path}: {report[fn]['inputs']} -> {report[fn]['outputs']}, "
              f"{report[fn]['bytes'] / 2**20:.2f} MiB, ops {ops}", flush=True)
    return report


# ---------------------------------------------------------------------------------------------- golden data
def f32(a):
    return np.asarray(a, dtype=np.float32)


def arr(a):
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return {"dims": [int(d) for d in a.shape], "data": [float(v) for v in a.reshape(-1)]}


def item_sum(a, lead):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[:lead] + (-1,)).sum(axis=-1)


def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))).squeeze(axis)


GOLDEN_CROPS = [  # (photo basename, top, left): 32x48 crops of held-out photos' evaluation views
    ("astronaut.png", 96, 200),   # face and hair
    ("coffee.png", 152, 240),     # cup rim and saucer
]
GOLDEN_EPS_SEED = 2201
GOLDEN_SAMPLES = 4   # as the fixtures: the SDK's contract tests draw n = 4 samples and score with k in {1, 4}
GOLDEN_K = (1, 2, 4)


@torch.no_grad()
def golden(enc, dec, test_rows, scale):
    by_name = {os.path.basename(p): p for _, p, _ in test_rows}
    crops = []
    for name, top, left in GOLDEN_CROPS:
        u8 = eval_image(by_name[name])
        crops.append(u8[top:top + 32, left:left + 48])
    x = f32(to_model(np.stack(crops)).numpy())
    n = x.shape[0]
    run = lambda m, a: f32(m(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))).numpy())
    p = run(enc, x)
    mean, logvar = f32(p[:, :LATENT_CHANNELS]), f32(p[:, LATENT_CHANNELS:])
    lv = f32(np.clip(logvar, LOGVAR_MIN, LOGVAR_MAX))
    std = f32(np.exp(0.5 * lv.astype(np.float64)))
    dec_mean = run(dec, mean)
    gen = torch.Generator().manual_seed(GOLDEN_EPS_SEED)
    eps = torch.randn((GOLDEN_SAMPLES, n) + mean.shape[1:], generator=gen, dtype=torch.float32).numpy()
    z = f32(mean[None] + f32(std[None] * eps))
    g = {"x": arr(x), "mean": arr(mean), "logvar": arr(logvar), "logvarClamped": arr(lv), "std": arr(std),
         "decodedMean": arr(dec_mean), "eps": arr(eps), "epsSeed": GOLDEN_EPS_SEED, "z": arr(z)}
    lv64, m64 = lv.astype(np.float64), mean.astype(np.float64)
    kl = 0.5 * item_sum(m64 ** 2 + np.exp(lv64) - 1.0 - lv64, 1)
    g["klClosedForm"] = arr(kl)
    outs = run(dec, z.reshape((GOLDEN_SAMPLES * n,) + mean.shape[1:])).reshape((GOLDEN_SAMPLES,) + x.shape)
    mu = outs.astype(np.float64)
    ll = -0.5 * ((x[None].astype(np.float64) - mu) / scale) ** 2 - math.log(scale) - 0.5 * LOG2PI
    log_px = item_sum(ll, 2)
    z64 = z.astype(np.float64)
    log_pz = item_sum(-0.5 * z64 ** 2 - 0.5 * LOG2PI, 2)
    eps64 = eps.astype(np.float64)
    log_qz = item_sum(-0.5 * eps64 ** 2 - 0.5 * lv64[None] - 0.5 * LOG2PI, 2)
    log_qz_at_z = item_sum(-0.5 * (z64 - m64[None]) ** 2 / np.exp(lv64)[None] - 0.5 * lv64[None] - 0.5 * LOG2PI, 2)
    g["logPxGivenZ"] = arr(log_px)
    g["logPz"] = arr(log_pz)
    g["logQzGivenX"] = arr(log_qz)
    g["logQzGivenXAtZ"] = arr(log_qz_at_z)
    d = int(np.prod(x.shape[1:]))
    for k in GOLDEN_K:
        rec = log_px[:k].mean(axis=0)
        iwae = logsumexp(log_px[:k] + log_pz[:k] - log_qz[:k], 0) - math.log(k)
        g[f"elbo_k{k}"] = arr(rec - kl)
        g[f"reconstruction_k{k}"] = arr(rec)
        g[f"iwae_k{k}"] = arr(iwae)
        g[f"bitsPerDim_k{k}"] = arr(-iwae / (d * math.log(2.0)))
    err = item_sum((x.astype(np.float64) - dec_mean.astype(np.float64)) ** 2, 1) / d
    g["reconstructionError"] = arr(err)
    var = m64.reshape(n, -1).var(axis=0)
    g["activeUnits"] = int((var > 0.01).sum())
    g["tolerance"] = {"relative": 1e-4}
    g["crops"] = [{"photo": name, "top": top, "left": left, "height": 32, "width": 48}
                  for name, top, left in GOLDEN_CROPS]
    return g


# ------------------------------------------------------------------------------------------------ the card
def dpkg_owner(path):
    try:
        out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, timeout=30).stdout
        return out.split(":")[0].strip() if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def pkg_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                              timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def write_card(out_dir, m, rows):
    ev = m["evaluation"]
    photo_rows = "\n".join(
        f"| {r['photo']} | {r['size'][0]}x{r['size'][1]} | {r['view']} | {r['psnr']:.2f} |"
        + (f" {r['psnrNativeCrop']:.2f} |" if "psnrNativeCrop" in r else " |")
        for r in ev["testPhotos"])
    src_rows = "\n".join(f"| {s} | `{p}` | {pkg} | {lic} |" for s, p, lic, pkg in rows)
    pkgs = sorted({pkg for _, _, _, pkg in rows})
    pkg_list = ", ".join(f"`{p}` {pkg_version(p)}" for p in pkgs)
    lat = ev["latent"]
    tr = m["training"]
    cfg = m["model"]
    sizes = m["files"]
    text = f"""# kl-f8: a small SD-style KL-VAE for photographs

The default image model of onnx-vae (image demo and CLI examples): a convolutional VAE with the interface of Stable
Diffusion's `AutoencoderKL` ("kl-f8"): RGB in `[-1, 1]`, NCHW, height and width multiples of 8, 4 latent channels at
1/8 resolution, the posterior as one optimum-style `latent_parameters` output (4 mean channels, then 4 logvar
channels). It is small ({cfg['parameters']['total'] / 1e6:.2f} M parameters, {sizes['totalBytes'] / 2**20:.1f} MiB in
all) and was trained for {tr['minutes']:.0f} minutes on a CPU ({tr['threads']} PyTorch thread(s)), so it is far less sharp than SD's
84 M-parameter VAE: use it to exercise the SDK, not for production compression.

| file | |
| --- | --- |
| `encoder.onnx` | `sample` [B, 3, H, W] -> `latent_parameters` [B, 8, H/8, W/8]; opset {OPSET}, float32, dynamic batch/height/width ({sizes['encoder.onnx'] / 2**20:.2f} MiB) |
| `decoder.onnx` | `latent_sample` [B, 4, h, w] -> `sample` [B, 3, 8h, 8w], unclamped ({sizes['decoder.onnx'] / 2**20:.2f} MiB) |
| `vae.json` | the manifest (`docs/manifest.md`) |
| `golden.json` | reference numbers from PyTorch for the SDK's tests (conventions of `models/fixtures/README.md`) |
| `metrics.json` | training and evaluation record |

## Architecture

SD's encoder/decoder layout, scaled down and without attention: channels per level {cfg['channels']},
{cfg['blocks']} residual block(s) per level (GroupNorm(eps 1e-6) - SiLU - 3x3 conv, twice, 1x1 conv skip on channel
change) plus one mid block at 1/8 resolution.

- Encoder: 3x3 conv 3->{cfg['channels'][0]}; per level residual blocks, then a stride-2 3x3 conv (three times);
  residual + mid block at 1/8; GroupNorm, SiLU, 3x3 conv to 8 channels (mean, logvar).
- Decoder: 3x3 conv 4->{cfg['channels'][3]}; mid + residual block at 1/8; three times nearest x2 upsampling + 3x3 conv
  and residual blocks; GroupNorm, SiLU, 3x3 conv to 3 channels. No output nonlinearity (as SD).
- Parameters: encoder {cfg['parameters']['encoder']:,}, decoder {cfg['parameters']['decoder']:,}.

## Training

```sh
apt-get install -y --no-install-recommends plasma-workspace-wallpapers mate-backgrounds \\
    lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
{tr['command']}
```

- Data: {m['data']['trainPhotos']} training photos, {m['data']['testPhotos']} held-out test photos
  (`scripts/photos.txt`). Every training photo is kept at up to three scales (native with the longer side capped at
  2560 px, 1/2, 1/4; shorter side at least 256 px); each step samples {tr['batch']} random {tr['crop']}x{tr['crop']}
  crops (photo, scale and position uniform, horizontal flip with probability 1/2). The photos stay where the Debian
  packages installed them; nothing is copied into the repository.
- Loss per element: `|x - x'| + (x - x')^2` with `x' = decoder(mean + std * eps)`, plus
  `{tr['klWeight']:g} * KL / (3 H W)` (KL summed over the latent; SD's normalisation, where the weight is 1e-6; no
  perceptual or adversarial terms).
- Adam (betas 0.9, 0.99), learning rate {tr['lr']:g} with linear warm-up over the first {tr['warmupFrac'] * 100:.0f}%
  and cosine decay to {tr['lrMin']:g} over the time budget, gradient norm clipped at 1.
- {tr['steps']:,} steps in {tr['minutes']:.1f} minutes of wall-clock training with {tr['threads']} threads
  ({platform.processor() or platform.machine()}), PyTorch {m['software']['torch']} from Debian. Checkpoints go to
  `{os.path.relpath(m['training']['checkpoint'], REPO) if m['training']['checkpoint'].startswith(REPO) else m['training']['checkpoint']}`
  (`.cache/` is git-ignored); `--resume` continues an interrupted run and `--export-only` rewrites this folder from the checkpoint.
{('- Run notes: ' + tr['note']) if tr.get('note') else ''}

## Results on held-out photos

PSNR in dB, 8-bit: the decoder's output on the posterior mean, clamped to `[-1, 1]`, mapped to `[0, 255]` and
rounded, against the original 8-bit pixels. Photos with a shorter side of at most {EVAL_SHORT_SIDE} px are used at their
native size, centre-cropped to multiples of 8; larger ones are resized (Lanczos) to a shorter side of
{EVAL_SHORT_SIDE} px and centre-cropped to {EVAL_CROP}x{EVAL_CROP} (a crop of a 2560 px wallpaper at native resolution is
mostly smooth and flatters the model; that number is given too).

| photo | evaluated size | view | PSNR | native 512 crop |
| --- | --- | --- | --- | --- |
{photo_rows}
| **mean** | | | **{ev['meanPsnr']:.2f}** | |

For comparison, the training photos' evaluation views give a mean PSNR of {ev['trainMeanPsnr']:.2f} dB (many of them
are smooth, defocused wallpapers, so this is not a pure measure of memorisation).

## Latent space and manifest values

- Latent statistics on the test photos (z sampled from the posterior, all elements pooled): std
  {lat['std']:.4f}, mean {lat['mean']:.4f}; per channel std {lat['channelStd']}, mean {lat['channelMean']}; logvar
  mean {lat['logvarMean']:.2f} (range {lat['logvarMin']:.1f} to {lat['logvarMax']:.1f}).
- `latent.scalingFactor` = 1 / std = **{m['manifest']['latent']['scalingFactor']}** (SD 1.x computed its 0.18215 the
  same way), `shiftFactor` 0.
- `likelihood`: Gaussian with fixed `scale` **{m['manifest']['likelihood']['scale']}**, the RMS reconstruction error
  (decoder on the posterior mean, `[-1, 1]` units, unquantised) over the training photos' evaluation views
  ({ev['trainRms']:.4f}, rounded to two significant digits). This makes `score`'s log-likelihood the one of a Gaussian
  observation model whose noise matches the model's typical error.

## Data sources and licenses

Debian packages: {pkg_list}. License texts: `/usr/share/doc/<package>/copyright`. The trained weights are derived from
these photos; the photos themselves are not redistributed here.

| split | file | package | license / credit |
| --- | --- | --- | --- |
{src_rows}

## golden.json

`x` is two 32x48 crops of held-out photos' evaluation views ({', '.join(f"{c['photo']} at row {c['top']}, column {c['left']}" for c in m['golden']['crops'])}),
`[2, 3, 32, 48]` in `[-1, 1]`; `eps` is `[{GOLDEN_SAMPLES}, 2, 4, 4, 6]` from `torch.Generator().manual_seed({GOLDEN_EPS_SEED})`; the
K-sample entries `elbo_kK`, `reconstruction_kK`, `iwae_kK`, `bitsPerDim_kK` for K in {{{', '.join(map(str, GOLDEN_K))}}} use the
first K draws (D = 3*32*48), with the Gaussian likelihood at the manifest's scale. Everything else follows `models/fixtures/README.md`; tolerance 1e-4
relative.
"""
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------------- main
def export_all(args, cfg, rows):
    st = torch.load(ckpt_path(args))
    if st["cfg"] != cfg:
        print(f"note: using the checkpoint's config {st['cfg']}", flush=True)
        cfg = st["cfg"]
    enc, dec = build(cfg)
    enc.load_state_dict(st["encoder"])
    dec.load_state_dict(st["decoder"])
    enc.eval()
    dec.eval()
    test_rows = [r for r in rows if r[0] == "test"]
    train_paths = [p for s, p, _ in rows if s == "train"]
    out = args.out
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    print("evaluating ...", flush=True)
    t0 = time.time()
    per_photo, lat, rms, train_psnr = evaluate(enc, dec, test_rows, train_paths)
    mean_psnr = float(np.mean([r["psnr"] for r in per_photo]))
    print(f"  mean test PSNR {mean_psnr:.2f} dB; train PSNR {train_psnr:.2f} dB; latent std {lat['std']:.4f} "
          f"(mean {lat['mean']:.4f}); train RMS error {rms:.4f}; {time.time() - t0:.0f}s", flush=True)
    scaling = float(f"{1.0 / lat['std']:.5g}")
    scale = float(f"{rms:.2g}")

    manifest = {
        "format": "onnx-vae", "version": 1, "name": "kl-f8",
        "description": "Small SD-style KL-VAE (kl-f8: 4 latent channels at 1/8 resolution, optimum-style moments "
                       f"output) trained on real photos; {mean_psnr:.1f} dB mean PSNR on held-out photos",
        "encoder": {"file": "encoder.onnx", "input": "sample",
                    "output": {"kind": "moments", "name": "latent_parameters"}},
        "decoder": {"file": "decoder.onnx", "input": "latent_sample", "output": "sample"},
        "data": {"shape": [3, None, None], "layout": "NCHW", "range": [-1, 1]},
        "latent": {"shape": [LATENT_CHANNELS, None, None], "scalingFactor": scaling, "shiftFactor": 0},
        "likelihood": {"kind": "gaussian", "scale": scale},
    }
    onnx_report = export_onnx(enc, dec, out)
    g = golden(enc, dec, test_rows, scale)
    with open(os.path.join(out, "vae.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(g, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")

    a = st["args"]
    command = "/usr/bin/python3 scripts/train-kl-f8.py " + " ".join(
        x for x in st.get("argv", []) if x != "--resume")
    last = st["history"][-1] if st["history"] else {}
    metrics = {
        "model": {"name": "kl-f8", "channels": cfg["channels"], "blocks": cfg["blocks"],
                  "latentChannels": LATENT_CHANNELS, "downsampling": DOWN,
                  "parameters": {"encoder": n_params(enc), "decoder": n_params(dec),
                                 "total": n_params(enc) + n_params(dec)}},
        "data": {"trainPhotos": len(train_paths), "testPhotos": len(test_rows),
                 "photoList": "scripts/photos.txt"},
        "training": {"steps": st["step"], "seconds": round(st["elapsed"], 1),
                     "minutes": round(st["elapsed"] / 60, 2), "threads": a["threads"], "batch": a["batch"],
                     "crop": a["crop"], "lr": a["lr"], "lrMin": a["lr_min"], "warmupFrac": a["warmup_frac"],
                     "klWeight": a["kl_weight"], "seed": a["seed"], "budgetMinutes": a["minutes"],
                     "finished": bool(st.get("final")), "checkpoint": ckpt_path(args), "command": command,
                     "note": args.note or st.get("note", ""),
                     "final": last},
        "evaluation": {"testPhotos": per_photo, "meanPsnr": round(mean_psnr, 3),
                       "trainMeanPsnr": round(train_psnr, 3), "trainRms": rms, "latent": lat,
                       "protocol": "8-bit PSNR of decode(mean) clamped to [-1,1], mapped to [0,255], rounded; "
                                   f"photos with shorter side <= {EVAL_SHORT_SIDE}: native size centre-cropped to "
                                   f"multiples of 8, larger: resized to shorter side {EVAL_SHORT_SIDE} (Lanczos), "
                                   f"centre {EVAL_CROP}x{EVAL_CROP} crop"},
        "manifest": {"latent": {"scalingFactor": scaling}, "likelihood": {"scale": scale}},
        "golden": {"crops": g["crops"], "epsSeed": GOLDEN_EPS_SEED},
        "onnx": onnx_report,
        "software": {"torch": torch.__version__, "python": platform.python_version(), "numpy": np.__version__},
        "history": st["history"],
    }
    files = {fn: os.path.getsize(os.path.join(out, fn)) for fn in ("encoder.onnx", "decoder.onnx", "vae.json",
                                                                      "golden.json")}
    metrics["files"] = files
    # README and metrics sizes are small; total written after both exist
    rows_pkg = [(s, p, lic, dpkg_owner(p)) for s, p, lic in rows]
    for _ in range(2):  # second pass records the final README/metrics sizes
        metrics["files"]["totalBytes"] = sum(os.path.getsize(os.path.join(out, fn)) for fn in os.listdir(out))
        with open(os.path.join(out, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
            f.write("\n")
        write_card(out, metrics, rows_pkg)
    total = sum(os.path.getsize(os.path.join(out, fn)) for fn in os.listdir(out))
    print(f"wrote {out}: {sorted(os.listdir(out))}, {total / 2**20:.2f} MiB", flush=True)
    if total > 20 * 10**6:
        raise SystemExit(f"model folder is {total / 1e6:.1f} MB, over the 20 MB limit")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", default=os.path.join(HERE, "photos.txt"))
    p.add_argument("--out", default=os.path.join(REPO, "models", "kl-f8"))
    p.add_argument("--ckpt-dir", default=os.path.join(REPO, ".cache", "kl-f8"))
    p.add_argument("--minutes", type=float, default=33.0,
                   help="training wall-clock budget (the learning-rate schedule follows it); 0 = use --steps only")
    p.add_argument("--steps", type=int, default=0, help="step limit (0 = time budget only)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--channels", default="16,32,64,128", help="channels at resolution 1, 1/2, 1/4, 1/8")
    p.add_argument("--blocks", type=int, default=1, help="residual blocks per level")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-min", type=float, default=2e-5)
    p.add_argument("--warmup-frac", type=float, default=0.02)
    p.add_argument("--kl-weight", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--ckpt-every", type=float, default=120.0, help="seconds between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--export-only", action="store_true", help="skip training, export from the checkpoint")
    p.add_argument("--train-only", action="store_true", help="stop after training")
    p.add_argument("--note", default="", help="free-text run notes for metrics.json and the README (export)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny run (a few steps, 1 thread) writing to /tmp/kl-f8-smoke, for checking the pipeline")
    args = p.parse_args()
    if args.smoke:
        args.out = "/tmp/kl-f8-smoke/model"
        args.ckpt_dir = "/tmp/kl-f8-smoke/ckpt"
        args.minutes, args.steps, args.threads, args.log_every = 0, 6, 1, 2
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    cfg = {"channels": [int(c) for c in args.channels.split(",")], "blocks": args.blocks}
    if len(cfg["channels"]) != 4:
        raise SystemExit("--channels needs 4 comma-separated values (levels 1, 1/2, 1/4, 1/8)")
    rows = read_photo_list(args.photos)
    missing = [p for _, p, _ in rows if not os.path.exists(p)]
    if missing:
        raise SystemExit("missing photos (install the packages named in scripts/photos.txt):\n  " + "\n  ".join(missing))
    train_paths = [p for s, p, _ in rows if s == "train"]
    test_paths = {p for s, p, _ in rows if s == "test"}
    assert not test_paths & set(train_paths), "a photo is listed as both train and test"
    print(f"{len(train_paths)} training photos, {len(test_paths)} test photos; config {cfg}; "
          f"{args.threads} threads", flush=True)
    if not args.export_only:
        train(args, cfg, train_paths)
    if not args.train_only:
        export_all(args, cfg, rows)


if __name__ == "__main__":
    main()
