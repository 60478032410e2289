"""The "at equal bytes" table of docs/quality.md, from docs/bench/quality.json.

    python -m experiments.equal_bytes [docs/bench/quality.json]

Each standard codec's curve (mean SSIM against the log of the mean header-less bytes it
actually spent, one point per target) is interpolated linearly at thumbcodec's exact
payload sizes; no extrapolation beyond a codec's smallest or largest point.
"""
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.stdcodecs import placeholders  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else "docs/bench/quality.json"
summary = json.load(open(path))["summary"]
curves = {}
for r in summary:
    if r["codec"] in placeholders():
        continue
    pts = curves.setdefault(r["codec"], [])
    if not pts or r["headerless"] > pts[-1][0]:   # a floor repeats its smallest point
        pts.append((r["headerless"], r["ssim"]))


def at(pts, b):
    for (b0, s0), (b1, s1) in zip(pts, pts[1:]):
        if b0 <= b <= b1:
            return s0 + (s1 - s0) * math.log(b / b0) / math.log(b1 / b0)
    return None


ours = curves.pop("thumbcodec")
print("| thumbcodec payload | thumbcodec SSIM | best standard codec at the same header-less bytes "
      "| difference |")
print("|---|---|---|---|")
for b, s in ours:
    found = ((at(p, b), c) for c, p in curves.items())
    best = max(((v, c) for v, c in found if v is not None), default=None)
    if best is None:
        print(f"| {b:.0f} B | {s:.3f} | none reaches this size | — |")
    else:
        print(f"| {b:.0f} B | {s:.3f} | {best[1]} {best[0]:.3f} | {s - best[0]:+.3f} |")
