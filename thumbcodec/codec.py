"""The public verbs: encode, decode, info (and their batch forms), read and write.

    image --pixels--> padded array --model.compress--> +-1 codes --bitplanes--> payload
    header (format) + payload = .rnnc bytes, and back.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .bitplanes import bytes_to_codes, codes_to_bytes
from .errors import FormatError, ThumbcodecError
from .format import HEADER_SIZE, MAX_ITERATIONS, Header, check_size, iteration_bytes, parse_header, payload_layout
from .config import Config
from .pixels import as_array, from_model, pad_to, to_model
from . import weights as W

_MODELS: dict = {}


BACKENDS = ("auto", "torch", "numpy")
NUMPY_MAX_IMAGES = 16  # "auto" uses NumPy (no torch import) for jobs up to this many images


def _device(device: str):
    import torch
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ThumbcodecError(f"unknown device {device!r}: use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ThumbcodecError("device cuda was asked for, but no CUDA GPU is available")
    return torch.device(device)


def _pick_backend(backend: str, device: str, n_images: int) -> str:
    if backend not in BACKENDS:
        raise ThumbcodecError(f"unknown backend {backend!r}: use auto, torch or numpy")
    if backend == "numpy" and device == "cuda":
        raise ThumbcodecError("the numpy backend runs on the CPU only")
    if backend == "auto":
        return "numpy" if device != "cuda" and n_images <= NUMPY_MAX_IMAGES else "torch"
    return backend


class _TorchRunner:
    """model.RNNCodec behind the NumPy-in, NumPy-out interface of npmodel.NumpyCodec."""

    def __init__(self, model, dev):
        self.model, self.dev, self.cfg = model, dev, model.cfg

    def compress(self, x, iterations):
        import torch
        with torch.inference_mode():
            return self.model.compress(torch.from_numpy(x).to(self.dev), iterations).cpu().numpy()

    def decompress(self, codes, all_steps=False):
        import torch
        with torch.inference_mode():
            steps = self.model.decompress(torch.from_numpy(codes).to(self.dev), all_steps=True)
        steps = [y.float().cpu().numpy() for y in steps]
        return steps if all_steps else steps[-1]


def load_model(weights_id: int = W.DEFAULT_ID, device: str = "auto", backend: str = "torch"):
    """The network for a weights id, loaded once per (id, device, backend) and kept.

    Returns an object with ``cfg``, ``compress(x, T)`` and ``decompress(codes)`` on NumPy
    arrays; ``backend="numpy"`` never imports torch.
    """
    if backend == "numpy":
        key = (weights_id, "numpy")
        if key not in _MODELS:
            from .npmodel import NumpyCodec
            config, arrays = W.load_arrays(weights_id)
            _MODELS[key] = NumpyCodec(Config.from_dict(config), arrays)
        return _MODELS[key]
    import torch
    from .model import RNNCodec
    dev = _device(device)
    key = (weights_id, str(dev))
    if key not in _MODELS:
        config, arrays = W.load_arrays(weights_id)
        model = RNNCodec(Config.from_dict(config))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
        _MODELS[key] = _TorchRunner(model.eval().to(dev), dev)
    return _MODELS[key]


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


def info(data: bytes, *, max_pixels: int | None = None) -> Info:
    """Header fields and payload layout of .rnnc bytes (needs the weights' config only)."""
    h = parse_header(data, max_pixels)
    cfg = _config(h.weights_id)
    B = cfg.bits_per_iteration(h.width, h.height)
    payload = len(data) - HEADER_SIZE
    whole, left = payload_layout(payload, B, _max_iterations(h.weights_id))
    return Info(h.width, h.height, h.version, h.weights_id, HEADER_SIZE, payload, B,
                whole, left)


def _config(weights_id: int):
    return Config.from_dict(W.load_arrays(weights_id)[0])


def _max_iterations(weights_id: int) -> int:
    return min(W.get_info(weights_id).max_iterations, MAX_ITERATIONS)


def _plan(width, height, cfg, weights_id, bytes_, iterations) -> tuple[int, int | None]:
    """(iterations to run, payload bytes to keep or None for all) for a budget."""
    if bytes_ is not None and iterations is not None:
        raise ThumbcodecError("give either bytes or iterations, not both")
    cap = _max_iterations(weights_id)
    L = iteration_bytes(cfg.bits_per_iteration(width, height))
    if bytes_ is not None:
        if bytes_ < HEADER_SIZE:
            raise ThumbcodecError(f"a budget of {bytes_} bytes is below the {HEADER_SIZE}-byte "
                                  "header")
        payload = bytes_ - HEADER_SIZE
        return min(cap, math.ceil(payload / L)), min(payload, cap * L)
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
    arrays = [as_array(im) for im in images]
    model = load_model(weights_id, device, _pick_backend(backend, device, len(arrays)))
    cfg = model.cfg
    out: list[bytes | None] = [None] * len(arrays)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, a in enumerate(arrays):
        check_size(a.shape[1], a.shape[0], max_pixels)
        groups.setdefault((a.shape[1], a.shape[0]), []).append(i)
    for (w, h), idx in groups.items():
        steps, keep = _plan(w, h, cfg, weights_id, bytes, iterations)
        header = Header(w, h, weights_id).pack()
        for s in range(0, len(idx), batch_size):
            chunk = idx[s: s + batch_size]
            if steps == 0:
                codes = np.zeros((0, len(chunk)), np.float32)
            else:
                x = to_model(np.stack([pad_to(arrays[i], cfg.stride) for i in chunk]))
                codes = model.compress(x, steps)  # (T, B, C, h, w)
            for j, i in enumerate(chunk):
                payload = codes_to_bytes(codes[:, j]) if steps else b""
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
                 all_steps: bool = False, backend: str = "auto") -> list:
    """Decode many .rnnc byte strings; files of equal size and length decode together.

    Returns PIL images, or with ``all_steps`` a list of the progressive images per file.
    """
    backend = _pick_backend(backend, device, len(datas))
    parsed = []
    for d in datas:
        h = parse_header(d, max_pixels)
        W.get_info(h.weights_id)
        parsed.append(h)
    out: list = [None] * len(datas)
    groups: dict = {}
    for i, (d, h) in enumerate(zip(datas, parsed)):
        cfg = _config(h.weights_id)
        s = cfg.stride
        shape = (cfg.bits, math.ceil(h.height / s), math.ceil(h.width / s))
        codes = bytes_to_codes(d[HEADER_SIZE:], shape, _max_iterations(h.weights_id))
        if iterations is not None:
            codes = codes[: max(0, iterations)]
        if len(codes) == 0:  # no bits: one step of all-zero codes, the network's best guess
            codes = np.zeros((1, *shape), np.float32)
        groups.setdefault((h.weights_id, h.width, h.height, len(codes)), []).append((i, codes))
    for (wid, w, hgt, _), items in groups.items():
        model = load_model(wid, device, backend)
        for s0 in range(0, len(items), 256):
            chunk = items[s0: s0 + 256]
            steps = model.decompress(np.stack([c for _, c in chunk], axis=1), all_steps=True)
            if not all_steps:
                steps = steps[-1:]
            pics = [from_model(y)[:, :hgt, :w] for y in steps]  # crop the padding
            for j, (i, _) in enumerate(chunk):
                imgs = [Image.fromarray(np.ascontiguousarray(p[j]), "RGB") for p in pics]
                out[i] = imgs if all_steps else imgs[0]
    return out


def decode(data: bytes, *, iterations=None, device="auto", max_pixels=None,
           backend: str = "auto") -> Image.Image:
    """Decode .rnnc bytes (whole or truncated at any byte) to a PIL RGB image."""
    return decode_batch([data], iterations=iterations, device=device,
                        max_pixels=max_pixels, backend=backend)[0]


def write_atomic(path, data: bytes) -> None:
    """Write bytes to path via a temp file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path, **kw) -> Image.Image:
    """Decode a .rnnc file."""
    return decode(Path(path).read_bytes(), **kw)


def write(path, image, **kw) -> None:
    """Encode an image to a .rnnc file, atomically."""
    write_atomic(path, encode(image, **kw))
