"""Build the onnx-vae test fixtures: tiny, seeded, untrained PyTorch VAEs exported to ONNX, one per manifest variant.

For every fixture this writes models/fixtures/<name>/ with
  encoder.onnx, decoder.onnx   opset 17, float32, dynamic batch (and dynamic height/width for the image fixture)
  vae.json                     the manifest (docs/manifest.md)
  golden.json                  reference numbers computed here with PyTorch/NumPy for the TypeScript tests
and models/fixtures/README.md. The folder models/fixtures/ is rewritten entirely on every run; the output is
deterministic (torch.manual_seed per fixture, seeded torch.Generator for inputs and noise).

Usage (from the repository root; Debian's python with python3-torch, python3-onnx, python3-numpy):
  PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.make_fixtures [--verbose] [--out DIR]

--out writes the fixtures somewhere else than models/fixtures/ (to compare a run with the committed files).

golden.json conventions (golden.posterior_golden computes them; every array is {"dims": [...], "data": [flat row-major numbers]}):
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

import argparse
import json
import os
import shutil

import numpy as np
import torch

from . import golden, make_float16_io, onnx_export
from .models.fixtures import (ConvDecoder, ConvMomentsEncoder, MLPDecoder, MLPDeterministicEncoder,
                              MLPGaussianEncoder, MLPLearnedScaleDecoder)
from .paths import MODELS

OUT = os.path.join(MODELS, "fixtures")
N_SAMPLES = 4          # eps has N_SAMPLES draws per item
K_VALUES = (1, 4)


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
    return golden.f32((torch.rand(shape, generator=gen, dtype=torch.float32) * (high - low) + low).numpy())


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
    x = golden.f32((torch.rand((3, 6), generator=gen) < 0.5).float().numpy())
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
graphs with float16 inputs and outputs (Casts around the float32 body, `onnx_vae_training.make_float16_io`), for the
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
PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.make_fixtures   # Debian python3-torch (1.13), python3-onnx, python3-numpy
```

The script deletes and rewrites `models/fixtures/` entirely; the output is deterministic (fixed seeds per
fixture). The models are tiny and need no training.
"""


def check_onnx(path):
    m = onnx_export.check(path)
    return [onnx_export.describe(v) for v in m.graph.input], [onnx_export.describe(v) for v in m.graph.output]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=OUT, help="the folder to (re)write, default models/fixtures")
    parser.add_argument("--verbose", action="store_true", help="print each graph's inputs and outputs")
    args = parser.parse_args(argv)
    out = args.out
    torch.set_num_threads(1)
    onnx_export.quiet_exporter()
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    for name, build, model_seed, input_seed, eps_seed in FIXTURES:
        torch.manual_seed(model_seed)
        gen = torch.Generator().manual_seed(input_seed)
        enc, dec, x, man, enc_io, dec_io = build(gen)
        enc.eval()
        dec.eval()
        assert man["name"] == name
        folder = os.path.join(out, name)
        os.makedirs(folder)

        g, s = golden.posterior_golden(enc, dec, x, man, eps_seed, N_SAMPLES, K_VALUES)

        mean_dims = g["mean"]["dims"]
        onnx_export.export(enc, (torch.from_numpy(x),), os.path.join(folder, "encoder.onnx"), *enc_io)
        onnx_export.export(dec, (torch.zeros(mean_dims, dtype=torch.float32),), os.path.join(folder, "decoder.onnx"),
                           *dec_io)

        with open(os.path.join(folder, "vae.json"), "w") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
        golden.write(os.path.join(folder, "golden.json"), g)

        io = [check_onnx(os.path.join(folder, fn)) for fn in ("encoder.onnx", "decoder.onnx")]
        size = sum(os.path.getsize(os.path.join(folder, fn)) for fn in os.listdir(folder))
        extra = " ".join(f"{k}={np.round(v, 4).tolist() if not isinstance(v, int) else v}" for k, v in s.items())
        print(f"{name}: {size / 1024:.1f} KB, x {list(x.shape)}, latent {mean_dims[1:]}, {extra}", flush=True)
        if args.verbose:
            for label, (ins, outs) in zip(("encoder", "decoder"), io):
                print(f"  {label}: inputs {ins} outputs {outs}")

    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(README)
    # float16-IO copies of mlp-probs' graphs, listed in its manifest's "float16" block (the float16 path's tests)
    make_float16_io.main([os.path.join(out, "mlp-probs")])


if __name__ == "__main__":
    main()
