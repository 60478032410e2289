"""What the context-model arithmetic coder (thumbcodec/entropy.py) saves on weights 2's codes.

    python -m experiments.entropy_probe [--ctx weights/rnnc-w2.ctx.json] [--check 20]

Sets: the 504 Kodak thumbnails and the extra-val thumbnails (3 crops per image), never
used to fit the table (tools/fit_context.py fits on the training images). Codes: 8
iterations of the NumPy network, as the encoder makes them. For each thumbnail:

- ideal: the code length of each iteration's bits under the table, sum of -log2 p
  (floating point here only to measure);
- whole: the shortest coded stream that determines the first k iterations, k = 1..8
  (what a file of k whole iterations would cost), against 16 k bytes in format version 1;
- termination: 8 x whole - ideal, in bits;
- budget: the bits a payload of N bytes holds (the coder fills it exactly), against 8 N,
  and the budget's bits left unused: 8 N - the ideal code length of the bits held;
- check: every byte prefix of the 8-iteration stream of the first ``--check`` thumbnails
  decodes to exactly the encoder's bits (a prefix of them), more with every byte.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from thumbcodec import engine
from thumbcodec.entropy import ONE, ContextModel, encode
from thumbcodec.pixels import to_model
from training.data import kodak_thumbs

ITER, BUDGETS = 8, (8, 16, 32, 48, 64, 96, 128)


def codes_of(thumbs: np.ndarray) -> np.ndarray:
    runner = engine.load(2, "cpu", "numpy")
    out = [runner.compress(to_model(thumbs[s: s + 128]), ITER) for s in range(0, len(thumbs), 128)]
    return (np.concatenate(out, axis=1) > 0).astype(np.int64).transpose(1, 0, 2, 3, 4)  # (N, T, C, h, w)


def probe(name: str, bits: np.ndarray, model: ContextModel, check: int) -> None:
    N, T = bits.shape[:2]
    B = bits[0, 0].size
    ideal = np.zeros((N, T))
    whole = np.zeros((N, T), np.int64)
    held = np.zeros((N, len(BUDGETS)), np.int64)
    unused = np.zeros((N, len(BUDGETS)))
    t0 = time.time()
    for i in range(N):
        p = model.probs(bits[i])
        flat = bits[i].reshape(-1)
        q = p / ONE
        cost = -np.where(flat == 1, np.log2(q), np.log2(1 - q))
        ideal[i] = cost.reshape(T, B).sum(1)
        cum = np.concatenate([[0.0], np.cumsum(cost)])
        for k in range(1, T + 1):
            whole[i, k - 1] = len(encode(flat[: k * B], p[: k * B])[0])
        for j, n in enumerate(BUDGETS):
            held[i, j] = encode(flat, p, n)[1]
            unused[i, j] = 8 * n - cum[held[i, j]] if held[i, j] < len(flat) else np.nan
    secs = time.time() - t0
    v1 = 16 * np.arange(1, T + 1)
    print(f"\n## {name}: {N} thumbnails, 32x32, weights 2, {T} iterations "
          f"({secs / N * 1e3:.1f} ms per thumbnail to code 8 streams + {len(BUDGETS)} budgets)")
    print("\nper iteration: ideal bytes of its bits under the table (format 1: 16)")
    print("| iteration | " + " | ".join(str(t + 1) for t in range(T)) + " | all |")
    print("|---" * (T + 2) + "|")
    it = ideal.mean(0) / 8
    print("| bytes | " + " | ".join(f"{b:.2f}" for b in it) + f" | {it.sum():.2f} |")
    print("| saved | " + " | ".join(f"{1 - b / 16:.1%}" for b in it)
          + f" | {1 - it.sum() / (16 * T):.1%} |")
    print("\nwhole iterations: shortest stream holding the first k iterations (mean bytes)")
    print("| k | " + " | ".join(str(k) for k in range(1, T + 1)) + " |")
    print("|---" * (T + 1) + "|")
    print("| format 1 | " + " | ".join(str(v) for v in v1) + " |")
    print("| entropy-coded | " + " | ".join(f"{w:.2f}" for w in whole.mean(0)) + " |")
    print("| saved | " + " | ".join(f"{1 - w / v:.1%}" for w, v in zip(whole.mean(0), v1)) + " |")
    print("| max bytes | " + " | ".join(str(w) for w in whole.max(0)) + " |")
    term = 8 * whole - np.cumsum(ideal, 1)
    print(f"\ntermination: 8 x bytes - ideal bits, mean {term.mean():.2f} bits "
          f"(per k: {', '.join(f'{x:.2f}' for x in term.mean(0))}), min {term.min():.2f}, "
          f"max {term.max():.2f}")
    print("\nbudget: bits a payload of N bytes holds (mean; format 1: 8 N, at most 1024)")
    print("| N | " + " | ".join(str(n) for n in BUDGETS) + " |")
    print("|---" * (len(BUDGETS) + 1) + "|")
    print("| format 1 | " + " | ".join(str(min(8 * n, T * B)) for n in BUDGETS) + " |")
    print("| entropy-coded | " + " | ".join(f"{h:.1f}" for h in held.mean(0)) + " |")
    print("| more bits | " + " | ".join(f"{h / min(8 * n, T * B) - 1:+.1%}"
                                       for h, n in zip(held.mean(0), BUDGETS)) + " |")
    with np.errstate(all="ignore"):
        u = [f"{np.nanmean(c):.2f}" if np.isfinite(c).any() else "-" for c in unused.T]
    print("| unused bits | " + " | ".join(u) + " |")
    print("(unused bits: 8 N - the ideal code length of the bits held, the termination cost "
          "of a budget; only thumbnails whose bits do not all fit)")
    if check:
        t0 = time.time()
        bad = 0
        for i in range(min(check, N)):
            data, n = model.encode(bits[i] * 2 - 1)
            want = (bits[i].reshape(-1) * 2 - 1).astype(np.float32)
            last = 0
            for k in range(len(data) + 1):
                got, m = model.decode(data[:k], bits.shape[2:], T)
                flat = got.reshape(-1)
                ok = (m >= last and np.array_equal(flat[:m], want[:m]) and not flat[m:].any()
                      and (k < len(data) or m == n == want.size))
                bad += not ok
                last = m
        print(f"\ncheck: every byte prefix of {min(check, N)} whole streams decoded; "
              f"{bad} wrong ({time.time() - t0:.0f} s)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="weights/rnnc-w2.ctx.json")
    ap.add_argument("--kodak", default="../shared/data/kodak")
    ap.add_argument("--extra-val", default="../shared/data/extra-val")
    ap.add_argument("--check", type=int, default=20)
    a = ap.parse_args(argv)
    model = ContextModel.load(a.ctx)
    for name, thumbs in (("Kodak", kodak_thumbs(a.kodak)),
                         ("extra-val", kodak_thumbs(a.extra_val, crops_per_image=3))):
        probe(name, codes_of(thumbs), model, a.check)


if __name__ == "__main__":
    main()
