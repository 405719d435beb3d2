"""Train the onnx-vae image model kl-f8 and write models/kl-f8/.

A small convolutional KL-VAE with Stable Diffusion's VAE interface ("kl-f8"): RGB images in [-1, 1], NCHW, any
height and width that are multiples of 8; 4 latent channels at 1/8 resolution; the encoder emits the posterior as one
`latent_parameters` tensor of 8 channels (mean, then logvar), as Hugging Face optimum exports SD's VAE encoder; the
decoder maps `latent_sample` [B, 4, h, w] to `sample` [B, 3, 8h, 8w] (unclamped, roughly [-1, 1]).

Architecture: models.kl_f8 (SD's AutoencoderKL layout, scaled down, no attention), channels per level --channels
(default 16,32,64,128) and --blocks residual blocks per level. Trained on random crops (random scale, horizontal flips) of real
photographs listed in training/photos.txt (shipped by Debian packages), loss = L1 + MSE per element + kl_weight * KL
(KL summed over the latent and divided by the number of data elements, the same normalisation as SD's loss, where
kl_weight is 1e-6). The held-out test photos are never sampled; their PSNR is reported.

Stages:
  1. train            time-budgeted (--minutes) and/or step-limited (--steps); cosine learning-rate decay over the
                      budget; checkpoints to --ckpt-dir (outside the repository) every --ckpt-every seconds;
                      --resume continues a stopped run; skipped with --export-only
  2. evaluate         PSNR on the held-out test photos, latent statistics, RMS reconstruction error on training photos
  3. export ONNX      encoder.onnx, decoder.onnx (opset 17, float32, dynamic batch/height/width)
  4. golden.json      reference values computed by PyTorch for the TypeScript SDK's tests (golden.posterior_golden)
  5. vae.json, metrics.json, README.md

Usage (from the repository root; Debian's /usr/bin/python3 with python3-torch, python3-onnx, python3-skimage,
python3-pil; install the wallpaper packages listed in training/photos.txt first):
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.train_kl_f8 --minutes 33  # train and export
  ... --minutes 33 --resume  # continue after an interruption
  ... --export-only          # rewrite models/kl-f8/ from the checkpoint
  ... --smoke                # tiny end-to-end run into /tmp (no checkpoint reuse)
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

import numpy as np
import torch

from . import golden as golden_data
from . import onnx_export
from .data.photos import (EVAL_CROP, EVAL_SHORT_SIDE, CropSampler, display_name, eval_image, load_rgb, native_crop,
                          psnr_u8, read_photo_list, to_model, to_u8)
from .golden import LOGVAR_MAX, LOGVAR_MIN
from .models import count_parameters as n_params
from .models.kl_f8 import DOWN, LATENT_CHANNELS, PRESETS, build
from .onnx_export import OPSET
from .paths import MODELS, PHOTO_LIST, REPO, command


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
    """encoder.onnx and decoder.onnx with dynamic batch/height/width; a report of their inputs, outputs and ops."""
    onnx_export.quiet_exporter()
    spatial = {0: "batch", 2: "height", 3: "width"}
    lat = {0: "batch", 2: "latent_height", 3: "latent_width"}
    specs = [
        (enc, torch.zeros(1, 3, 64, 96), "encoder.onnx", ["sample"], ["latent_parameters"],
         {"sample": spatial, "latent_parameters": lat}),
        (dec, torch.zeros(1, LATENT_CHANNELS, 8, 12), "decoder.onnx", ["latent_sample"], ["sample"],
         {"latent_sample": lat, "sample": spatial}),
    ]
    report = {}
    for module, dummy, fn, ins, outs, axes in specs:
        path = os.path.join(out_dir, fn)
        onnx_export.export(module, (dummy,), path, ins, outs, axes)
        m = onnx_export.check(path)
        ops = sorted({n.op_type for n in m.graph.node})
        report[fn] = {"inputs": [onnx_export.describe(v) for v in m.graph.input],
                      "outputs": [onnx_export.describe(v) for v in m.graph.output],
                      "ops": ops, "bytes": os.path.getsize(path)}
        print(f"exported {path}: {report[fn]['inputs']} -> {report[fn]['outputs']}, "
              f"{report[fn]['bytes'] / 2**20:.2f} MiB, ops {ops}", flush=True)
    return report


# ---------------------------------------------------------------------------------------------- golden data
GOLDEN_CROPS = [  # (photo basename, top, left): 32x48 crops of held-out photos' evaluation views
    ("astronaut.png", 96, 200),   # face and hair
    ("coffee.png", 152, 240),     # cup rim and saucer
]
GOLDEN_EPS_SEED = 2201
GOLDEN_SAMPLES = 4   # as the fixtures: the SDK's contract tests draw n = 4 samples and score with k in {1, 4}
GOLDEN_K = (1, 2, 4)


def golden(enc, dec, test_rows, manifest):
    """The golden data of models/fixtures/README.md on two crops of held-out photos, plus where the crops are from."""
    by_name = {os.path.basename(p): p for _, p, _ in test_rows}
    crops = []
    for name, top, left in GOLDEN_CROPS:
        u8 = eval_image(by_name[name])
        crops.append(u8[top:top + 32, left:left + 48])
    x = golden_data.f32(to_model(np.stack(crops)).numpy())
    g, _ = golden_data.posterior_golden(enc, dec, x, manifest, GOLDEN_EPS_SEED, GOLDEN_SAMPLES, GOLDEN_K)
    g["crops"] = [{"photo": name, "top": top, "left": left, "height": 32, "width": 48}
                  for name, top, left in GOLDEN_CROPS]
    return g


# ------------------------------------------------------------------------------------------------ the card
def repo_relative(path):
    """A path inside the repository relative to its root (as written into the model card); others as they are."""
    full = os.path.abspath(path)
    return os.path.relpath(full, REPO) if full.startswith(REPO + os.sep) else path


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
  (`{m['data']['photoList']}`). Every training photo is kept at up to three scales (native with the longer side capped at
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
  `{repo_relative(m['training']['checkpoint'])}`
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
    g = golden(enc, dec, test_rows, manifest)
    with open(os.path.join(out, "vae.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    golden_data.write(os.path.join(out, "golden.json"), g)

    a = st["args"]
    run_command = " ".join([command("train_kl_f8")] + [x for x in st.get("argv", []) if x != "--resume"])
    last = st["history"][-1] if st["history"] else {}
    metrics = {
        "model": {"name": "kl-f8", "channels": cfg["channels"], "blocks": cfg["blocks"],
                  "latentChannels": LATENT_CHANNELS, "downsampling": DOWN,
                  "parameters": {"encoder": n_params(enc), "decoder": n_params(dec),
                                 "total": n_params(enc) + n_params(dec)}},
        "data": {"trainPhotos": len(train_paths), "testPhotos": len(test_rows),
                 "photoList": repo_relative(args.photos)},
        "training": {"steps": st["step"], "seconds": round(st["elapsed"], 1),
                     "minutes": round(st["elapsed"] / 60, 2), "threads": a["threads"], "batch": a["batch"],
                     "crop": a["crop"], "lr": a["lr"], "lrMin": a["lr_min"], "warmupFrac": a["warmup_frac"],
                     "klWeight": a["kl_weight"], "seed": a["seed"], "budgetMinutes": a["minutes"],
                     "finished": bool(st.get("final")), "checkpoint": ckpt_path(args), "command": run_command,
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", default=PHOTO_LIST)
    p.add_argument("--out", default=os.path.join(MODELS, "kl-f8"))
    p.add_argument("--ckpt-dir", default=os.path.join(REPO, ".cache", "kl-f8"))
    p.add_argument("--minutes", type=float, default=33.0,
                   help="training wall-clock budget (the learning-rate schedule follows it); 0 = use --steps only")
    p.add_argument("--steps", type=int, default=0, help="step limit (0 = time budget only)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--channels", default=",".join(map(str, PRESETS["kl-f8"]["channels"])),
                   help="channels at resolution 1, 1/2, 1/4, 1/8")
    p.add_argument("--blocks", type=int, default=PRESETS["kl-f8"]["blocks"], help="residual blocks per level")
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
    args = p.parse_args(argv)
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
        raise SystemExit("missing photos (install the packages named in training/photos.txt):\n  " + "\n  ".join(missing))
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
