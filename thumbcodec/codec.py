"""The public verbs: encode, decode, info (and their batch forms), read and write.

    image --pixels--> padded array --model.compress--> +-1 codes --> payload
    header (format) + payload = .rnnc bytes, and back. The payload of format version 1 is
    the codes' bits as they are (bitplanes); of version 2, an arithmetic-coded stream of
    them (entropy, with the weights id's context table).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .bitplanes import bytes_to_codes, codes_to_bytes
from .entropy import ShortStreamError
from .errors import FormatError, ThumbcodecError
from .files import write_atomic
from .format import HEADER_SIZE, VERSION, VERSIONS, Header, Layout, check_size, parse_header
from .pixels import as_array, from_model, pad_to, thumbnail_size, to_model
from . import effort as search
from . import engine
from . import weights as W

load_model = engine.load  # the network of a weights id (see engine.load)
BATCH_PIXELS = 256 * 32 * 32  # pixels through the network at once: memory grows with them


def _per_batch(width: int, height: int, most: int = 256) -> int:
    """Images of width x height that go through the network together."""
    return max(1, min(most, BATCH_PIXELS // max(1, width * height)))


@dataclass
class Info:
    width: int
    height: int
    version: int
    weights_id: int
    header_bytes: int
    payload_bytes: int
    bits_per_iteration: int
    iterations: int | None        # whole iterations present
    leftover_bits: int | None     # bits of a trailing partial iteration
    iteration_offsets: list | None  # payload length at which each whole iteration ends
    # (version 2: None when the context table of the weights id is not installed)

    def to_dict(self) -> dict:
        return asdict(self)


def _codes(h: Header, lay: Layout, payload: bytes) -> np.ndarray:
    """The codes (T, C, h, w) a payload holds, in {-1, 0, +1}."""
    if h.version == 1:
        return bytes_to_codes(payload, lay)
    try:
        return W.context_model(h.weights_id).decode(payload, lay.shape, lay.max_iterations)[0]
    except ValueError as e:  # the alpha flag
        raise FormatError(str(e)) from None


def parse(data: bytes, max_pixels: int | None = None) -> tuple[Header, Layout, np.ndarray]:
    """Everything a decode does before the network: the header, the payload layout of its
    weights id (from the registry), and the codes (T, bits, h, w). Raises FormatError,
    LimitError or WeightsError (an id this install does not know, or version 2 without the
    id's context table)."""
    h = parse_header(data, max_pixels)
    lay = W.get_info(h.weights_id).layout(h.width, h.height)
    lay.split(len(data) - HEADER_SIZE)  # no payload is longer than version 1's maximum
    return h, lay, _codes(h, lay, data[HEADER_SIZE:])


def info(data: bytes, *, max_pixels: int | None = None) -> Info:
    """Header fields and payload layout of .rnnc bytes. Reads the weights registry, never
    the weights file: it works when the weights of the id are not installed. Version 2
    needs the id's context table for ``iterations``, ``leftover_bits`` and
    ``iteration_offsets`` (None without it)."""
    h = parse_header(data, max_pixels)
    lay = W.get_info(h.weights_id).layout(h.width, h.height)
    payload = len(data) - HEADER_SIZE
    whole, left = lay.split(payload)
    B, L = lay.bits_per_iteration, lay.iteration_bytes
    offsets: list | None = [L * (t + 1) for t in range(whole)]
    if h.version == 2:
        try:
            ctx = W.context_model(h.weights_id)
        except ThumbcodecError:
            whole = left = offsets = None
        else:
            try:
                n = ctx.decode(data[HEADER_SIZE:], lay.shape, lay.max_iterations)[1]
            except ValueError as e:
                raise FormatError(str(e)) from None
            whole, left = divmod(n, B)
            offsets = ctx.iteration_offsets(data[HEADER_SIZE:], lay.shape, whole, n)
    return Info(h.width, h.height, h.version, h.weights_id, HEADER_SIZE, payload,
                B, whole, left, offsets)


def _plan(lay: Layout, weights_id: int, nbytes, iterations) -> tuple[int, int | None]:
    """(iterations to run, payload bytes to keep or None for all) for a budget, in
    format version 1."""
    if nbytes is not None and iterations is not None:
        raise ThumbcodecError("give either bytes or iterations, not both")
    cap = lay.max_iterations
    if nbytes is not None:
        if nbytes < HEADER_SIZE:
            raise ThumbcodecError(f"a budget of {nbytes} bytes is below the {HEADER_SIZE}-byte "
                                  "header")
        payload = nbytes - HEADER_SIZE
        return min(cap, math.ceil(payload / lay.iteration_bytes)), min(payload, lay.max_payload)
    n = cap if iterations is None else iterations
    if not 0 <= n <= cap:
        raise ThumbcodecError(f"iterations must be 0..{cap} for weights {weights_id}, got {n}")
    return n, None


def coded_size(width: int, height: int, *, fit="auto", nbytes: int | None = None,
               weights_id: int = W.DEFAULT_ID) -> tuple[int, int]:
    """The size an image of width x height is coded at (``pixels.thumbnail_size``): photos
    become thumbnails by default, thumbnail-sized images keep their size."""
    entry = W.get_info(weights_id)
    return thumbnail_size(width, height, fit, nbytes=nbytes,
                          iteration_bytes=lambda w, h: entry.layout(w, h).iteration_bytes)


def _resized(image, fit, nbytes, weights_id) -> np.ndarray:
    a = as_array(image)
    size = coded_size(a.shape[1], a.shape[0], fit=fit, nbytes=nbytes, weights_id=weights_id)
    if size == (a.shape[1], a.shape[0]):
        return a
    img = Image.fromarray(a).resize(size, Image.LANCZOS, reducing_gap=2.0)
    return np.asarray(img)


def _payload(codes: np.ndarray, keep: int | None, fmt: int, wid: int,
             nbits: int | None = None) -> tuple[int, bytes, int]:
    """(version, payload, code bits held) for one image's codes (T, C, h, w): the first
    ``nbits`` of them (default all), in a payload of ``keep`` bytes (None: as long as they
    need). Version 2 is written unless version 1 holds more bits in the same bytes (some
    streams expand), or as many in fewer bytes. For version 2, ``codes`` run to the
    weights' maximum iterations (the decoder stops by itself only there)."""
    B = int(np.prod(codes.shape[1:]))
    nbits = codes.size if nbits is None else nbits
    raw = codes_to_bytes(codes[: -(-nbits // B)])
    raw = raw if keep is None else raw[:keep]
    held = min(nbits, 8 * len(raw))
    if fmt == 1:
        return 1, raw, held
    ctx = W.context_model(wid)
    stream, n = ctx.encode(codes, keep, nbits)  # ShortStreamError: see encode_batch
    if keep is not None and n == nbits == codes.size:
        # every bit the weights make fits: the largest file, shorter than the budget. Fewer
        # bits (effort's searched codes, which often code shorter than the plain ones
        # they replace) still fill the budget exactly, as --bytes promises.
        stream = ctx.encode(codes, None, nbits)[0]
    if n < held or (n == held and len(stream) > len(raw)):
        return 1, raw, held
    return 2, stream, n


def _searched(codes, arrays, keep, fmt, wid, lev, tune, nbits) -> tuple[np.ndarray, list]:
    """Effort > 0: the searched codes of each image, for the bits its file keeps (those the
    plain codes fill the budget with). Images keeping as many bits are searched together.
    Returns (T, N, C, h, w) codes, zero past what an image keeps, and the bits each keeps."""
    B = int(np.prod(codes.shape[2:]))
    kept = [_payload(codes[:, j], keep, fmt, wid, nbits)[2] for j in range(codes.shape[1])]
    out = np.zeros_like(codes)
    for held in sorted(set(kept)):
        js = [j for j, k in enumerate(kept) if k == held]
        t, left = -(-held // B), held % B
        found = search.search_many(wid, [arrays[j] for j in js], t, lev, left or None, tune)
        out[:t, js] = found
    return out, kept


def encode_batch(images, *, bytes=None, iterations=None, fit="auto", device="auto",
                 weights_id: int = W.DEFAULT_ID, batch_size: int = 256,
                 max_pixels: int | None = None, backend: str = "auto", effort: int = 0,
                 tune: str = "ssim", format: int | None = None) -> list[bytes]:
    """Encode many images; images of equal size go through the network together.

    At most BATCH_PIXELS pixels go through the network at once (``batch_size`` images at
    most). ``fit``: "auto" (the default) codes images whose longer side is above 128 px as
    thumbnails (``coded_size``), None as they are, N with a longer side of N, (W, H) at
    exactly W x H. Coded sizes above ``max_pixels`` (default 1,048,576, what decoders
    accept by default) are refused with LimitError. ``effort`` > 0 searches the bits of
    each image against the decoder on the NumPy network (``effort.py``; ``tune``: the
    objective, "ssim", "psnr" or "loss"); effort 0 is the plain encoder. ``format``: 2
    writes format version 2, entropy-coded, except for a file that version 1 holds better
    (``_payload``); 1 writes version 1; None (the default) 2 for weights with a context
    table, else 1.
    """
    nbytes = bytes
    lev = search.level(effort)
    rounds = lev.rounds
    if format is not None and format not in VERSIONS:
        raise ThumbcodecError(f"format must be {' or '.join(map(str, VERSIONS))}, got {format!r}")
    entry = W.get_info(weights_id)
    if format is None:
        format = VERSION if entry.context else 1
    if format == 2:
        W.context_model(weights_id)  # refuse before any work
    arrays = [_resized(im, fit, nbytes, weights_id) for im in images]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, a in enumerate(arrays):
        check_size(a.shape[1], a.shape[0], max_pixels)
        groups.setdefault((a.shape[1], a.shape[0]), []).append(i)
    biggest = max((w * h for w, h in groups), default=0)
    runner = engine.load(weights_id, device,
                         engine.pick_backend(backend, device, len(arrays), biggest))
    out: list = [None] * len(arrays)
    for (w, h), idx in groups.items():
        lay = entry.layout(w, h)
        B, cap = lay.bits_per_iteration, lay.max_iterations
        n_iter, keep = _plan(lay, weights_id, nbytes, iterations)
        n = _per_batch(w, h, batch_size)
        # version 2 may hold more iterations than version 1's bytes would: it runs them all
        run = n_iter if format == 1 or n_iter == 0 else cap
        nbits = None if iterations is None else iterations * B
        for s in range(0, len(idx), n):
            chunk = idx[s: s + n]
            kept = [nbits] * len(chunk)
            if run == 0:
                codes = np.zeros((0, len(chunk), *lay.shape), np.float32)
            else:
                x = to_model(np.stack([pad_to(arrays[i], entry.config.stride) for i in chunk]))
                codes = runner.compress(x, run)  # (T, B, C, h, w)
            plain = codes
            if rounds and len(codes):
                codes, kept = _searched(codes, [arrays[i] for i in chunk], keep, format,
                                        weights_id, lev, tune, nbits)
            for j, i in enumerate(chunk):
                version, payload = format, b""
                if len(codes):
                    try:
                        version, payload, _ = _payload(codes[:, j], keep, format, weights_id,
                                                       kept[j])
                    except ShortStreamError:
                        # searched codes can code so much shorter than the plain ones that
                        # no stream of exactly the budget stops at their last bit (and
                        # the bits after it were not searched): the plain file, which
                        # fills the budget (version 1 of the searched bits scored lower)
                        version, payload, _ = _payload(plain[:, j], keep, format,
                                                       weights_id, nbits)
                out[i] = Header(w, h, weights_id, version).pack() + payload
    return out


def encode(image, *, bytes=None, iterations=None, fit="auto", device="auto",
           weights_id: int = W.DEFAULT_ID, max_pixels: int | None = None,
           backend: str = "auto", effort: int = 0, tune: str = "ssim",
           format: int | None = None) -> bytes:
    """Encode one image (PIL image or (H, W, 3) uint8 array) to .rnnc bytes.

    ``bytes`` caps the whole file, header included, and fills it as fully as the weights
    allow (up to their trained number of iterations); ``iterations`` asks for whole
    iterations instead. With neither, all trained iterations are written. A photo is
    coded as a thumbnail unless ``fit=None`` (see ``encode_batch``).
    """
    return encode_batch([image], bytes=bytes, iterations=iterations, fit=fit, device=device,
                        weights_id=weights_id, max_pixels=max_pixels, backend=backend,
                        effort=effort, tune=tune, format=format)[0]


def decode_batch(datas, *, iterations=None, device="auto", max_pixels=None,
                 progressive: bool = False, backend: str = "auto") -> list:
    """Decode many .rnnc byte strings; files of equal size and length decode together.

    Returns PIL images, or with ``progressive`` per file the list of its images after each
    iteration.
    """
    parsed = [parse(d, max_pixels) for d in datas]  # every input checked before any work
    biggest = max((h.width * h.height for h, _, _ in parsed), default=0)
    backend = engine.pick_backend(backend, device, len(datas), biggest)
    out: list = [None] * len(datas)
    groups: dict = {}
    for i, (h, lay, codes) in enumerate(parsed):
        if iterations is not None:
            codes = codes[: max(0, iterations)]
        if len(codes) == 0:  # no bits: one step of all-zero codes, the network's best guess
            codes = np.zeros((1, *lay.shape), np.float32)
        groups.setdefault((h.weights_id, h.width, h.height, len(codes)), []).append((i, codes))
    for (wid, w, hgt, _), items in groups.items():
        runner = engine.load(wid, device, backend)
        n = _per_batch(w, hgt)
        for s0 in range(0, len(items), n):
            chunk = items[s0: s0 + n]
            recons = runner.decompress(np.stack([c for _, c in chunk], axis=1), progressive=True)
            if not progressive:
                recons = recons[-1:]
            pics = [from_model(y)[:, :hgt, :w] for y in recons]  # crop the padding
            for j, (i, _) in enumerate(chunk):
                imgs = [Image.fromarray(np.ascontiguousarray(p[j]), "RGB") for p in pics]
                out[i] = imgs if progressive else imgs[0]
    return out


def check_length(head: bytes, length: int) -> None:
    """Refuse a file of ``length`` bytes from its header alone, before reading it whole:
    FormatError if no payload of that length fits its layout."""
    h = parse_header(head, max_pixels=1 << 62)
    W.get_info(h.weights_id).layout(h.width, h.height).split(max(0, length - HEADER_SIZE))


def decode(data: bytes, *, iterations=None, device="auto", max_pixels=None,
           backend: str = "auto") -> Image.Image:
    """Decode .rnnc bytes (whole or truncated at any byte) to a PIL RGB image."""
    return decode_batch([data], iterations=iterations, device=device,
                        max_pixels=max_pixels, backend=backend)[0]


def read(path, **kw) -> Image.Image:
    """Decode a .rnnc file."""
    return decode(Path(path).read_bytes(), **kw)


def write(path, image, *, overwrite: bool = True, **kw) -> None:
    """Encode an image to a .rnnc file, atomically (``overwrite=False``: FileExistsError
    if it exists)."""
    write_atomic(path, encode(image, **kw), overwrite=overwrite)
