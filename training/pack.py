"""Pack training images small enough to travel to a GPU machine (64 MiB with the checkout).

    python -m training.pack --out gpu/data --max-side 320 ../shared/data/photos ../shared/data/extra

Each image is re-saved as JPEG (quality 90, 4:4:4) with its longer side at most
``--max-side``, under OUT/<source folder name>/<its path inside the source>, so that the
same ``--data`` weights (``gpu/data/extra/Noto-emoji:0.5``) apply there. Crops drawn from
these copies differ from crops of the originals only at the finest scales (a 32-px crop
of a 320-px copy is a 77-px crop of a 768-px original): the GPU recipe in
docs/training.md uses them; the CPU run reads the originals.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from thumbcodec.files import atomic_writer

from .data import list_images


def pack(sources, out, max_side: int = 320, quality: int = 90) -> int:
    """Write the packed copies; returns the total bytes written."""
    total = 0
    for src in map(Path, sources):
        for p in list_images(src):
            dst = Path(out) / src.name / p.relative_to(src).with_suffix(".jpg")
            dst.parent.mkdir(parents=True, exist_ok=True)
            img = Image.open(p).convert("RGB")
            if max(img.size) > max_side:
                s = max_side / max(img.size)
                img = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))),
                                 Image.LANCZOS, reducing_gap=2.0)
            with atomic_writer(dst, overwrite=True) as f:
                img.save(f, "JPEG", quality=quality, subsampling=0)
            total += dst.stat().st_size
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m training.pack", description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="training image folders")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-side", type=int, default=320)
    ap.add_argument("--quality", type=int, default=90)
    a = ap.parse_args(argv)
    n = pack(a.sources, a.out, a.max_side, a.quality)
    print(f"{n / 2 ** 20:.1f} MiB in {a.out}")


if __name__ == "__main__":
    main()
