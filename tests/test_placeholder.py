"""The NumPy ThumbHash used by the quality benchmark."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import placeholder
from thumbcodec.metrics import psnr

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_golden_hashes_match_the_reference_encoder():
    # Hashes computed with the `thumbhash` package's encoder (a port of the reference),
    # which agreed with this module on 52 images including non-square ones.
    square = np.asarray(Image.open(EXAMPLES / "landscape.png").convert("RGB"))
    assert placeholder.encode(square).hex() == \
        "1eb70d47047899877f7787757856888878786707869c020a"
    wide = np.asarray(Image.open(EXAMPLES / "portrait.png").convert("RGB").resize((32, 20)))
    assert placeholder.encode(wide).hex() == "d4370a348c079898868878827c8507847800a8"


def test_flat_colour_round_trips():
    flat = np.full((32, 32, 3), (200, 120, 40), np.uint8)
    dec = placeholder.decode(placeholder.encode(flat))
    assert dec.shape == (32, 32, 3)
    assert np.abs(dec.astype(int) - flat).max() <= 3


def test_smooth_image_decodes_with_its_structure():
    # A low-frequency image is what ThumbHash is made for: the decode must follow it,
    # not collapse to its mean colour (the bug of the PyPI package's decoder).
    x = np.linspace(0, 1, 32)
    img = np.stack([np.outer(np.ones(32), x), np.outer(x, np.ones(32)),
                    np.full((32, 32), 0.5)], -1)
    img = (img * 255).astype(np.uint8)
    hsh = placeholder.encode(img)
    assert len(hsh) == 24
    dec = placeholder.decode(hsh)
    mean = np.broadcast_to(img.mean(axis=(0, 1)).astype(np.uint8), img.shape)
    assert psnr(img[None], dec[None])[0] > psnr(img[None], mean[None])[0] + 8


def test_aspect_ratio_is_kept_and_limits_are_checked():
    wide = np.zeros((20, 32, 3), np.uint8)
    assert placeholder.decode(placeholder.encode(wide)).shape[1] == 32
    assert placeholder.decode(placeholder.encode(wide)).shape[0] < 32
    with pytest.raises(ValueError):
        placeholder.encode(np.zeros((101, 5, 3), np.uint8))
