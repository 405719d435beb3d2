#!/usr/bin/env python3
"""Build the onnx-vae test fixtures: tiny, seeded, untrained PyTorch VAEs exported to ONNX, one per manifest variant.

For every fixture this writes models/fixtures/<name>/ with
  encoder.onnx, decoder.onnx   opset 17, float32, dynamic batch (and dynamic height/width for the image fixture)
  vae.json                     the manifest (docs/manifest.md)
  golden.json                  reference numbers computed here with PyTorch/NumPy for the TypeScript tests
and models/fixtures/README.md. The folder models/fixtures/ is rewritten entirely on every run; the output is
deterministic (torch.manual_seed per fixture, seeded torch.Generator for inputs and noise).

Usage (from the repository root; Debian's python with python3-torch, python3-onnx, python3-numpy):
  /usr/bin/python3 scripts/make-fixtures.py

golden.json conventions (every array is {"dims": [...], "data": [flat row-major numbers]}):
  x                  the golden input batch, float32, N items
  mean, logvar       the posterior parameters as the SDK derives them (moments: channels [0:C] and [C:2C] of axis 1)
  logvarClamped      clamp(logvar, -30, 20)
  std                float32(exp(0.5 * logvarClamped)) (exp evaluated in float64, rounded once to float32);
                     all zeros for a deterministic encoder
  decodedMean        the decoder's main output (raw graph output) on z = mean; decodedMeanLogScale likewise
  eps, epsSeed       standard normal noise [4, N, ...latent], float32, torch.Generator().manual_seed(epsSeed)
  z                  float32: fl32(mean + fl32(std * eps)), [4, N, ...latent]
  logPxGivenZ        [4, N] float64: sum over the item of log p(x | z[s, n]) from the float32 decoder outputs on z
  logPz              [4, N] float64: sum of -z^2/2 - log(2 pi)/2 over the latent item
  logQzGivenX        [4, N] float64: sum of -eps^2/2 - lv/2 - log(2 pi)/2, lv = logvarClamped (the diagonal Gaussian
                     log density at z = mean + std * eps, with (z - mean) / std = eps taken exactly)
  logQzGivenXAtZ     [4, N] float64: the same density evaluated from the float32 z, -(z - mean)^2 / (2 exp(lv)) - ...;
                     differs where std is tiny (ill-conditioned; informational, not used by iwae_*)
  klClosedForm       [N]: 0.5 * sum(mean^2 + exp(lv) - 1 - lv)
  elbo_kK, reconstruction_kK, iwae_kK, bitsPerDim_kK   for K in {1, 4}, using the first K noise draws eps[:K]
  reconstructionError [N]: mean over the item of (x - decode(mean))^2 in data space
  logPxGivenZAtMean  [N] (deterministic fixture): log p(x | z = encoder output)
  activeUnits        number of latent elements whose population variance (/N) of mean over the N items > 0.01
"""

import json
import math
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "models", "fixtures")

OPSET = 17
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0
LOG2PI = math.log(2.0 * math.pi)
N_SAMPLES = 4          # eps has N_SAMPLES draws per item
K_VALUES = (1, 4)
ACTIVE_THRESHOLD = 0.01


# --------------------------------------------------------------------------------------------------- models
def amplify(layer, gain, bias=None):
    """Scale a freshly initialised layer's weights and bias by `gain` (untrained nets have tiny outputs), then
    add `bias` (per output) to the bias."""
    with torch.no_grad():
        layer.weight.mul_(gain)
        layer.bias.mul_(gain)
        if bias is not None:
            layer.bias.add_(torch.as_tensor(bias, dtype=layer.bias.dtype))
    return layer


