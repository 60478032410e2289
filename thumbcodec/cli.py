"""The command line: a thin layer over thumbcodec.codec.

Exit status: 0 all inputs succeeded; 1 some inputs failed (the others are still written);
2 usage errors (click's own).
"""
from __future__ import annotations

import contextlib
import json
import re
import sys

import click

from . import batch, target
from .effort import DEFAULT_EFFORT, DEFAULT_TUNE, LEVELS, TUNES
from . import weights as W
from .errors import ThumbcodecError

DEFAULT_BYTES = 64  # a 64-byte file: the budget a page's first load can afford per preview

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


def _finish(results, as_json: bool, quiet: bool = False, verbose: bool = False) -> None:
    """Write data meant for standard output, print notes and failures on stderr (or every
    result as JSON on stdout), and exit 1 if any input failed."""
    failed = [r for r in results if not r.ok]
    for r in results:
        if r.data is not None:
            if as_json:
                raise click.UsageError("--json and -o - both want standard output")
            sys.stdout.buffer.write(r.data)
            sys.stdout.flush()
        if verbose and r.ok:
            click.echo(r.line(), err=True)
        for note in [] if quiet else r.notes:
            click.echo(f"Note: {note}", err=True)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in failed:
            click.echo(f"Error: {r.error}", err=True)
        if failed and len(results) > 1:
            click.echo(f"{len(failed)} of {len(results)} inputs failed", err=True)
    sys.exit(1 if failed else 0)


@contextlib.contextmanager
def _job():
    """A job that cannot start (no torch, no GPU) is one error, exit 1."""
    try:
        yield
    except ThumbcodecError as e:
        raise click.ClickException(str(e)) from None


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


def _plan(inputs, output, exts, suffix, what):
    found = batch.expand(inputs, exts)
    if not found:
        raise click.UsageError(f"no {what} found")
    try:
        return batch.plan(found, output, suffix)
    except batch.OutputError as e:
        raise click.UsageError(str(e))


force_option = click.option("--force", is_flag=True, help="Overwrite existing outputs.")
skip_option = click.option("--skip-existing", is_flag=True, help="Leave outputs that exist "
                           "(a resumed batch) and count them as done.")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="A JSON report per file on stdout (only JSON there).")


def _verbosity(f):
    f = click.option("-q", "--quiet", is_flag=True, help="No notes, no progress bar; "
                     "errors only.")(f)
    return click.option("-v", "--verbose", is_flag=True, help="A line per file on stderr.")(f)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--bytes", "nbytes", type=click.IntRange(6), help="Whole-file budget, header "
              f"included; filled byte-exact [default: {DEFAULT_BYTES} unless --iterations].")
@click.option("--iterations", type=click.IntRange(0), help="Whole iterations to write "
              "(16 bytes each for 32x32).")
@click.option("-o", "--output", help="Output file (one input; - for standard output) or "
              "folder (many; subfolders of a folder input are mirrored).")
@click.option("--resize", "--size", "resize", callback=_size,
              help="Code at exactly WxH.")
@click.option("--fit", type=click.IntRange(1, 4096), help="Code with the longer side N "
              "[default: photos become thumbnails of 32-128 px by the budget; images up to "
              "128 px keep their size].")
@click.option("--ssim", "ssim_target", type=float, help="Instead of --bytes: the smallest "
              "file whose decoded image reaches this patch SSIM (e.g. 0.9) against the input "
              "at the coded size; the largest file, with a note, if none does.")
@click.option("--psnr", "psnr_target", type=float, help="The same for a PSNR in dB (e.g. 30).")
@click.option("--effort", type=click.IntRange(0, len(LEVELS) - 1), default=DEFAULT_EFFORT,
              show_default=True,
              help=f"Search the bits against the decoder (same format, same decoder): 0 is "
                   f"the plain encoder, {len(LEVELS) - 1} the most thorough; more is better "
                   "and slower (docs/benchmarks.md).")
@click.option("--tune", type=click.Choice(list(TUNES)), default=DEFAULT_TUNE,
              show_default=True, help="What --effort optimises: patch SSIM, PSNR, or loss "
                                      "(MSE + 0.1 (1 - SSIM): both go up).")
