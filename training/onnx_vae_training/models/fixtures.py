"""The tiny untrained networks of models/fixtures: one per manifest variant (make_fixtures builds and exports them).

Untrained nets have tiny outputs, so `amplify` scales chosen layers to give the golden data values in useful ranges.
"""

import torch
import torch.nn as nn


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
