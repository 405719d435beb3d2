"""madebyollin/taesd's tiny autoencoder, with the GroupNorm "pool" branch of TAEF2's (FLUX.2) mid blocks, built and
loaded from a pair of ONNX graphs: the structure (channels, latent channels, which blocks have the pool branch,
GroupNorm groups) is read off the graphs."""

import torch
import torch.nn as nn

from ..onnx_weights import OnnxWeights


def conv(n_in, n_out, **kwargs):
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kwargs)


class Clamp(nn.Module):
    """TAESD's soft clamp of the latents: 3 tanh(x / 3)."""

    def forward(self, x):
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    """TAESD's residual block: conv-relu-conv-relu-conv + skip, fused ReLU; with `groups`, first the mid blocks'
    pool branch x + conv1x1(relu(GroupNorm(conv1x1(x)))) (4x wider, no biases)."""

    def __init__(self, n_in, n_out, groups=0):
        super().__init__()
        self.conv = nn.Sequential(conv(n_in, n_out), nn.ReLU(), conv(n_out, n_out), nn.ReLU(), conv(n_out, n_out))
        self.skip = nn.Conv2d(n_in, n_out, 1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()
        self.pool = None
        if groups:
            wide = 4 * n_in
            self.pool = nn.Sequential(nn.Conv2d(n_in, wide, 1, bias=False), nn.GroupNorm(groups, wide), nn.ReLU(),
                                      nn.Conv2d(wide, n_in, 1, bias=False))

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


def pair_from_onnx(encoder_path, decoder_path):
    """TAESD Encoder and Decoder (nn.Sequential, upstream's layer indices) shaped and loaded from the two graphs."""
    enc_w, dec_w = OnnxWeights(encoder_path), OnnxWeights(decoder_path)
    c = enc_w.arrays["0.weight"].shape[0]
    latent = enc_w.arrays["14.weight"].shape[0]
    image = enc_w.arrays["0.weight"].shape[1]

    def groups(weights, index):
        # the pool branch of layer `index`, if the graph has one: its GroupNorm is the n-th in graph order
        if f"{index}.pool.0.weight" not in weights.arrays:
            return 0
        pools = sorted(int(k.split(".")[0]) for k in weights.arrays if k.endswith(".pool.0.weight"))
        return weights.group_norms[pools.index(index)]["groups"]

    encoder = nn.Sequential(
        conv(image, c), Block(c, c, groups(enc_w, 1)),
        conv(c, c, stride=2, bias=False), *(Block(c, c, groups(enc_w, i)) for i in (3, 4, 5)),
        conv(c, c, stride=2, bias=False), *(Block(c, c, groups(enc_w, i)) for i in (7, 8, 9)),
        conv(c, c, stride=2, bias=False), *(Block(c, c, groups(enc_w, i)) for i in (11, 12, 13)),
        conv(c, latent),
    )
    decoder = nn.Sequential(
        Clamp(), conv(latent, c), nn.ReLU(),
        *(Block(c, c, groups(dec_w, i)) for i in (3, 4, 5)), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        *(Block(c, c, groups(dec_w, i)) for i in (8, 9, 10)), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        *(Block(c, c, groups(dec_w, i)) for i in (13, 14, 15)), nn.Upsample(scale_factor=2), conv(c, c, bias=False),
        Block(c, c, groups(dec_w, 18)), conv(c, image),
    )
    enc_w.load_into(encoder, torch.zeros(1, image, 32, 32))
    dec_w.load_into(decoder, torch.zeros(1, latent, 4, 4))
    return encoder, decoder
