"""Resumable training checkpoints that survive moving code: one .npz of plain arrays.

- ``model/<name>``: every parameter of the model's state dict, fp32, by its fixed name
  (the same names as the shipped weights files).
- ``adam/<name>/exp_avg`` and ``adam/<name>/exp_avg_sq``: Adam's moments in bf16, stored
  as their raw 16-bit patterns (uint16; NumPy has no bf16), half the size of fp32.
- ``__meta__``: a JSON string: step, samples, CPU seconds, the model Config, Adam's step
  count and hyper-parameters, and anything else the trainer wants to carry.

No pickled classes, so renaming modules never breaks resuming. Written to a temporary
file and renamed over the old one, so a crash leaves the last good checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from thumbcodec.files import atomic_writer


def _bf16_bits(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.bfloat16).view(torch.int16).cpu().numpy().view(np.uint16)


def _from_bf16_bits(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16).float()


def save(path, model: torch.nn.Module, opt: torch.optim.Adam, meta: dict) -> None:
    """Write model (fp32), Adam moments (bf16) and meta. Refuses non-finite parameters, so
    a diverged model never replaces a good checkpoint."""
    names = [n for n, _ in model.named_parameters()]
    arrays = {}
    for name, t in model.state_dict().items():
        if not torch.isfinite(t).all():
            raise FloatingPointError(f"parameter {name} is not finite; checkpoint not written")
        arrays[f"model/{name}"] = t.detach().float().cpu().numpy()
    steps = []
    for i, name in enumerate(names):
        st = opt.state.get(opt.param_groups[0]["params"][i], {})
        if "exp_avg" in st:
            arrays[f"adam/{name}/exp_avg"] = _bf16_bits(st["exp_avg"])
            arrays[f"adam/{name}/exp_avg_sq"] = _bf16_bits(st["exp_avg_sq"])
            steps.append(int(st["step"]))
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    meta = {**meta, "adam": {"step": max(steps, default=0),
                             "group": json.loads(json.dumps(group, default=str))}}
    write(path, meta, arrays, overwrite=True)


def write(path, meta: dict, arrays: dict[str, np.ndarray], overwrite: bool = False) -> None:
    """Write ``meta`` and the named arrays (``model/...``, ``adam/...``) as one checkpoint,
    atomically; an existing file is replaced only with ``overwrite``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path, overwrite=overwrite) as f:
        np.savez_compressed(f, **arrays, __meta__=np.array(json.dumps(meta)))


def read(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays) of a checkpoint, without torch objects."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("__meta__"))), arrays


def load(path, model: torch.nn.Module, opt: torch.optim.Adam | None = None) -> dict:
    """Load a checkpoint into ``model`` (and ``opt``); returns its meta."""
    meta, arrays = read(path)
    state = {k[len("model/"):]: torch.from_numpy(v) for k, v in arrays.items()
             if k.startswith("model/")}
    model.load_state_dict(state)
    if opt is not None:
        params = dict(model.named_parameters())
        for name, p in params.items():
            key = f"adam/{name}/exp_avg"
            if key in arrays:
                opt.state[p] = {
                    "step": torch.tensor(float(meta["adam"]["step"])),
                    "exp_avg": _from_bf16_bits(arrays[key]).to(p.device),
                    "exp_avg_sq": _from_bf16_bits(arrays[f"adam/{name}/exp_avg_sq"]).to(p.device)}
    return meta


def export_weights(path, out_path) -> str:
    """Write a checkpoint's model as a shipped weights .npz; returns its sha256."""
    from thumbcodec.weights import save_arrays
    meta, arrays = read(path)
    model = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    return save_arrays(out_path, meta["config"], model)
