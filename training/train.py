"""Train thumbcodec weights: ``python -m training.train --data DIR ... --out runs/NAME``.

Reads top to bottom: settings, data pool, model, loop (loss over every unrolled
iteration), periodic validation, one resumable checkpoint (``training.checkpoint``).

- **Resumable anywhere**: ``--ckpt PATH`` (default OUT/ckpt.npz) is read if it exists
  and overwritten in place at every validation and at the end. It holds plain arrays and
  JSON, so a fresh machine with moved code resumes where the last one stopped.
- **A schedule whose horizon can move** (warm-up, then a constant learning rate for as
  long as the run goes on, then a final cosine decay that starts at ``--decay-at STEP``,
  given once the curve is flat), or the older ``--schedule cosine`` over ``--steps``.
- **Non-finite losses never reach the checkpoint**: such a step is skipped and logged;
  ``--max-skips`` in a row stop the run, and parameters are checked before each save.
- **Core-hours**: the checkpoint counts the process CPU time of the run across sessions.
- **Several processes**: under ``torchrun`` (``WORLD_SIZE`` set) the model is wrapped in
  DistributedDataParallel (gloo on CPU, nccl on CUDA); each rank draws its own batches,
  rank 0 validates and saves. ``--batch`` is per process.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from thumbcodec.config import Config
from thumbcodec.files import atomic_writer
from thumbcodec.format import layout
from thumbcodec.metrics import patch_ssim, psnr, ssim_from_moments
from thumbcodec.model import RNNCodec, to_input, to_uint8
from thumbcodec.pixels import RANGE

from . import checkpoint
from .data import kodak_thumbs, list_images, make_pool, parse_source


# --- validation ---

@torch.no_grad()
def validate(model: RNNCodec, val_u8: np.ndarray, iterations: int, device, amp: bool = False):
    """Mean patch SSIM and PSNR after each of ``iterations`` steps, decoded by sign."""
    was_training = model.training
    model.eval()
    ssims, psnrs = [[] for _ in range(iterations)], [[] for _ in range(iterations)]
    for i in range(0, len(val_u8), 256):
        ref = val_u8[i: i + 256]
        x = to_input(ref, device)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            codes = model.compress(x, iterations)
            steps = model.decompress(codes, progressive=True)
        for t, y in enumerate(steps):
            out = to_uint8(y)
            ssims[t].append(patch_ssim(ref, out))
            psnrs[t].append(psnr(ref, out))
    model.train(was_training)
    return ([round(float(np.concatenate(s).mean()), 5) for s in ssims],
            [round(float(np.concatenate(p).mean()), 3) for p in psnrs])


# --- the loss ---

def patch_ssim_torch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean patch SSIM of (B, 3, H, W) images in model range, as ``metrics.patch_ssim``
    computes it on 8-bit pixels (8x8 patches per channel, no smoothing), differentiable.
    Sides must be multiples of 8 (training crops are). Computed in fp32 under autocast."""
    with torch.autocast(a.device.type, enabled=False):
        a, b = ((v.float() + RANGE) / (2 * RANGE) for v in (a, b))  # pixels in [0, 1]
        mu_a, mu_b = F.avg_pool2d(a, 8), F.avg_pool2d(b, 8)
        var_a = F.avg_pool2d(a * a, 8) - mu_a ** 2
        var_b = F.avg_pool2d(b * b, 8) - mu_b ** 2
        cov = F.avg_pool2d(a * b, 8) - mu_a * mu_b
        return ssim_from_moments(mu_a, mu_b, var_a, var_b, cov, peak=1.0).mean()


class IterationNorm:
    """Weighs each iteration's cost by the inverse of its running mean (normalised to mean
    weight 1), so that the small costs of late iterations are not drowned out by the first
    ones. ``power`` 1 equalises them fully, 0.5 half-way (in log terms)."""

    def __init__(self, iterations: int, power: float = 1.0, decay: float = 0.99):
        self.mean = None
        self.n, self.power, self.decay = iterations, power, decay

    def weights(self, costs: list[torch.Tensor]) -> torch.Tensor:
        c = torch.stack([v.detach().float() for v in costs])
        self.mean = c if self.mean is None else self.decay * self.mean + (1 - self.decay) * c
        w = self.mean.clamp_min(1e-8) ** -self.power
        return w / w.mean()


