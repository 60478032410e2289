"""Measure the CPU speed levers of issue #7 on the shipped model, one at a time.

    python -m experiments.speed_levers [--batch 256] [--out docs/bench/levers.json]

Workload: encode 8 iterations (encoder + decoder each iteration, as the encoder must run
the decoder to form residuals) of a batch of random 32x32 thumbnails, torch on CPU with
all threads. Each variant reports the median thumbnails/s over repeats, the GFLOP/s that
implies (counted MACs x 2), and, where the arithmetic changes, how many code bits differ
from the shipped fp32 path and the mean |pixel difference| of the decoded images.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.quality import count_macs, matmul_peak  # noqa: E402
from thumbcodec.codec import load_model  # noqa: E402
from thumbcodec.layers import ConvLSTMCell  # noqa: E402
from thumbcodec.model import to_input, to_uint8  # noqa: E402


def rate(fn, n, repeats=5, min_time=1.0):
    fn()  # warm-up
    rates = []
    for _ in range(repeats):
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < min_time:
            fn()
            k += 1
        rates.append(k * n / (time.perf_counter() - t0))
    return statistics.median(rates)


def unfused_forward(self, x, state):
    """The four gates as four separate input and four hidden convolutions (the 'before')."""
    h, c = state
    wx, bx, wh = self.conv_x.weight, self.conv_x.bias, self.conv_h.weight
    n = self.hidden
    gates = []
    for k in range(4):
        sl = slice(k * n, (k + 1) * n)
        gates.append(F.conv2d(x, wx[sl], bx[sl], self.conv_x.stride, self.conv_x.padding)
                     + F.conv2d(h, wh[sl], None, 1, self.conv_h.padding))
    i, f, g, o = gates
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, (h, c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--out", default="docs/bench/levers.json")
    args = ap.parse_args()
    runner = load_model(device="cpu")
    model = runner.model.eval()
    rng = np.random.default_rng(0)
    # smooth-ish content (random thumbnails upsampled) so that codes are not degenerate
    small = rng.integers(0, 256, (args.batch, 8, 8, 3), dtype=np.uint8)
    thumbs = small.repeat(4, 1).repeat(4, 2)
    x = to_input(thumbs, "cpu")
    macs = count_macs(runner)
    peak32 = matmul_peak("float32")
    peak16 = matmul_peak("bfloat16")

    def run(ctx=None, xx=x):
        with torch.no_grad():
            if ctx is None:
                codes = model.compress(xx, 8)
            else:
                with ctx():
                    codes = model.compress(xx, 8)
        return codes

    ref_codes = run()
    ref_img = to_uint8(model.decompress(ref_codes))
    variants = {}

    def measure(name, fn, codes_fn=None):
        r = rate(fn, args.batch)
        row = {"encode8_per_s": r, "gflops": r * 8 * macs * 2 / 1e9}
        if codes_fn is not None:
            codes = codes_fn().float()
            row["bits_differing"] = float((codes != ref_codes).float().mean())
            img = to_uint8(model.decompress(codes))
            row["mean_abs_pixel_diff"] = float(np.abs(img.astype(int) - ref_img).mean())
        variants[name] = row
        print(name, {k: round(v, 4) for k, v in row.items()}, flush=True)

    orig = ConvLSTMCell.forward
    ConvLSTMCell.forward = unfused_forward
    measure("unfused gates, no_grad, fp32", run, run)
    ConvLSTMCell.forward = orig
    measure("fused gates, no_grad, fp32", run)
    measure("fused, inference_mode, fp32 (shipped)", lambda: run(torch.inference_mode))
    xcl = x.contiguous(memory_format=torch.channels_last)
    model_cl = model.to(memory_format=torch.channels_last)
    measure("fused, inference_mode, channels_last", lambda: run(torch.inference_mode, xcl))
    model.to(memory_format=torch.contiguous_format)
    bf = lambda: torch.autocast("cpu", torch.bfloat16)  # noqa: E731
    measure("fused, inference_mode, bf16 autocast", lambda: run(bf), lambda: run(bf))
    try:
        enc_c = torch.compile(model.encoder, dynamic=False)
        dec_c = torch.compile(model.decoder, dynamic=False)
        e0, d0 = model.encoder, model.decoder
        model.encoder, model.decoder = enc_c, dec_c
        t0 = time.perf_counter()
        run(torch.inference_mode)
        compile_s = time.perf_counter() - t0
        measure("fused, inference_mode, torch.compile", lambda: run(torch.inference_mode),
                lambda: run(torch.inference_mode))
        variants["fused, inference_mode, torch.compile"]["compile_s"] = compile_s
        model.encoder, model.decoder = e0, d0
    except Exception as e:  # noqa: BLE001 - a missing compiler is a result, not a crash
        variants["torch.compile"] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
        print("torch.compile failed:", variants["torch.compile"]["error"])
    del model_cl
    res = {"batch": args.batch, "threads": torch.get_num_threads(), "macs_per_iteration": macs,
           "matmul_peak_gflops_fp32": peak32, "matmul_peak_gflops_bf16": peak16,
           "variants": variants}
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(f"fp32 matmul peak {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s")
    print("| variant | encode 8 it /s | GFLOP/s | of fp32 peak | bits differing | mean abs pixel diff |")
    print("|---|---|---|---|---|---|")
    for k, v in variants.items():
        if "error" in v:
            print(f"| {k} | {v['error']} | | | | |")
            continue
        print(f"| {k} | {v['encode8_per_s']:.0f} | {v['gflops']:.0f} | "
              f"{v['gflops'] / peak32:.0%} | {v.get('bits_differing', 0):.4%} | "
              f"{v.get('mean_abs_pixel_diff', 0):.3f} |")


if __name__ == "__main__":
    main()
