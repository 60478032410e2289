"""Fit the static context model of a weights id's code bits (thumbcodec/entropy.py).

    python -m tools.fit_context --weights 2 --out weights/rnnc-w2.ctx.json

Codes come from the NumPy network on random 32x32 crops of the TRAINING images only
(``training.data.make_pool``, the sources and weights of the weights' training run), all
iterations the weights were trained for. Each context's P(1) is (ones + 0.5) / (bits + 1),
rounded to 1/4096 and kept in 1..4095; an unseen context gets 1/2. The table is integers:
fitting uses floating point, coding never does.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from thumbcodec import engine, weights as W
from thumbcodec.entropy import ONE, ContextModel
from thumbcodec.pixels import to_model
from training.data import make_pool

SOURCES = ["../shared/data/photos", "../shared/data/extra",
           "../shared/data/extra/Noto-emoji:0.5", "../shared/data/extra/Region-flags:0.5"]


def count(weights_id: int, pool: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(bits, ones) per context over the codes of ``pool`` (N, 32, 32, 3) uint8."""
    info = W.get_info(weights_id)
    runner = engine.load(weights_id, "cpu", "numpy")
    C, T = info.config.bits, info.max_iterations
    shape = (T, C, 3, 3, 3, 3)
    model = ContextModel(np.ones(shape, np.int64), weights_id)  # only its indexing is used
    size = int(np.prod(shape))
    bits, ones = np.zeros(size, np.int64), np.zeros(size, np.int64)
    t0 = time.time()
    for s in range(0, len(pool), batch):
        codes = runner.compress(to_model(pool[s: s + batch]), info.max_iterations)  # (T, B, C, h, w)
        for j in range(codes.shape[1]):
            b = (codes[:, j] > 0).astype(np.int64)
            ctx = model.contexts(b).reshape(-1)
            bits += np.bincount(ctx, minlength=size)
            ones += np.bincount(ctx, weights=b.reshape(-1), minlength=size).astype(np.int64)
        print(f"  {s + codes.shape[1]}/{len(pool)} thumbnails, {time.time() - t0:.0f} s", flush=True)
    return bits, ones


def fit(bits: np.ndarray, ones: np.ndarray, channels: int, weights_id: int) -> ContextModel:
    p = np.rint((ones + 0.5) / (bits + 1) * ONE).astype(np.int64)
    p = np.clip(p, 1, ONE - 1).reshape(-1, channels, 3, 3, 3, 3)
    return ContextModel(p, weights_id)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=int, required=True, help="the shipped weights id")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=12000, help="training crops (default 12000)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--data", nargs="+", default=SOURCES)
    a = ap.parse_args(argv)
    pool = make_pool(a.data, a.n, seed=a.seed)
    bits, ones = count(a.weights, pool)
    model = fit(bits, ones, W.get_info(a.weights).config.bits, a.weights)
    model.save(a.out)
    p = (ones + 0.5) / (bits + 1)
    h = -(ones * np.log2(p) + (bits - ones) * np.log2(1 - p)).sum() / bits.sum()
    print(f"{a.out}: {int((bits > 0).sum())} of {bits.size} contexts seen, "
          f"{bits.sum()} bits, {h:.4f} bits per bit on the fitting set; "
          f"sha256 {W.sha256_of(a.out)}")


if __name__ == "__main__":
    main()
