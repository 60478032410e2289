"""The command line: a thin layer over thumbcodec.codec.

Exit status: 0 all inputs succeeded; 1 some inputs failed (the others are still written);
2 usage errors (click's own).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from . import codec
from . import weights as W
from .data import IMAGE_EXTS
from .errors import ThumbcodecError
from .format import check_size
from .pixels import fit_size, load_image

TARGETS_DEFAULT = (16, 32, 48, 64, 96, 128, 192, 256)

device_option = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
                             default="auto", show_default=True, help="Where the network runs.")
backend_option = click.option("--backend", type=click.Choice(["auto", "torch", "numpy"]),
                              default="auto", show_default=True,
                              help="Inference engine: numpy starts fast (no torch import); "
                                   "auto uses it for up to 16 images on the CPU.")
max_pixels_option = click.option("--max-pixels", type=click.IntRange(1), default=None,
                                 help="Refuse images above this many pixels "
                                      "[default: 1048576].")


def _size(ctx, param, value):
    if value is None:
        return None
    m = re.fullmatch(r"(\d+)x(\d+)", value)
    if not m or int(m[1]) < 1 or int(m[2]) < 1:
        raise click.BadParameter("use WxH, for example 32x32")
    return int(m[1]), int(m[2])


def _expand(inputs, exts) -> list[Path]:
    """Files as given, folders expanded to their files with one of exts (sorted)."""
    out = []
    for p in map(Path, inputs):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in exts)
        else:
            out.append(p)
    return out


def _targets(files, output, suffix, force) -> list[Path]:
    if output is None:
        return [f.with_suffix(suffix) for f in files]
    out = Path(output)
    if len(files) == 1 and not out.is_dir() and out.suffix:
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    return [out / (f.stem + suffix) for f in files]


class _Report:
    """Collects per-file results, prints failures, and gives the exit status."""

    def __init__(self, as_json: bool):
        self.as_json, self.rows = as_json, []

    def ok(self, src, dst, **extra):
        self.rows.append({"input": str(src), "output": str(dst), "ok": True, **extra})

    def fail(self, src, err):
        err = str(err) if str(err).startswith(str(src)) else f"{src}: {err}"
        self.rows.append({"input": str(src), "ok": False, "error": err})
        if not self.as_json:
            click.echo(f"Error: {err}", err=True)

    def finish(self):
        failed = [r for r in self.rows if not r["ok"]]
        if self.as_json:
            click.echo(json.dumps(self.rows, indent=2))
        elif failed and len(self.rows) > 1:
            click.echo(f"{len(failed)} of {len(self.rows)} inputs failed", err=True)
        sys.exit(1 if failed else 0)


def _progress(items, label, show):
    return click.progressbar(items, label=label, file=sys.stderr) if show else _Null(items)


class _Null:
    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items

    def __exit__(self, *a):
        return False


@click.group()
@click.version_option(package_name="thumbcodec")
def main():
    """thumbcodec: a progressive neural codec for image thumbnails (.rnnc)."""


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--bytes", "nbytes", type=click.IntRange(1), help="Whole-file budget, header "
              "included; filled byte-exact.")
@click.option("--iterations", type=click.IntRange(0), help="Whole iterations to write "
              "(16 bytes each for 32x32).")
@click.option("-o", "--output", help="Output file (one input) or folder (many).")
@click.option("--resize", callback=_size, help="Resize to exactly WxH first.")
@click.option("--fit", type=click.IntRange(1, 4096), help="Resize so the longer side is N.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--json", "as_json", is_flag=True, help="A JSON report per file on stdout.")
@click.option("--weights", "weights_id", type=click.IntRange(1, 31), default=None,
              help="Weights id to encode with [default: the default id of this install]; "
                   "decoding always uses the id in the file.")
@max_pixels_option
@device_option
@backend_option
def encode(inputs, nbytes, iterations, output, resize, fit, force, as_json, weights_id,
           max_pixels, device, backend):
    """Encode images (files or folders) to .rnnc files.

    Example: thumbcodec encode photo.png --bytes 64 -o photo.rnnc
    """
    if (nbytes is None) == (iterations is None):
        raise click.UsageError("give exactly one of --bytes or --iterations")
    if weights_id is None:
        weights_id = W.DEFAULT_ID
    elif weights_id not in W.REGISTRY:
        raise click.UsageError(f"unknown weights id {weights_id}: this install has ids "
                               f"{sorted(W.REGISTRY)}")
    files = _expand(inputs, IMAGE_EXTS)
    if not files:
        raise click.UsageError("no input images found")
    targets = _targets(files, output, ".rnnc", force)
    report = _Report(as_json)
    todo = []
    for src, dst in zip(files, targets):
        if dst.exists() and not force:
            report.fail(src, f"{dst} exists (use --force to overwrite)")
            continue
        try:
            img = load_image(src)
            size = fit_size(*img.size, resize=resize, fit=fit)
            check_size(*size, max_pixels)
            if size != img.size:
                img = img.resize(size, resample=3, reducing_gap=2.0)
            todo.append((src, dst, img))
        except ThumbcodecError as e:
            report.fail(src, e)
    chunk = 256
    with _progress(range(0, len(todo), chunk), "encoding", len(todo) > 16 and not as_json) as bar:
        for s in bar:
            part = todo[s: s + chunk]
            try:
                datas = codec.encode_batch([im for _, _, im in part], bytes=nbytes,
                                           iterations=iterations, device=device,
                                           weights_id=weights_id, max_pixels=max_pixels,
                                           backend=backend)
            except ThumbcodecError as e:
                for src, _, _ in part:
                    report.fail(src, e)
                continue
            for (src, dst, img), data in zip(part, datas):
                try:
                    codec.write_atomic(dst, data)
                    report.ok(src, dst, bytes=len(data), width=img.width, height=img.height)
                except OSError as e:
                    report.fail(src, f"{dst}: {e.strerror or e}")
    report.finish()


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output PNG (one input) or folder (many).")
@click.option("--iterations", type=click.IntRange(0), help="Decode only the first K "
              "iterations.")
@click.option("--steps", is_flag=True, help="Also write NAME.steps.png: every progressive "
              "step side by side.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--json", "as_json", is_flag=True, help="A JSON report per file on stdout.")
@max_pixels_option
@device_option
@backend_option
def decode(inputs, output, iterations, steps, force, as_json, max_pixels, device, backend):
    """Decode .rnnc files (whole or truncated) to PNG.

    Example: thumbcodec decode photo.rnnc -o photo.png --steps
    """
    files = _expand(inputs, {".rnnc"})
    if not files:
        raise click.UsageError("no .rnnc files found")
    if backend == "auto":
        backend = "numpy" if device != "cuda" and len(files) <= 16 else "torch"
    targets = _targets(files, output, ".png", force)
    report = _Report(as_json)
    with _progress(list(zip(files, targets)), "decoding", len(files) > 16 and not as_json) as bar:
        for src, dst in bar:
            if dst.exists() and not force:
                report.fail(src, f"{dst} exists (use --force to overwrite)")
                continue
            try:
                data = _read(src)
                pics = codec.decode_batch([data], iterations=iterations, device=device,
                                          max_pixels=max_pixels, all_steps=True,
                                          backend=backend)[0]
                _save_png(dst, pics[-1])
                extra = {}
                if steps:
                    strip = dst.with_name(dst.stem + ".steps.png")
                    _save_png(strip, _strip(pics))
                    extra["steps"] = str(strip)
                report.ok(src, dst, width=pics[-1].width, height=pics[-1].height, **extra)
            except ThumbcodecError as e:
                report.fail(src, f"{src}: {e}")
            except OSError as e:
                report.fail(src, f"{src}: {e.strerror or e}")
    report.finish()


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(inputs, as_json):
    """Show the header and payload layout of .rnnc files.

    Example: thumbcodec info photo.rnnc --json
    """
    report = _Report(as_json=False)
    rows = []
    for src in map(Path, inputs):
        try:
            i = codec.info(_read(src), max_pixels=1 << 62)
            rows.append({"file": str(src), **i.to_dict()})
            report.ok(src, "")
            if not as_json:
                click.echo(f"{src}: {i.width}x{i.height}, version {i.version}, weights "
                           f"{i.weights_id}, header {i.header_bytes} B, payload "
                           f"{i.payload_bytes} B = {i.iterations} iterations + "
                           f"{i.leftover_bits} bits")
        except ThumbcodecError as e:
            report.fail(src, f"{src}: {e}")
        except OSError as e:
            report.fail(src, f"{src}: {e.strerror or e}")
    if as_json:
        click.echo(json.dumps(rows[0] if len(inputs) == 1 and rows else rows, indent=2))
    report.as_json = False
    failed = any(not r["ok"] for r in report.rows)
    sys.exit(1 if failed else 0)


@main.group()
def bench():
    """Benchmarks: quality against standard codecs, and speed."""


@bench.command("quality")
@click.argument("images", nargs=-1)
@click.option("--kodak", type=click.Path(exists=True, file_okay=False),
              help="Kodak folder: 24 whole images + 20 crops each, at 32x32.")
@click.option("--targets", default=",".join(map(str, TARGETS_DEFAULT)), show_default=True,
              help="Header-less byte targets.")
@click.option("--limit", type=click.IntRange(1), help="Use only the first N thumbnails.")
@click.option("--out", default="bench-out", show_default=True, help="Output folder.")
@click.option("--cache", type=click.Path(dir_okay=False), help="Cache of standard-codec "
              "results per image [default: OUT/cache.json].")
@click.option("--jobs", type=click.IntRange(1), help="Worker processes [default: all cores].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@device_option
def bench_quality(images, kodak, targets, limit, out, cache, jobs, as_json, device):
    """Rate-distortion of thumbcodec vs JPEG, WebP, JPEG 2000, AVIF, JPEG XL, placeholders.

    Example: thumbcodec bench quality --kodak ../shared/data/kodak --out docs/bench
    """
    import numpy as np
    from . import bench as B
    from .data import kodak_thumbs
    try:
        tg = tuple(int(t) for t in targets.split(","))
    except ValueError:
        raise click.BadParameter("use comma-separated integers", param_hint="--targets")
    if kodak:
        thumbs = kodak_thumbs(kodak)
    else:
        files = _expand(images, IMAGE_EXTS)
        if not files:
            raise click.UsageError("give IMAGES or --kodak DIR")
        try:
            thumbs = np.stack([np.asarray(load_image(f).resize((32, 32), 1)) for f in files])
        except ThumbcodecError as e:
            raise click.ClickException(str(e))
    thumbs = thumbs[:limit] if limit else thumbs
    outd = Path(out)
    outd.mkdir(parents=True, exist_ok=True)
    rows = B.quality(thumbs, tg, jobs=jobs, cache=Path(cache) if cache else outd / "cache.json",
                     device=device)
    summary = B.summarize(rows)
    (outd / "quality.json").write_text(json.dumps({"images": len(thumbs), "summary": summary},
                                                  indent=1))
    table = B.markdown_table(summary, tg)
    (outd / "quality.md").write_text(table + "\n")
    B.rd_plot(summary, outd / "rd.png")
    curve = B.bytewise(thumbs, device=device)
    (outd / "bytewise.json").write_text(json.dumps(curve, indent=1))
    B.bytewise_plot(curve, outd / "bytewise.png")
    B.comparison_sheet(thumbs, outd / "sheet.png", device=device)
    click.echo(json.dumps(summary, indent=1) if as_json else table)


@bench.command("speed")
@click.option("--batches", default="1,16,256,4096", show_default=True)
@click.option("--repeats", type=click.IntRange(1), default=5, show_default=True,
              help="Runs per figure; the median is reported.")
@click.option("--out", default="bench-out", show_default=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@device_option
def bench_speed(batches, repeats, out, as_json, device):
    """Encode/decode thumbnails/s, CLI latency, and the distance to the matmul peak.

    Example: thumbcodec bench speed --device cpu --out docs/bench
    """
    from . import bench as B
    try:
        res = B.speed(device, tuple(int(b) for b in batches.split(",")), repeats=repeats)
    except ThumbcodecError as e:
        raise click.ClickException(str(e))
    outd = Path(out)
    outd.mkdir(parents=True, exist_ok=True)
    (outd / "speed.json").write_text(json.dumps(res, indent=1))
    click.echo(json.dumps(res, indent=1) if as_json else _speed_text(res))


def _speed_text(res) -> str:
    lines = ["| backend | iterations | batch | encode /s | decode /s |", "|---|---|---|---|---|"]
    lines += [f"| {r['backend']} | {r['iterations']} | {r['batch']} | {r['encode_per_s']:.0f} | "
              f"{r['decode_per_s']:.0f} |" for r in res["rows"]]
    c = res["cli"]
    lines += ["", f"MACs per iteration (encoder + decoder, 32x32): {res['macs_per_iteration'] / 1e6:.1f} M; "
              f"params {res['params'] / 1e6:.2f} M",
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


def _read(path: Path) -> bytes:
    if not path.exists():
        raise ThumbcodecError("no such file")
    if path.is_dir():
        raise ThumbcodecError("is a directory")
    return path.read_bytes()


def _save_png(path: Path, img) -> None:
    import io
    buf = io.BytesIO()
    img.save(buf, "PNG")
    codec.write_atomic(path, buf.getvalue())


def _strip(pics):
    from PIL import Image
    w, h = pics[0].size
    out = Image.new("RGB", (w * len(pics) + 2 * (len(pics) - 1), h), (255, 255, 255))
    for i, p in enumerate(pics):
        out.paste(p, (i * (w + 2), 0))
    return out


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train(args):
    """Train weights (python -m thumbcodec.train; --help lists its options).

    Example: thumbcodec train --data ../shared/data/photos --val ../shared/data/kodak
    --out runs/main --minutes 60
    """
    from .train import main as train_main
    train_main(list(args))


if __name__ == "__main__":
    main()
