"""Golden data: reference numbers computed here with PyTorch/NumPy, which the TypeScript tests compare against.

One format for the posterior/scoring entries of every model (models/fixtures/README.md describes it): every array is
`{"dims": [...], "data": [flat row-major numbers]}`, float32 values written exactly (each JSON number is the float32
value), float64 results as computed in float64. `posterior_golden` computes the whole set for one encoder/decoder
pair; `write` stores it as compact JSON.
"""

import json
import math

import numpy as np
import torch

LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0  # the SDK clamps logvar to this range (as diffusers does)
LOG2PI = math.log(2.0 * math.pi)
ACTIVE_THRESHOLD = 0.01  # a latent element is active when the variance of its mean over the items exceeds this


def f32(a):
    return np.asarray(a, dtype=np.float32)


def arr(a):
    """{"dims", "data"} with exact float32 or float64 values (Python floats round-trip through JSON)."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return {"dims": [int(d) for d in a.shape], "data": [float(v) for v in a.reshape(-1)]}


def write(path, golden):
    """Compact JSON, no NaN or infinity, one trailing newline."""
    with open(path, "w") as f:
        json.dump(golden, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")


def run(module, x):
    """Runs a module on a float32 numpy array without gradients; its output(s) as a tuple of float32 arrays."""
    with torch.no_grad():
        y = module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    if isinstance(y, (tuple, list)):
        return tuple(t.numpy().astype(np.float32) for t in y)
    return (y.numpy().astype(np.float32),)


def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))).squeeze(axis)


def item_sum(a, lead):
    """Sum over all axes after the first `lead` ones, in float64."""
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[:lead] + (-1,)).sum(axis=-1)


def loglik(likelihood, x, outs):
    """Per-element log p(x | decoder outputs) in float64 for a manifest `likelihood` block, x broadcast against
    outs[0]: gaussian with a fixed `scale` or a learned log scale (outs[1]), bernoulli with probabilities."""
    x = np.asarray(x, dtype=np.float64)
    main = np.asarray(outs[0], dtype=np.float64)
    if likelihood["kind"] == "gaussian":
        if "scale" in likelihood:
            s = float(likelihood["scale"])
            log_s = math.log(s)
        else:
            log_s = np.asarray(outs[1], dtype=np.float64)
            s = np.exp(log_s)
        return -0.5 * ((x - main) / s) ** 2 - log_s - 0.5 * LOG2PI
    if likelihood["kind"] == "bernoulli" and likelihood.get("parameterization") == "probs":
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(main), -100.0)
            l1p = np.maximum(np.log(1.0 - main), -100.0)
        return x * lp + (1.0 - x) * l1p
    raise ValueError(f"no log-likelihood for {likelihood}")


def posterior_golden(enc, dec, x, manifest, eps_seed, n_samples=4, k_values=(1, 4)):
    """The golden entries of models/fixtures/README.md for one model on the batch x (float32 numpy, N items).

    `manifest` is the model's vae.json (its encoder output kind and likelihood decide what is computed); eps is
    [n_samples, N, ...latent] from torch.Generator().manual_seed(eps_seed); the K-sample scores use the first K draws
    for K in k_values. Returns (golden, summary), summary being a few numbers worth printing."""
    n = x.shape[0]
    lik = manifest["likelihood"]
    kind = manifest["encoder"]["output"]["kind"]
    g = {"x": arr(x)}

    enc_out = run(enc, x)
    if kind == "moments":
        p = enc_out[0]
        c = p.shape[1] // 2
        mean, logvar = f32(p[:, :c]), f32(p[:, c:])
    elif kind == "gaussian":
        mean, logvar = enc_out
    else:
        mean, logvar = enc_out[0], None
    g["mean"] = arr(mean)
    latent_shape = mean.shape[1:]

    if logvar is not None:
        lv = f32(np.clip(logvar, LOGVAR_MIN, LOGVAR_MAX))
        std = f32(np.exp(0.5 * lv.astype(np.float64)))
        g["logvar"] = arr(logvar)
        g["logvarClamped"] = arr(lv)
    else:
        lv = None
        std = np.zeros_like(mean, dtype=np.float32)
    g["std"] = arr(std)

    dec_mean = run(dec, mean)
    g["decodedMean"] = arr(dec_mean[0])
    if len(dec_mean) > 1:
        g["decodedMeanLogScale"] = arr(dec_mean[1])

    gen = torch.Generator().manual_seed(eps_seed)
    eps = torch.randn((n_samples, n) + tuple(latent_shape), generator=gen, dtype=torch.float32).numpy()
    z = f32(mean[None] + f32(std[None] * eps))
    g["eps"] = arr(eps)
    g["epsSeed"] = eps_seed
    g["z"] = arr(z)

    d = int(np.prod(x.shape[1:]))
    summary = {}
    if lv is not None:
        lv64 = lv.astype(np.float64)
        m64 = mean.astype(np.float64)
        kl = 0.5 * item_sum(m64 ** 2 + np.exp(lv64) - 1.0 - lv64, 1)
        g["klClosedForm"] = arr(kl)
        summary["kl"] = kl

    if lik["kind"] != "none" and lv is not None:
        outs = run(dec, z.reshape((n_samples * n,) + tuple(latent_shape)))
        outs = [o.reshape((n_samples, n) + o.shape[1:]) for o in outs]
        log_px = item_sum(loglik(lik, x[None], outs), 2)
        z64 = z.astype(np.float64)
        log_pz = item_sum(-0.5 * z64 ** 2 - 0.5 * LOG2PI, 2)
        # log q(z | x) from eps: (z - mean) / std = eps in exact arithmetic. Evaluating it from the float32 z instead
        # is ill-conditioned where std is tiny (logvar clamped at -30: std 3e-7 against ulp(mean) ~ 1e-8), so any
        # runtime whose mean differs by an ulp gets a different value; logQzGivenXAtZ records that variant.
        eps64 = eps.astype(np.float64)
        log_qz = item_sum(-0.5 * eps64 ** 2 - 0.5 * lv64[None] - 0.5 * LOG2PI, 2)
        log_qz_at_z = item_sum(-0.5 * (z64 - m64[None]) ** 2 / np.exp(lv64)[None] - 0.5 * lv64[None] - 0.5 * LOG2PI, 2)
        g["logPxGivenZ"] = arr(log_px)
        g["logPz"] = arr(log_pz)
        g["logQzGivenX"] = arr(log_qz)
        g["logQzGivenXAtZ"] = arr(log_qz_at_z)
        for k in k_values:
            rec = log_px[:k].mean(axis=0)
            iwae = logsumexp(log_px[:k] + log_pz[:k] - log_qz[:k], 0) - math.log(k)
            g[f"elbo_k{k}"] = arr(rec - kl)
            g[f"reconstruction_k{k}"] = arr(rec)
            g[f"iwae_k{k}"] = arr(iwae)
            g[f"bitsPerDim_k{k}"] = arr(-iwae / (d * math.log(2.0)))
        summary[f"iwae{k_values[-1]}"] = g[f"iwae_k{k_values[-1]}"]["data"]

    if lik["kind"] != "none" and lv is None:
        lp = item_sum(loglik(lik, x, dec_mean), 1)
        g["logPxGivenZAtMean"] = arr(lp)
        summary["logPxAtMean"] = lp

    recon = dec_mean[0].astype(np.float64)  # data space: probabilities, gaussian mean or raw output
    err = item_sum((x.astype(np.float64) - recon) ** 2, 1) / d
    g["reconstructionError"] = arr(err)

    var = mean.astype(np.float64).reshape(n, -1).var(axis=0)  # population variance (ddof 0)
    g["activeUnits"] = int((var > ACTIVE_THRESHOLD).sum())
    g["tolerance"] = {"relative": 1e-4}
    if lv is not None:
        summary["clampedLow"] = int((logvar < LOGVAR_MIN).sum())
        summary["clampedHigh"] = int((logvar > LOGVAR_MAX).sum())
    summary["activeUnits"] = g["activeUnits"]
    return g, summary