def step_loss(model, x, iterations: int, mask_at=None, keep=None, ssim_weight: float = 0.0,
              norm: IterationNorm | None = None, tail: tuple[int, float] | None = None,
              detach_masked: bool = False, mask_weight: float = 1.0):
    """Mean loss over the unrolled iterations (plus the truncated-code term if mask_at).
    Each reconstruction costs its L2 error, plus ssim_weight * (1 - patch SSIM); with
    ``norm``, the iterations are weighed by the inverse of their running mean cost; with
    ``tail`` = (n, w), iterations after the n-th weigh w each instead of 1; the
    truncated-code term weighs ``mask_weight``."""
    def cost(o):
        c = ((o.float() - x) ** 2).mean()
        return c + ssim_weight * (1 - patch_ssim_torch(o, x)) if ssim_weight else c
    outs, masked = model(x, iterations, mask_at, keep, detach_masked)
    costs = [cost(o) for o in outs]
    if norm is not None:
        w = norm.weights(costs)
        costs = [c * w[t] for t, c in enumerate(costs)]
    if tail is not None:
        costs = [c * tail[1] if t >= tail[0] else c for t, c in enumerate(costs)]
    if masked is not None:
        costs.append(cost(masked) * mask_weight)
    return sum(costs) / len(costs)


def draw_keep(rng: np.random.Generator, bits: int, batch: int, most: int | None = None):
    """How many code bits each truncated code keeps, uniform in [0, bits), or in
    [0, min(most, bits)): the same draws scaled, so the data order does not change."""
    keep = rng.integers(0, bits, batch)
    return keep if not most else keep * min(most, bits) // bits


def amp_for(x: torch.Tensor, amp: bool, stride: int) -> bool:
    """Whether this batch may run under bf16 autocast. Not on CPU when it is one code column
    wide (``stride`` pixels): measured on an Intel Xeon with AMX (torch 2.13.0, one thread),
    the encoder's 3x3 stride-2 conv from a (48, 8, 2) input to a one-column output was wrong
    in bf16 (relative error 1.4; loss 0.27 instead of 0.04, then NaN gradients), while
    every other shape agreed with fp32. Such batches (about 3% of the non-square ones) run
    in fp32 instead; ``tests/test_training.py`` checks every shape the loop can draw."""
    return amp and not (x.device.type == "cpu" and x.shape[-1] <= stride)


def bf16_pays(device: torch.device) -> bool:
    """Whether bf16 autocast is the default here: on CUDA, and on CPUs with AVX-512, where
    oneDNN has bf16 kernels (measured at one thread: 1.6x fp32's speed on an AMX Xeon,
    1.5x on an AVX-512 EPYC). On an AVX2-only EPYC (Zen 3) bf16 steps ran about 7x
    slower than fp32, so there it is off unless asked for."""
    return device.type == "cuda" or (
        device.type == "cpu" and torch.backends.cpu.get_cpu_capability().startswith("AVX512"))


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


def lr_at(step: int, args) -> float:
    """Warm-up, then constant (``wsd``) with a final cosine decay from ``--decay-at`` over
    ``--decay-steps``; or a cosine over ``--steps`` (``cosine``, weights 1 and 2)."""
    warm = args.warmup
    if step < warm:
        return args.lr * (step + 1) / warm
    floor = args.lr * args.lr_floor
    if args.schedule == "cosine":
        frac = min(1.0, (step - warm) / max(1, args.steps - warm))
    elif args.decay_at is None or step < args.decay_at:
        return args.lr
    else:
        frac = min(1.0, (step - args.decay_at) / max(1, args.decay_steps))
    return floor + (args.lr - floor) * 0.5 * (1 + math.cos(math.pi * frac))