class ConvMomentsEncoder(nn.Module):
    """[B, 3, H, W] -> latent_parameters [B, 8, H/4, W/4]: 4 mean channels then 4 logvar channels.

    All 8 channels pass through tanh and a per-channel affine map: mean = 2 tanh(.) in [-2, 2], logvar =
    2 tanh(.) - 1 in [-3, 1], except the last logvar channel, 100 tanh(.) - 50 in [-150, 50], which leaves the
    SDK's clamp range [-30, 20] on both sides (on the golden input it does, below and above)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(16, 8, 3, padding=1),
        )
        amplify(self.net[-1], 20.0, [0, 0, 0, 0, 0, 0, 0, 1.5])
        scale = torch.tensor([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 100.0]).view(1, 8, 1, 1)
        bias = torch.tensor([0.0, 0.0, 0.0, 0.0, -1.0, -1.0, -1.0, -50.0]).view(1, 8, 1, 1)
        self.register_buffer("scale", scale)
        self.register_buffer("bias", bias)

    def forward(self, x):
        return torch.tanh(self.net(x)) * self.scale + self.bias


class ConvDecoder(nn.Module):
    """latent_sample [B, 4, h, w] -> sample [B, 3, 4h, 4w] in [-1, 1]: one ConvTranspose x2 upsampling, one
    nearest-neighbour Resize x2 + conv, tanh output."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(4, 16, 3, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1), nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(16, 8, 3, padding=1), nn.SiLU(),
            nn.Conv2d(8, 3, 3, padding=1), nn.Tanh(),
        )
        amplify(self.net[-2], 10.0)

    def forward(self, z):
        return self.net(z)


class MLPGaussianEncoder(nn.Module):
    """x [B, D] -> (mean [B, L], logvar [B, L]); logvar = 2 tanh(.) - 1 in [-3, 1]."""

    def __init__(self, d, latent, hidden=16, mean_gain=1.0, logvar_gain=3.0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, hidden), nn.Tanh())
        self.mean = amplify(nn.Linear(hidden, latent), mean_gain)
        self.logvar = amplify(nn.Linear(hidden, latent), logvar_gain)

    def forward(self, x):
        h = self.body(x)
        return self.mean(h), 2.0 * torch.tanh(self.logvar(h)) - 1.0


class MLPDeterministicEncoder(nn.Module):
    def __init__(self, d, latent, hidden=16, gain=1.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), amplify(nn.Linear(hidden, latent), gain))

    def forward(self, x):
        return self.net(x)


class MLPDecoder(nn.Module):
    """z [B, L] -> [B, D]; out = "sigmoid" (probabilities), "linear" (raw) or "tanh"."""

    def __init__(self, latent, d, out="linear", hidden=16, gain=3.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), amplify(nn.Linear(hidden, d), gain))
        self.out = out

    def forward(self, z):
        y = self.net(z)
        if self.out == "sigmoid":
            return torch.sigmoid(y)
        if self.out == "tanh":
            return torch.tanh(y)
        return y


class MLPLearnedScaleDecoder(nn.Module):
    """z [B, L] -> (x_mean [B, D] in [-1, 1], x_logstd [B, D] in [-2, 0])."""

    def __init__(self, latent, d, hidden=16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh())
        self.mean = amplify(nn.Linear(hidden, d), 2.0)
        self.logstd = amplify(nn.Linear(hidden, d), 2.0)

    def forward(self, z):
        h = self.body(z)
        return torch.tanh(self.mean(h)), torch.tanh(self.logstd(h)) - 1.0


# -------------------------------------------------------------------------------------------------- helpers
def f32(a):
    return np.asarray(a, dtype=np.float32)


def arr(a):
    """{"dims", "data"} with exact float32 or float64 values (Python floats round-trip through JSON)."""
    a = np.asarray(a)
    if a.dtype == np.float32:
        data = [float(v) for v in a.reshape(-1)]
    elif a.dtype == np.float64:
        data = [float(v) for v in a.reshape(-1)]
    else:
        data = [float(v) for v in a.astype(np.float64).reshape(-1)]
    return {"dims": [int(d) for d in a.shape], "data": data}


def export(module, args, path, input_names, output_names, dynamic_axes):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True,
                          export_params=True)


def run(module, x):
    """Run a module on a float32 numpy array, return numpy float32 output(s) as a tuple."""
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


