"""Byte-by-byte prefix curve of training checkpoints on the Kodak thumbnails (ablations).

    python -m experiments.bytewise_ckpt ../shared/data/kodak docs/ablation-truncation.png \
        runs/abl-trunc/ckpt.pt:with runs/abl-plain/ckpt.pt:without

For each checkpoint: encode the 504 thumbnails for 8 iterations, then decode every payload
prefix of 0..128 bytes exactly as a truncated 32x32 file decodes (whole iterations, then
the partial one with its missing bits set to 0, in file order; an empty payload is
one step of all-zero codes, as in thumbcodec/codec.py) and print mean SSIM/PSNR.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from thumbcodec.config import Config  # noqa: E402
from training.data import kodak_thumbs  # noqa: E402
from thumbcodec.metrics import patch_ssim, psnr  # noqa: E402
from thumbcodec.model import RNNCodec, to_input, to_uint8  # noqa: E402


@torch.no_grad()
def curve(model, thumbs, iterations=8):
    x = to_input(thumbs, "cpu")
    codes = model.compress(x, iterations)           # (T, B, bits, h, w)
    T, B = codes.shape[:2]
    per_it = codes[0, 0].numel()                    # bits per iteration (file order)
    out = []
    dec_s = model.decoder.init_state(codes[0])
    whole = None                                    # image after the whole iterations so far
    for t in range(T):
        flat = codes[t].flatten(1)
        for nbytes in range(per_it // 8 if t < T - 1 else per_it // 8 + 1):
            if nbytes == 0 and whole is not None:   # no leftover bits: no extra step
                o = to_uint8(whole)
            else:
                mb = flat.clone()
                mb[:, nbytes * 8:] = 0
                d, _ = model.decoder(mb.view_as(codes[t]), dec_s)
                o = to_uint8(model._recon(whole, d, t))
            out.append({"payload": t * per_it // 8 + nbytes,
                        "ssim": float(patch_ssim(thumbs, o).mean()),
                        "psnr": float(psnr(thumbs, o).mean())})
        d, dec_s = model.decoder(codes[t], dec_s)
        whole = model._recon(whole, d, t)
    return out


def main():
    kodak, png, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    torch.set_num_threads(2)
    thumbs = kodak_thumbs(kodak)
    curves = {}
    for spec in specs:
        path, label = spec.rsplit(":", 1)
        ck = torch.load(path, map_location="cpu", weights_only=True)
        model = RNNCodec(Config(**ck["config"]))
        model.load_state_dict(ck["model"])
        model.eval()
        c = curve(model, thumbs)
        curves[label] = c
        drops = [b["payload"] for a, b in zip(c, c[1:]) if b["ssim"] < a["ssim"]]
        whole = [c[i]["ssim"] for i in range(16, len(c), 16)]
        mid = [c[i]["ssim"] - (c[i - 8]["ssim"] + c[i + 8]["ssim"]) / 2
               for i in range(8, len(c) - 8, 16)]
        print(json.dumps({"label": label, "step": ck["step"],
                          "ssim_whole_iterations": [round(s, 4) for s in whole],
                          "psnr_at_64": round(c[64]["psnr"], 2),
                          "psnr_at_128": round(c[128]["psnr"], 2),
                          "mean_ssim_over_all_prefixes": round(np.mean([p["ssim"] for p in c]), 4),
                          "half_iteration_gain_vs_linear": round(float(np.mean(mid)), 4),
                          "bytes_that_lower_ssim": drops}))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for label, c in curves.items():
        ax.plot([p["payload"] for p in c], [p["ssim"] for p in c], ".-", ms=2, label=label)
    for k in range(0, 129, 16):
        ax.axvline(k, color="grey", lw=0.5, alpha=0.5)
    ax.set_xlabel("payload bytes (grey lines: whole iterations)")
    ax.set_ylabel("mean patch SSIM, Kodak 32x32")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    Path(png).with_suffix(".json").write_text(json.dumps(curves, indent=1))
    print("wrote", png, "and", Path(png).with_suffix(".json"))


if __name__ == "__main__":
    main()
