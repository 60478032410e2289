"""Thumbnail data: training crop pools and the validation thumbnails.

Training samples are made ahead into a uint8 pool (N, 32, 32, 3) so that the network never
waits for data: square crops whose side is drawn log-uniformly from 32 px to the image's
short side, plus a share of whole images squeezed to 32x32 (as web thumbnails are), all
resized with antialiasing (LANCZOS) and randomly flipped.

A source is a folder, optionally with a weight (``DIR:0.5``): each image of it gives a
number of crops proportional to that weight, so a source can be weighed down (the flat
graphics of ``extra/``) without dropping it.

Hard examples (the 2017 paper's idea, issue #19 point 4): with ``hard=K`` > 1 each crop is
the one of K drawn from the same image that PNG codes largest, so the pool leans towards
the crops that are hard to compress while every image keeps its share.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}


def list_images(folder) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTS)


def parse_source(spec: str) -> tuple[Path, float]:
    """'DIR' or 'DIR:WEIGHT' -> (Path, weight)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head:
        try:
            return Path(head), float(tail)
        except ValueError:
            pass
    return Path(spec), 1.0


def weighted_images(sources) -> list[tuple[Path, float]]:
    """Every image under the sources with its weight. A folder listed twice (a parent and,
    weighted, one of its subfolders) takes the weight of its most specific entry."""
    found: dict[Path, tuple[int, float]] = {}
    for spec in sources:
        folder, weight = parse_source(spec) if isinstance(spec, str) else spec
        depth = len(folder.resolve().parts)
        for p in list_images(folder):
            if p.resolve() not in found or found[p.resolve()][0] < depth:
                found[p.resolve()] = (depth, weight)
    return [(p, w) for p, (_, w) in sorted(found.items()) if w > 0]


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


def png_size(a: np.ndarray) -> int:
    """Bytes of an (H, W, 3) uint8 array as a PNG (Pillow's default zlib level)."""
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.tell()


def make_pool(sources, n: int, seed=0, size: int = 32, hard: int = 1) -> np.ndarray:
    """A (n, size, size, 3) uint8 pool of random thumbnails from the images of ``sources``
    (a folder, or a list of 'DIR[:WEIGHT]' specs), each image giving crops in proportion to
    its weight. With ``hard`` > 1, each crop is the one of ``hard`` candidates from the
    same image with the largest PNG size."""
    if isinstance(sources, (str, Path)):
        sources = [str(sources)]
    images = weighted_images(sources)
    if not images:
        raise FileNotFoundError(f"no images in {', '.join(map(str, sources))}")
    rng = np.random.default_rng(seed)
    weights = np.array([w for _, w in images])
    quota = np.floor(weights / weights.sum() * n).astype(int)
    short = n - quota.sum()  # hand the rounding remainder out by weight
    quota += np.bincount(rng.choice(len(images), short, p=weights / weights.sum()),
                         minlength=len(images))
    pool = np.empty((n, size, size, 3), np.uint8)
    i = 0
    for k in rng.permutation(len(images)):
        img = Image.open(images[k][0]).convert("RGB")
        for _ in range(quota[k]):
            if hard > 1:
                pool[i] = max((random_thumb(img, rng, size) for _ in range(hard)), key=png_size)
            else:
                pool[i] = random_thumb(img, rng, size)
            i += 1
    return pool[rng.permutation(n)]


def kodak_thumbs(folder, crops_per_image: int = 20, seed: int = 2016,
                 size: int = 32) -> np.ndarray:
    """A validation set: each image whole (squeezed to size x size) + random square crops
    (side log-uniform from 32 px to the short side), LANCZOS. Deterministic for a seed.
    Kodak uses 20 crops per image (504 thumbnails); extra-val 3 (672)."""
    rng = np.random.default_rng(seed)
    out = []
    for path in list_images(folder):
        img = Image.open(path).convert("RGB")
        out.append(np.asarray(img.resize((size, size), Image.LANCZOS, reducing_gap=2.0)))
        for _ in range(crops_per_image):
            out.append(random_thumb(img, rng, size, whole_share=0.0))
    return np.stack(out)