def loglik(lik, x, outs):
    """Per-element log p(x | decoder outputs), float64, shape of x broadcast against outs[0]."""
    x = np.asarray(x, dtype=np.float64)
    main = np.asarray(outs[0], dtype=np.float64)
    if lik["kind"] == "gaussian":
        if "scale" in lik:
            s = float(lik["scale"])
            log_s = math.log(s)
        else:
            log_s = np.asarray(outs[1], dtype=np.float64)
            s = np.exp(log_s)
        return -0.5 * ((x - main) / s) ** 2 - log_s - 0.5 * LOG2PI
    if lik["kind"] == "bernoulli" and lik.get("parameterization") == "probs":
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(main), -100.0)
            l1p = np.maximum(np.log(1.0 - main), -100.0)
        return x * lp + (1.0 - x) * l1p
    raise ValueError(f"no log-likelihood for {lik}")


# ---------------------------------------------------------------------------------------------- golden data
def golden(spec, enc, dec, x):
    n = x.shape[0]
    lik = spec["manifest"]["likelihood"]
    kind = spec["manifest"]["encoder"]["output"]["kind"]
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

    eps_seed = spec["epsSeed"]
    gen = torch.Generator().manual_seed(eps_seed)
    eps = torch.randn((N_SAMPLES, n) + tuple(latent_shape), generator=gen, dtype=torch.float32).numpy()
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
        outs = run(dec, z.reshape((N_SAMPLES * n,) + tuple(latent_shape)))
        outs = [o.reshape((N_SAMPLES, n) + o.shape[1:]) for o in outs]
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
        for k in K_VALUES:
            rec = log_px[:k].mean(axis=0)
            iwae = logsumexp(log_px[:k] + log_pz[:k] - log_qz[:k], 0) - math.log(k)
            g[f"elbo_k{k}"] = arr(rec - kl)
            g[f"reconstruction_k{k}"] = arr(rec)
            g[f"iwae_k{k}"] = arr(iwae)
            g[f"bitsPerDim_k{k}"] = arr(-iwae / (d * math.log(2.0)))
        summary["iwae4"] = g["iwae_k4"]["data"]

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


# ------------------------------------------------------------------------------------------------- fixtures
def base_manifest(name, description, enc_input, enc_output, dec_input, dec_output, data, latent, likelihood):
    return {
        "format": "onnx-vae",
        "version": 1,
        "name": name,
        "description": description,
        "encoder": {"file": "encoder.onnx", "input": enc_input, "output": enc_output},
        "decoder": {"file": "decoder.onnx", "input": dec_input, "output": dec_output},
        "data": data,
        "latent": latent,
        "likelihood": likelihood,
    }


def uniform(gen, shape, low, high):
    return f32((torch.rand(shape, generator=gen, dtype=torch.float32) * (high - low) + low).numpy())


def fixture_conv_moments(gen):
    enc, dec = ConvMomentsEncoder(), ConvDecoder()
    x = uniform(gen, (2, 3, 8, 12), -1.0, 1.0)
    man = base_manifest(
        "conv-moments",
        "Tiny untrained conv VAE (NCHW, dynamic height/width): moments encoder output with extreme logvars, "
        "fixed-scale Gaussian likelihood, scaling and shift factors",
        "sample", {"kind": "moments", "name": "latent_parameters"}, "latent_sample", "sample",
        {"shape": [3, None, None], "layout": "NCHW", "range": [-1, 1]},
        {"shape": [4, None, None], "scalingFactor": 0.18215, "shiftFactor": 0.1},
        {"kind": "gaussian", "scale": 0.5})
    spatial = {0: "batch", 2: "height", 3: "width"}
    lat = {0: "batch", 2: "latent_height", 3: "latent_width"}
    enc_io = (["sample"], ["latent_parameters"], {"sample": spatial, "latent_parameters": lat})
    dec_io = (["latent_sample"], ["sample"], {"latent_sample": lat, "sample": spatial})
    return enc, dec, x, man, enc_io, dec_io


