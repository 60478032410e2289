"""The command line: a thin layer over thumbcodec.codec.

Exit status: 0 all inputs succeeded; 1 some inputs failed (the others are still written);
2 usage errors (click's own).
"""
from __future__ import annotations

import json
import re
import sys

import click

from . import batch
from . import weights as W

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


def _finish(results, as_json: bool) -> None:
    """Print failures (or every result as JSON) and exit 1 if any input failed."""
    failed = [r for r in results if not r.ok]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in failed:
            click.echo(f"Error: {r.error}", err=True)
        if failed and len(results) > 1:
            click.echo(f"{len(failed)} of {len(results)} inputs failed", err=True)
    sys.exit(1 if failed else 0)


def _progress(length, label, show):
    return click.progressbar(length=length, label=label, file=sys.stderr) if show else _Null()


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def update(self, n):
        pass


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
    files = batch.expand(inputs, batch.IMAGE_EXTS)
    if not files:
        raise click.UsageError("no input images found")
    dsts = batch.targets(files, output, ".rnnc")
    with _progress(len(files), "encoding", len(files) > 16 and not as_json) as bar:
        results = batch.encode_files(files, dsts, nbytes=nbytes, iterations=iterations,
                                     resize=resize, fit=fit, force=force,
                                     weights_id=weights_id, max_pixels=max_pixels,
                                     device=device, backend=backend, on_chunk=bar.update)
    _finish(results, as_json)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output PNG (one input) or folder (many).")
@click.option("--iterations", type=click.IntRange(0), help="Decode only the first K "
              "iterations.")
@click.option("--progressive", "--steps", "progressive", is_flag=True,
              help="Also write NAME.progressive.png: every progressive "
              "step side by side.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--json", "as_json", is_flag=True, help="A JSON report per file on stdout.")
@max_pixels_option
@device_option
@backend_option
def decode(inputs, output, iterations, progressive, force, as_json, max_pixels, device, backend):
    """Decode .rnnc files (whole or truncated) to PNG.

    Example: thumbcodec decode photo.rnnc -o photo.png --progressive
    """
    files = batch.expand(inputs, {".rnnc"})
    if not files:
        raise click.UsageError("no .rnnc files found")
    with _progress(len(files), "decoding", len(files) > 16 and not as_json) as bar:
        results = batch.decode_files(files, batch.targets(files, output, ".png"),
                                     iterations=iterations, progressive=progressive, force=force,
                                     max_pixels=max_pixels, device=device, backend=backend,
                                     on_item=lambda: bar.update(1))
    _finish(results, as_json)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(inputs, as_json):
    """Show the header and payload layout of .rnnc files.

    Example: thumbcodec info photo.rnnc --json
    """
    results = [batch.info_file(src) for src in inputs]
    for r in results:
        if r.ok and not as_json:
            click.echo(batch.info_text(r))
        elif not r.ok:
            click.echo(f"Error: {r.error}", err=True)
    if as_json:
        rows = [r.details for r in results if r.ok]
        click.echo(json.dumps(rows[0] if len(inputs) == 1 and rows else rows, indent=2))
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.group()
def bench():
    """Benchmarks of this machine (quality against standard codecs runs from a checkout:
    python -m benchmarks.quality)."""


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
    from pathlib import Path
    from . import speed
    from .errors import ThumbcodecError
    from .files import write_atomic
    try:
        res = speed.speed(device, tuple(int(b) for b in batches.split(",")), repeats=repeats)
    except ThumbcodecError as e:
        raise click.ClickException(str(e))
    outd = Path(out)
    outd.mkdir(parents=True, exist_ok=True)
    write_atomic(outd / "speed.json", json.dumps(res, indent=1).encode(), overwrite=True)
    click.echo(json.dumps(res, indent=1) if as_json else speed.as_text(res))


if __name__ == "__main__":
    main()
