"""Encoder effort levels (issue #18): quality and encode time per level.

    python -m benchmarks.effort --kodak ../shared/data/kodak --out docs/bench

For each effort level (thumbcodec.effort.LEVELS, objective --tune loss, the CLI default),
encodes the 24 Kodak images squeezed to 32x32 (``training.data.kodak_thumbs``, as
benchmarks/quality.py makes them; ``--crops N`` adds N random crops per image) at 32, 64
and 128 payload bytes (``--payloads``) with ``thumbcodec.encode_batch`` (each size its own
file, as a user gets it), decodes them, and reports mean patch SSIM and PSNR; the batched
time per thumbnail of each size's encode (the whole set in one ``encode_batch``); and the
single-file CLI time, cold start (a new process per run: ``thumbcodec encode x.png --bytes
134 --effort N``), median of ``--runs`` (0: not timed). Writes ``effort.json`` and
``effort-sheet.png`` (decoded thumbnails at effort 0 and the default, 64 and 128 bytes,
3x) to ``--out``.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

import thumbcodec
from thumbcodec import effort
from thumbcodec.format import HEADER_SIZE
from thumbcodec.metrics import patch_ssim, psnr

PAYLOADS = (32, 64, 128)


def _cli_seconds(png: Path, level: int, runs: int) -> float:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "thumbcodec", "encode", str(png), "--bytes",
                            str(HEADER_SIZE + PAYLOADS[-1]), "--effort", str(level), "-o",
                            f"{tmp}/{k}.rnnc"], check=True)
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


@click.command()
@click.option("--kodak", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--crops", default=0, show_default=True, help="Random crops per image too.")
@click.option("--levels", default=",".join(str(i) for i in range(len(effort.LEVELS))),
              show_default=True)
@click.option("--payloads", default=",".join(map(str, PAYLOADS)), show_default=True,
              help="Payload bytes to encode at, comma-separated.")
@click.option("--runs", default=5, show_default=True,
              help="CLI runs per level (median; 0: no CLI timing).")
@click.option("--out", default="docs/bench", show_default=True)
def main(kodak, crops, levels, payloads, runs, out):
    """Quality and encode time of each effort level on the Kodak thumbnails.

    Example: python -m benchmarks.effort --kodak ../shared/data/kodak --out docs/bench
    """
    from training.data import kodak_thumbs
    thumbs = kodak_thumbs(kodak, crops_per_image=crops)
    outd = Path(out)
    outd.mkdir(parents=True, exist_ok=True)
    png = outd / "_effort_input.png"
    Image.fromarray(thumbs[0]).save(png)
    rows, pics = [], {}
    for lv in map(int, levels.split(",")):
        row = {"effort": lv, "level": effort.LEVELS[lv].__dict__, "tune": effort.DEFAULT_TUNE,
               "thumbnails": len(thumbs)}
        for p in map(int, payloads.split(",")):
            t0 = time.perf_counter()
            datas = thumbcodec.encode_batch(list(thumbs), bytes=HEADER_SIZE + p, fit=None,
                                            effort=lv, tune=effort.DEFAULT_TUNE)
            secs = time.perf_counter() - t0
            dec = np.stack([np.asarray(im) for im in thumbcodec.decode_batch(datas)])
            row[f"ssim_{p}B"] = round(float(np.mean(patch_ssim(dec, thumbs))), 4)
            row[f"psnr_{p}B"] = round(float(np.mean(psnr(dec, thumbs))), 2)
            row[f"versions_{p}B"] = sorted({thumbcodec.info(d).version for d in datas})
            row[f"batched_ms_per_thumbnail_{p}B"] = round(1000 * secs / len(thumbs), 1)
            pics[lv, p] = dec
        if runs > 0:
            row["cli_single_file_s_128B"] = round(_cli_seconds(png, lv, runs), 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    png.unlink()
    res = {"weights_id": thumbcodec.codec.W.DEFAULT_ID, "default_effort": effort.DEFAULT_EFFORT,
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                      f"{platform.python_version()}",
           "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
           "rows": rows}
    (outd / "effort.json").write_text(json.dumps(res, indent=1))
    if (0, 64) in pics and (effort.DEFAULT_EFFORT, 64) in pics:
        _sheet(thumbs, pics, outd / "effort-sheet.png")


def _sheet(thumbs, pics, path, n=8, z=3, pad=4):
    """Rows: thumbnails; columns: original, effort 0 and default at 64 B, the same at 128 B."""
    cols = [thumbs] + [pics[lv, p] for p in (64, 128) for lv in (0, effort.DEFAULT_EFFORT)]
    idx = np.linspace(0, len(thumbs) - 1, n).round().astype(int)
    s = 32 * z
    sheet = Image.new("RGB", (pad + len(cols) * (s + pad), pad + n * (s + pad)), "white")
    for i, k in enumerate(idx):
        for j, c in enumerate(cols):
            im = Image.fromarray(c[k]).resize((s, s), Image.NEAREST)
            sheet.paste(im, (pad + j * (s + pad), pad + i * (s + pad)))
    sheet.save(path)


if __name__ == "__main__":
    main()
