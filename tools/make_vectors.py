"""Regenerate tests/vectors/ (conformance vectors) with the reference decoder.

    python -m tools.make_vectors [WEIGHTS_ID] [--format 1|2]

Each vector: NAME.rnnc made from an example image with weights WEIGHTS_ID (default: the
default id) in format version 1 (wID-NAME) or 2 (wID-v2-NAME; the default), and NAME.png
decoded by the torch backend on the CPU in fp32. Vectors of other ids and versions already
in tests/vectors/vectors.json are kept: files made with older weights must keep decoding.
Run when weights are added (or an unreleased id is retrained).
"""
import argparse
import json
from pathlib import Path

from PIL import Image

import thumbcodec
from thumbcodec import weights as W

ROOT = Path(__file__).resolve().parent.parent

VECTORS = [  # name, source, size (None: as is), whole-file bytes
    ("landscape-64B", "examples/landscape.png", None, 64),
    ("blobs-40B", "examples/blobs.png", None, 40),
    ("texture-134B", "examples/texture.png", None, 134),
    ("portrait-22B", "examples/portrait.png", None, 22),
    ("landscape-48x40-96B", "examples/landscape.png", (48, 40), 96),
]

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("weights_id", type=int, nargs="?", default=W.DEFAULT_ID)
ap.add_argument("--format", type=int, choices=(1, 2), default=2)
a = ap.parse_args()
wid, fmt = a.weights_id, a.format
out = ROOT / "tests" / "vectors"
old = json.loads((out / "vectors.json").read_text()) if (out / "vectors.json").exists() else []
meta = [m for m in old if (m["weights_id"], m.get("format", 1)) != (wid, fmt)]
for name, src, size, nbytes in VECTORS:
    name = f"w{wid}-{name}" if fmt == 1 else f"w{wid}-v{fmt}-{name}"
    img = Image.open(ROOT / src).convert("RGB")
    if size:
        img = img.resize(size, Image.LANCZOS)
    data = thumbcodec.encode(img, bytes=nbytes, device="cpu", backend="torch", weights_id=wid,
                             format=fmt)
    (out / f"{name}.rnnc").write_bytes(data)
    thumbcodec.decode(data, device="cpu", backend="torch").save(out / f"{name}.png")
    meta.append({"name": name, "source": src, "resize": size, "bytes": nbytes,
                 "weights_id": thumbcodec.info(data).weights_id, "format": fmt,
                 "version": thumbcodec.info(data).version, "tolerance": 1})
(out / "vectors.json").write_text(json.dumps(meta, indent=1) + "\n")
print(f"wrote {len(VECTORS)} vectors of weights {wid}, format {fmt}, to {out} "
      f"({len(meta)} in all)")
