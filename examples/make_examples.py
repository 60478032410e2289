"""Make the example thumbnails shipped in examples/ (synthetic, so the project owns them).

    python examples/make_examples.py
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent


def landscape(w=96, h=96):
    y = np.linspace(0, 1, h)[:, None, None]
    sky = (1 - y) * np.array([70, 130, 220]) + y * np.array([200, 220, 250])
    img = Image.fromarray(np.broadcast_to(sky, (h, w, 3)).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse((60, 10, 80, 30), fill=(255, 220, 90))
    d.polygon([(0, 70), (30, 40), (55, 65), (80, 35), (96, 60), (96, 96), (0, 96)],
              fill=(60, 110, 60))
    d.rectangle((10, 75, 30, 92), fill=(150, 60, 40))
    d.polygon([(8, 75), (20, 64), (32, 75)], fill=(90, 30, 30))
    rng = np.random.default_rng(1)
    a = np.asarray(img).astype(np.float64) + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def blobs(w=96, h=96):
    rng = np.random.default_rng(2)
    img = Image.new("RGB", (w, h), (240, 235, 225))
    d = ImageDraw.Draw(img)
    for _ in range(14):
        x, y, r = rng.integers(0, w), rng.integers(0, h), rng.integers(6, 22)
        d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def texture(w=96, h=96):
    yy, xx = np.mgrid[0:h, 0:w] / 96.0
    r = 128 + 100 * np.sin(12 * xx + 3 * np.sin(6 * yy))
    g = 128 + 90 * np.sin(9 * yy + 2 * np.cos(5 * xx))
    b = 128 + 80 * np.sin(7 * (xx + yy))
    return Image.fromarray(np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8))


def portrait(w=96, h=96):
    img = Image.new("RGB", (w, h), (40, 60, 90))
    d = ImageDraw.Draw(img)
    d.ellipse((28, 14, 68, 60), fill=(225, 180, 150))
    d.rectangle((18, 62, 78, 96), fill=(180, 40, 50))
    d.ellipse((38, 30, 44, 36), fill=(30, 30, 30))
    d.ellipse((52, 30, 58, 36), fill=(30, 30, 30))
    d.arc((38, 36, 58, 52), 20, 160, fill=(120, 40, 40), width=2)
    d.pieslice((26, 8, 70, 40), 180, 360, fill=(70, 40, 20))
    return img.filter(ImageFilter.GaussianBlur(0.6))


if __name__ == "__main__":
    for name, make in [("landscape", landscape), ("blobs", blobs), ("texture", texture),
                       ("portrait", portrait)]:
        make().resize((32, 32), Image.LANCZOS).save(HERE / f"{name}.png")
        print(HERE / f"{name}.png")