def fixture_mlp_learned_scale(gen):
    enc, dec = MLPGaussianEncoder(5, 3), MLPLearnedScaleDecoder(3, 5)
    x = uniform(gen, (4, 5), -1.0, 1.0)
    man = base_manifest(
        "mlp-learned-scale",
        "Tiny untrained MLP VAE: two-output Gaussian encoder, Gaussian likelihood with a learned per-element "
        "log std from a second decoder output",
        "x", {"kind": "gaussian", "mean": "mu", "logvar": "log_var"}, "z", "x_mean",
        {"shape": [5], "layout": "flat", "range": [-1, 1]},
        {"shape": [3]},
        {"kind": "gaussian", "logScaleOutput": "x_logstd"})
    b = {0: "batch"}
    enc_io = (["x"], ["mu", "log_var"], {"x": b, "mu": b, "log_var": b})
    dec_io = (["z"], ["x_mean", "x_logstd"], {"z": b, "x_mean": b, "x_logstd": b})
    return enc, dec, x, man, enc_io, dec_io


def fixture_mlp_deterministic_probs(gen):
    enc, dec = MLPDeterministicEncoder(6, 2, gain=2.0), MLPDecoder(2, 6, out="sigmoid")
    x = f32((torch.rand((3, 6), generator=gen) < 0.5).float().numpy())
    man = base_manifest(
        "mlp-deterministic-probs",
        "Tiny untrained MLP autoencoder: deterministic encoder (point-mass posterior), Bernoulli likelihood "
        "with probabilities (sigmoid inside the graph)",
        "x", {"kind": "deterministic", "name": "z"}, "z", "probs",
        {"shape": [6], "layout": "flat", "range": [0, 1]},
        {"shape": [2]},
        {"kind": "bernoulli", "parameterization": "probs"})
    b = {0: "batch"}
    # the decoder's input is also called "z": the two graphs are separate, so the names do not clash
    enc_io = (["x"], ["z"], {"x": b, "z": b})
    dec_io = (["z"], ["probs"], {"z": b, "probs": b})
    return enc, dec, x, man, enc_io, dec_io


def _probs_input(gen):
    x = uniform(gen, (3, 6), 0.0, 1.0)
    x[0, 0] = x[1, 2] = x[2, 5] = x[0, 3] = 0.0
    x[0, 1] = x[1, 4] = x[2, 0] = x[2, 3] = 1.0
    return x


def fixture_mlp_probs(gen):
    enc, dec = MLPGaussianEncoder(6, 2), MLPDecoder(2, 6, out="sigmoid")
    x = _probs_input(gen)
    man = base_manifest(
        "mlp-probs",
        "Tiny untrained MLP VAE: Gaussian encoder, Bernoulli likelihood with probabilities (sigmoid inside the "
        "graph), fractional and exact 0/1 data",
        "x", {"kind": "gaussian", "mean": "mean", "logvar": "logvar"}, "z", "probs",
        {"shape": [6], "layout": "flat", "range": [0, 1]},
        {"shape": [2]},
        {"kind": "bernoulli", "parameterization": "probs"})
    b = {0: "batch"}
    enc_io = (["x"], ["mean", "logvar"], {"x": b, "mean": b, "logvar": b})
    dec_io = (["z"], ["probs"], {"z": b, "probs": b})
    return enc, dec, x, man, enc_io, dec_io


def fixture_mlp_none(gen):
    enc, dec = MLPGaussianEncoder(6, 2, mean_gain=3.0), MLPDecoder(2, 6, out="linear")
    x = _probs_input(gen)
    man = base_manifest(
        "mlp-none",
        "Tiny untrained MLP VAE: Gaussian encoder, no likelihood (linear 'recon' output): score reports "
        "reconstruction error and KL only",
        "x", {"kind": "gaussian", "mean": "mean", "logvar": "logvar"}, "z", "recon",
        {"shape": [6], "layout": "flat", "range": [0, 1]},
        {"shape": [2]},
        {"kind": "none"})
    b = {0: "batch"}
    enc_io = (["x"], ["mean", "logvar"], {"x": b, "mean": b, "logvar": b})
    dec_io = (["z"], ["recon"], {"z": b, "recon": b})
    return enc, dec, x, man, enc_io, dec_io


