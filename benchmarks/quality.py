"""Rate-distortion of thumbcodec against standard codecs and placeholders.

    python -m benchmarks.quality --kodak ../shared/data/kodak --out docs/bench

Quality follows the paper's protocol (Toderici et al. 2016, §4.3): for each codec, target
and image, the quality setting is searched for the smallest header-less size >= target;
SSIM is the 8x8-patch, per-channel, unsmoothed SSIM of thumbcodec.metrics.
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
from pathlib import Path

import click
import numpy as np
from PIL import Image

from thumbcodec.files import write_atomic
from thumbcodec.format import HEADER_SIZE
from thumbcodec.metrics import patch_ssim, psnr

TARGETS = (16, 32, 48, 64, 96, 128, 192, 256)


# ---------------------------------------------------------------- quality

def _std_row(args):
    """One image through every standard codec at every target (runs in a worker)."""
    from . import stdcodecs as S
    arr, targets = args
    img = Image.fromarray(arr)
    out = []
    for codec in S.available():
        for t in targets:
            data, n, status = S.search(codec, img, t)
            dec = np.asarray(codec.decode(data).convert("RGB").resize(img.size))
            out.append({"codec": codec.name, "target": t, "headerless": n,
                        "total": len(data), "status": status,
                        "ssim": float(patch_ssim(arr, dec)), "psnr": float(psnr(arr, dec))})
    return out


def _placeholder_rows(arr):
    """One image through the fixed-size placeholders (cheap, so never cached)."""
    from . import stdcodecs as S
    img = Image.fromarray(arr)
    out = []
    for name, f in S.placeholders().items():
        n, dec = f(img)
        dec = np.asarray(dec)
        out.append({"codec": name, "target": n, "headerless": n, "total": n, "status": "ok",
                    "ssim": float(patch_ssim(arr, dec)), "psnr": float(psnr(arr, dec))})
    return out


def _ours(thumbs, targets, device):
    from thumbcodec.codec import decode_batch, encode_batch
    rows = []
    for t in targets:
        datas = encode_batch(list(thumbs), bytes=t + HEADER_SIZE, device=device)
        outs = decode_batch(datas, device=device)
        for arr, d, o in zip(thumbs, datas, outs):
            o = np.asarray(o)
            rows.append({"codec": "thumbcodec", "target": t, "headerless": len(d) - HEADER_SIZE,
                         "total": len(d), "status": "ok" if len(d) - HEADER_SIZE == t else "under",
                         "ssim": float(patch_ssim(arr, o)), "psnr": float(psnr(arr, o))})
    return rows


def quality(thumbs: np.ndarray, targets=TARGETS, jobs: int | None = None,
            cache: Path | None = None, device: str = "cpu") -> list[dict]:
    """Per-image rows for thumbcodec, every standard codec (cached per image) and the
    placeholders (not cached)."""
    from multiprocessing import Pool
    rows = _ours(thumbs, targets, device)
    keys = [hashlib.sha1(a.tobytes() + repr(targets).encode()).hexdigest() for a in thumbs]
    cached = {}
    if cache and cache.exists():
        cached = json.loads(cache.read_text())
    todo = [i for i, k in enumerate(keys) if k not in cached]

    def save():  # atomically, and every 50 images, so an interrupted run keeps its work
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cache, json.dumps(cached).encode(), overwrite=True)
    if todo:
        with Pool(jobs or os.cpu_count()) as pool:
            for n, (i, res) in enumerate(zip(todo, pool.imap(
                    _std_row, [(thumbs[i], targets) for i in todo], chunksize=4)), 1):
                cached[keys[i]] = res
                if n % 50 == 0:
                    save()
        save()
    from .stdcodecs import placeholders
    for k in keys:  # caches written before placeholders were split out also hold them
        rows += [r for r in cached[k] if r["codec"] not in placeholders()]
    with Pool(jobs or os.cpu_count()) as pool:
        for res in pool.imap(_placeholder_rows, list(thumbs), chunksize=8):
            rows += res
    return rows


def bytewise(thumbs, device="cpu") -> list[dict]:
    """Mean SSIM/PSNR of thumbcodec at every payload length, byte by byte (one encode,
    then every prefix of the files decoded): checks that each byte helps."""
    from thumbcodec.codec import decode_batch, encode_batch
    datas = encode_batch(list(thumbs), device=device)
    out = []
    for n in range(HEADER_SIZE, max(len(d) for d in datas) + 1):
        outs = decode_batch([d[:n] for d in datas], device=device)
        o = np.stack([np.asarray(x) for x in outs])
        out.append({"payload": n - HEADER_SIZE, "ssim": float(patch_ssim(thumbs, o).mean()),
                    "psnr": float(psnr(thumbs, o).mean())})
    return out


def bytewise_plot(curve: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([c["payload"] for c in curve], [c["ssim"] for c in curve], ".-", ms=3)
    for k in range(0, curve[-1]["payload"] + 1, 16):
        ax.axvline(k, color="grey", lw=0.5, alpha=0.5)
    ax.set_xlabel("payload bytes (grey lines: every 16 bytes, version 1's iterations)")
    ax.set_ylabel("mean patch SSIM")
    ax.set_title("thumbcodec, every byte prefix of 32x32 files")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarize(rows: list[dict]) -> list[dict]:
    groups: dict = {}
    for r in rows:
        key = (r["codec"], r["target"]) if r["codec"] not in ("thumbhash", "blurhash") \
            else (r["codec"], "fixed")
        groups.setdefault(key, []).append(r)
    out = []
    for (codec, target), rs in groups.items():
        out.append({"codec": codec, "target": target, "n": len(rs),
                    "ssim": statistics.fmean(r["ssim"] for r in rs),
                    "psnr": statistics.fmean(r["psnr"] for r in rs),
                    "headerless": statistics.fmean(r["headerless"] for r in rs),
                    "total": statistics.fmean(r["total"] for r in rs),
                    "missed": sum(r["status"] != "ok" for r in rs)})
    return out


def markdown_table(summary: list[dict], targets=TARGETS) -> str:
    codecs = list(dict.fromkeys(s["codec"] for s in summary))
    by = {(s["codec"], s["target"]): s for s in summary}
    lines = ["| codec | " + " | ".join(f"{t} B" for t in targets) + " |",
             "|---|" + "---|" * len(targets)]
    for c in codecs:
        if (c, "fixed") in by:
            s = by[(c, "fixed")]
            lines.append(f"| {c} ({s['headerless']:.0f} B) | " + " | ".join(
                f"{s['ssim']:.3f}" if t == targets[0] else "" for t in targets) + " |")
            continue
        cells = []
        for t in targets:
            s = by.get((c, t))
            if s is None:
                cells.append("")
                continue
            miss = f" ({s['missed']} missed)" if s["missed"] else ""
            cells.append(f"{s['ssim']:.3f} / {s['psnr']:.1f} dB @ {s['headerless']:.0f} B{miss}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rd_plot(summary: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    codecs = list(dict.fromkeys(s["codec"] for s in summary))
    for ax, key, title in [(axes[0], "headerless", "header-less bytes"),
                           (axes[1], "total", "total file bytes")]:
        for c in codecs:
            pts = sorted((s[key], s["ssim"]) for s in summary if s["codec"] == c)
            style = dict(lw=2.5, color="black") if c == "thumbcodec" else {}
            if len(pts) == 1:
                ax.plot(*pts[0], "*", ms=12, label=c)
            else:
                ax.plot(*zip(*pts), "o-", ms=3, label=c, **style)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(title)
        ax.set_title(f"SSIM (8x8 patches) vs {title}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean patch SSIM")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def comparison_sheet(thumbs, path: Path, targets=(64, 128), n: int = 4, device="cpu"):
    """Originals and each codec at each target, side by side (4x nearest zoom)."""
    from PIL import ImageDraw
    from . import stdcodecs as S
    from thumbcodec.codec import decode, encode
    picks = thumbs[:: max(1, len(thumbs) // n)][:n]
    codecs = S.available()
    z, pad, top = 96, 4, 14
    cols = 1 + len(targets) * (1 + len(codecs))
    sheet = Image.new("RGB", (cols * (z + pad) + pad, top + len(picks) * (z + pad) + pad), "white")
    d = ImageDraw.Draw(sheet)
    labels = ["original"] + [f"{c} {t}" for t in targets for c in ["ours"] + [c.name for c in codecs]]
    for j, lab in enumerate(labels):
        d.text((pad + j * (z + pad), 2), lab[:16], fill="black")
    for i, arr in enumerate(picks):
        img = Image.fromarray(arr)
        cells = [img]
        for t in targets:
            cells.append(decode(encode(img, bytes=t + HEADER_SIZE, device=device)))
            for c in codecs:
                data, _, _ = S.search(c, img, t)
                cells.append(c.decode(data).resize(img.size))
        for j, c in enumerate(cells):
            sheet.paste(c.resize((z, z), Image.NEAREST), (pad + j * (z + pad), top + i * (z + pad)))
    sheet.save(path)


# ---------------------------------------------------------------- command

@click.command()
@click.argument("images", nargs=-1)
@click.option("--kodak", type=click.Path(exists=True, file_okay=False),
              help="Kodak folder: 24 whole images + 20 crops each, at 32x32.")
@click.option("--targets", default=",".join(map(str, TARGETS)), show_default=True,
              help="Header-less byte targets.")
@click.option("--limit", type=click.IntRange(1), help="Use only the first N thumbnails.")
@click.option("--out", default="bench-out", show_default=True, help="Output folder.")
@click.option("--cache", type=click.Path(dir_okay=False), help="Cache of standard-codec "
              "results per image [default: OUT/cache.json].")
@click.option("--jobs", type=click.IntRange(1), help="Worker processes [default: all cores].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu",
              show_default=True, help="Where the network runs.")
def main(images, kodak, targets, limit, out, cache, jobs, as_json, device):
    """Rate-distortion of thumbcodec vs JPEG, WebP, JPEG 2000, AVIF, JPEG XL, placeholders.

    Example: python -m benchmarks.quality --kodak ../shared/data/kodak --out docs/bench
    """
    from thumbcodec.batch import expand
    from thumbcodec.errors import ThumbcodecError
    from thumbcodec.pixels import load_image
    try:
        tg = tuple(int(t) for t in targets.split(","))
    except ValueError:
        raise click.BadParameter("use comma-separated integers", param_hint="--targets")
    if kodak:
        from training.data import kodak_thumbs
        thumbs = kodak_thumbs(kodak)
    else:
        files = [f for f, _ in expand(images)]
        if not files:
            raise click.UsageError("give IMAGES or --kodak DIR")
        try:
            thumbs = np.stack([np.asarray(load_image(f).resize((32, 32), 1)) for f in files])
        except ThumbcodecError as e:
            raise click.ClickException(str(e))
    thumbs = thumbs[:limit] if limit else thumbs
    outd = Path(out)
    outd.mkdir(parents=True, exist_ok=True)
    rows = quality(thumbs, tg, jobs=jobs, cache=Path(cache) if cache else outd / "cache.json",
                   device=device)
    summary = summarize(rows)
    (outd / "quality.json").write_text(json.dumps({"images": len(thumbs), "summary": summary},
                                                  indent=1))
    table = markdown_table(summary, tg)
    (outd / "quality.md").write_text(table + "\n")
    rd_plot(summary, outd / "rd.png")
    curve = bytewise(thumbs, device=device)
    (outd / "bytewise.json").write_text(json.dumps(curve, indent=1))
    bytewise_plot(curve, outd / "bytewise.png")
    comparison_sheet(thumbs, outd / "sheet.png", device=device)
    click.echo(json.dumps(summary, indent=1) if as_json else table)


if __name__ == "__main__":
    main()
