"""Encode the example thumbnails at several file sizes and write a comparison sheet.

    python examples/demo.py            # writes examples/out/*.rnnc, *.png and docs/demo.png
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import thumbcodec
from thumbcodec.metrics import patch_ssim
from thumbcodec.weights import DEFAULT_ID, get_info

HERE = Path(__file__).resolve().parent
# whole-file bytes, 6-byte header included; the last holds every trained iteration of the
# default weights at 32x32
LAYOUT = get_info(DEFAULT_ID).layout(32, 32)
BUDGETS = [16, 32, 64, 128, thumbcodec.HEADER_SIZE + LAYOUT.max_payload]
SCALE = 4                     # nearest-neighbour zoom for viewing


def main():
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    names = sorted(p for p in HERE.glob("*.png"))
    rows = []
    for path in names:
        img = Image.open(path).convert("RGB")
        cells = [img]
        for n in BUDGETS:
            data = thumbcodec.encode(img, bytes=n)
            (out / f"{path.stem}-{n}B.rnnc").write_bytes(data)
            dec = thumbcodec.decode(data)
            dec.save(out / f"{path.stem}-{n}B.png")
            s = patch_ssim(np.asarray(img), np.asarray(dec))
            print(f"{path.name}: {len(data):4d} B  SSIM {s:.3f}")
            cells.append(dec)
        rows.append(cells)
    w, h = 32 * SCALE, 32 * SCALE
    pad, top = 6, 18
    sheet = Image.new("RGB", ((w + pad) * (len(BUDGETS) + 1) + pad,
                              top + (h + pad) * len(rows) + pad), "white")
    d = ImageDraw.Draw(sheet)
    labels = [f"{n} B file" for n in BUDGETS[:-1]]
    labels.append(f"all {LAYOUT.max_iterations} iterations")
    for j, label in enumerate(["original"] + labels):
        d.text((pad + j * (w + pad) + 4, 4), label, fill="black")
    for i, cells in enumerate(rows):
        for j, c in enumerate(cells):
            sheet.paste(c.resize((w, h), Image.NEAREST), (pad + j * (w + pad), top + i * (h + pad)))
    dst = HERE.parent / "docs" / "demo.png"
    sheet.save(dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
