"""What happens if the shipped model runs more iterations than it was trained for?

    python scripts/past_trained_iterations.py ../shared/data/kodak [ITERATIONS] [WEIGHTS_ID]

Encodes the 504 Kodak thumbnails for ITERATIONS (default 16) iterations with the torch
model directly (the library caps files at the trained count) and prints SSIM / PSNR after
each; writes docs/bench/past-trained.json. Answers why 192 and 256 B are not offered.
"""
import json
import sys

import torch

from thumbcodec.codec import load_model
from thumbcodec.data import kodak_thumbs
from thumbcodec.metrics import patch_ssim, psnr
from thumbcodec.model import to_input, to_uint8

kodak = sys.argv[1]
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 16
weights_id = int(sys.argv[3]) if len(sys.argv) > 3 else 1
runner = load_model(weights_id, "cpu")
u8 = kodak_thumbs(kodak)
with torch.inference_mode():
    codes = runner.model.compress(to_input(u8, "cpu"), iterations)
    steps = runner.model.decompress(codes, all_steps=True)
rows = []
for t, y in enumerate(steps, 1):
    out = to_uint8(y)
    rows.append({"iterations": t, "payload_bytes": 16 * t,
                 "ssim": round(float(patch_ssim(u8, out).mean()), 4),
                 "psnr": round(float(psnr(u8, out).mean()), 2)})
    print(rows[-1])
with open("docs/bench/past-trained.json", "w") as f:
    json.dump({"weights_id": weights_id, "images": len(u8), "rows": rows}, f, indent=1)
