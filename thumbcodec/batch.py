"""Jobs over files: the library behind ``thumbcodec encode|decode|info`` on files and folders.

Each job takes inputs (files or folders) and yields one ``Result`` per input, in order:
one bad file is reported and the others go on. Outputs are written atomically and never
replace an existing file unless ``force`` is given. The CLI only parses options and prints
these results.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from . import codec, engine
from .errors import ThumbcodecError
from .files import write_atomic
from .format import check_size
from .pixels import fit_size, load_image

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}
CHUNK = 256  # images encoded together


@dataclass
class Result:
    input: str
    ok: bool
    output: str | None = None
    error: str | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"input": self.input, "ok": self.ok}
        if self.output is not None:
            d["output"] = self.output
        if self.error is not None:
            d["error"] = self.error
        return {**d, **self.details}


def _fail(src, err) -> Result:
    err = str(err)
    return Result(str(src), False, error=err if err.startswith(str(src)) else f"{src}: {err}")


def expand(inputs, exts) -> list[Path]:
    """Files as given, folders expanded to their files with one of exts (sorted)."""
    out = []
    for p in map(Path, inputs):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in exts)
        else:
            out.append(p)
    return out


def targets(files, output, suffix) -> list[Path]:
    """Output paths: beside each input, or ``output`` (a file for one input, else a
    folder, created)."""
    if output is None:
        return [f.with_suffix(suffix) for f in files]
    out = Path(output)
    if len(files) == 1 and not out.is_dir() and out.suffix:
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    return [out / (f.stem + suffix) for f in files]


def read_file(path: Path) -> bytes:
    if not path.exists():
        raise ThumbcodecError("no such file")
    if path.is_dir():
        raise ThumbcodecError("is a directory")
    return path.read_bytes()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def strip(pics: list[Image.Image]) -> Image.Image:
    """Images side by side with a 2-pixel white gap: a progressive decode at a glance."""
    w, h = pics[0].size
    out = Image.new("RGB", (w * len(pics) + 2 * (len(pics) - 1), h), (255, 255, 255))
    for i, p in enumerate(pics):
        out.paste(p, (i * (w + 2), 0))
    return out



def encode_files(files, dsts, *, nbytes=None, iterations=None, resize=None, fit=None,
                 force=False, weights_id=None, max_pixels=None, device="auto",
                 backend="auto", on_chunk=None):
    """Encode image files to .rnnc files; returns a Result per input, in order.
    ``on_chunk(n)`` is called after each chunk of n images (for a progress bar)."""
    results: list[Result | None] = [None] * len(files)
    todo = []
    for k, (src, dst) in enumerate(zip(files, dsts)):
        if dst.exists() and not force:
            results[k] = _fail(src, f"{dst} exists (use --force to overwrite)")
            continue
        try:
            img = load_image(src)
            size = fit_size(*img.size, resize=resize, fit=fit)
            check_size(*size, max_pixels)
            if size != img.size:
                img = img.resize(size, resample=Image.BICUBIC, reducing_gap=2.0)
            todo.append((k, src, dst, img))
        except ThumbcodecError as e:
            results[k] = _fail(src, e)
    kw = {} if weights_id is None else {"weights_id": weights_id}
    for s in range(0, len(todo), CHUNK):
        part = todo[s: s + CHUNK]
        try:
            datas = codec.encode_batch([im for _, _, _, im in part], bytes=nbytes,
                                       iterations=iterations, device=device,
                                       max_pixels=max_pixels, backend=backend, **kw)
        except ThumbcodecError as e:
            for k, src, _, _ in part:
                results[k] = _fail(src, e)
            datas = []
        for (k, src, dst, img), data in zip(part, datas):
            try:
                write_atomic(dst, data, overwrite=True)
                results[k] = Result(str(src), True, str(dst), details={
                    "bytes": len(data), "width": img.width, "height": img.height})
            except OSError as e:
                results[k] = _fail(src, f"{dst}: {e.strerror or e}")
        if on_chunk:
            on_chunk(len(part))
    return results


def decode_file(src, dst, *, iterations=None, progressive=False, force=False,
                max_pixels=None, device="auto", backend="auto") -> Result:
    """Decode one .rnnc file to PNG (and with ``progressive`` NAME.progressive.png, the
    image after each iteration side by side)."""
    if dst.exists() and not force:
        return _fail(src, f"{dst} exists (use --force to overwrite)")
    try:
        pics = codec.decode_batch([read_file(src)], iterations=iterations, device=device,
                                  max_pixels=max_pixels, progressive=True, backend=backend)[0]
        write_atomic(dst, png_bytes(pics[-1]), overwrite=True)
        details = {"width": pics[-1].width, "height": pics[-1].height}
        if progressive:
            path = dst.with_name(dst.stem + ".progressive.png")
            write_atomic(path, png_bytes(strip(pics)), overwrite=True)
            details["progressive"] = str(path)
        return Result(str(src), True, str(dst), details=details)
    except ThumbcodecError as e:
        return _fail(src, f"{src}: {e}")
    except OSError as e:
        return _fail(src, f"{src}: {e.strerror or e}")


def decode_files(files, dsts, *, backend="auto", device="auto", on_item=None, **kw):
    """Decode .rnnc files one by one (``decode_file``), on one backend chosen for the
    whole job; ``on_item()`` after each."""
    try:
        backend = engine.pick_backend(backend, device, len(files))
    except ThumbcodecError as e:
        return [_fail(src, e) for src in files]
    out = []
    for src, dst in zip(files, dsts):
        out.append(decode_file(src, dst, backend=backend, device=device, **kw))
        if on_item:
            on_item()
    return out


def info_file(src) -> Result:
    """Header and payload layout of one .rnnc file (no weights needed)."""
    try:
        i = codec.info(read_file(Path(src)), max_pixels=1 << 62)
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
            f"= {i['iterations']} iterations + {i['leftover_bits']} bits")
