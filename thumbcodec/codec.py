"""The public verbs: encode, decode, info (and their batch forms), read and write.

    image --pixels--> padded array --model.compress--> +-1 codes --bitplanes--> payload
    header (format) + payload = .rnnc bytes, and back.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .bitplanes import bytes_to_codes, codes_to_bytes
from .errors import ThumbcodecError
from .files import write_atomic
from .format import HEADER_SIZE, Header, Layout, check_size, parse_header
from .pixels import as_array, from_model, pad_to, to_model
from . import engine
from . import weights as W

load_model = engine.load  # the network of a weights id (see engine.load)


@dataclass
class Info:
    width: int
    height: int
    version: int
    weights_id: int
    header_bytes: int
    payload_bytes: int
    bits_per_iteration: int
    iterations: int       # whole iterations present
    leftover_bits: int    # bits of a trailing partial iteration

    def to_dict(self) -> dict:
        return asdict(self)


def parse(data: bytes, max_pixels: int | None = None) -> tuple[Header, Layout, np.ndarray]:
    """Everything a decode does before the network: the header, the payload layout of its
    weights id (from the registry), and the codes (T, bits, h, w). Raises FormatError,
    LimitError or WeightsError (an id this install does not know)."""
    h = parse_header(data, max_pixels)
    lay = W.get_info(h.weights_id).layout(h.width, h.height)
    return h, lay, bytes_to_codes(data[HEADER_SIZE:], lay)


def info(data: bytes, *, max_pixels: int | None = None) -> Info:
    """Header fields and payload layout of .rnnc bytes. Reads the weights registry only,
    never the weights file: it works when the weights of the id are not installed."""
    h = parse_header(data, max_pixels)
    lay = W.get_info(h.weights_id).layout(h.width, h.height)
    payload = len(data) - HEADER_SIZE
    whole, left = lay.split(payload)
    return Info(h.width, h.height, h.version, h.weights_id, HEADER_SIZE, payload,
                lay.bits_per_iteration, whole, left)


def _plan(lay: Layout, weights_id: int, nbytes, iterations) -> tuple[int, int | None]:
    """(iterations to run, payload bytes to keep or None for all) for a budget."""
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


def encode_batch(images, *, bytes=None, iterations=None, device="auto",
                 weights_id: int = W.DEFAULT_ID, batch_size: int = 256,
                 max_pixels: int | None = None, backend: str = "auto") -> list[bytes]:
    """Encode many images; images of equal size go through the network together.

    Images above ``max_pixels`` (default 1,048,576, what decoders accept by default) are
    refused with LimitError: resize them first.
    """
    nbytes = bytes
    entry = W.get_info(weights_id)
    arrays = [as_array(im) for im in images]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, a in enumerate(arrays):
        check_size(a.shape[1], a.shape[0], max_pixels)
        groups.setdefault((a.shape[1], a.shape[0]), []).append(i)
    biggest = max((w * h for w, h in groups), default=0)
    runner = engine.load(weights_id, device,
                         engine.pick_backend(backend, device, len(arrays), biggest))
    out: list = [None] * len(arrays)
    for (w, h), idx in groups.items():
        n_iter, keep = _plan(entry.layout(w, h), weights_id, nbytes, iterations)
        header = Header(w, h, weights_id).pack()
        for s in range(0, len(idx), batch_size):
            chunk = idx[s: s + batch_size]
            if n_iter == 0:
                payloads = [b""] * len(chunk)
            else:
                x = to_model(np.stack([pad_to(arrays[i], entry.config.stride) for i in chunk]))
                codes = runner.compress(x, n_iter)  # (T, B, C, h, w)
                payloads = [codes_to_bytes(codes[:, j]) for j in range(len(chunk))]
            for i, payload in zip(chunk, payloads):
                out[i] = header + (payload if keep is None else payload[:keep])
    return out


def encode(image, *, bytes=None, iterations=None, device="auto",
           weights_id: int = W.DEFAULT_ID, max_pixels: int | None = None,
           backend: str = "auto") -> bytes:
    """Encode one image (PIL image or (H, W, 3) uint8 array) to .rnnc bytes.

    ``bytes`` caps the whole file, header included, and fills it as fully as the weights
    allow (up to their trained number of iterations); ``iterations`` asks for whole
    iterations instead. With neither, all trained iterations are written.
    """
    return encode_batch([image], bytes=bytes, iterations=iterations, device=device,
                        weights_id=weights_id, max_pixels=max_pixels, backend=backend)[0]


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
        for s0 in range(0, len(items), 256):
            chunk = items[s0: s0 + 256]
            recons = runner.decompress(np.stack([c for _, c in chunk], axis=1), progressive=True)
            if not progressive:
                recons = recons[-1:]
            pics = [from_model(y)[:, :hgt, :w] for y in recons]  # crop the padding
            for j, (i, _) in enumerate(chunk):
                imgs = [Image.fromarray(np.ascontiguousarray(p[j]), "RGB") for p in pics]
                out[i] = imgs if progressive else imgs[0]
    return out


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
