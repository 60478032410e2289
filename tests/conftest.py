from pathlib import Path

import numpy as np
import pytest
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session")
def example_paths():
    return sorted(EXAMPLES.glob("*.png"))


@pytest.fixture(scope="session")
def thumbs(example_paths):
    return [np.asarray(Image.open(p).convert("RGB")) for p in example_paths]


def gradient(w, h, seed=0):
    """A smooth synthetic test image of any size."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([xx * 255 / max(1, w - 1), yy * 255 / max(1, h - 1),
                  128 + 60 * np.sin(xx / 3 + seed)], -1)
    return np.clip(a + rng.normal(0, 3, a.shape), 0, 255).astype(np.uint8)