FIXTURES = [
    # name, builder, model seed, input seed, eps seed
    ("conv-moments", fixture_conv_moments, 101, 1101, 2101),
    ("mlp-learned-scale", fixture_mlp_learned_scale, 102, 1102, 2102),
    ("mlp-deterministic-probs", fixture_mlp_deterministic_probs, 103, 1103, 2103),
    ("mlp-probs", fixture_mlp_probs, 104, 1104, 2104),
    ("mlp-none", fixture_mlp_none, 105, 1105, 2105),
]

README = """# Test fixtures

Tiny, **untrained** VAEs with seeded random weights, one per manifest variant (see `docs/manifest.md`), for the
TypeScript tests. They carry no meaning as models: they exist so the SDK can be checked against numbers computed
by PyTorch. Every folder holds `vae.json`, `encoder.onnx`, `decoder.onnx` (opset 17, float32, dynamic batch) and
`golden.json`.

| fixture | encoder output | data | latent | likelihood | what it covers |
| --- | --- | --- | --- | --- | --- |
| `conv-moments` | `moments` (`latent_parameters`, 8 channels) | NCHW `[3, null, null]`, `[-1, 1]` | `[4, null, null]`, scaling 0.18215, shift 0.1 | gaussian, `scale` 0.5 | dynamic height/width (multiples of 4, latent is 1/4 size), channel split of moments, logvar clamping on both sides (one logvar channel spans [-150, 50]), scaling/shift factors, ConvTranspose and nearest Resize in the decoder |
| `mlp-learned-scale` | `gaussian` (`mu`, `log_var`) | flat `[5]`, `[-1, 1]` | `[3]` | gaussian, `logScaleOutput` `x_logstd` | two encoder outputs with custom names, a second decoder output holding the log std |
| `mlp-deterministic-probs` | `deterministic` (`z`) | flat `[6]`, `[0, 1]` | `[2]` | bernoulli, `probs` | point-mass posterior (std 0, sampling returns the mean), sigmoid inside the graph, binary data |
| `mlp-probs` | `gaussian` (`mean`, `logvar`) | flat `[6]`, `[0, 1]` | `[2]` | bernoulli, `probs` | probabilities with fractional and exact 0/1 data |
| `mlp-none` | `gaussian` (`mean`, `logvar`) | flat `[6]`, `[0, 1]` | `[2]` | `none` | no likelihood: reconstruction error and KL only; raw linear decoder output `recon` |

`mlp-probs` also has `encoder.float16.onnx` and `decoder.float16.onnx` (its manifest's `float16` block): the same
graphs with float16 inputs and outputs (Casts around the float32 body, `scripts/make-float16-io.py`), for the
float16 conversion and precision-choice tests.

## `golden.json`

Arrays are `{"dims": [...], "data": [...]}` (flat, row-major). float32 values are written exactly (each JSON
number is the float32 value), float64 results as computed in float64. Compare with `tolerance.relative` (1e-4).

- `x`: the input batch (N items). `mean`, `logvar`: the posterior parameters as the SDK derives them (for
  `moments`: channels `[0:C]` and `[C:2C]` of axis 1). `logvarClamped` = clamp(logvar, -30, 20).
  The deterministic fixture has no `logvar*`; its `mean` is the encoder output.
- `std` = float32(exp(0.5 logvarClamped)) (zeros for the deterministic fixture).
- `decodedMean`: the decoder's main output (raw graph output) on z = mean; `decodedMeanLogScale` (learned scale).
- `eps` `[4, N, ...latent]`: standard normal noise (`torch.Generator().manual_seed(epsSeed)`), float32.
- `z` = fl32(mean + fl32(std * eps)), `[4, N, ...latent]`.
- `logPxGivenZ`, `logPz`, `logQzGivenX` `[4, N]` (float64, summed over the item). `logQzGivenX` is the diagonal
  Gaussian log density with logvarClamped at z = mean + std eps, computed from `eps`:
  sum(-eps^2/2 - lv/2 - log(2 pi)/2). `logQzGivenXAtZ` is the same density evaluated from the float32 `z`
  (`-(z - mean)^2 / (2 exp(lv)) - ...`); it is informational only: where std is tiny (logvar clamped at -30 in
  `conv-moments`) `z - mean` is dominated by float32 rounding of `z`, so it differs from `logQzGivenX` by ~1e-2
  relative there and is not reproducible across runtimes.
  `klClosedForm` `[N]` = 0.5 sum(mean^2 + exp(lv) - 1 - lv).
- For k in {1, 4}, using the first k noise draws: `elbo_k{k}` = mean log p(x|z) - KL, `reconstruction_k{k}` =
  mean log p(x|z), `iwae_k{k}` = logsumexp(log p(x|z) + log p(z) - log q(z|x)) - log k, `bitsPerDim_k{k}` =
  -iwae / (D ln 2) with D the number of elements of one item.
- `reconstructionError` `[N]`: mean over the item of (x - decode(mean))^2 in data space.
- `logPxGivenZAtMean` `[N]` (deterministic fixture only): log p(x | z = encoder output).
- `activeUnits`: latent elements whose population variance of `mean` over the N items exceeds 0.01.

Likelihoods (float64 from the float32 graph outputs): gaussian `-((x-mu)/s)^2/2 - log s - log(2 pi)/2` (learned:
`log s` is the `x_logstd` output); bernoulli probs `x max(log p, -100) + (1-x) max(log(1-p), -100)`.
`mlp-none` and `mlp-deterministic-probs` have no `logPxGivenZ`/ELBO/IWAE entries.

## Regenerating

```sh
/usr/bin/python3 scripts/make-fixtures.py   # Debian python3-torch (1.13), python3-onnx, python3-numpy
```

The script deletes and rewrites `models/fixtures/` entirely; the output is deterministic (fixed seeds per
fixture). The models are tiny and need no training.
"""


