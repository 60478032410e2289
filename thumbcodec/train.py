"""Training entry point: ``python -m thumbcodec.train --data DIR --out runs/NAME``.

Reads top to bottom: settings, data pool, model, loop (loss over every iteration plus one
decode of a truncated code), periodic validation on Kodak thumbnails, checkpoints with
``--resume``. Runs on CPU by default with bf16 autocast; ``--device cuda`` on a GPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .data import kodak_thumbs, list_images, make_pool
from .metrics import patch_ssim, psnr, ssim_from_moments
from .model import Config, RNNCodec, to_input, to_uint8


@torch.no_grad()
def validate(model: RNNCodec, val_u8: np.ndarray, iterations: int, device, amp: bool):
    model.eval()
    ssims, psnrs = [[] for _ in range(iterations)], [[] for _ in range(iterations)]
    for i in range(0, len(val_u8), 256):
        ref = val_u8[i: i + 256]
        x = to_input(ref, device)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            codes = model.compress(x, iterations)
            steps = model.decompress(codes, all_steps=True)
        for t, y in enumerate(steps):
            out = to_uint8(y)
            ssims[t].append(patch_ssim(ref, out))
            psnrs[t].append(psnr(ref, out))
    model.train()
    return ([float(np.concatenate(s).mean()) for s in ssims],
            [float(np.concatenate(p).mean()) for p in psnrs])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Example: "
                                "thumbcodec train --data ../shared/data/photos --val "
                                "../shared/data/kodak --out runs/main --minutes 60")
    p.add_argument("--data", required=True, help="folder of training images")
    p.add_argument("--val", default=None, help="folder of validation images (Kodak)")
    p.add_argument("--out", required=True, help="run folder for checkpoints and logs")
    p.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    p.add_argument("--config", default="{}", help="JSON overrides of model Config")
    p.add_argument("--pool", type=int, default=200_000, help="training thumbnails made ahead")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--iterations", type=int, default=8, help="unrolled iterations")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=100_000, help="length of the LR schedule")
    p.add_argument("--minutes", type=float, default=60.0, help="stop after this wall time")
    p.add_argument("--stop-step", type=int, default=None, help="stop at this step (exact "
                   "reproduction of a run that was stopped by time)")
    p.add_argument("--val-every", type=float, default=5.0, help="minutes between validations")
    p.add_argument("--progress-every", type=float, default=60.0,
                   help="seconds between progress lines")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-amp", action="store_true", help="disable bf16 autocast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ssim-weight", type=float, default=0.0,
                   help="add this weight times (1 - patch SSIM) to each iteration's L2 loss "
                        "(0: the paper's plain L2)")
    p.add_argument("--nonsquare", type=float, default=0.1,
                   help="share of batches cropped to a random non-square size (multiples of "
                        "the stride up to 32x32), so that any WxH keeps working; 0 reproduces "
                        "the shipped weights id 1")
    trunc = p.add_mutually_exclusive_group()  # where the truncated-code term applies
    trunc.add_argument("--no-truncation", dest="truncation", action="store_const",
                       const="none", default="random",
                       help="drop the truncated-code loss term (the paper's plain L2; ablation)")
    trunc.add_argument("--truncation-first", dest="truncation", action="store_const",
                       const="first", help="apply the truncated-code term at the first "
                                           "iteration only (ablation)")
    args = p.parse_args(argv)
    # check what would otherwise fail minutes later with a traceback
    for name in ("data", "val"):
        folder = getattr(args, name)
        if folder is not None and not list_images(folder):
            p.error(f"--{name} {folder}: no images there")
    try:
        Config.from_dict({**Config().to_dict(), **json.loads(args.config)})
    except (ValueError, TypeError) as e:
        p.error(f"--config: {e}")
    if min(args.batch, args.iterations, args.steps, args.pool) < 1:
        p.error("--batch, --iterations, --steps and --pool must be at least 1")
    return args


def nonsquare_crop(x: torch.Tensor, rng: np.random.Generator, stride: int) -> torch.Tensor:
    """Crop a (B, 3, S, S) batch to a random H x W != square, sides multiples of stride."""
    side = x.shape[-1]
    sizes = np.arange(stride, side + 1, stride)
    while True:
        h, w = (int(v) for v in rng.choice(sizes, 2))
        if h != w:
            break
    y0 = int(rng.integers(0, side - h + 1))
    x0 = int(rng.integers(0, side - w + 1))
    return x[:, :, y0:y0 + h, x0:x0 + w]


def patch_ssim_torch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean patch SSIM of (B, 3, H, W) images in model range, as ``metrics.patch_ssim``
    computes it on 8-bit pixels (8x8 patches per channel, no smoothing), differentiable.
    Sides must be multiples of 8 (training crops are)."""
    a, b = (a.float() + 0.9) / 1.8, (b.float() + 0.9) / 1.8  # pixels in [0, 1]
    mu_a, mu_b = F.avg_pool2d(a, 8), F.avg_pool2d(b, 8)
    var_a = F.avg_pool2d(a * a, 8) - mu_a ** 2
    var_b = F.avg_pool2d(b * b, 8) - mu_b ** 2
    cov = F.avg_pool2d(a * b, 8) - mu_a * mu_b
    return ssim_from_moments(mu_a, mu_b, var_a, var_b, cov, peak=1.0).mean()


