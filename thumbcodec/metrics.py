"""Quality metrics of the paper's 32x32 benchmark (Toderici et al. 2016, §4.2).

SSIM is computed on each non-overlapping 8x8 patch and each colour channel separately,
with no Gaussian smoothing (plain patch means, variances and covariance), then averaged
over all patches and channels. Pixels are 8-bit (0..255); C1 = (0.01 L)^2, C2 = (0.03 L)^2.
Images whose sides are not multiples of 8 use the whole patches only.
"""
from __future__ import annotations

import numpy as np

PATCH = 8


def _patches(img: np.ndarray) -> np.ndarray:
    """(..., H, W, C) -> (..., nH, nW, C, 64) float64 patches, whole patches only."""
    a = np.asarray(img, dtype=np.float64)
    *lead, h, w, c = a.shape
    nh, nw = h // PATCH, w // PATCH
    if nh == 0 or nw == 0:
        raise ValueError(f"patch SSIM needs images of at least {PATCH}x{PATCH}, got {w}x{h}")
    a = a[..., : nh * PATCH, : nw * PATCH, :]
    a = a.reshape(*lead, nh, PATCH, nw, PATCH, c)
    a = np.moveaxis(a, -4, -3)  # (..., nh, nw, 8, 8, c)
    a = a.reshape(*lead, nh, nw, PATCH * PATCH, c)
    return np.swapaxes(a, -1, -2)


def ssim_from_moments(mu_a, mu_b, var_a, var_b, cov, peak: float = 255.0):
    """SSIM from patch means, variances and covariance (NumPy arrays or torch tensors), for
    pixels in [0, peak]: the one formula shared by the metric and the training loss."""
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def patch_ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean patch SSIM of uint8 images shaped (..., H, W, C); returns shape (...)."""
    pa, pb = _patches(a), _patches(b)
    mu_a, mu_b = pa.mean(-1), pb.mean(-1)
    var_a, var_b = pa.var(-1), pb.var(-1)
    cov = ((pa - mu_a[..., None]) * (pb - mu_b[..., None])).mean(-1)
    return ssim_from_moments(mu_a, mu_b, var_a, var_b, cov).mean(axis=(-3, -2, -1))


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PSNR in dB of uint8 images shaped (..., H, W, C); capped at 100 dB for identical."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    mse = (d ** 2).mean(axis=(-3, -2, -1))
    return np.where(mse == 0, 100.0, 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-12)))
