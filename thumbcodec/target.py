"""Quality targets: the smallest file whose decoded image reaches a quality (issue #18).

``encode --ssim 0.90`` or ``--psnr 30`` instead of ``--bytes``. Every length is a file
(every prefix decodes), so this is a search over lengths, made through the codec's own
verbs only: each length tried is a real ``encode(bytes=n)`` (at the effort asked for)
decoded by ``decode``, and its quality measured against the input at the coded size.
Nothing is assumed about the file layout or about how a file of n bytes relates to one of
n + 1: the file written is a file that was measured.

The search is a bisection between a length that misses (below the smallest file, the
6-byte header, nothing does) and one that reaches: the file returned reaches the target
and the file one byte shorter was encoded and missed it. Quality grows with length in
practice, not by construction, so this is the shortest length at the first crossing the
bisection finds. When the largest file the weights make misses, that file is returned,
``reached`` False.

The coded size does not follow the budget here (``fit="auto"`` codes a photo at the
size it takes without a budget, 32 px on the longer side; images up to 128 px keep
theirs), so that every length is measured against the same reference.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import codec
from . import weights as W
from .errors import ThumbcodecError
from .format import HEADER_SIZE
from .metrics import PATCH, patch_ssim, psnr

METRICS = ("ssim", "psnr")


@dataclass
class Reached:
    data: bytes      # the file
    metric: str      # "ssim" or "psnr"
    value: float     # its decoded image's quality against the input at the coded size
    reached: bool    # value >= the target (else: the largest file, which misses)
    tried: int       # lengths encoded and measured


def measure(datas, refs, metric: str) -> list[float]:
    """Quality of decoded .rnnc files against (H, W, 3) uint8 references."""
    pics = codec.decode_batch(datas, backend="numpy" if len(datas) <= 16 else "auto")
    f = patch_ssim if metric == "ssim" else psnr
    return [float(f(np.asarray(p), r)) for p, r in zip(pics, refs)]


def check(metric: str, value) -> None:
    if metric not in METRICS:
        raise ThumbcodecError(f"unknown quality metric {metric!r}: use ssim or psnr")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ThumbcodecError(f"a quality target must be a number, got {value!r}")
    if metric == "ssim" and not 0 < value <= 1:
        raise ThumbcodecError(f"an SSIM target must be in (0, 1], got {value}")
    if metric == "psnr" and not 0 < value < 100:
        raise ThumbcodecError(f"a PSNR target must be in (0, 100) dB, got {value}")


def target(ssim=None, psnr=None) -> tuple[str, float]:
    """(metric, value) of exactly one of ``ssim`` and ``psnr``."""
    if (ssim is None) == (psnr is None):
        raise ThumbcodecError("give one quality target: ssim or psnr")
    metric, value = ("ssim", ssim) if ssim is not None else ("psnr", psnr)
    check(metric, value)
    return metric, float(value)


def encode_batch(images, *, ssim: float | None = None, psnr: float | None = None,
                 fit="auto", weights_id: int = W.DEFAULT_ID, max_pixels: int | None = None,
                 **kw) -> list[Reached]:
    """The smallest file whose decoded image reaches patch SSIM >= ``ssim`` (or PSNR >=
    ``psnr`` dB) for each image (PIL images or (H, W, 3) uint8 arrays). ``kw`` go to
    ``codec.encode_batch`` (effort, tune, device, backend, ...); images are encoded
    together where their trial lengths agree."""
    metric, value = target(ssim, psnr)
    refs, fits = [], []
    for im in images:
        a = codec._resized(im, fit, None, weights_id)
        if metric == "ssim" and min(a.shape[:2]) < PATCH:
            raise ThumbcodecError(f"an SSIM target needs an image of at least {PATCH}x{PATCH} "
                                  f"px (coded at {a.shape[1]}x{a.shape[0]}): use --psnr")
        refs.append(a)
        fits.append((a.shape[1], a.shape[0]))
    info = W.get_info(weights_id)
    top = [HEADER_SIZE + info.layout(*f).max_payload for f in fits]
    files: dict[tuple[int, int], tuple[bytes, float]] = {}   # (image, length) -> measured

    def run(lengths: dict[int, int]) -> None:
        """Encode and measure image i at length n for each i: n, together by (n, size)."""
        groups: dict = {}
        for i, n in lengths.items():
            groups.setdefault((n, fits[i]), []).append(i)
        for (n, size), idx in groups.items():
            datas = codec.encode_batch([refs[i] for i in idx], bytes=n, fit=size,
                                       weights_id=weights_id, max_pixels=max_pixels, **kw)
            for i, d, q in zip(idx, datas, measure(datas, [refs[i] for i in idx], metric)):
                files[i, n] = (d, q)

    run(dict(enumerate(top)))
    lo = {i: HEADER_SIZE - 1 for i in range(len(images))}     # misses (virtually)
    hi = {i: top[i] for i in range(len(images)) if files[i, top[i]][1] >= value}  # reaches
    while True:
        todo = {i: (lo[i] + hi[i]) // 2 for i in hi if hi[i] - lo[i] > 1}
        if not todo:
            break
        run(todo)
        for i, n in todo.items():
            if files[i, n][1] >= value:
                hi[i] = n
            else:
                lo[i] = n
    out = []
    for i in range(len(images)):
        n = hi.get(i, top[i])
        d, q = files[i, n]
        out.append(Reached(d, metric, q, i in hi, sum(1 for k in files if k[0] == i)))
    return out


def encode(image, *, ssim: float | None = None, psnr: float | None = None, **kw) -> Reached:
    """The smallest file of one image reaching a quality: see ``encode_batch``.

    >>> r = encode(img, ssim=0.9, effort=2); r.data, r.value, r.reached"""
    return encode_batch([image], ssim=ssim, psnr=psnr, **kw)[0]
