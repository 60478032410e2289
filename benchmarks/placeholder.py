"""ThumbHash (Evan Wallace's placeholder format) for opaque RGB images, in NumPy.

Used only by the quality benchmark. The `thumbhash` package on PyPI (0.1.2) encodes
correctly but its decoder is broken (it reuses the first pixel's cosine basis for every
pixel, so every hash decodes to a flat colour), which would make ThumbHash look far worse
than it is. This module follows the reference algorithm (github.com/evanw/thumbhash):
a DCT of the L, P, Q channels (L = (R+G+B)/3, P = (R+G)/2 - B, Q = R - G), with up to
7 luminance and 3 chroma coefficients per axis in a triangle, quantized to 4 bits each.
"""
import math

import numpy as np


def _round(x: float) -> int:
    return math.floor(x + 0.5)  # JavaScript's Math.round, as in the reference


def _triangle(nx: int, ny: int, skip_dc: bool):
    """(cx, cy) in the reference's order: rows cy, then cx while cx * ny < nx * (ny - cy)."""
    out = []
    for cy in range(ny):
        cx = 1 if (skip_dc and cy == 0) else 0
        while cx * ny < nx * (ny - cy):
            out.append((cx, cy))
            cx += 1
    return out


def _basis(n: int, size: int) -> np.ndarray:
    """cos(pi / size * c * (x + 0.5)) as a (n, size) array."""
    return np.cos(np.pi / size * np.arange(n)[:, None] * (np.arange(size)[None] + 0.5))


def encode(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8, H and W <= 100 -> ThumbHash bytes (no alpha)."""
    h, w = rgb.shape[:2]
    if not (0 < w <= 100 and 0 < h <= 100):
        raise ValueError(f"{w}x{h} doesn't fit in 100x100")
    x = rgb.astype(np.float64) / 255
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    chans = {"l": (r + g + b) / 3, "p": (r + g) / 2 - b, "q": r - g}
    lx = max(1, _round(7 * w / max(w, h)))
    ly = max(1, _round(7 * h / max(w, h)))

    def channel(c, nx, ny):
        coef = _basis(ny, h) @ c @ _basis(nx, w).T / (w * h)  # [cy, cx]
        ac = np.array([coef[cy, cx] for cx, cy in _triangle(nx, ny, True)])
        scale = float(np.abs(ac).max()) if ac.size else 0.0
        if scale:
            ac = 0.5 + 0.5 / scale * ac
        return float(coef[0, 0]), ac, scale

    l_dc, l_ac, l_scale = channel(chans["l"], max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = channel(chans["p"], 3, 3)
    q_dc, q_ac, q_scale = channel(chans["q"], 3, 3)
    landscape = w > h
    h24 = (_round(63 * l_dc) | _round(31.5 + 31.5 * p_dc) << 6
           | _round(31.5 + 31.5 * q_dc) << 12 | _round(31 * l_scale) << 18)
    h16 = ((ly if landscape else lx) | _round(63 * p_scale) << 3
           | _round(63 * q_scale) << 9 | int(landscape) << 15)
    out = [h24 & 255, (h24 >> 8) & 255, h24 >> 16, h16 & 255, h16 >> 8]
    nibbles = [_round(15 * f) for f in np.concatenate([l_ac, p_ac, q_ac])]
    for i in range(0, len(nibbles), 2):
        out.append(nibbles[i] | (nibbles[i + 1] << 4 if i + 1 < len(nibbles) else 0))
    return bytes(out)


def decode(hsh: bytes) -> np.ndarray:
    """ThumbHash bytes (no alpha) -> (h, w, 3) uint8, the longer side 32 px."""
    h24 = hsh[0] | hsh[1] << 8 | hsh[2] << 16
    h16 = hsh[3] | hsh[4] << 8
    if h24 >> 23:
        raise ValueError("ThumbHash with alpha is not supported here")
    l_dc = (h24 & 63) / 63
    p_dc = ((h24 >> 6) & 63) / 31.5 - 1
    q_dc = ((h24 >> 12) & 63) / 31.5 - 1
    l_scale = ((h24 >> 18) & 31) / 31
    p_scale = ((h16 >> 3) & 63) / 63
    q_scale = ((h16 >> 9) & 63) / 63
    landscape = h16 >> 15
    lx = max(3, 7 if landscape else h16 & 7)
    ly = max(3, h16 & 7 if landscape else 7)
    ratio = (7 if landscape else h16 & 7) / (h16 & 7 if landscape else 7)
    w = 32 if ratio > 1 else _round(32 * ratio)
    h = _round(32 / ratio) if ratio > 1 else 32

    pos = 0

    def channel(nx, ny, scale, dc):
        nonlocal pos
        fx, fy = _basis(nx, w), _basis(ny, h)
        out = np.full((h, w), dc)
        for cx, cy in _triangle(nx, ny, True):
            nib = (hsh[5 + (pos >> 1)] >> ((pos & 1) * 4)) & 15
            pos += 1
            out += (nib / 7.5 - 1) * scale * 2 * np.outer(fy[cy], fx[cx])
        return out

    l = channel(lx, ly, l_scale, l_dc)  # noqa: E741
    p = channel(3, 3, p_scale * 1.25, p_dc)
    q = channel(3, 3, q_scale * 1.25, q_dc)
    b = l - 2 / 3 * p
    r = (3 * l - b + q) / 2
    g = r - q
    rgb = np.stack([r, g, b], -1)
    return np.clip(np.floor(rgb * 255 + 0.5), 0, 255).astype(np.uint8)
