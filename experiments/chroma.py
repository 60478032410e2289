"""Does the decoder mute colour, and would undoing it pay? (issue #19, what 256 B look like)

    python -m experiments.chroma ../shared/data/kodak training/checkpoints/w3.npz

The 504 Kodak thumbnails are encoded for 16 iterations (a checkpoint, or a shipped
weights id) and decoded by sign after 4, 8 and 16. Printed per iteration count:

- per YCbCr channel (JPEG's matrix), the slope of the decoded picture's deviation from
  its own mean regressed on the original's (1: full contrast; below 1: muted);
- the mean patch SSIM when the decoded deviations are scaled by k after decoding, in all
  channels, in chroma only and in luma only: a k above 1 that scored higher would be a
  contrast the network leaves on the table.
"""
import argparse

import numpy as np
import torch

from experiments.partial_iteration import load
from thumbcodec.metrics import patch_ssim
from thumbcodec.model import to_input, to_uint8
from training.data import kodak_thumbs

YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                [0.5, -0.418688, -0.081312]])
SCALES = (0.9, 1.0, 1.05, 1.1, 1.2)
CHANNELS = {"all": (0, 1, 2), "chroma": (1, 2), "luma": (0,)}


def deviations(ycc: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) minus each image's per-channel mean."""
    return ycc - ycc.mean((1, 2), keepdims=True)


def scaled(ycc: np.ndarray, k: float, channels) -> np.ndarray:
    """8-bit RGB with the deviations of ``channels`` scaled by k."""
    out, dev = ycc.copy(), deviations(ycc)
    for c in channels:
        out[..., c] += (k - 1) * dev[..., c]
    return np.clip(np.round(out @ np.linalg.inv(YCC).T), 0, 255).astype(np.uint8)


@torch.no_grad()
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kodak")
    p.add_argument("weights", help="a training checkpoint (.npz) or a shipped weights id")
    p.add_argument("--iterations", type=int, nargs="+", default=[4, 8, 16])
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load(args.weights)
    thumbs = kodak_thumbs(args.kodak)
    steps = {t: [] for t in args.iterations}
    for i in range(0, len(thumbs), 128):
        recs = model.decompress(model.compress(to_input(thumbs[i:i + 128], "cpu"),
                                               max(args.iterations)), progressive=True)
        for t in steps:
            steps[t].append(to_uint8(recs[t - 1]))
    orig = deviations(thumbs.astype(np.float64) @ YCC.T)
    for t, parts in steps.items():
        ycc = np.concatenate(parts).astype(np.float64) @ YCC.T
        dec = deviations(ycc)
        slopes = [(dec[..., c] * orig[..., c]).mean() / (orig[..., c] ** 2).mean()
                  for c in range(3)]
        print(f"after {t}: slope Y {slopes[0]:.3f} Cb {slopes[1]:.3f} Cr {slopes[2]:.3f}")
        for name, chans in CHANNELS.items():
            cells = [f"k={k:g} {patch_ssim(thumbs, scaled(ycc, k, chans)).mean():.4f}"
                     for k in SCALES]
            print(f"  {name:6s} " + " | ".join(cells))


if __name__ == "__main__":
    main()
