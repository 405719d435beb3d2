"""The Stable-Diffusion-style convolutional KL-VAE of models/kl-f8 ("kl-f8": 4 latent channels at 1/8 resolution).

SD's AutoencoderKL layout without attention: GroupNorm + SiLU residual blocks, three stride-2 conv downsamplings in
the encoder, three nearest-neighbour x2 upsamplings + conv in the decoder. The size is a configuration,
`{"channels": [c0, c1, c2, c3], "blocks": n}` (channels at resolution 1, 1/2, 1/4, 1/8; residual blocks per level),
so the same classes build the small shipped model and a full-size one (`PRESETS`):

    from onnx_vae_training.models import kl_f8
    encoder, decoder = kl_f8.build(kl_f8.PRESETS["sd-size"])   # random weights
"""

import re

import torch.nn as nn
import torch.nn.functional as F

LATENT_CHANNELS = 4
DOWN = 8  # spatial factor between image and latent

PRESETS = {
    # the shipped models/kl-f8 (training/onnx_vae_training/train_kl_f8.py's defaults)
    "kl-f8": {"channels": [16, 32, 64, 128], "blocks": 1},
    # SD 1.x/2.x/XL's VAE widths and blocks per level, without its mid-block attention (60.9 M parameters
    # against SD's 84 M), for measurements at full size with random weights
    "sd-size": {"channels": [128, 256, 512, 512], "blocks": 2},
}


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
    """(Encoder, Decoder) for a configuration {"channels": [c0, c1, c2, c3], "blocks": n}, randomly initialised."""
    return Encoder(cfg["channels"], cfg["blocks"]), Decoder(cfg["channels"], cfg["blocks"])


def config_of_encoder_weights(shapes, where="encoder"):
    """The configuration of an encoder from its parameter shapes ({name: shape}, e.g. an ONNX graph's
    initializers): channels from conv_in and the three stride-2 convs `body.N`, blocks from the first one's index."""
    downs = sorted((int(m.group(1)), shape[0]) for name, shape in shapes.items()
                   if (m := re.fullmatch(r"body\.(\d+)\.weight", name)))
    if len(downs) != 3:
        raise ValueError(f"{where}: expected 3 downsampling convs body.N.weight, found {len(downs)}")
    return {"channels": [int(shapes["conv_in.weight"][0])] + [int(c) for _, c in downs], "blocks": downs[0][0]}


def pair_from_onnx(encoder_path, decoder_path):
    """(Encoder, Decoder) configured from an exported pair's initializers and loaded from them, in eval mode."""
    import torch

    from ..onnx_weights import OnnxWeights

    enc_w, dec_w = OnnxWeights(encoder_path), OnnxWeights(decoder_path)
    cfg = config_of_encoder_weights({name: a.shape for name, a in enc_w.arrays.items()}, encoder_path)
    encoder, decoder = build(cfg)
    enc_w.load_into(encoder, torch.zeros(1, 3, 16, 16))
    dec_w.load_into(decoder, torch.zeros(1, LATENT_CHANNELS, 2, 2))
    return encoder, decoder
