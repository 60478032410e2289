"""Why the late iterations add so little (issue #19 point 4): per-iteration diagnostics.

    python -m experiments.late_iterations ../shared/data/kodak training/checkpoints/w3.npz

The 504 Kodak thumbnails are encoded for the checkpoint's iterations (or ``--iterations``)
and decoded by sign, as the format does. Printed per iteration t:

- ``ssim``, ``rms``: mean patch SSIM and the residual's rms (8-bit levels) after t;
- ``step``: rms change of the picture made by iteration t (8-bit levels);
- ``|tanh|``: the mean magnitude of the binarizer's tanh output (1 = every bit certain,
  0 = coin flips in training);
- ``zero``, ``rand``: SSIM after t when iteration t's bits are replaced by 0 (as a cut file
  decodes) or by random signs, after the true bits of the iterations before it: if the
  true bits beat them by little, the decoder makes little of that iteration's bits;
- ``stoch``: SSIM after t when every bit was drawn as in training (+1 with probability
  (1+x)/2) instead of by sign, the encoder seeing the resulting residuals.
"""
import argparse

import numpy as np
import torch

from experiments.partial_iteration import load
from thumbcodec.metrics import patch_ssim
from thumbcodec.model import to_input, to_uint8
from thumbcodec.pixels import RANGE
from training.data import kodak_thumbs


def levels(t: torch.Tensor) -> float:
    """rms of a model-range tensor in 8-bit levels."""
    return float(t.float().pow(2).mean().sqrt()) * 255 / (2 * RANGE)


@torch.no_grad()
def diagnose(model, thumbs: np.ndarray, iterations: int, seed: int = 0) -> list[dict]:
    x = to_input(thumbs, "cpu")
    ssim = lambda y: float(patch_ssim(thumbs, to_uint8(y)).mean())  # noqa: E731
    gen = torch.Generator().manual_seed(seed)
    enc_s = model.encoder.init_state(x)
    dec_s, x_hat, r, rows = None, None, x, []
    for t in range(iterations):
        h = model.encoder.conv(model._enc_in(r, t))
        new = []
        for cell, st in zip(model.encoder.lstms, enc_s):
            h, st = cell(h, st)
            new.append(st)
        enc_s = new
        soft = torch.tanh(model.encoder.binarizer.conv(h))
        b = torch.where(soft < 0, -1.0, 1.0)
        if dec_s is None:
            dec_s = model.decoder.init_state(b)
        alt = {}
        for name, bb in (("zero", torch.zeros_like(b)),
                         ("rand", torch.where(torch.rand(b.shape, generator=gen) < 0.5, -1.0, 1.0))):
            alt[name] = ssim(model._recon(x_hat, model.decoder(bb, dec_s)[0], t))
        d, dec_s = model.decoder(b, dec_s)
        prev = x_hat
        x_hat = model._recon(x_hat, d, t)
        r = x - x_hat
        rows.append({"t": t + 1, "ssim": ssim(x_hat), "rms": levels(r),
                     "step": levels(x_hat - prev) if prev is not None else levels(x_hat),
                     "|tanh|": float(soft.abs().mean()), **alt})
    # the same, every bit drawn as in training
    model.encoder.binarizer.train()
    torch.manual_seed(seed)
    for t, (_, y, _) in enumerate(model.unroll(x, iterations)):
        rows[t]["stoch"] = ssim(y)
    model.encoder.binarizer.eval()
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kodak")
    p.add_argument("spec", help="a shipped weights id or a training checkpoint (.npz)")
    p.add_argument("--iterations", type=int, default=16)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = diagnose(load(args.spec), kodak_thumbs(args.kodak), args.iterations)
    cols = ["t", "ssim", "rms", "step", "|tanh|", "zero", "rand", "stoch"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row[c]) if c == "t" else f"{row[c]:.4f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
