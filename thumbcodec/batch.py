"""Jobs over files: the library behind ``thumbcodec encode|decode|info`` on files and folders.

One rule for every batch: an input file gives ``<stem>.rnnc`` (encode) or ``<stem>.png``
(decode) in the output folder, mirroring the subfolders of a folder input; in place,
beside the input, encode writes ``x.rnnc`` and decode ``x.rnnc.png`` (never the input's
own picture). When two inputs still map to one output, the later one fails and nothing is
replaced. ``-`` means standard input or output.

Each job yields one ``Result`` per input, in order: one bad file is reported and the
others go on. Outputs are written atomically and created exclusively: an existing file is
never replaced unless ``force`` is given (``skip_existing`` leaves it and reports it
done). The CLI only parses options and prints these results.
"""
from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, PngImagePlugin

from . import codec, engine
from .errors import LimitError, ThumbcodecError
from .files import clean_stale, write_atomic
from .format import HEADER_SIZE, MAGIC, check_size
from .pixels import image_from_bytes, load_image

CHUNK = 256       # images encoded together
SEARCH_CHUNK = 8  # ... when the encoder searches (effort, quality targets): progress shows
STDIO = "-"
SOFTWARE = "thumbcodec"  # PNG text chunk of the images decode writes: marks its outputs


class OutputError(ThumbcodecError):
    """The outputs asked for cannot be made (e.g. -o names a file where a folder is needed)."""


def image_exts() -> set[str]:
    """Every file suffix Pillow reads (a folder scan takes them all), but .rnnc."""
    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items()
            if fmt in Image.OPEN and ext != ".rnnc"}


@dataclass
class Result:
    input: str
    ok: bool
    output: str | None = None
    error: str | None = None
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said on stderr, kept in the JSON
    data: bytes | None = None  # the output's bytes when it goes to standard output

    def line(self) -> str:
        """One line on what happened to this input (``-v``)."""
        if not self.ok:
            return f"Error: {self.error}"
        d = self.details
        if d.get("skipped"):
            return f"{self.input} -> {self.output}: skipped (exists)"
        size = f"{d['bytes']} bytes, " if "bytes" in d else ""
        return f"{self.input} -> {self.output}: {size}{d['width']}x{d['height']}"

    def to_dict(self) -> dict:
        d = {"input": self.input, "ok": self.ok}
        if self.output is not None:
            d["output"] = self.output
        if self.error is not None:
            d["error"] = self.error
        if self.notes:
            d["notes"] = self.notes
        return {**d, **self.details}


def _fail(src, err) -> Result:
    err = str(err)
    return Result(str(src), False, error=err if err.startswith(str(src)) else f"{src}: {err}")


# ---- inputs and outputs

def expand(inputs, exts=None) -> list[tuple[Path, Path | None]]:
    """(file, the folder it was found in or None) for each input: files as given, folders
    expanded to their files with one of exts (default: every image Pillow reads), sorted."""
    exts = image_exts() if exts is None else exts
    out = []
    for p in map(Path, inputs):
        if str(p) != STDIO and p.is_dir():
            out += [(q, p) for q in sorted(p.rglob("*"))
                    if q.is_file() and q.suffix.lower() in exts and not q.name.startswith(".")]
        else:
            out.append((p, None))
    return out


def plan(found, output, suffix: str) -> list[tuple[Path, Path | str]]:
    """(input, output or an error message) for each input of ``expand``, by the one rule
    (module docstring). Raises OutputError when ``output`` cannot be what is asked."""
    single = len(found) == 1 and found[0][1] is None
    if output == STDIO:
        if not single:
            raise OutputError("-o - (standard output) takes exactly one input file")
        return [(found[0][0], STDIO)]
    out = Path(output) if output is not None else None
    if out is not None and str(out).startswith("/dev/"):
        raise OutputError(f"{out}: write to standard output with -o -")
    if out is not None and single and out.suffix and not out.is_dir():
        return [(found[0][0], out)]
    if out is not None and out.exists() and not out.is_dir():
        raise OutputError(f"-o {out}: exists and is not a folder (give a folder for "
                          f"{'these inputs' if not single else 'the output'}, or a file "
                          f"name with a suffix)")
    pairs, taken = [], {}
    inputs = {src.resolve() for src, _ in found if str(src) != STDIO}
    for src, root in found:
        if str(src) == STDIO:
            dst = STDIO if out is None else out / f"stdin{suffix}"
        elif out is None:  # in place: x.png -> x.rnnc, x.rnnc -> x.rnnc.png
            dst = src.with_name(src.name + suffix) if suffix == ".png" else src.with_suffix(suffix)
        elif root is None:
            dst = out / (src.stem + suffix)
        else:
            dst = out / src.relative_to(root).with_suffix(suffix)
        key = Path(os.path.abspath(dst)) if dst != STDIO else dst
        if key in taken:
            pairs.append((src, f"{dst} is also the output of {taken[key]}: rename one of them"))
        elif key != STDIO and key.resolve() in inputs:
            pairs.append((src, f"{dst} is an input of this command: choose another -o"))
        else:
            taken[key] = src
            pairs.append((src, dst))
    return pairs


