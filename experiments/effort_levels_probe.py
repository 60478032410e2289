"""Candidate settings for effort level 2 on 72 Kodak thumbnails (issue #18), quiet machine.

    python -m experiments.effort_levels_probe

Output of 2026-11-26 (training paused), per candidate: SSIM and PSNR at 64 and 128 B
payload, gain over effort 0, batched ms per thumbnail:

    Level(2, 3, 2, 12)  64B 0.8072 (+0.0114) 26.27 dB (+0.10) 68 ms | 128B 0.8536 (+0.0099) 27.42 dB (+0.09) 72 ms
    Level(2, 3, 2, 20)  64B 0.8072 (+0.0114) 26.27 dB (+0.10) 66 ms | 128B 0.8537 (+0.0100) 27.42 dB (+0.09) 71 ms
    Level(3, 3, 2, 16)  64B 0.8084 (+0.0127) 26.24 dB (+0.07) 85 ms | 128B 0.8546 (+0.0109) 27.38 dB (+0.05) 89 ms
    Level(2, 4, 3, 16)  64B 0.8084 (+0.0126) 26.28 dB (+0.11) 78 ms | 128B 0.8542 (+0.0105) 27.41 dB (+0.08) 88 ms
"""
import time, numpy as np, thumbcodec
from thumbcodec import effort
from thumbcodec.metrics import patch_ssim, psnr
from training.data import kodak_thumbs
th = kodak_thumbs("../shared/data/kodak", crops_per_image=2)
L = effort.Level
base = {}
for cand in [L(0,0), L(2,3,2,12), L(2,3,2,20), L(3,3,2,16), L(2,4,3,16)]:
    effort.LEVELS = (L(0, 0), cand)
    row = []
    for p in (64, 128):
        t0 = time.perf_counter()
        d = thumbcodec.encode_batch(list(th), bytes=6 + p, fit=None, effort=0 if cand.rounds == 0 else 1, tune="loss")
        dt = (time.perf_counter() - t0) / len(th) * 1000
        o = np.stack([np.asarray(x) for x in thumbcodec.decode_batch(d)])
        s, q = float(patch_ssim(o, th).mean()), float(psnr(o, th).mean())
        if cand.rounds == 0: base[p] = (s, q)
        row.append(f"{p}B {s:.4f} ({s-base[p][0]:+.4f}) {q:.2f} dB ({q-base[p][1]:+.2f}) {dt:.0f} ms")
    print(cand, " | ".join(row), flush=True)
