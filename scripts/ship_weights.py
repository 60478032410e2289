"""Export a training checkpoint as shipped weights and pin its sha256 in the registry.

    python scripts/ship_weights.py CKPT ID [--default]

A new ID is appended to the registry in thumbcodec/weights.py (ids are never reused; the
files of older ids stay and keep decoding); `--default` also makes it the id new files
are encoded with. Re-exporting an ID that is already registered is refused unless
`--unreleased` says that id never left this repository.
"""
import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from thumbcodec.train import export  # noqa: E402
from thumbcodec.weights import REGISTRY  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("ckpt")
ap.add_argument("id", type=int)
ap.add_argument("--default", action="store_true", help="make ID the default for encoding")
ap.add_argument("--unreleased", action="store_true", help="allow re-exporting a registered ID")
args = ap.parse_args()

wid, name = args.id, f"rnnc-w{args.id}.npz"
if wid in REGISTRY and not args.unreleased:
    sys.exit(f"weights id {wid} is registered: ids are frozen (use a new id, or "
             f"--unreleased if it never left this repository)")
if not 1 <= wid <= 31:
    sys.exit("weights ids are 1..31 (5 bits of header byte 2)")

digest = export(args.ckpt, ROOT / "weights" / name)
reg = ROOT / "thumbcodec" / "weights.py"
text = reg.read_text()
if wid in REGISTRY:
    text, n = re.subn(rf'WeightsInfo\({wid}, "{re.escape(name)}", "[0-9a-f]{{64}}"',
                      f'WeightsInfo({wid}, "{name}", "{digest}"', text)
    assert n == 1, "registry entry not found"
else:
    iters = 8  # the encoder's cap: the iterations train.py unrolls and validates
    line = f'    WeightsInfo({wid}, "{name}", "{digest}", {iters}),\n'
    head, sep, tail = text.rpartition("\n)")
    text = head + "\n" + line.rstrip("\n") + sep + tail
if args.default:
    text, n = re.subn(r"^DEFAULT_ID = \d+$", f"DEFAULT_ID = {wid}", text, flags=re.M)
    assert n == 1, "DEFAULT_ID not found"
reg.write_text(text)
(ROOT / "weights" / f"{name}.sha256").write_text(f"{digest}  {name}\n")
print(name, digest)
