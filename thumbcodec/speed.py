"""Speed on this machine: ``thumbcodec bench speed`` (a user measuring their own machine).

Encode and decode thumbnails per second per backend, iterations and batch size; the
network's MACs and the distance to the matmul peak; the CLI's cold-start latency; Pillow's
JPEG and WebP for scale. Needs torch (the MAC count and the torch rows).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _median_rate(fn, n_items, repeats, min_time=0.5):
    rates = []
    for _ in range(repeats):
        k, t0 = 0, time.perf_counter()
        while True:
            fn()
            k += 1
            if time.perf_counter() - t0 >= min_time:
                break
        rates.append(k * n_items / (time.perf_counter() - t0))
    return statistics.median(rates)


def count_macs(model, width=32, height=32) -> float:
    """Multiply-accumulates of one encoder+decoder iteration, counted by torch."""
    import numpy as np
    from torch.utils.flop_counter import FlopCounterMode
    x = np.zeros((1, 3, height, width), np.float32)
    with FlopCounterMode(display=False) as fc:
        model.compress(x, 1)
    return fc.get_total_flops() / 2


def matmul_peak(dtype_name: str, n: int = 1024, repeats: int = 5) -> float:
    """Dense square matmul GFLOP/s measured now, median of repeats."""
    import torch
    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    rate = _median_rate(lambda: a @ b, 1, repeats)
    return rate * 2 * n ** 3 / 1e9


def speed(device="cpu", batches=(1, 16, 256, 4096), iterations=None, repeats=3) -> dict:
    """The speed report. ``iterations`` defaults to 4, 8 and every iteration the default
    weights were trained for (a full-length file)."""
    import resource
    import torch
    from . import weights
    from .codec import decode_batch, encode_batch, load_model
    if iterations is None:
        most = weights.get_info(weights.DEFAULT_ID).max_iterations
        iterations = sorted({min(4, most), min(8, most), most})
    rng = np.random.default_rng(0)
    thumbs = list(rng.integers(0, 256, (max(batches), 32, 32, 3), dtype=np.uint8))
    model = load_model(device=device)
    res = {"device": device, "threads": torch.get_num_threads(), "rows": []}
    for it in iterations:
        for bs in batches:
            for be in ("torch", "numpy") if device == "cpu" and bs <= 16 else ("torch",):
                kw = dict(device=device, backend=be)
                datas = encode_batch(thumbs[:bs], iterations=it, **kw)
                enc = _median_rate(lambda: encode_batch(thumbs[:bs], iterations=it, **kw),
                                   bs, repeats)
                dec = _median_rate(lambda: decode_batch(datas, **kw), bs, repeats)
                res["rows"].append({"backend": be, "iterations": it, "batch": bs,
                                    "encode_per_s": enc, "decode_per_s": dec})
                print(f"{be} {it} it, batch {bs}: encode {enc:.0f}/s decode {dec:.0f}/s",
                      flush=True)
    macs = count_macs(model)
    res["macs_per_iteration"] = macs
    res["params"] = sum(p.numel() for p in model.model.parameters())
    best = max(r["encode_per_s"] for r in res["rows"]
               if r["iterations"] == 8 and r["backend"] == "torch")
    # encoding runs encoder + decoder each iteration: 2 FLOPs per MAC
    res["achieved_gflops_encode8"] = best * 8 * macs * 2 / 1e9
    res["matmul_peak_gflops_fp32"] = matmul_peak("float32", repeats=max(repeats, 3))
    res["fraction_of_peak"] = res["achieved_gflops_encode8"] / res["matmul_peak_gflops_fp32"]
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["cli"] = cli_latency(repeats)
    res["pillow"] = pillow_speed(thumbs[:256], repeats)
    return res


def cli_latency(repeats: int = 3) -> dict:
    import tempfile
    exe = [sys.executable, "-m", "thumbcodec.cli"]
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "a.png"
        Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(src)

        def t(cmd):
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                ts.append(time.perf_counter() - t0)
            return statistics.median(ts)
        res = {}
        for backend in ("numpy", "torch"):
            res[f"encode_{backend}_s"] = t(exe + ["encode", str(src), "--bytes", "64", "-o",
                                                  f"{d}/a.rnnc", "--force", "--device", "cpu",
                                                  "--backend", backend])
            res[f"decode_{backend}_s"] = t(exe + ["decode", f"{d}/a.rnnc", "-o", f"{d}/b.png",
                                                  "--force", "--device", "cpu",
                                                  "--backend", backend])
        res["import_torch_s"] = t([sys.executable, "-c", "import torch"])
        res["import_light_s"] = t([sys.executable, "-c", "import PIL.Image, numpy, click"])
        res["import_thumbcodec_cli_s"] = t([sys.executable, "-c", "import thumbcodec.cli"])
    return res


def pillow_speed(thumbs, repeats: int = 3) -> dict:
    import io
    out = {}
    for fmt, kw in [("JPEG", {"quality": 50}), ("WEBP", {"quality": 50})]:
        def run():
            for a in thumbs:
                b = io.BytesIO()
                Image.fromarray(a).save(b, fmt, **kw)
                Image.open(io.BytesIO(b.getvalue())).load()
        out[fmt.lower() + "_enc_dec_per_s"] = _median_rate(run, len(thumbs), repeats)
    return out


def as_text(res) -> str:
    """The speed report as a Markdown table and a few lines."""
    lines = ["| backend | iterations | batch | encode /s | decode /s |", "|---|---|---|---|---|"]
    lines += [f"| {r['backend']} | {r['iterations']} | {r['batch']} | {r['encode_per_s']:.0f} | "
              f"{r['decode_per_s']:.0f} |" for r in res["rows"]]
    c = res["cli"]
    lines += ["", f"MACs per iteration (encoder + decoder, 32x32): "
              f"{res['macs_per_iteration'] / 1e6:.1f} M; params {res['params'] / 1e6:.2f} M",
              f"achieved {res['achieved_gflops_encode8']:.1f} GFLOP/s encoding at 8 iterations; "
              f"fp32 matmul peak {res['matmul_peak_gflops_fp32']:.0f} GFLOP/s "
              f"({100 * res['fraction_of_peak']:.0f}%)",
              f"CLI cold start, numpy backend: encode {c['encode_numpy_s']:.2f} s, decode "
              f"{c['decode_numpy_s']:.2f} s; torch backend: encode {c['encode_torch_s']:.2f} s, "
              f"decode {c['decode_torch_s']:.2f} s",
              f"imports: torch {c['import_torch_s']:.2f} s; PIL+numpy+click "
              f"{c['import_light_s']:.2f} s; thumbcodec.cli {c['import_thumbcodec_cli_s']:.2f} s "
              "(process start included)",
              f"peak RSS {res['peak_rss_mb']:.0f} MB; Pillow JPEG enc+dec "
              f"{res['pillow']['jpeg_enc_dec_per_s']:.0f}/s, WebP "
              f"{res['pillow']['webp_enc_dec_per_s']:.0f}/s"]
    return "\n".join(lines)
