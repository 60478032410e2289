"""Which engine runs the network, and the one interface both engines declare.

Two backends run the same network: ``torch`` (``model.RNNCodec``; CPU or CUDA, fast for
batches) and ``numpy`` (``npmodel.NumpyCodec``; no torch import, fast to start). Both
are ``Runner``s: NumPy arrays in, NumPy arrays out. ``load`` keeps one per
(weights id, backend, device).
"""
from __future__ import annotations

import importlib.util
from typing import Protocol

import numpy as np

from .config import Config
from .errors import ThumbcodecError
from . import weights as W

BACKENDS = ("auto", "torch", "numpy")
DEVICES = ("auto", "cpu", "cuda")
NUMPY_MAX_IMAGES = 16           # "auto" uses NumPy for jobs up to this many images ...
NUMPY_MAX_PIXELS = 256 * 256    # ... of up to this many pixels each (torch is faster above)


class Runner(Protocol):
    """What the codec needs from a network: its config, and the encoder and decoder loops
    on arrays in model range ((B, 3, H, W) float32) and codes ((T, B, bits, h, w) +-1)."""
    cfg: Config

    def compress(self, x: np.ndarray, iterations: int) -> np.ndarray: ...

    def decompress(self, codes: np.ndarray, progressive: bool = False): ...


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def pick_backend(backend: str, device: str, n_images: int, max_pixels: int = 0) -> str:
    """The backend for a job: as asked, or for "auto" NumPy for small CPU jobs (or when
    torch is not installed) and torch otherwise."""
    if backend not in BACKENDS:
        raise ThumbcodecError(f"unknown backend {backend!r}: use auto, torch or numpy")
    if device not in DEVICES:
        raise ThumbcodecError(f"unknown device {device!r}: use auto, cpu or cuda")
    if backend == "numpy" and device == "cuda":
        raise ThumbcodecError("the numpy backend runs on the CPU only")
    if backend == "torch" or device == "cuda":
        if not have_torch():
            raise ThumbcodecError("this needs torch, which is not installed "
                                  "(pip install 'thumbcodec[torch]')")
        return "torch"
    if backend == "numpy" or not have_torch():
        return "numpy"
    small = n_images <= NUMPY_MAX_IMAGES and max_pixels <= NUMPY_MAX_PIXELS
    return "numpy" if small and device != "cuda" else "torch"


def check(backend: str, device: str) -> None:
    """Fail early, once per job, when the backend or device asked for cannot run here."""
    pick_backend(backend, device, 1)
    if device == "cuda":
        torch_device(device)


def torch_device(device: str):
    import torch
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ThumbcodecError("device cuda was asked for, but no CUDA GPU is available")
    return torch.device(device)


class TorchRunner:
    """``model.RNNCodec`` behind the Runner interface."""

    def __init__(self, model, dev):
        self.model, self.dev, self.cfg = model, dev, model.cfg

    def compress(self, x, iterations):
        import torch
        with torch.inference_mode():
            return self.model.compress(torch.from_numpy(x).to(self.dev), iterations).cpu().numpy()

    def decompress(self, codes, progressive=False):
        import torch
        with torch.inference_mode():
            recons = self.model.decompress(torch.from_numpy(codes).to(self.dev), progressive=True)
        recons = [y.float().cpu().numpy() for y in recons]
        return recons if progressive else recons[-1]


_RUNNERS: dict = {}


def load(weights_id: int = W.DEFAULT_ID, device: str = "auto", backend: str = "torch") -> Runner:
    """The network of a weights id on a backend ("torch" or "numpy"; "auto" picks as for a
    single image) and device, loaded once and kept."""
    backend = pick_backend(backend, device, 1)
    if backend == "numpy":
        key = (weights_id, "numpy")
        if key not in _RUNNERS:
            from .npmodel import NumpyCodec
            config, arrays = W.load_arrays(weights_id)
            _RUNNERS[key] = NumpyCodec(Config.from_dict(config), arrays)
        return _RUNNERS[key]
    import torch
    from .model import RNNCodec
    dev = torch_device(device)
    key = (weights_id, str(dev))
    if key not in _RUNNERS:
        config, arrays = W.load_arrays(weights_id)
        model = RNNCodec(Config.from_dict(config))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
        _RUNNERS[key] = TorchRunner(model.eval().to(dev), dev)
    return _RUNNERS[key]