# --- settings ---

def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.train",
                                description=__doc__.splitlines()[0], epilog="Example: "
                                "python -m training.train --data ../shared/data/photos "
                                "--val ../shared/data/kodak --out runs/main --minutes 60")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR[:WEIGHT]",
                   help="folders of training images; a weight scales the crops per image "
                        "(a subfolder given again with a weight overrides its parent's)")
    p.add_argument("--val", default=None, help="folder of validation images (Kodak: 504 "
                   "thumbnails, 20 crops per image)")
    p.add_argument("--val2", default=None, help="second validation folder (extra-val: "
                   "3 crops per image)")
    p.add_argument("--out", required=True, help="run folder for the log and the pool")
    p.add_argument("--ckpt", default=None, help="checkpoint to resume from and overwrite "
                   "[default: OUT/ckpt.npz]")
    p.add_argument("--log", default=None, help="log (JSON lines) [default: OUT/log.jsonl]")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint "
                   "(without it an existing checkpoint is an error)")
    p.add_argument("--config", default="{}", help="JSON overrides of model Config")
    p.add_argument("--pool", type=int, default=200_000, help="training thumbnails made ahead")
    p.add_argument("--pool-epochs", type=float, default=0, help="draw a new pool (next "
                   "seed) after this many passes over it (0: never)")
    p.add_argument("--hard", type=int, default=1, metavar="K",
                   help="hard examples: each pool crop is the one of K from its image that "
                        "PNG codes largest (1: plain random crops)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--iterations", type=int, default=8, help="unrolled iterations")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", choices=("wsd", "cosine"), default="wsd")
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--lr-floor", type=float, default=0.05, help="final LR / --lr")
    p.add_argument("--decay-at", type=int, default=None, help="wsd: step where the final "
                   "decay starts (none yet: constant LR)")
    p.add_argument("--decay-steps", type=int, default=10_000, help="wsd: decay length")
    p.add_argument("--steps", type=int, default=100_000, help="cosine: schedule length")
    p.add_argument("--minutes", type=float, default=60.0, help="stop after this wall time")
    p.add_argument("--stop-step", type=int, default=None, help="stop at this step")
    p.add_argument("--val-every", type=float, default=5.0, help="minutes between validations")
    p.add_argument("--progress-every", type=float, default=60.0,
                   help="seconds between progress lines")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--device", default="cpu")
    amp = p.add_mutually_exclusive_group()
    amp.add_argument("--no-amp", dest="amp", action="store_false", default=None,
                     help="train in fp32 [default: bf16 autocast on CUDA and on AVX-512 "
                          "CPUs, fp32 elsewhere]")
    amp.add_argument("--amp", dest="amp", action="store_true", help="bf16 autocast anyway")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ssim-weight", type=float, default=0.0,
                   help="add this weight times (1 - patch SSIM) to each iteration's L2 loss")
    p.add_argument("--iter-norm", type=float, default=0.0, metavar="POWER",
                   help="weigh iteration t's cost by (running mean cost_t)^-POWER (0: off)")
    p.add_argument("--tail-weight", type=float, default=1.0, metavar="W",
                   help="weigh each iteration after the --ship-iterations first ones by W: "
                        "they are trained so that the shipped ones are not the last, but "
                        "should not pull the early ones towards themselves")
    p.add_argument("--ship-iterations", type=int, default=16,
                   help="iterations the weights will ship (for --tail-weight)")
    p.add_argument("--bits", choices=("stochastic", "sign"), default="stochastic",
                   help="how the binarizer draws bits in training: +1 with probability "
                        "(1+x)/2 (the paper), or sign as at inference (gradient straight "
                        "through either way)")
    p.add_argument("--bit-noise", type=float, default=None, metavar="EPS",
                   help="train with bits sign(x + EPS * u), u uniform in [-1, 1): 1 is "
                        "--bits stochastic, 0 is --bits sign; between, bits stay random "
                        "only within EPS of the threshold (overrides --bits)")
    p.add_argument("--max-skips", type=int, default=20,
                   help="stop after this many non-finite steps in a row")
    p.add_argument("--nonsquare", type=float, default=0.1,
                   help="share of batches cropped to a random non-square size (multiples of "
                        "the stride up to 32x32), so that any WxH keeps working")
    trunc = p.add_mutually_exclusive_group()  # where the truncated-code term applies
    trunc.add_argument("--no-truncation", dest="truncation", action="store_const",
                       const="none", default="random",
                       help="drop the truncated-code loss term (the paper's plain L2)")
    trunc.add_argument("--truncation-first", dest="truncation", action="store_const",
                       const="first", help="apply the truncated-code term at the first "
                                           "iteration only (weights 3's final decay)")
    p.add_argument("--truncation-decoder-only", action="store_true",
                   help="the truncated-code term trains the decoder only (its codes are "
                        "detached from the encoder)")
    p.add_argument("--truncation-weight", type=float, default=1.0, metavar="W",
                   help="weight of the truncated-code term (each iteration's weighs 1)")
    p.add_argument("--truncation-bits", type=int, default=None, metavar="N",
                   help="cut the codes of the truncated-code term within their first N bits "
                        "only (the first bytes of a file) [default: anywhere]")
    args = p.parse_args(argv)
    # check what would otherwise fail minutes later with a traceback
    for spec in args.data:
        if not list_images(parse_source(spec)[0]):
            p.error(f"--data {spec}: no images there")
    for name in ("val", "val2"):
        folder = getattr(args, name)
        if folder is not None and not list_images(folder):
            p.error(f"--{name} {folder}: no images there")
    try:
        Config.from_dict({**Config().to_dict(), **json.loads(args.config)})
    except (ValueError, TypeError) as e:
        p.error(f"--config: {e}")
    if min(args.batch, args.iterations, args.steps, args.pool, args.warmup, args.hard) < 1:
        p.error("--batch, --iterations, --steps, --pool, --warmup and --hard must be at least 1")
    if args.truncation_bits is not None and args.truncation_bits < 1:
        p.error("--truncation-bits must be at least 1")
    if args.truncation_weight < 0:
        p.error("--truncation-weight must be at least 0")
    args.ckpt = Path(args.ckpt or Path(args.out) / "ckpt.npz")
    args.log = Path(args.log or Path(args.out) / "log.jsonl")
    if args.ckpt.exists() and not args.resume:
        p.error(f"{args.ckpt} exists: add --resume to continue it, or choose another --ckpt")
    return args


