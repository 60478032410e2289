import numpy as np
import pytest

from thumbcodec.metrics import patch_ssim, psnr


def reference_ssim(a, b):
    """Literal loop over 8x8 patches and channels (the paper's definition)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for y in range(0, a.shape[0] - 7, 8):
        for x in range(0, a.shape[1] - 7, 8):
            for c in range(3):
                p = a[y:y + 8, x:x + 8, c].astype(float).ravel()
                q = b[y:y + 8, x:x + 8, c].astype(float).ravel()
                cov = ((p - p.mean()) * (q - q.mean())).mean()
                vals.append((2 * p.mean() * q.mean() + c1) * (2 * cov + c2)
                            / ((p.mean() ** 2 + q.mean() ** 2 + c1) * (p.var() + q.var() + c2)))
    return np.mean(vals)


def test_identical_is_one():
    a = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert patch_ssim(a, a) == pytest.approx(1.0)
    assert psnr(a, a) == 100.0


def test_matches_reference_and_whole_patches_only():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    assert patch_ssim(a, b) == pytest.approx(reference_ssim(a, b), abs=1e-12)


def test_batched_and_known_values():
    a = np.full((2, 16, 16, 3), 100, np.uint8)
    b = a.copy()
    b[1] = 110
    s = patch_ssim(a, b)
    c1 = (0.01 * 255) ** 2
    assert s[0] == pytest.approx(1.0)
    assert s[1] == pytest.approx((2 * 100 * 110 + c1) / (100 ** 2 + 110 ** 2 + c1))
    assert psnr(a[1], b[1]) == pytest.approx(10 * np.log10(255 ** 2 / 100))


def test_too_small_raises():
    with pytest.raises(ValueError):
        patch_ssim(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