def step_loss(model, x, iterations: int, mask_at, keep, ssim_weight: float = 0.0):
    """Mean loss over the unrolled iterations, plus the truncated-code term if mask_at.
    Each reconstruction costs its L2 error, plus ssim_weight * (1 - patch SSIM)."""
    def cost(o):
        c = ((o.float() - x) ** 2).mean()
        return c + ssim_weight * (1 - patch_ssim_torch(o, x)) if ssim_weight else c
    outs, masked = model(x, iterations, mask_at, keep)
    loss = sum(cost(o) for o in outs)
    if masked is None:
        return loss / len(outs)
    return (loss + cost(masked)) / (len(outs) + 1)


def lr_at(step: int, args) -> float:
    warm = 500
    if step < warm:
        return args.lr * (step + 1) / warm
    frac = min(1.0, (step - warm) / max(1, args.steps - warm))
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    amp = not args.no_amp
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"

    # --- model and optimizer ---
    if args.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        cfg = Config.from_dict(ck["config"])
    else:
        ck = None
        cfg = Config.from_dict({**Config().to_dict(), **json.loads(args.config)})
    torch.manual_seed(args.seed)
    model = RNNCodec(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, samples = 0, 0
    if ck:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, samples = ck["step"], ck["samples"]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config {cfg.to_dict()} params {n_params} step {step}", flush=True)

    # --- data ---
    pool_path = out.parent / f"pool-{args.pool}-{args.seed}.npy"
    if pool_path.exists():
        pool = np.load(pool_path)
    else:
        t0 = time.time()
        pool = make_pool(args.data, args.pool, seed=args.seed)
        tmp = pool_path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, pool)
        os.replace(tmp, pool_path)  # atomic: a run started beside this one never reads half
        print(f"made pool of {len(pool)} in {time.time() - t0:.0f}s", flush=True)
    val = kodak_thumbs(args.val) if args.val else None
    rng = np.random.default_rng(args.seed + step)

    def save():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "samples": samples, "config": cfg.to_dict()}, tmp)
        os.replace(tmp, ckpt_path)

    def log(rec):
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")

    # --- loop ---
    t_start = time.time()
    t_val = t_start if ck else t_start - 1e9
    loss_avg, t_rate, s_rate = None, time.time(), samples
    t_prog = time.time()
    model.train()
    while time.time() - t_start < args.minutes * 60 and step != args.stop_step:
        if val is not None and time.time() - t_val >= args.val_every * 60:
            ssim, ps = validate(model, val, args.iterations, device, amp)
            rate = (samples - s_rate) / max(1e-9, time.time() - t_rate)
            rec = {"step": step, "samples": samples, "minutes": (time.time() - t_start) / 60,
                   "loss": loss_avg, "ssim": ssim, "psnr": ps, "samples_per_s": rate}
            log(rec)
            print(f"step {step} loss {loss_avg} ssim@4 {ssim[3]:.4f} ssim@8 {ssim[-1]:.4f} "
                  f"psnr@8 {ps[-1]:.2f} {rate:.0f} samples/s", flush=True)
            save()
            t_val, t_rate, s_rate = time.time(), time.time(), samples
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x = to_input(pool[rng.integers(0, len(pool), args.batch)], device)
        if args.nonsquare and rng.random() < args.nonsquare:
            x = nonsquare_crop(x, rng, cfg.stride)
        mask_at = int(rng.integers(0, args.iterations))  # drawn anyway: same data order
        mask_at = {"random": mask_at, "first": 0, "none": None}[args.truncation]
        bits_per_it = cfg.bits_per_iteration(x.shape[3], x.shape[2])
        keep = torch.from_numpy(rng.integers(0, bits_per_it, args.batch)).to(device)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            loss = step_loss(model, x, args.iterations, mask_at, keep, args.ssim_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        samples += args.batch
        lv = loss.item()
        loss_avg = lv if loss_avg is None else 0.98 * loss_avg + 0.02 * lv
        if time.time() - t_prog >= args.progress_every:
            goal = f"/{args.stop_step}" if args.stop_step else ""
            print(f"  step {step}{goal}  {(time.time() - t_start) / 60:.1f}/{args.minutes:g} min"
                  f"  loss {loss_avg:.5f}  lr {lr_at(step, args):.2e}", flush=True)
            t_prog = time.time()
    rec = {"step": step, "samples": samples, "minutes": (time.time() - t_start) / 60,
           "loss": loss_avg, "final": True}
    if val is not None:
        rec["ssim"], rec["psnr"] = validate(model, val, args.iterations, device, amp)
    log(rec)
    print(f"final step {step} loss {loss_avg}"
          + (f" ssim {[round(s, 4) for s in rec['ssim']]}" if val is not None else ""), flush=True)
    save()


def export(ckpt_path, out_path) -> str:
    """Write a checkpoint's model as a weights .npz (state dict + config); returns sha256."""
    from .weights import save_arrays
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    arrays = {k: v.float().numpy() for k, v in ck["model"].items()}
    return save_arrays(out_path, ck["config"], arrays)


def plot(log_path, out_png) -> None:
    """Learning curve: validation SSIM at 1, 2, 4, 8 iterations against samples seen."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = [r for r in map(json.loads, open(log_path)) if "ssim" in r]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for k in (1, 2, 4, 8):
        ax.plot([r["samples"] / 1e3 for r in recs], [r["ssim"][k - 1] for r in recs],
                label=f"{k} iteration{'s' if k > 1 else ''} ({16 * k} B payload)")
    ax.set_xlabel("training samples (thousands)")
    ax.set_ylabel("Kodak 32x32 patch SSIM")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["export"]:
        print(export(sys.argv[2], sys.argv[3]))
    elif sys.argv[1:2] == ["plot"]:
        plot(sys.argv[2], sys.argv[3])
    else:
        main()
