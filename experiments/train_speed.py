"""Training throughput of the shipped configuration under the CPU levers (issue #3).

    python -m experiments.train_speed [--seconds 20] [--out docs/bench/train-speed.json]

Each variant runs the real training step (8 unrolled iterations, the truncated-code term,
Adam, gradient clipping) on random 32x32 batches for a fixed time after warm-up steps, and
reports median samples/s over 3 timed windows.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from thumbcodec.config import Config  # noqa: E402
from thumbcodec.model import RNNCodec, to_input  # noqa: E402
from training.train import step_loss  # noqa: E402


def measure(batch, amp, channels_last=False, compile_=False, threads=2, seconds=20.0):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = RNNCodec(Config())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    fwd = torch.compile(model) if compile_ else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    bits = Config().bits_per_iteration(32, 32)

    def step():
        x = to_input(rng.integers(0, 256, (batch, 32, 32, 3), dtype=np.uint8), "cpu")
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        keep = torch.from_numpy(rng.integers(0, bits, batch))
        with torch.autocast("cpu", torch.bfloat16, enabled=amp):
            loss = step_loss(fwd, x, 8, int(rng.integers(0, 8)), keep)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    t0 = time.perf_counter()
    for _ in range(3):
        step()
    warm = time.perf_counter() - t0
    rates = []
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            step()
            n += batch
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates), warm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--out", default="docs/bench/train-speed.json")
    args = ap.parse_args()
    variants = [
        ("fp32, batch 32", dict(batch=32, amp=False)),
        ("bf16 autocast, batch 32 (shipped recipe)", dict(batch=32, amp=True)),
        ("bf16, batch 32, channels_last", dict(batch=32, amp=True, channels_last=True)),
        ("bf16, batch 16", dict(batch=16, amp=True)),
        ("bf16, batch 64", dict(batch=64, amp=True)),
        ("bf16, batch 128", dict(batch=128, amp=True)),
        ("bf16, batch 32, 1 thread", dict(batch=32, amp=True, threads=1)),
        ("bf16, batch 32, torch.compile", dict(batch=32, amp=True, compile_=True)),
    ]
    rows = {}
    for name, kw in variants:
        try:
            r, warm = measure(seconds=args.seconds, **kw)
            rows[name] = {"samples_per_s": r, "warmup_s": warm}
            print(f"{name}: {r:.0f} samples/s (warm-up {warm:.1f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 - a failing lever is a result
            rows[name] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
            print(f"{name}: failed: {rows[name]['error']}", flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print("| variant | samples/s |\n|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r.get('samples_per_s', 0):.0f} |" if "error" not in r
              else f"| {name} | failed: {r['error']} |")


if __name__ == "__main__":
    main()