@click.option("--format", "fmt", type=click.Choice(["1", "2"]), default=None,
              help="File format version: 2 entropy-codes the bits (more in the same bytes; a "
              "file that version 1 holds better is written as version 1); 1 stores them as "
              "they are [default: 2 for weights with a context table, else 1].")
@force_option
@skip_option
@json_option
@_verbosity
@click.option("--weights", "weights_id", type=click.IntRange(1, 31), default=None,
              help="Weights id to encode with [default: the default id of this install]; "
                   "decoding always uses the id in the file.")
@max_pixels_option
@device_option
@backend_option
def encode(inputs, nbytes, iterations, output, resize, fit, ssim_target, psnr_target, effort,
           tune, fmt, force, skip_existing, as_json, quiet, verbose, weights_id, max_pixels,
           device, backend):
    """Encode images (files, folders, or - for standard input) to .rnnc files.

    Example: thumbcodec encode photo.png --bytes 64 -o photo.rnnc
    """
    if sum(v is not None for v in (nbytes, iterations, ssim_target, psnr_target)) > 1:
        raise click.UsageError("give one of --bytes, --iterations, --ssim, --psnr")
    quality = None
    if ssim_target is not None or psnr_target is not None:
        try:
            quality = target.target(ssim_target, psnr_target)
        except ThumbcodecError as e:
            raise click.UsageError(str(e))
    elif nbytes is None and iterations is None:
        nbytes = DEFAULT_BYTES
    if weights_id is not None and weights_id not in W.REGISTRY:
        raise click.UsageError(f"unknown weights id {weights_id}: this install has ids "
                               f"{sorted(W.REGISTRY)}")
    pairs = _plan(inputs, output, None, ".rnnc", "input images")
    show = len(pairs) > 16 and not (as_json or quiet)
    with _progress(len(pairs), "encoding", show) as bar, _job():
        results = batch.encode_files(pairs, nbytes=nbytes, iterations=iterations,
                                     fit=resize or fit or "auto", effort=effort, tune=tune,
                                     format=fmt and int(fmt), quality=quality, force=force,
                                     skip_existing=skip_existing, weights_id=weights_id,
                                     max_pixels=max_pixels, device=device, backend=backend,
                                     on_item=lambda: bar.update(1))
    _finish(results, as_json, quiet, verbose)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output PNG (one input; - for standard output) or "
              "folder (many) [default: beside each input, NAME.rnnc.png].")
@click.option("--iterations", type=click.IntRange(0), help="Decode only the first K "
              "iterations.")
@click.option("--progressive", "--steps", "progressive", is_flag=True,
              help="Also write NAME.progressive.png: the image after each iteration, "
                   "side by side.")
@force_option
@skip_option
@json_option
@_verbosity
@max_pixels_option
@device_option
@backend_option
def decode(inputs, output, iterations, progressive, force, skip_existing, as_json, quiet,
           verbose, max_pixels, device, backend):
    """Decode .rnnc files (whole or truncated; - for standard input) to PNG.

    Example: thumbcodec decode photo.rnnc -o photo.png --progressive
    """
    pairs = _plan(inputs, output, {".rnnc"}, ".png", ".rnnc files")
    show = len(pairs) > 16 and not (as_json or quiet)
    with _progress(len(pairs), "decoding", show) as bar, _job():
        results = batch.decode_files(pairs, iterations=iterations, progressive=progressive,
                                     force=force, skip_existing=skip_existing,
                                     max_pixels=max_pixels, device=device, backend=backend,
                                     on_item=lambda: bar.update(1))
    _finish(results, as_json, quiet, verbose)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@json_option
def info(inputs, as_json):
    """Show the header and payload layout of .rnnc files (no weights needed).

    Example: thumbcodec info photo.rnnc --json
    """
    results = [batch.info_file(src) for src in inputs]
    for r in results:
        if r.ok and not as_json:
            click.echo(batch.info_text(r))
        elif not r.ok:
            click.echo(f"Error: {r.error}", err=True)
    if as_json:
        rows = [r.to_dict() for r in results]
        click.echo(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
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