def get_pool(args, index: int) -> np.ndarray:
    """The index-th pool of the run (seed [seed, index]; index 0 is seed alone), cached
    in the run folder. Written atomically: a run started beside this one never reads half."""
    seed = args.seed if index == 0 else [args.seed, index]
    tag = "-".join(str(Path(parse_source(s)[0]).name) + (f"x{parse_source(s)[1]:g}"
                   if parse_source(s)[1] != 1 else "") for s in args.data)
    tag += f"-hard{args.hard}" if args.hard > 1 else ""
    path = Path(args.out) / f"pool-{tag}-{args.pool}-{args.seed}-{index}.npy"
    if path.exists():
        return np.load(path)
    t0 = time.time()
    pool = make_pool(args.data, args.pool, seed=seed, hard=args.hard)
    with atomic_writer(path, overwrite=True) as f:
        np.save(f, pool)
    for old in Path(args.out).glob(f"pool-{tag}-{args.pool}-{args.seed}-*.npy"):
        if old != path:
            old.unlink()
    print(f"made pool {index} of {len(pool)} in {time.time() - t0:.0f}s", flush=True)
    return pool


def main(argv=None):
    args = parse_args(argv)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
    amp = bf16_pays(device) if args.amp is None else args.amp
    Path(args.out).mkdir(parents=True, exist_ok=True)

    # --- model and optimizer ---
    meta = checkpoint.read(args.ckpt)[0] if args.ckpt.exists() else None
    cfg = Config.from_dict(meta["config"] if meta else
                           {**Config().to_dict(), **json.loads(args.config)})
    torch.manual_seed(args.seed)
    model = RNNCodec(cfg).to(device)
    model.encoder.binarizer.noise = args.bit_noise if args.bit_noise is not None else (
        1.0 if args.bits == "stochastic" else 0.0)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, samples, cpu_s, skipped = 0, 0, 0.0, 0
    if meta:
        checkpoint.load(args.ckpt, model, opt)
        step, samples, cpu_s = meta["step"], meta["samples"], meta["cpu_seconds"]
        skipped = meta.get("skipped", 0)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model)
    norm = IterationNorm(args.iterations, args.iter_norm) if args.iter_norm else None
    if norm is not None and meta and meta.get("iter_norm_mean"):
        norm.mean = torch.tensor(meta["iter_norm_mean"])
    tail = (args.ship_iterations, args.tail_weight) if args.tail_weight != 1 else None
    n_params = sum(p.numel() for p in model.parameters())
    if rank == 0:
        print(f"config {cfg.to_dict()} params {n_params} step {step} "
              f"core-hours {cpu_s / 3600:.2f} world {world} {'bf16' if amp else 'fp32'}", flush=True)

    # --- data ---
    pool_len = args.pool * args.pool_epochs
    pool_index = int(samples // pool_len) if pool_len else 0
    pool = get_pool(args, pool_index) if rank == 0 or world == 1 else None
    if world > 1:
        dist.barrier()  # rank 0 made the pool file; the others read it
        pool = pool if pool is not None else get_pool(args, pool_index)
    vals = {}
    if rank == 0:
        if args.val:
            vals["kodak"] = kodak_thumbs(args.val)
        if args.val2:
            vals["extra-val"] = kodak_thumbs(args.val2, crops_per_image=3)
    rng = np.random.default_rng([args.seed, step, rank])
    torch.manual_seed(args.seed + step + 7919 * rank)

    def save():
        checkpoint.save(args.ckpt, model, opt, {
            "step": step, "samples": samples, "cpu_seconds": cpu_s + time.process_time() - c0,
            "skipped": skipped, "config": cfg.to_dict(), "iterations": args.iterations,
            "iter_norm_mean": norm.mean.tolist() if norm is not None and norm.mean is not None
            else None, "args": {k: str(v) if isinstance(v, Path) else v
                                for k, v in vars(args).items()}})

    def log(rec):
        with open(args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def validate_all():
        rec = {}
        for name, v in vals.items():
            s, p = validate(model, v, args.iterations, device)
            rec[name] = {"ssim": s, "psnr": p}
        return rec

    # --- loop ---
    c0, t_start = time.process_time(), time.time()
    t_val = t_start if meta else t_start - 1e9
    loss_avg, t_rate, s_rate, t_prog, bad_run = None, time.time(), samples, time.time(), 0
    model.train()
    while time.time() - t_start < args.minutes * 60 and step != args.stop_step:
        if rank == 0 and time.time() - t_val >= args.val_every * 60:
            rate = (samples - s_rate) / max(1e-9, time.time() - t_rate)
            rec = {"step": step, "samples": samples,
                   "core_hours": round((cpu_s + time.process_time() - c0) / 3600, 4),
                   "lr": lr_at(step, args), "loss": loss_avg, "skipped": skipped,
                   "samples_per_s": round(rate, 1), **validate_all()}
            log(rec)
            if "kodak" in rec:
                s = rec["kodak"]["ssim"]
                print(f"step {step} loss {loss_avg} kodak ssim@4 {s[min(3, len(s) - 1)]:.4f} "
                      f"@8 {s[min(7, len(s) - 1)]:.4f} @{len(s)} {s[-1]:.4f} "
                      f"{rate:.0f} samples/s", flush=True)
            save()
            t_val, t_rate, s_rate = time.time(), time.time(), samples
        if pool_len and samples // pool_len != pool_index:
            pool_index = int(samples // pool_len)
            pool = get_pool(args, pool_index)  # (every rank: same seed, same pool)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        x = to_input(pool[rng.integers(0, len(pool), args.batch)], device)
        if args.nonsquare and rng.random() < args.nonsquare:
            x = nonsquare_crop(x, rng, cfg.stride)
        mask_at = int(rng.integers(0, args.iterations))  # drawn anyway: same data order
        mask_at = {"random": mask_at, "first": 0, "none": None}[args.truncation]
        bits_per_it = layout(x.shape[3], x.shape[2], cfg.stride, cfg.bits).bits_per_iteration
        keep = torch.from_numpy(draw_keep(rng, bits_per_it, args.batch,
                                          args.truncation_bits)).to(device)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp_for(x, amp, cfg.stride)):
            loss = step_loss(net, x, args.iterations, mask_at, keep, args.ssim_weight, norm,
                             tail, args.truncation_decoder_only, args.truncation_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lv = loss.item()
        finite = math.isfinite(lv) and math.isfinite(float(gnorm))
        if world > 1:  # every rank must agree to step, or none does
            flag = torch.tensor([float(finite)], device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            finite = bool(flag.item())
        if not finite:
            skipped += 1
            bad_run += 1
            if rank == 0:
                print(f"  step {step}: non-finite loss {lv} / grad norm {float(gnorm)}, "
                      f"skipped ({bad_run} in a row)", flush=True)
                log({"step": step, "skipped_step": True, "loss": str(lv)})
            if bad_run >= args.max_skips:
                print(f"stopping: {bad_run} non-finite steps in a row; the checkpoint keeps "
                      f"the last good state", file=sys.stderr, flush=True)
                sys.exit(3)
            opt.zero_grad(set_to_none=True)
            continue
        bad_run = 0
        opt.step()
        step += 1
        samples += args.batch * world
        loss_avg = lv if loss_avg is None else 0.98 * loss_avg + 0.02 * lv
        if rank == 0 and time.time() - t_prog >= args.progress_every:
            goal = f"/{args.stop_step}" if args.stop_step else ""
            print(f"  step {step}{goal}  {(time.time() - t_start) / 60:.1f}/{args.minutes:g} min"
                  f"  loss {loss_avg:.5f}  lr {lr_at(step, args):.2e}", flush=True)
            t_prog = time.time()
    if rank == 0:
        rec = {"step": step, "samples": samples,
               "core_hours": round((cpu_s + time.process_time() - c0) / 3600, 4),
               "lr": lr_at(step, args), "loss": loss_avg, "skipped": skipped, "final": True,
               **validate_all()}
        log(rec)
        print(f"final step {step} loss {loss_avg}", flush=True)
        save()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def plot(log_path, out_png, val: str = "kodak") -> None:
    """Learning curve: validation SSIM at 1, 2, 4, 8, 16 iterations against core-hours
    (or samples, for logs that predate core-hours)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = [r for r in map(json.loads, open(log_path)) if val in r or "ssim" in r]
    ssim = [(r[val]["ssim"] if val in r else r["ssim"]) for r in recs]
    hours = all("core_hours" in r for r in recs)
    xs = [r["core_hours"] if hours else r["samples"] / 1e3 for r in recs]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for k in (1, 2, 4, 8, 12, 16):
        if k <= len(ssim[0]):
            ax.plot(xs, [s[k - 1] for s in ssim],
                    label=f"{k} iteration{'s' if k > 1 else ''} ({16 * k} B payload)")
    ax.set_xlabel("core-hours of training" if hours else "training samples (thousands)")
    ax.set_ylabel(f"{val} 32x32 patch SSIM")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


if __name__ == "__main__":
    if sys.argv[1:2] == ["export"]:
        print(checkpoint.export_weights(sys.argv[2], sys.argv[3]))
    elif sys.argv[1:2] == ["plot"]:
        plot(*sys.argv[2:])
    else:
        main()
