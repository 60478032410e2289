"""Compare training runs from their logs, at equal wall time and at equal steps.

    python -m experiments.compare_runs OUT.png runs/a/log.jsonl:"label a" runs/b/log.jsonl:"label b"

Prints a Markdown table of every validation (step, minutes, SSIM/PSNR at 4 and 8
iterations) and plots SSIM @ 4 and @ 8 iterations against minutes and against steps.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out_png, specs = sys.argv[1], sys.argv[2:]
runs = []
for spec in specs:
    path, _, label = spec.partition(":")
    recs = [r for r in map(json.loads, open(path)) if "ssim" in r]
    runs.append((label or path, recs))

print("| run | step | minutes | SSIM @ 4 it (64 B) | @ 8 it (128 B) | PSNR @ 8 |")
print("|---|---|---|---|---|---|")
for label, recs in runs:
    for r in recs:
        print(f"| {label} | {r['step']} | {r['minutes']:.1f} | {r['ssim'][3]:.4f} | "
              f"{r['ssim'][-1]:.4f} | {r['psnr'][-1]:.2f} dB |")

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, key, xlabel in ((axes[0], "minutes", "wall minutes"), (axes[1], "step", "steps")):
    for n, (label, recs) in enumerate(runs):
        for k, style in ((4, "--"), (8, "-")):
            ax.plot([r[key] for r in recs], [r["ssim"][k - 1] for r in recs], style,
                    color=f"C{n}", marker=".", label=f"{label} @ {k} it")
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("Kodak 32x32 patch SSIM")
axes[0].set_ylim(0.6, None)
axes[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig(out_png, dpi=110)