def is_output(path: Path) -> bool:
    """Whether an existing file is one thumbcodec writes (a .rnnc file, or a PNG that
    decode wrote): only those may be suggested for --force."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC))
        if head == MAGIC:
            return True
        with Image.open(path) as im:
            return im.format == "PNG" and im.info.get("Software") == SOFTWARE
    except (OSError, SyntaxError, ValueError):
        return False


def _exists_error(dst: Path) -> str:
    if is_output(dst):
        return f"{dst} exists (use --force to overwrite, or --skip-existing)"
    return f"{dst} exists and was not written by thumbcodec: choose another -o"


def read_input(src) -> bytes:
    if str(src) == STDIO:
        return sys.stdin.buffer.read()
    p = Path(src)
    if not p.exists():
        raise ThumbcodecError("no such file")
    if p.is_dir():
        raise ThumbcodecError("is a directory")
    with open(p, "rb") as f:  # a 2 GB junk file is refused by its length, not read whole
        head = f.read(HEADER_SIZE)
        if len(head) == HEADER_SIZE:
            codec.check_length(head, os.fstat(f.fileno()).st_size)
        return head + f.read()


def png_bytes(img: Image.Image) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", SOFTWARE)
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def strip(pics: list[Image.Image]) -> Image.Image:
    """Images side by side with a 2-pixel white gap: a progressive decode at a glance."""
    w, h = pics[0].size
    out = Image.new("RGB", (w * len(pics) + 2 * (len(pics) - 1), h), (255, 255, 255))
    for i, p in enumerate(pics):
        out.paste(p, (i * (w + 2), 0))
    return out


def _claim(src, dst, force, skip_existing, extra=()) -> Result | None:
    """None if the job may write dst (and extra outputs); else the Result that says why
    not. Cleans temporary files that killed writers of dst left."""
    if isinstance(dst, str) and dst != STDIO:
        return _fail(src, dst)
    for path in (dst, *extra):
        if path == STDIO:
            continue
        clean_stale(path)
        if path.exists() and not force:
            if skip_existing and is_output(path):
                return Result(str(src), True, str(dst), details={"skipped": True})
            return _fail(src, _exists_error(path))
    return None


def _write(dst, data: bytes, force: bool, res: Result) -> None:
    if dst == STDIO:
        res.data = data
        return
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dst, data, overwrite=force)


def _os_error(src, dst, e: OSError) -> Result:
    if isinstance(e, FileExistsError):
        return _fail(src, _exists_error(Path(dst)))
    return _fail(src, f"cannot write {dst}: {e.strerror or e}")


# ---- the jobs

def encode_files(pairs, *, nbytes=None, iterations=None, fit="auto", effort=0, tune="ssim",
                 format=None, quality=None, force=False,
                 skip_existing=False, weights_id=None, max_pixels=None, device="auto",
                 backend="auto", on_item=None) -> list[Result]:
    """Encode image files to .rnnc files for (input, output) pairs from ``plan``; returns
    a Result per input, in order. An output of ``STDIO`` writes nothing: the bytes are in
    ``Result.data`` (the CLI sends them to standard output; a table job keeps them).
    ``quality=("ssim", 0.9)`` (or "psnr") instead of a budget: the smallest file reaching
    it (``target.py``), its value in the Result. ``on_item()`` is called once per input."""
    from . import target
    from . import weights as W
    engine.check(backend, device)  # once per job, not once per file
    wid = W.DEFAULT_ID if weights_id is None else weights_id
    results: list[Result | None] = [None] * len(pairs)
    todo = []
    for k, (src, dst) in enumerate(pairs):
        res = _claim(src, dst, force, skip_existing)
        if res is None:
            try:
                img = load_image(src) if str(src) != STDIO else image_from_bytes(read_input(src))
                size = codec.coded_size(*img.size, fit=fit, nbytes=nbytes, weights_id=wid)
                check_size(*size, max_pixels)
                todo.append((k, src, dst, img, size))
            except LimitError as e:
                res = _fail(src, f"{e.args[0].split(' (raise')[0]}: make it smaller with "
                                 f"--fit N, or raise the limit with --max-pixels")
            except ThumbcodecError as e:
                res = _fail(src, e)
        if res is not None:
            results[k] = res
            if on_item:
                on_item()
    chunk = CHUNK if not (effort or quality) else SEARCH_CHUNK
    for s in range(0, len(todo), chunk):
        part = todo[s: s + chunk]
        try:
            if quality:
                reached = target.encode_batch(
                    [im for _, _, _, im, _ in part], **{quality[0]: quality[1]}, fit=fit,
                    device=device, max_pixels=max_pixels, backend=backend, weights_id=wid,
                    effort=effort, tune=tune, format=format)
                datas = [r.data for r in reached]
            else:
                datas = codec.encode_batch([im for _, _, _, im, _ in part], bytes=nbytes,
                                           iterations=iterations, fit=fit, device=device,
                                           max_pixels=max_pixels, backend=backend,
                                           weights_id=wid, effort=effort, tune=tune,
                                           format=format)
        except ThumbcodecError as e:
            datas = [e] * len(part)
        except MemoryError:
            datas = [ThumbcodecError("out of memory: encode fewer or smaller images at once "
                                     "(--fit N makes thumbnails)")] * len(part)
        for n, ((k, src, dst, img, size), data) in enumerate(zip(part, datas)):
            if isinstance(data, ThumbcodecError):
                results[k] = _fail(src, data)
            else:
                if quality:
                    size = codec.coded_size(*img.size, fit=fit, weights_id=wid)
                res = Result(str(src), True, str(dst), details={
                    "bytes": len(data), "width": size[0], "height": size[1]})
                if quality:
                    r = reached[n]
                    res.details.update({quality[0]: round(r.value, 4 if quality[0] == "ssim"
                                                          else 2), "reached": r.reached})
                    if not r.reached:
                        res.notes.append(f"{src}: {quality[0]} {quality[1]:g} is out of reach: "
                                         f"wrote the largest file, {len(data)} bytes, "
                                         f"{quality[0]} {r.value:.4g}")
                per_it = W.get_info(wid).layout(*size).iteration_bytes
                if nbytes is not None and len(data) < nbytes:
                    res.notes.append(f"{src}: wrote {len(data)} bytes, the largest file these "
                                     f"weights make at {size[0]}x{size[1]} ({nbytes} asked)")
                elif nbytes is not None and nbytes - HEADER_SIZE < per_it:
                    res.notes.append(f"{src}: {nbytes} bytes hold less than one iteration "
                                     f"({per_it} bytes) at {size[0]}x{size[1]}")
                try:
                    _write(dst, data, force, res)
                except OSError as e:
                    res = _os_error(src, dst, e)
                results[k] = res
            if on_item:
                on_item()
    return results


def _strip_path(dst, progressive: bool):
    return dst.with_name(dst.stem + ".progressive.png") if progressive and isinstance(dst, Path) \
        else None


def _decode_write(src, dst, pics, force, strip_path) -> Result:
    res = Result(str(src), True, str(dst), details={"width": pics[-1].width,
                                                      "height": pics[-1].height})
    try:
        _write(dst, png_bytes(pics[-1]), force, res)
        if strip_path:
            _write(strip_path, png_bytes(strip(pics)), force, res)
            res.details["progressive"] = str(strip_path)
    except OSError as e:
        return _os_error(src, dst, e)
    return res


def decode_files(pairs, *, iterations=None, progressive=False, force=False,
                 skip_existing=False, max_pixels=None, device="auto", backend="auto",
                 on_item=None) -> list[Result]:
    """Decode .rnnc files to PNG (with ``progressive`` also NAME.progressive.png, the image
    after each iteration side by side) for (input, output) pairs from ``plan``. Every
    readable file goes through one ``codec.decode_batch`` (which groups equal sizes);
    returns a Result per input, in order; ``on_item()`` once per input."""
    engine.check(backend, device)  # once per job, not once per file
    results: list[Result | None] = [None] * len(pairs)
    todo = []
    for k, (src, dst) in enumerate(pairs):
        res = _claim(src, dst, force, skip_existing,
                     [p for p in [_strip_path(dst, progressive)] if p])
        if res is None:
            try:
                data = read_input(src)
                codec.parse(data, max_pixels)  # a bad file fails alone, before the batch
                todo.append((k, src, dst, data))
            except ThumbcodecError as e:
                res = _fail(src, f"{src}: {e}")
            except OSError as e:
                res = _fail(src, f"{src}: {e.strerror or e}")
        if res is not None:
            results[k] = res
            if on_item:
                on_item()
    if todo:
        backend = engine.pick_backend(backend, device, len(todo))
        pics = codec.decode_batch([d for _, _, _, d in todo], iterations=iterations,
                                  device=device, max_pixels=max_pixels, progressive=True,
                                  backend=backend)
        for (k, src, dst, _), p in zip(todo, pics):
            results[k] = _decode_write(src, dst, p, force, _strip_path(dst, progressive))
            if on_item:
                on_item()
    return results


def info_file(src) -> Result:
    """Header and payload layout of one .rnnc file (no weights needed)."""
    try:
        i = codec.info(read_input(src), max_pixels=1 << 62)
        return Result(str(src), True, details={"file": str(src), **i.to_dict()})
    except ThumbcodecError as e:
        return _fail(src, f"{src}: {e}")
    except OSError as e:
        return _fail(src, f"{src}: {e.strerror or e}")


def info_text(r: Result) -> str:
    """One line per file, as ``thumbcodec info`` prints it."""
    i = r.details
    return (f"{r.input}: {i['width']}x{i['height']}, version {i['version']}, weights "
            f"{i['weights_id']}, header {i['header_bytes']} B, payload {i['payload_bytes']} B "
            + (f"= {i['iterations']} iterations + {i['leftover_bits']} bits"
               if i['iterations'] is not None else
               "(iterations: the context table of these weights is not installed)"))