def check_onnx(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)

    def desc(v):
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        return f"{v.name}{dims}:{onnx.TensorProto.DataType.Name(t.elem_type)}"
    return [desc(v) for v in m.graph.input], [desc(v) for v in m.graph.output]


def main():
    torch.set_num_threads(1)
    # torch 1.13's exporter warns about prim::Constant shape inference on every graph; harmless here
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    verbose = "--verbose" in sys.argv
    for name, build, model_seed, input_seed, eps_seed in FIXTURES:
        torch.manual_seed(model_seed)
        gen = torch.Generator().manual_seed(input_seed)
        enc, dec, x, man, enc_io, dec_io = build(gen)
        enc.eval()
        dec.eval()
        assert man["name"] == name
        folder = os.path.join(OUT, name)
        os.makedirs(folder)

        g, s = golden({"manifest": man, "epsSeed": eps_seed}, enc, dec, x)

        mean_dims = g["mean"]["dims"]
        export(enc, (torch.from_numpy(x),), os.path.join(folder, "encoder.onnx"), *enc_io)
        export(dec, (torch.zeros(mean_dims, dtype=torch.float32),), os.path.join(folder, "decoder.onnx"), *dec_io)

        with open(os.path.join(folder, "vae.json"), "w") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
        with open(os.path.join(folder, "golden.json"), "w") as f:
            json.dump(g, f, separators=(",", ":"), allow_nan=False)
            f.write("\n")

        io = [check_onnx(os.path.join(folder, fn)) for fn in ("encoder.onnx", "decoder.onnx")]
        size = sum(os.path.getsize(os.path.join(folder, fn)) for fn in os.listdir(folder))
        extra = " ".join(f"{k}={np.round(v, 4).tolist() if not isinstance(v, int) else v}" for k, v in s.items())
        print(f"{name}: {size / 1024:.1f} KB, x {list(x.shape)}, latent {mean_dims[1:]}, {extra}", flush=True)
        if verbose:
            for label, (ins, outs) in zip(("encoder", "decoder"), io):
                print(f"  {label}: inputs {ins} outputs {outs}")

    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(README)
    # float16-IO copies of mlp-probs' graphs, listed in its manifest's "float16" block (the float16 path's tests)
    subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-float16-io.py"),
                    os.path.join(OUT, "mlp-probs")], check=True)


if __name__ == "__main__":
    main()
