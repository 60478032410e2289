"""Encoder input handling: every Pillow mode, and every kind of bad input."""
import os

import numpy as np
import pytest
from PIL import Image

from thumbcodec.errors import ImageError, LimitError
from thumbcodec.pixels import load_image, to_rgb

from conftest import gradient


def _save(tmp_path, img, name, **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


def test_modes_become_rgb(tmp_path):
    rgb = Image.fromarray(gradient(20, 12))
    cases = {
        "l.png": rgb.convert("L"),
        "p.png": rgb.convert("P"),
        "cmyk.jpg": rgb.convert("CMYK"),
        "la.png": rgb.convert("LA"),
        "i16.png": Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257)),
    }
    for name, img in cases.items():
        out = load_image(_save(tmp_path, img, name))
        assert out.mode == "RGB" and out.size == (20, 12), name
    # 16-bit grey keeps its brightness when scaled to 8 bits
    g16 = np.asarray(load_image(tmp_path / "i16.png"))[..., 0].astype(int)
    assert np.abs(g16 - np.asarray(rgb.convert("L"), int)).max() <= 1


def test_transparency_composited_over_white(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    out = np.asarray(load_image(_save(tmp_path, rgba, "a.png")))
    assert tuple(out[0, 0]) == (0, 0, 255) and tuple(out[4, 4]) == (255, 255, 255)
    p = Image.new("P", (4, 4), 0)
    p.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    p.info["transparency"] = 0
    p.putpixel((1, 1), 1)
    out = np.asarray(load_image(_save(tmp_path, p, "p.png", transparency=0)))
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[1, 1]) == (10, 200, 10)


def test_exif_orientation_applied(tmp_path):
    img = Image.fromarray(gradient(20, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    p = tmp_path / "o.jpg"
    img.save(p, exif=exif.tobytes())
    assert load_image(p).size == (10, 20)


def test_animated_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (6, 6), c) for c in [(255, 0, 0), (0, 255, 0)]]
    p = tmp_path / "a.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    assert tuple(np.asarray(load_image(p))[0, 0]) == (255, 0, 0)


def test_bad_inputs(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_bytes(b"hello, not an image")
    good = tmp_path / "g.png"
    Image.fromarray(gradient(64, 64)).save(good)
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:200])
    cases = [("missing.png", "no such file"), ("empty.png", "empty file"),
             ("text.png", "not an image"), ("cut.png", "corrupt or truncated"),
             (".", "is a directory")]
    for name, msg in cases:
        with pytest.raises(ImageError, match=msg):
            load_image(tmp_path / name)
    if os.geteuid() != 0:
        locked = tmp_path / "locked.png"
        locked.write_bytes(good.read_bytes())
        locked.chmod(0)
        with pytest.raises(ImageError, match="permission denied"):
            load_image(locked)


def test_decompression_bomb_refused(tmp_path):
    p = tmp_path / "bomb.png"
    Image.new("L", (3000, 3000)).save(p)  # small file, 9 M pixels
    with pytest.raises(LimitError):
        load_image(p, max_pixels=4_000_000)
    assert load_image(p, max_pixels=10_000_000).size == (3000, 3000)


def test_to_rgb_float_mode():
    f = Image.fromarray(np.full((3, 3), 0.5, np.float32), "F")
    assert tuple(np.asarray(to_rgb(f))[0, 0]) == (128, 128, 128)
