"""The registry of weights ids (``registry.json``, shipped in the package) and their files.

One entry per id: file, sha256, model config, maximum iterations, one line on what it is.
The registry alone describes a file's layout (``format.layout``), so ``info`` needs no
weights; the network's arrays are read only to run it, after a sha256 check.

A weights file is a NumPy .npz (no pickle): one array per parameter of the state dict,
plus "__config__", the model Config as a JSON string. NumPy alone can read it.
Ids are never reused: new weights get a new id, and old ones keep decoding while shipped.
``tools/ship_weights.py`` is the one writer of the registry.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import site
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Config
from .errors import WeightsError
from .format import Layout, layout

REGISTRY_FILE = Path(__file__).with_name("registry.json")
ENV = "THUMBCODEC_WEIGHTS"


@dataclass(frozen=True)
class WeightsInfo:
    id: int
    file: str
    sha256: str
    max_iterations: int  # iterations the network was trained for; the encoder's cap
    config: Config
    about: str = ""
    context: tuple[str, str] | None = None  # (file, sha256) of the version-2 context table

    def layout(self, width: int, height: int) -> Layout:
        """The payload layout of a width x height file made with these weights."""
        return layout(width, height, self.config.stride, self.config.bits, self.max_iterations)


def _read_registry(path=REGISTRY_FILE) -> tuple[dict[int, WeightsInfo], int]:
    raw = json.loads(Path(path).read_text())
    reg = {int(k): WeightsInfo(int(k), v["file"], v["sha256"], int(v["max_iterations"]),
                               Config.from_dict(v["config"]), v.get("about", ""),
                               (v["context"]["file"], v["context"]["sha256"])
                               if "context" in v else None)
           for k, v in raw["ids"].items()}
    return reg, int(raw["default"])


REGISTRY, DEFAULT_ID = _read_registry()


def get_info(weights_id: int) -> WeightsInfo:
    if weights_id not in REGISTRY:
        raise WeightsError(f"unknown weights id {weights_id}: this install has ids "
                           f"{sorted(REGISTRY) or 'none'}")
    return REGISTRY[weights_id]


def search_dirs() -> list[Path]:
    """Where weights files are looked for, in order: $THUMBCODEC_WEIGHTS; the repository's
    weights/ (a checkout or editable install); <prefix>/share/thumbcodec/weights for the
    running interpreter's prefixes and the user scheme (``pip install --user``)."""
    env = os.environ.get(ENV)
    if env:
        return [Path(env)]
    dirs = [Path(__file__).resolve().parent.parent / "weights"]
    prefixes = [sys.prefix, sys.base_prefix, getattr(site, "USER_BASE", None) or ""]
    for p in prefixes:
        if p:
            d = Path(p) / "share" / "thumbcodec" / "weights"
            if d not in dirs:
                dirs.append(d)
    return dirs


def weights_path(info: WeightsInfo, file: str | None = None) -> Path:
    """Where the weights file of ``info`` (or its other ``file``) is installed."""
    file = file or info.file
    for d in search_dirs():
        if (d / file).is_file():
            return d / file
    raise WeightsError(f"weights id {info.id}: file {file} not found in "
                       f"{', '.join(map(str, search_dirs()))} (set {ENV} to its folder)")


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def load_arrays(weights_id: int) -> tuple[dict, dict[str, np.ndarray]]:
    """(config dict, {name: array}) of an installed weights id, after the sha256 check."""
    info = get_info(weights_id)
    path = weights_path(info)
    try:
        digest = sha256_of(path)
        if digest != info.sha256:
            raise WeightsError(f"weights id {weights_id}: {path} has sha256 {digest[:12]}…, "
                               f"expected {info.sha256[:12]}…")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except OSError as e:
        raise WeightsError(f"weights id {weights_id}: cannot read {path}: "
                           f"{e.strerror or e}") from None
    config = json.loads(str(arrays.pop("__config__")))
    return config, arrays


@functools.lru_cache(maxsize=None)
def context_model(weights_id: int):
    """The version-2 context table of a weights id (``entropy.ContextModel``), after the
    sha256 check. WeightsError if the id has none or it is not installed."""
    from .entropy import ContextModel
    info = get_info(weights_id)
    if info.context is None:
        raise WeightsError(f"weights id {weights_id} has no context table, which format "
                           "version 2 needs")
    file, sha = info.context
    path = weights_path(info, file)
    try:
        digest = sha256_of(path)
        if digest != sha:
            raise WeightsError(f"weights id {weights_id}: {path} has sha256 {digest[:12]}…, "
                               f"expected {sha[:12]}…")
        model = ContextModel.load(path)
    except OSError as e:
        raise WeightsError(f"weights id {weights_id}: cannot read {path}: "
                           f"{e.strerror or e}") from None
    except ValueError as e:
        raise WeightsError(f"weights id {weights_id}: {path}: {e}") from None
    if model.channels != info.config.bits:
        raise WeightsError(f"weights id {weights_id}: {path} models {model.channels} bit "
                           f"channels, the weights have {info.config.bits}")
    return model


def save_arrays(path, config: dict, arrays: dict[str, np.ndarray]) -> str:
    """Write a weights .npz atomically; returns its sha256."""
    from .files import atomic_writer
    with atomic_writer(path, overwrite=True) as f:
        np.savez(f, __config__=np.array(json.dumps(config)), **arrays)
    return sha256_of(path)
