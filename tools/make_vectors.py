"""Regenerate tests/vectors/ (conformance vectors) with the reference decoder.

    python -m tools.make_vectors [WEIGHTS_ID]

Each vector: NAME.rnnc made from an example image with weights WEIGHTS_ID (default: the
default id), and NAME.png decoded by the torch backend on the CPU in fp32. Vectors of other
weights ids already in tests/vectors/vectors.json are kept: files made with older weights
must keep decoding. Run when weights are added (or an unreleased id is retrained).
"""
import json
import sys
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

wid = int(sys.argv[1]) if len(sys.argv) > 1 else W.DEFAULT_ID
out = ROOT / "tests" / "vectors"
old = json.loads((out / "vectors.json").read_text()) if (out / "vectors.json").exists() else []
meta = [m for m in old if m["weights_id"] != wid]
for name, src, size, nbytes in VECTORS:
    name = f"w{wid}-{name}"
    img = Image.open(ROOT / src).convert("RGB")
    if size:
        img = img.resize(size, Image.LANCZOS)
    data = thumbcodec.encode(img, bytes=nbytes, device="cpu", backend="torch", weights_id=wid)
    (out / f"{name}.rnnc").write_bytes(data)
    thumbcodec.decode(data, device="cpu", backend="torch").save(out / f"{name}.png")
    meta.append({"name": name, "source": src, "resize": size, "bytes": nbytes,
                 "weights_id": thumbcodec.info(data).weights_id, "tolerance": 1})
(out / "vectors.json").write_text(json.dumps(meta, indent=1) + "\n")
print(f"wrote {len(VECTORS)} vectors of weights {wid} to {out} ({len(meta)} in all)")
