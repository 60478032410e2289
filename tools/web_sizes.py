"""The browser decoder's download size and its break-even against WebP and JPEG
thumbnails (docs/web.md).

    python tools/web_sizes.py [--weights ID] [--kodak ../shared/data/kodak]

Sizes: each file web/ serves to decode, raw and gzip -9. Break-even: on the 504 Kodak
32x32 validation thumbnails, the mean whole-file bytes of .rnnc at 64 and 134 B and their
mean patch SSIM; then, for WebP and JPEG (Pillow, every 3rd quality 1..100, whole files),
the mean bytes a quality needs to reach that mean SSIM (interpolated between qualities;
"min" when even the smallest file is better), the bytes saved per thumbnail and the
thumbnails that repay the decoder's gzip download. Prints JSON lines.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DECODER = ["rnnc.js", "rnnc-worker.js", "rnnc.wasm", "weights.json"]


def sizes(weights_id: int) -> dict:
    """Raw and gzip -9 bytes of what a page fetches to decode files of a weights id: the
    decoder, the id's web weights and its context table (format version 2), if it has one."""
    entry = json.loads((ROOT / "web" / "weights.json").read_text())["weights"][str(weights_id)]
    files = DECODER + [entry["file"]] + ([entry["context"]["file"]] if "context" in entry else [])
    out = {}
    for f in files:
        data = (ROOT / "web" / f).read_bytes()
        out[f] = {"raw": len(data), "gzip": len(gzip.compress(data, 9, mtime=0))}
    out["total"] = {k: sum(v[k] for v in out.values()) for k in ("raw", "gzip")}
    return out


def std_file(img: np.ndarray, fmt: str, q: int) -> bytes:
    """A whole JPEG or WEBP file of an (H, W, 3) uint8 image at quality q (Pillow)."""
    buf = io.BytesIO()
    pil = Image.fromarray(img)
    if fmt == "JPEG":
        pil.save(buf, "JPEG", quality=q, optimize=True)
    else:
        pil.save(buf, "WEBP", quality=q, method=6)
    return buf.getvalue()


def _std(img: np.ndarray, fmt: str, q: int) -> tuple[int, np.ndarray]:
    data = std_file(img, fmt, q)
    return len(data), np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def curve(thumbs: np.ndarray, fmt: str) -> list[tuple[float, float]]:
    """(mean bytes, mean patch SSIM) per quality."""
    from thumbcodec.metrics import patch_ssim
    rows = []
    for q in range(1, 101, 3):
        res = [_std(t, fmt, q) for t in thumbs]
        rows.append((float(np.mean([r[0] for r in res])),
                     float(patch_ssim(thumbs, np.stack([r[1] for r in res])).mean())))
    return rows


def bytes_at(rows, ssim: float):
    """Mean bytes needed for a mean SSIM, interpolated along the quality curve."""
    rows = sorted(rows)
    if rows[0][1] >= ssim:
        return rows[0][0], "min"
    for (b0, s0), (b1, s1) in zip(rows, rows[1:]):
        if s0 < ssim <= s1:
            return b0 + (b1 - b0) * (ssim - s0) / (s1 - s0), "interpolated"
    return None, "never reached"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kodak", default=str(ROOT.parent / "shared" / "data" / "kodak"))
    ap.add_argument("--weights", type=int, default=None,
                    help="weights id [default: the install's default]")
    a = ap.parse_args(argv)
    import thumbcodec
    from thumbcodec.weights import DEFAULT_ID
    wid = DEFAULT_ID if a.weights is None else a.weights
    s = sizes(wid)
    print(json.dumps({"weights_id": wid, "sizes": s}))
    from thumbcodec.metrics import patch_ssim
    from training.data import kodak_thumbs
    thumbs = kodak_thumbs(a.kodak)
    curves = {fmt: curve(thumbs, fmt) for fmt in ("WEBP", "JPEG")}
    for size in (64, 134):
        files = thumbcodec.encode_batch(list(thumbs), bytes=size, weights_id=wid)
        dec = np.stack([np.asarray(i) for i in thumbcodec.decode_batch(files, backend="numpy")])
        ssim = float(patch_ssim(thumbs, dec).mean())
        row = {"rnnc_bytes": float(np.mean([len(f) for f in files])), "rnnc_ssim": round(ssim, 4)}
        for fmt, rows in curves.items():
            b, how = bytes_at(rows, ssim)
            saved = None if b is None else b - row["rnnc_bytes"]
            row[fmt] = {"bytes": None if b is None else round(b, 1), "how": how,
                        "saved_per_thumb": None if saved is None else round(saved, 1),
                        "break_even_thumbs": None if not saved or saved <= 0
                        else int(np.ceil(s["total"]["gzip"] / saved))}
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
