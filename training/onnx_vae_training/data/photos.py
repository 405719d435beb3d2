"""The real photographs kl-f8 trains and is evaluated on (training/photos.txt: Debian-packaged images), their
evaluation views, random training crops, and the uint8 <-> model-range conversions."""

import math

import numpy as np
import torch
from PIL import Image

from ..models.kl_f8 import DOWN

Image.MAX_IMAGE_PIXELS = None  # some wallpapers are 6000 px wide

EVAL_SHORT_SIDE = 768   # large photos are resized so that their shorter side is this, then centre-cropped
EVAL_CROP = 512
TRAIN_SCALES = (1.0, 0.5, 0.25)  # relative to the photo, each also capped/floored below


def read_photo_list(path):
    """[(split, path, license)] from a photo list such as training/photos.txt."""
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
