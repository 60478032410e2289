"""Images in, images out: reading any Pillow image as 8-bit RGB, padding and cropping.

Transparency is composited over white (BACKGROUND) until the format carries alpha.
Embedded colour profiles are converted to sRGB; EXIF orientation is applied; animated files give their first frame; 16-bit and CMYK
images are converted. Errors are ImageError / LimitError with a one-line reason.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError, LimitError
from .format import HEADER_SIZE, MAX_PIXELS

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
        # 16-bit samples (Pillow reads 16-bit greyscale PNG and TIFF as I;16 or I):
        # scaled by the mode's range, never guessed from the values (a dark image is dark)
        a = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(a * (255.0 / 65535.0) + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(a * 255 + 0.5 if a.max() <= 1 else a, 0, 255)
                              .astype(np.uint8), "L")
    if img.info.get("icc_profile"):
        img = _to_srgb(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        img = Image.alpha_composite(bg, rgba)
    return img.convert("RGB")


def _to_srgb(img: Image.Image) -> Image.Image:
    """Pixels in the colour space of an embedded ICC profile (Display P3, Adobe RGB, a CMYK
    press profile, ...) converted to sRGB, the colour space the codec assumes. A profile
    LittleCMS cannot use leaves the pixels as they are."""
    from PIL import ImageCms
    mode = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "L"}.get(img.mode)
    if mode is None:
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        out = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"),
                                        outputMode="RGB" if mode == "L" else mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    out.info = {k: v for k, v in img.info.items() if k != "icc_profile"}
    return out


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
    return _open(p, str(path), max_pixels)


def image_from_bytes(data: bytes, name: str = "-", max_pixels: int | None = None) -> Image.Image:
    """Like ``load_image``, for the bytes of an image file (standard input)."""
    if not data:
        raise ImageError(f"{name}: empty input")
    return _open(io.BytesIO(data), name, max_pixels)


def _open(fp, path: str, max_pixels: int | None) -> Image.Image:
    limit = MAX_PIXELS * 64 if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fp) as img:
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


KEEP_SIDE = 128        # inputs whose longer side is at most this keep their size
THUMB_SIDES = range(32, KEEP_SIDE + 1, 8)  # longer sides the "auto" rule chooses from
MIN_ITERATIONS = 4     # ... the largest at which the budget still buys this many iterations


def _scaled(width: int, height: int, side: int) -> tuple[int, int]:
    s = side / max(width, height)
    return max(1, round(width * s)), max(1, round(height * s))


def thumbnail_size(width: int, height: int, fit="auto", *, nbytes: int | None = None,
                   iteration_bytes=None) -> tuple[int, int]:
    """The size an image is coded at.

    - ``fit=None``: as it is. ``fit=N``: longer side N, aspect kept.
    - ``fit=(W, H)``: exactly W x H.
    - ``fit="auto"`` (the default): images whose longer side is at most KEEP_SIDE (128 px)
      keep their size; larger ones (photos) become thumbnails, aspect kept, with the
      largest longer side in 32, 40, ..., 128 px at which the budget of ``nbytes`` still
      buys MIN_ITERATIONS (4) iterations, and 32 px when there is no byte budget.
      ``iteration_bytes(w, h)`` gives the bytes per iteration of a size (the weights').
    """
    if fit is None:
        return width, height
    if isinstance(fit, tuple):
        return fit
    if fit != "auto":
        return (width, height) if max(width, height) == fit else _scaled(width, height, fit)
    if max(width, height) <= KEEP_SIDE:
        return width, height
    best = _scaled(width, height, THUMB_SIDES[0])
    if nbytes is not None and iteration_bytes is not None:
        for side in THUMB_SIDES:
            size = _scaled(width, height, side)
            if nbytes - HEADER_SIZE >= MIN_ITERATIONS * iteration_bytes(*size):
                best = size
    return best


def to_model(batch_u8: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-RANGE, RANGE]."""
    x = np.ascontiguousarray(batch_u8).transpose(0, 3, 1, 2).astype(np.float32)
    return x * np.float32(2 * RANGE / 255) - np.float32(RANGE)


def from_model(x: np.ndarray) -> np.ndarray:
    """(B, 3, H, W) float in model range -> (B, H, W, 3) uint8 (the inverse of to_model)."""
    y = np.rint((np.asarray(x, np.float32) + np.float32(RANGE)) * np.float32(255 / (2 * RANGE)))
    return np.clip(y, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
