"""Thumbnail data: training crop pools and the Kodak validation thumbnails.

Training samples are made ahead into a uint8 pool (N, 32, 32, 3) so that the network never
waits for data: square crops whose side is drawn log-uniformly from 32 px to the image's
short side, plus a share of whole images squeezed to 32x32 (as web thumbnails are), all
resized with antialiasing (LANCZOS) and randomly flipped.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}


def list_images(folder) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTS)


def random_thumb(img: Image.Image, rng: np.random.Generator, size: int = 32,
                 whole_share: float = 0.15) -> np.ndarray:
    w, h = img.size
    if rng.random() < whole_share:
        box = (0, 0, w, h)
    else:
        short = min(w, h)
        side = int(round(math.exp(rng.uniform(math.log(size), math.log(short)))))
        x0 = int(rng.integers(0, w - side + 1))
        y0 = int(rng.integers(0, h - side + 1))
        box = (x0, y0, x0 + side, y0 + side)
    t = img.resize((size, size), Image.LANCZOS, box=box, reducing_gap=2.0)
    a = np.asarray(t, dtype=np.uint8)
    if rng.random() < 0.5:
        a = a[:, ::-1]
    return a


def make_pool(folder, n: int, seed: int = 0, size: int = 32) -> np.ndarray:
    """A (n, size, size, 3) uint8 pool of random thumbnails from the images in ``folder``."""
    paths = list_images(folder)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    rng = np.random.default_rng(seed)
    pool = np.empty((n, size, size, 3), np.uint8)
    per = math.ceil(n / len(paths))
    i = 0
    for p in rng.permutation(len(paths)):
        img = Image.open(paths[p]).convert("RGB")
        for _ in range(per):
            if i == n:
                break
            pool[i] = random_thumb(img, rng, size)
            i += 1
    return pool[rng.permutation(n)]


def kodak_thumbs(folder, crops_per_image: int = 20, seed: int = 2016,
                 size: int = 32) -> np.ndarray:
    """The validation set: each image whole (squeezed to size x size) + random square crops
    (side log-uniform from 32 px to the short side), LANCZOS. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out = []
    for path in list_images(folder):
        img = Image.open(path).convert("RGB")
        out.append(np.asarray(img.resize((size, size), Image.LANCZOS, reducing_gap=2.0)))
        for _ in range(crops_per_image):
            out.append(random_thumb(img, rng, size, whole_share=0.0))
    return np.stack(out)
