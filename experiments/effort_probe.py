"""What the encoder's bit search (thumbcodec/effort.py) buys, and what it costs.

    python -m experiments.effort_probe ../shared/data/kodak [N] [ROUNDS,...] [TUNE,...]

Searches N (default 64) of the 504 Kodak thumbnails (evenly spread over the set) for 8
iterations with each number of rounds K (default 0,1,3) and objective (default ssim) on
the NumPy network, one image at a time on this machine's threads, and prints mean patch
SSIM and PSNR at 32, 64 and 128 payload bytes (2, 4, 8 iterations: the search of an
iteration does not depend on later ones, so one 8-iteration search gives all three) and
the time per thumbnail for the 8 iterations. K = 0 is the ordinary encoder. Writes
experiments/effort_probe.json.
"""
import json
import sys
import time

import numpy as np

from thumbcodec import effort, engine
from thumbcodec.metrics import patch_ssim, psnr
from thumbcodec.pixels import from_model
from training.data import kodak_thumbs

ITERATIONS = 8
REPORT = (2, 4, 8)  # iterations: 32, 64, 128 payload bytes at 32x32

kodak = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 64
rounds_list = [int(k) for k in (sys.argv[3] if len(sys.argv) > 3 else "0,1,3").split(",")]
tunes = (sys.argv[4] if len(sys.argv) > 4 else "ssim").split(",")

thumbs = kodak_thumbs(kodak)
thumbs = thumbs[np.linspace(0, len(thumbs) - 1, n).round().astype(int)]
codec = engine.load(2, "cpu", "numpy")
rows = []
for tune in tunes:
    for rounds in rounds_list:
        if rounds == 0 and tune != tunes[0]:
            continue
        ssim, pq, secs, flips = {t: [] for t in REPORT}, {t: [] for t in REPORT}, [], []
        for im in thumbs:
            t0 = time.perf_counter()
            tr = effort.search_one(codec, im, ITERATIONS, rounds, tune=tune)
            secs.append(time.perf_counter() - t0)
            flips.append(sum(tr.flips))
            recons = codec.decompress(tr.codes[:, None], progressive=True)
            for t in REPORT:
                y = from_model(recons[t - 1])[0]
                ssim[t].append(float(patch_ssim(y, im)))
                pq[t].append(float(psnr(y, im)))
        row = {"tune": tune if rounds else "-", "rounds": rounds, "images": n,
               "ms_per_thumbnail": round(1000 * float(np.mean(secs)), 1),
               "flips_per_thumbnail": round(float(np.mean(flips)), 2)}
        for t in REPORT:
            row[f"ssim_{16 * t}B"] = round(float(np.mean(ssim[t])), 4)
            row[f"psnr_{16 * t}B"] = round(float(np.mean(pq[t])), 2)
        rows.append(row)
        print(json.dumps(row), flush=True)

with open("experiments/effort_probe.json", "w") as f:
    json.dump({"weights_id": 2, "iterations": ITERATIONS, "rows": rows}, f, indent=1)
