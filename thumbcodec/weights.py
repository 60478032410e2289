"""Frozen weights ids -> weight files, checked by sha256 at load.

A weights file is a NumPy .npz (no pickle): one array per parameter of the state dict,
plus "__config__", the model Config as a JSON string. NumPy alone can read it.
Ids are never reused: new weights get a new id, and old ones keep decoding while shipped.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import WeightsError


@dataclass(frozen=True)
class WeightsInfo:
    id: int
    file: str
    sha256: str
    max_iterations: int  # iterations the network was trained for; the encoder's cap


REGISTRY: dict[int, WeightsInfo] = {}
DEFAULT_ID = 2


def _register(*infos: WeightsInfo) -> None:
    for i in infos:
        REGISTRY[i.id] = i


def weights_dir() -> Path:
    """$THUMBCODEC_WEIGHTS, else the repository's weights/ (source or editable install),
    else <prefix>/share/thumbcodec/weights (a regular pip install)."""
    env = os.environ.get("THUMBCODEC_WEIGHTS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent / "weights"
    if repo.is_dir():
        return repo
    return Path(sys.prefix) / "share" / "thumbcodec" / "weights"


def get_info(weights_id: int) -> WeightsInfo:
    if weights_id not in REGISTRY:
        raise WeightsError(f"unknown weights id {weights_id}: this install has ids "
                           f"{sorted(REGISTRY) or 'none'}")
    return REGISTRY[weights_id]


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
    path = weights_dir() / info.file
    if not path.is_file():
        raise WeightsError(f"weights id {weights_id}: file {path} is missing")
    digest = sha256_of(path)
    if digest != info.sha256:
        raise WeightsError(f"weights id {weights_id}: {path} has sha256 {digest[:12]}…, "
                           f"expected {info.sha256[:12]}…")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    config = json.loads(str(arrays.pop("__config__")))
    return config, arrays


def save_arrays(path, config: dict, arrays: dict[str, np.ndarray]) -> str:
    """Write a weights .npz; returns its sha256."""
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, __config__=np.array(json.dumps(config)), **arrays)
    os.replace(tmp, path)
    return sha256_of(path)


# --- the frozen registry: append only ---
_register(
    WeightsInfo(1, "rnnc-w1.npz", "7437a99c06551d68fa6938e687f3f2b5b9a509a03d005519fd3d5b89b1cf0769", 8),
    WeightsInfo(2, "rnnc-w2.npz", "0d2d40e581caf6ea69eae200b641fe8b0fe7b01435c501610d87befbec22fcca", 8),
)
