"""SSIM of a file cut inside its first iterations, per weights (the first-byte dip, #15).

    python -m experiments.partial_iteration ../shared/data/kodak 2 training/checkpoints/w3.npz

Each spec is a shipped weights id or a training checkpoint (.npz). The 504 Kodak
thumbnails are encoded for 3 iterations; each iteration is then decoded with only its
first k bytes of code bits (version-1 file order; the rest 0, as a truncated file
decodes), k = 0..16, after the whole iterations before it. Printed per k: the mean patch
SSIM as the format decodes it, and under a rejected alternative rule that blends the
previous picture towards it by the share of the iteration's bits present ("blend").
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
def curves(model: RNNCodec, thumbs: np.ndarray, iterations: int = 3) -> list[list]:
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
        for k in range(per // 8 + 1):
            cut = flat.clone()
            cut[:, k * 8:] = 0
            y = model._recon(whole, model.decoder(cut.view_as(codes[t]), dec_s)[0], t)
            row.append((k, ssim(y), ssim(prev + (k * 8 / per) * (y - prev))))
        rows.append(row)
        d, dec_s = model.decoder(codes[t], dec_s)
        whole = model._recon(whole, d, t)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kodak")
    p.add_argument("specs", nargs="+", help="weights id or checkpoint .npz")
    p.add_argument("--iterations", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    thumbs = kodak_thumbs(a.kodak)
    for spec in a.specs:
        print(spec)
        for t, row in enumerate(curves(load(spec), thumbs, a.iterations)):
            print(f"  iteration {t + 1}, bytes k: SSIM as decoded / blend")
            print("   " + "  ".join(f"{k}:{s:.4f}/{b:.4f}" for k, s, b in row))


if __name__ == "__main__":
    main()
