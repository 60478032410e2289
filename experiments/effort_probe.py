"""What each idea of the encoder's bit search (thumbcodec/effort.py) buys per second.

    python -m experiments.effort_probe ../shared/data/kodak [N] [LEVEL;...] [TUNE,...]

LEVEL is "rounds,exact,multi,last" (effort.Level); default a grid. Searches N (default 48) of
the 504 Kodak thumbnails (evenly spread over the set) for 8 iterations with each level and
objective on the NumPy network, one image at a time on one thread, and prints mean patch
SSIM and PSNR at 32, 64 and 128 payload bytes (2, 4, 8 iterations,
each a file of that size encoded on its own, decoded by the ordinary decoder) and the
CPU time per thumbnail of the 128-byte encode (process time: the machine is shared).
Appends to experiments/effort_probe.json.
"""
import json
import os
import sys
import time

import numpy as np

from thumbcodec import effort, engine
from thumbcodec.metrics import patch_ssim, psnr
from thumbcodec.pixels import from_model
from training.data import kodak_thumbs

ITERATIONS = 8
REPORT = (2, 4, 8)  # iterations: 32, 64, 128 payload bytes at 32x32
GRID = "0,0,0;1,6,0;3,4,0;3,4,3;3,2,2;6,2,2;6,3,3;10,6,3"

kodak = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 48
levels = [effort.Level(*map(int, s.split(","))) for s in
          (sys.argv[3] if len(sys.argv) > 3 else GRID).split(";")]
tunes = (sys.argv[4] if len(sys.argv) > 4 else "loss").split(",")

thumbs = kodak_thumbs(kodak)
thumbs = thumbs[np.linspace(0, len(thumbs) - 1, n).round().astype(int)]
codec = engine.load(2, "cpu", "numpy")
effort.search_one(codec, thumbs[0], 1, effort.Level(1, 2, 2))  # warm up
rows = []
for tune in tunes:
    if "@" in tune:   # "loss@0.1": the loss objective with another SSIM share
        tune, share = tune.split("@")
        effort.SSIM_SHARE = float(share)
    for lev in levels:
        ssim, pq, secs, flips = {t: [] for t in REPORT}, {t: [] for t in REPORT}, [], []
        for im in thumbs:
            for t in REPORT:      # a file of each size, as an encode at that size makes it
                t0 = time.process_time()
                tr = effort.search_one(codec, im, t, lev, tune=tune)
                if t == REPORT[-1]:
                    secs.append(time.process_time() - t0)
                    flips.append(sum(tr.flips))
                y = from_model(codec.decompress(tr.codes[:, None]))[0]
                ssim[t].append(float(patch_ssim(y, im)))
                pq[t].append(float(psnr(y, im)))
        row = {"tune": (tune if tune != "loss" else f"loss@{effort.SSIM_SHARE}") if lev.searches else "-", "level": list(map(int, (lev.rounds, lev.exact, lev.multi, lev.last))),
               "images": n, "ms_per_thumbnail": round(1000 * float(np.mean(secs)), 1),
               "flips_per_thumbnail": round(float(np.mean(flips)), 2)}
        for t in REPORT:
            row[f"ssim_{16 * t}B"] = round(float(np.mean(ssim[t])), 4)
            row[f"psnr_{16 * t}B"] = round(float(np.mean(pq[t])), 2)
        rows.append(row)
        print(json.dumps(row), flush=True)

out = "experiments/effort_probe.json"
old = json.load(open(out)).get("runs", []) if os.path.exists(out) else []
with open(out, "w") as f:
    json.dump({"weights_id": 2, "iterations": ITERATIONS, "threads": os.environ.get(
        "OPENBLAS_NUM_THREADS"), "runs": old + [rows]}, f, indent=1)
