"""Widen a training checkpoint's layers without changing what it computes (issue #19).

    python -m experiments.widen CKPT OUT [--enc 64 96 192] [--dec 384 64 64] [--dec-in 128]

Tests a capacity lever on a long run without starting from scratch: the widened model
decodes exactly as the original, then fine-tunes from the same step and batches
(``training.train --ckpt OUT --resume``), so it can be compared with the main run at equal
core-hours.

How: a fresh model of the wider Config (default init, ``--seed``) receives the old
tensors in the slots of the old units: an LSTM's four gate blocks are each widened at
their end, every other layer at the end of its output channels. Old units' weights
from new input channels are zeroed, so no new unit reaches an old one or the output
until training moves those weights; the new units' own weights keep their fresh init, so
they start to learn at once. Depth-to-space keeps the old units' channels first, so the
same prefix rule holds after it. Adam's moments follow the same slots; new entries get
a first moment of 0 and the mean second moment of their tensor (so their first steps
are no larger than the old ones').
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from thumbcodec.config import Config
from thumbcodec.model import RNNCodec
from training import checkpoint


def _rows(old_n: int, new_n: int, lstm: bool) -> np.ndarray:
    """Indices, in the wider tensor's dim 0, of the old tensor's rows."""
    if not lstm:
        return np.arange(old_n)
    h, h2 = old_n // 4, new_n // 4
    return np.concatenate([g * h2 + np.arange(h) for g in range(4)])


def widen_tensor(old: np.ndarray, fresh: np.ndarray, lstm: bool, fill: float | None = None):
    """Place ``old`` in ``fresh`` (the wider tensor). Old rows from new input columns are 0.
    With ``fill`` every new entry is ``fill`` instead of ``fresh`` (Adam's moments)."""
    if old.shape == fresh.shape:
        return old.copy()
    out = fresh.copy() if fill is None else np.full_like(fresh, fill)
    rows = _rows(old.shape[0], fresh.shape[0], lstm)
    if old.ndim == 1:
        out[rows] = old
        return out
    if fill is None:
        out[rows] = 0.0
    out[np.ix_(rows, np.arange(old.shape[1]))] = old
    return out


def _is_lstm_gate(name: str) -> bool:
    return ".conv_x." in name or ".conv_h." in name


def widen(meta: dict, arrays: dict, cfg: Config, seed: int = 0) -> tuple[dict, dict]:
    """(meta, arrays) of ``checkpoint.read`` -> the same for the wider ``cfg``."""
    torch.manual_seed(seed)
    fresh = {k: v.detach().numpy() for k, v in RNNCodec(cfg).state_dict().items()}
    out = {}
    for name, new in fresh.items():
        old = arrays[f"model/{name}"]
        lstm = _is_lstm_gate(name)
        out[f"model/{name}"] = widen_tensor(old, new, lstm).astype(np.float32)
        for mom in ("exp_avg", "exp_avg_sq"):
            key = f"adam/{name}/{mom}"
            if key not in arrays:
                continue
            m = checkpoint._from_bf16_bits(arrays[key]).numpy()
            fill = 0.0 if mom == "exp_avg" else float(m.mean())
            wide = widen_tensor(m, np.zeros_like(new), lstm, fill=fill)
            out[key] = checkpoint._bf16_bits(torch.from_numpy(wide))
    widened = {k: v for k, v in cfg.to_dict().items() if meta["config"].get(k) != v}
    meta = {**meta, "config": cfg.to_dict(),
            "widened": {**meta.get("widened", {}), str(meta["step"]): widened}}
    return meta, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("ckpt")
    p.add_argument("out")
    p.add_argument("--enc", type=int, nargs=3)
    p.add_argument("--dec", type=int, nargs=3)
    p.add_argument("--dec-in", type=int)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    meta, arrays = checkpoint.read(a.ckpt)
    d = dict(meta["config"])
    for key, val in (("enc", a.enc), ("dec", a.dec), ("dec_in", a.dec_in)):
        if val is not None:
            d[key] = val
    old, cfg = Config.from_dict(meta["config"]), Config.from_dict(d)
    if len(cfg.enc) != len(old.enc) or len(cfg.dec) != len(old.dec) or any(
            n < o for n, o in zip((*cfg.enc, *cfg.dec, cfg.dec_in),
                                  (*old.enc, *old.dec, old.dec_in))):
        sys.exit("widen: every width must be at least the old one, same number of stages")
    if any(w % 4 for w in cfg.dec):
        sys.exit("widen: decoder widths must be multiples of 4 (depth-to-space)")
    meta, out = widen(meta, arrays, cfg, a.seed)
    try:
        checkpoint.write(a.out, meta, out)
    except FileExistsError:
        sys.exit(f"widen: {a.out} exists")
    n = sum(v.size for k, v in out.items() if k.startswith("model/"))
    print(f"{a.out}: {cfg.to_dict()} params {n}")


if __name__ == "__main__":
    main()
