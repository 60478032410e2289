"""Format version 2 (the arithmetic coder, issue #15) against version 1, same weights.

    python -m benchmarks.entropy --kodak ../shared/data/kodak --out docs/bench

On the Kodak thumbnails (24 whole images + 20 crops each, 32x32; never used to fit the
context table), with the default weights at effort 0:

- bytes at equal bits: the shortest version-2 payload holding the first k whole iterations
  against version 1's 16 k bytes, per iteration and overall;
- SSIM and PSNR of whole files of 22..128 bytes written as version 1 and as version 2 (the
  encoder's choice: a file version 1 holds better stays version 1; how many did is shown);
- every byte: all-iteration version-2 files cut at every payload length, the mean SSIM at
  each length and at each whole iteration (the shortest prefix that holds it);
- speed: encode and decode per thumbnail, batched, versions 1 and 2.

Writes OUT/entropy.json and prints the markdown tables of docs/quality.md.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from thumbcodec import codec, weights as W
from thumbcodec.files import write_atomic
from thumbcodec.format import HEADER_SIZE
from thumbcodec.metrics import patch_ssim, psnr

BUDGETS = (22, 32, 38, 48, 64, 96, 128)   # whole files, header included


def _quality(thumbs, datas) -> tuple[float, float]:
    out = np.stack([np.asarray(x) for x in codec.decode_batch(datas, backend="numpy")])
    return float(patch_ssim(thumbs, out).mean()), float(psnr(thumbs, out).mean())


def _bits(i) -> int:
    """Code bits a file holds, from its ``codec.info``."""
    return i.iterations * i.bits_per_iteration + i.leftover_bits


def equal_bits(thumbs, wid: int) -> dict:
    """Payload bytes of the first k whole iterations, version 1 and 2 (mean)."""
    lay = W.get_info(wid).layout(32, 32)
    ctx = W.context_model(wid)
    full = codec.encode_batch(list(thumbs), iterations=lay.max_iterations, backend="numpy",
                              weights_id=wid, format=1)
    v2 = np.zeros((len(full), lay.max_iterations))
    for i, d in enumerate(full):
        codes = codec.parse(d)[2]
        for k in range(1, len(codes) + 1):
            v2[i, k - 1] = len(ctx.encode(codes[:k])[0])
    v1 = lay.iteration_bytes * np.arange(1, lay.max_iterations + 1)
    m = v2.mean(0)
    return {"iterations": list(range(1, lay.max_iterations + 1)), "v1_bytes": v1.tolist(),
            "v2_bytes": m.round(3).tolist(),
            "saved_pct": (100 * (1 - m / v1)).round(2).tolist(),
            "v2_iteration_bytes": np.diff(np.concatenate([[0], m])).round(3).tolist()}


def budgets(thumbs, wid: int) -> list[dict]:
    rows = []
    for n in BUDGETS:
        d1 = codec.encode_batch(list(thumbs), bytes=n, backend="numpy", weights_id=wid, format=1)
        d2 = codec.encode_batch(list(thumbs), bytes=n, backend="numpy", weights_id=wid, format=2)
        s1, p1 = _quality(thumbs, d1)
        s2, p2 = _quality(thumbs, d2)
        bits2, bits1 = [_bits(codec.info(d)) for d in d2], [_bits(codec.info(d)) for d in d1]
        rows.append({"bytes": n, "v1_ssim": s1, "v2_ssim": s2, "v1_psnr": p1, "v2_psnr": p2,
                     "v1_bits": float(np.mean(bits1)), "v2_bits": float(np.mean(bits2)),
                     "written_as_v1": sum(d[2] >> 5 == 1 for d in d2)})
    return rows


def every_byte(thumbs, wid: int) -> dict:
    """Version-2 files of every iteration, cut at every payload length."""
    datas = codec.encode_batch(list(thumbs), iterations=W.get_info(wid).max_iterations,
                               backend="numpy", weights_id=wid, format=2)
    longest = max(len(d) for d in datas) - HEADER_SIZE
    per = np.zeros((len(datas), longest + 1))
    for k in range(longest + 1):
        outs = codec.decode_batch([d[:HEADER_SIZE + k] for d in datas], backend="numpy")
        per[:, k] = patch_ssim(thumbs, np.stack([np.asarray(x) for x in outs]))
    curve = per.mean(0)
    steps = np.diff(curve)
    # whole iterations: the mean SSIM of each file at the shortest prefix holding k of them
    offs = [codec.info(d).iteration_offsets for d in datas]
    T = min(len(o) for o in offs)
    at_iter = [float(np.mean([per[i, offs[i][k]] for i in range(len(datas))]))
               for k in range(T)]
    file_drops = np.diff(per, axis=1).min(1)
    return {"files": len(datas), "versions": sorted({int(d[2] >> 5) for d in datas}),
            "payload": list(range(longest + 1)), "mean_ssim": curve.round(5).tolist(),
            "largest_mean_drop": float(-min(0.0, steps.min())),
            "mean_ssim_at_iteration": [round(s, 5) for s in at_iter],
            "rises_every_iteration": bool(np.all(np.diff(at_iter) > 0)),
            "files_with_a_drop_over_0.005": int((file_drops < -0.005).sum()),
            "largest_file_drop": float(-min(0.0, file_drops.min()))}


def speed(thumbs, wid: int, repeats: int = 3) -> list[dict]:
    rows = []
    for fmt in (1, 2):
        for n in (64, 128):
            enc = dec = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                datas = codec.encode_batch(list(thumbs), bytes=n, backend="numpy",
                                           weights_id=wid, format=fmt)
                t1 = time.perf_counter()
                codec.decode_batch(datas, backend="numpy")
                t2 = time.perf_counter()
                enc, dec = min(enc, t1 - t0), min(dec, t2 - t1)
            rows.append({"format": fmt, "bytes": n, "encode_ms": 1000 * enc / len(thumbs),
                         "decode_ms": 1000 * dec / len(thumbs)})
    # the coder alone, on one thumbnail's 8 iterations (1024 bits)
    ctx = W.context_model(wid)
    codes = codec.parse(codec.encode(thumbs[0], iterations=8, backend="numpy", format=1))[2]
    t0 = time.perf_counter()
    for _ in range(20):
        stream, _ = ctx.encode(codes, 64)
    t1 = time.perf_counter()
    for _ in range(20):
        ctx.decode(stream, codes.shape[1:], 8)
    t2 = time.perf_counter()
    rows.append({"coder_only": True, "bits": int(codes.size),
                 "encode_ms": (t1 - t0) / 20 * 1000, "decode_ms": (t2 - t1) / 20 * 1000})
    return rows


def tables(res: dict) -> str:
    eb = res["equal_bits"]
    out = ["| whole iterations | " + " | ".join(map(str, eb["iterations"])) + " |",
           "|---|" + "---|" * len(eb["iterations"]),
           "| version 1 payload bytes | " + " | ".join(map(str, eb["v1_bytes"])) + " |",
           "| version 2 payload bytes (mean) | " + " | ".join(f"{b:.1f}" for b in eb["v2_bytes"]) + " |",
           "| saved | " + " | ".join(f"{s:.1f}%" for s in eb["saved_pct"]) + " |",
           "| bytes of this iteration, version 2 | " + " | ".join(f"{b:.1f}" for b in eb["v2_iteration_bytes"]) + " |",
           "",
           "| whole file | code bits v1 → v2 | SSIM v1 | SSIM v2 | gain | PSNR v1 | PSNR v2 | files left as v1 |",
           "|---|---|---|---|---|---|---|---|"]
    for r in res["budgets"]:
        out.append(f"| {r['bytes']} B | {r['v1_bits']:.0f} → {r['v2_bits']:.0f} | "
                   f"{r['v1_ssim']:.4f} | {r['v2_ssim']:.4f} | {r['v2_ssim'] - r['v1_ssim']:+.4f} | "
                   f"{r['v1_psnr']:.2f} | {r['v2_psnr']:.2f} | {r['written_as_v1']} |")
    e = res["every_byte"]
    out += ["", f"Every byte ({e['files']} files of all iterations, cut at every payload "
            f"length): mean SSIM at each whole iteration "
            + ", ".join(f"{s:.3f}" for s in e["mean_ssim_at_iteration"])
            + f" (rises every iteration: {e['rises_every_iteration']}); largest drop of the "
            f"mean from one byte to the next {e['largest_mean_drop']:.4f}; files with a drop "
            f"over 0.005 from one byte to the next: {e['files_with_a_drop_over_0.005']} "
            f"(largest {e['largest_file_drop']:.4f})."]
    return "\n".join(out)


@click.command()
@click.option("--kodak", type=click.Path(exists=True, file_okay=False), required=True,
              help="Kodak folder: 24 whole images + 20 crops each, at 32x32.")
@click.option("--out", default="bench-out", show_default=True, help="Output folder.")
@click.option("--limit", type=click.IntRange(1), help="Use only the first N thumbnails.")
@click.option("--weights", "wid", type=int, default=W.DEFAULT_ID, show_default=True)
@click.option("--no-speed", is_flag=True, help="Skip the timing.")
@click.option("--speed-only", is_flag=True, help="Only the timing, added to OUT/entropy.json "
              "(time on a quiet machine).")
def main(kodak, out, limit, wid, no_speed, speed_only):
    """Format version 2 against version 1 on the Kodak thumbnails."""
    from training.data import kodak_thumbs
    thumbs = kodak_thumbs(kodak)
    thumbs = thumbs[:limit] if limit else thumbs
    if speed_only:
        path = Path(out) / "entropy.json"
        res = json.loads(path.read_text())
        res["speed"] = speed(thumbs, wid)
        res["speed_thumbnails"] = len(thumbs)
        write_atomic(path, json.dumps(res, indent=1).encode(), overwrite=True)
        click.echo(json.dumps(res["speed"], indent=1))
        return
    res = {"images": len(thumbs), "weights_id": wid,
           "context_table": W.get_info(wid).context[0],
           "equal_bits": equal_bits(thumbs, wid), "budgets": budgets(thumbs, wid),
           "every_byte": every_byte(thumbs, wid)}
    if not no_speed:
        res["speed"] = speed(thumbs, wid)
    outd = Path(out)
    outd.mkdir(parents=True, exist_ok=True)
    write_atomic(outd / "entropy.json", json.dumps(res, indent=1).encode(), overwrite=True)
    click.echo(tables(res))
    if "speed" in res:
        click.echo(json.dumps(res["speed"], indent=1))


if __name__ == "__main__":
    main()
