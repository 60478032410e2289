"""What happens if the shipped model runs more iterations than it was trained for?

    python -m experiments.past_trained_iterations ../shared/data/kodak [ITERATIONS] [WEIGHTS_ID]

Encodes the 504 Kodak thumbnails for ITERATIONS (default 16) iterations with the torch
model directly (the library caps files at the trained count) and prints SSIM / PSNR after
each; writes docs/bench/past-trained.json. Answers why 192 and 256 B are not offered.
"""
import json
import sys

import torch

from thumbcodec.codec import load_model
from training.data import kodak_thumbs
from training.train import validate

kodak = sys.argv[1]
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 16
weights_id = int(sys.argv[3]) if len(sys.argv) > 3 else 1
u8 = kodak_thumbs(kodak)
with torch.inference_mode():
    ssim, psnr = validate(load_model(weights_id, "cpu").model, u8, iterations,
                          torch.device("cpu"), amp=False)
rows = []
for t, (s, p) in enumerate(zip(ssim, psnr), 1):
    rows.append({"iterations": t, "payload_bytes": 16 * t,
                 "ssim": round(s, 4), "psnr": round(p, 2)})
    print(rows[-1])
with open("docs/bench/past-trained.json", "w") as f:
    json.dump({"weights_id": weights_id, "images": len(u8), "rows": rows}, f, indent=1)
