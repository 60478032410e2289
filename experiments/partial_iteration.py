"""SSIM of a file cut inside its first iterations, per weights (the first-byte dip, #15).

    python -m experiments.partial_iteration ../shared/data/kodak 2 training/checkpoints/w3.npz

Each spec is a shipped weights id or a training checkpoint (.npz). The 504 Kodak
thumbnails are encoded for 3 iterations; each iteration is then decoded with only its
first k bytes of code bits (version-1 file order; the rest 0, as a truncated file
decodes), k = 0..16, after the whole iterations before it. Printed per k: the mean patch
SSIM as the format decodes it, and under a rejected alternative rule that blends the
previous picture towards it by the share of the iteration's bits present ("blend").
``--step 1 --most 24`` cuts at every one of the first 24 bits instead (a version-2 first
byte holds about 10 first-iteration bits). ``--table rnnc-wID.ctx.json`` cuts version-2
files of 16 iterations at their first bytes instead (each file's first byte determines its
own number of bits: more where the table predicts them well).
An empty payload is one step of all-zero codes, as in ``thumbcodec/codec.py``.
"""
import argparse

import numpy as np
import torch

from thumbcodec import engine
from thumbcodec.config import Config
from thumbcodec.metrics import patch_ssim
from thumbcodec.model import RNNCodec, to_input, to_uint8
from training import checkpoint
from training.data import kodak_thumbs


def load(spec: str) -> RNNCodec:
    if spec.endswith(".npz"):
        meta, _ = checkpoint.read(spec)
        model = RNNCodec(Config.from_dict(meta["config"]))
        checkpoint.load(spec, model)
        return model.eval()
    return engine.load(int(spec), "cpu", "torch").model   # the shipped weights, checked


@torch.no_grad()
def curves(model: RNNCodec, thumbs: np.ndarray, iterations: int = 3, step: int = 8,
           most: int | None = None) -> list[list]:
    x = to_input(thumbs, "cpu")
    codes = model.compress(x, iterations)
    per = codes[0, 0].numel()
    dec_s = model.decoder.init_state(codes[0])
    empty = model._recon(None, model.decoder(torch.zeros_like(codes[0]), dec_s)[0], 0)
    whole, rows = None, []
    ssim = lambda y: float(patch_ssim(thumbs, to_uint8(y)).mean())  # noqa: E731
    for t in range(iterations):
        flat, prev = codes[t].flatten(1), (empty if whole is None else whole)
        row = []
        for k in range(0, min(per, most or per) + 1, step):
            cut = flat.clone()
            cut[:, k:] = 0
            y = model._recon(whole, model.decoder(cut.view_as(codes[t]), dec_s)[0], t)
            row.append((k // step, ssim(y), ssim(prev + (k / per) * (y - prev))))
        rows.append(row)
        d, dec_s = model.decoder(codes[t], dec_s)
        whole = model._recon(whole, d, t)
    return rows


@torch.no_grad()
def v2_first_bytes(model: RNNCodec, thumbs: np.ndarray, table: str, iterations: int = 16,
                   nbytes: int = 4) -> list[tuple]:
    """Version-2 files of ``iterations`` iterations, coded with the context table in the
    JSON file ``table``, cut after each of their first ``nbytes`` payload bytes and
    decoded as the format decodes them: (bytes, mean SSIM, mean code bits determined, the
    largest drop of one file from the byte before)."""
    from thumbcodec.entropy import ContextModel
    ctx = ContextModel.load(table)
    codes = model.compress(to_input(thumbs, "cpu"), iterations).numpy()   # (T, B, C, h, w)
    streams = [ctx.encode(codes[:, i])[0] for i in range(len(thumbs))]
    rows, before = [], None
    for k in range(nbytes + 1):
        cut = [ctx.decode(st[:k], codes.shape[2:], iterations) for st in streams]
        ssim = np.zeros(len(thumbs))
        for T in {len(c) for c, _ in cut}:   # decoded together when they touch T iterations
            idx = [i for i, (c, _) in enumerate(cut) if len(c) == T]
            c = np.stack([cut[i][0] for i in idx], 1) if T else \
                np.zeros((1, len(idx), *codes.shape[2:]), np.float32)   # empty: zero codes
            y = model.decompress(torch.from_numpy(c))
            ssim[idx] = patch_ssim(thumbs[idx], to_uint8(y))
        drop = 0.0 if before is None else float(max(0.0, (before - ssim).max()))
        rows.append((k, float(ssim.mean()), float(np.mean([n for _, n in cut])), drop))
        before = ssim
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kodak")
    p.add_argument("specs", nargs="+", help="weights id or checkpoint .npz")
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--step", type=int, default=8, help="bits per cut (8: whole bytes, k "
                   "counts bytes; 1: single bits, k counts bits)")
    p.add_argument("--most", type=int, default=None, help="cut only the first MOST bits")
    p.add_argument("--table", default=None, help="instead: version-2 files of 16 iterations "
                   "coded with this context table (rnnc-wID.ctx.json), cut at their first "
                   "bytes")
    a = p.parse_args()
    torch.set_num_threads(1)
    thumbs = kodak_thumbs(a.kodak)
    for spec in a.specs:
        print(spec)
        if a.table:
            for k, s, n, drop in v2_first_bytes(load(spec), thumbs, a.table):
                print(f"  {k} bytes: SSIM {s:.4f}, {n:.1f} code bits, largest file drop "
                      f"{drop:.3f}")
            continue
        for t, row in enumerate(curves(load(spec), thumbs, a.iterations, a.step, a.most)):
            unit = "bytes" if a.step == 8 else f"{a.step}-bit steps"
            print(f"  iteration {t + 1}, {unit} k: SSIM as decoded / blend")
            print("   " + "  ".join(f"{k}:{s:.4f}/{b:.4f}" for k, s, b in row))


if __name__ == "__main__":
    main()
