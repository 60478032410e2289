"""Images in, images out: reading any Pillow image as 8-bit RGB, padding and cropping.

Transparency is composited over white (BACKGROUND) until the format carries alpha.
EXIF orientation is applied; animated files give their first frame; 16-bit and CMYK
images are converted. Errors are ImageError / LimitError with a one-line reason.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError, LimitError
from .format import MAX_PIXELS

BACKGROUND = (255, 255, 255)
RANGE = 0.9  # the network sees pixels 0..255 as -RANGE..+RANGE: the one owner of this scaling


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow image -> 8-bit RGB (first frame, EXIF-oriented, alpha over white)."""
    try:
        img.seek(0)
    except (EOFError, AttributeError):
        pass
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float64)
        scale = 255.0 / 65535.0 if a.max() > 255 else 1.0
        img = Image.fromarray(np.clip(a * scale + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(a * 255 + 0.5 if a.max() <= 1 else a, 0, 255)
                              .astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        img = Image.alpha_composite(bg, rgba)
    return img.convert("RGB")


def load_image(path, max_pixels: int | None = None) -> Image.Image:
    """Open an image file as RGB, with a clear ImageError for anything unreadable."""
    p = Path(path)
    if not p.exists():
        raise ImageError(f"{path}: no such file")
    if p.is_dir():
        raise ImageError(f"{path}: is a directory")
    if not os.access(p, os.R_OK):
        raise ImageError(f"{path}: permission denied")
    if p.stat().st_size == 0:
        raise ImageError(f"{path}: empty file")
    limit = MAX_PIXELS * 64 if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                if img.width * img.height > limit:
                    raise LimitError(f"{path}: {img.width}x{img.height} image exceeds the "
                                     f"input limit of {limit} pixels")
                img.load()
                return to_rgb(img)
    except (LimitError, ImageError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise LimitError(f"{path}: refused as a decompression bomb ({e})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can read") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{path}: corrupt or truncated image ({e})") from None


def as_array(image) -> np.ndarray:
    """A PIL image or an (H, W, 3) uint8 array -> (H, W, 3) uint8 array."""
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image))
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ImageError(f"expected an (H, W, 3) uint8 array, got {a.dtype} {a.shape}")
    return a


def pad_to(a: np.ndarray, stride: int) -> np.ndarray:
    """Pad (H, W, 3) on the bottom and right to multiples of stride, replicating edges."""
    h, w = a.shape[:2]
    ph, pw = -h % stride, -w % stride
    return np.pad(a, ((0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else a


def fit_size(width: int, height: int, *, resize: tuple[int, int] | None = None,
             fit: int | None = None) -> tuple[int, int]:
    """Target size: --resize WxH exactly, or --fit N (longer side N, aspect kept)."""
    if resize:
        return resize
    if fit and max(width, height) != fit:
        s = fit / max(width, height)
        return max(1, round(width * s)), max(1, round(height * s))
    return width, height


def to_model(batch_u8: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-RANGE, RANGE]."""
    x = np.ascontiguousarray(batch_u8).transpose(0, 3, 1, 2).astype(np.float32)
    return x * np.float32(2 * RANGE / 255) - np.float32(RANGE)


def from_model(x: np.ndarray) -> np.ndarray:
    """(B, 3, H, W) float in model range -> (B, H, W, 3) uint8 (the inverse of to_model)."""
    y = np.rint((np.asarray(x, np.float32) + np.float32(RANGE)) * np.float32(255 / (2 * RANGE)))
    return np.clip(y, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
