"""Export a training checkpoint as the shipped weights of an id and pin its sha256.

    python scripts/ship_weights.py runs/main/ckpt.pt 1

Rewrites weights/rnnc-w<ID>.npz and the sha256 in thumbcodec/weights.py's registry.
Only for an id that has not been released yet: released ids are frozen.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from thumbcodec.train import export  # noqa: E402

ckpt, wid = sys.argv[1], int(sys.argv[2])
name = f"rnnc-w{wid}.npz"
digest = export(ckpt, ROOT / "weights" / name)
reg = ROOT / "thumbcodec" / "weights.py"
text = reg.read_text()
text, n = re.subn(rf'WeightsInfo\({wid}, "{re.escape(name)}", "[0-9a-f]{{64}}"',
                  f'WeightsInfo({wid}, "{name}", "{digest}"', text)
assert n == 1, "registry entry not found"
reg.write_text(text)
(ROOT / "weights" / f"{name}.sha256").write_text(f"{digest}  {name}\n")
print(name, digest)
