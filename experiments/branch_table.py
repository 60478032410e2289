"""Validations of a long run and its branches side by side, as the tables in docs/training.md.

    python -m experiments.branch_table training/checkpoints/w3-log.jsonl \
        runs/abl-noise0.5/log.jsonl:"bit-noise 0.5" --from 51800

Each log is JSON lines as `training.train` writes them; its validation records (those with
a "kodak" entry) from step --from on become Markdown rows: step, core-hours, and the mean
patch SSIM after the iterations that fill 16, 32, 64, 128, 192 and 256 payload bytes at
32x32 (16 bytes per iteration), on Kodak and, where logged, extra-val. Branches share the
main run's batches at equal steps (same seed, same pool), so compare rows at equal steps,
and at equal core-hours where a branch costs more per step.
"""
import argparse
import json
from pathlib import Path

BYTES = (16, 32, 64, 128, 192, 256)


def rows(path, start):
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "kodak" in r and r["step"] >= start:
                yield r


def cells(ssim):
    return [f"{ssim[b // 16 - 1]:.4f}" if b // 16 <= len(ssim) else "—" for b in BYTES]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs", nargs="+", metavar="LOG[:LABEL]")
    p.add_argument("--from", dest="start", type=int, default=0, help="first step shown")
    args = p.parse_args(argv)
    logs = [(path, label or path) for path, _, label in (s.partition(":") for s in args.logs)]
    for path, _ in logs:
        if not Path(path).is_file():
            p.error(f"{path}: no such log")
    head = ["branch", "step", "core-hours"] + [f"Kodak {b} B" for b in BYTES] \
        + [f"extra-val {b} B" for b in BYTES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for path, label in logs:
        for r in rows(path, args.start):
            extra = r.get("extra-val", {}).get("ssim")
            print("| " + " | ".join([label, f"{r['step']:,}", f"{r['core_hours']:.2f}"]
                                    + cells(r["kodak"]["ssim"])
                                    + (cells(extra) if extra else ["—"] * len(BYTES))) + " |")


if __name__ == "__main__":
    main()
