"""Encoder effort: search the bits against the decoder (issue #18).

The decoder is fixed and known to the encoder, and an iteration holds few bits (128 at
32x32), so the encoder can check which bits the decoder turns into the better picture.
For each iteration t, on the NumPy network (every install has it)::

    b   = the encoder's proposal b_t, bits past the budget set to 0 (what a decoder of a
          file cut inside the iteration sees, docs/format.md)
    repeat `rounds` times:
        decode b and every single-bit flip of its kept bits, as one batch, from the
        decoder state after iterations < t (kept + 1 images; see _Candidates)
        keep the flip that raises the objective of the 8-bit reconstruction most;
        stop when none raises it
    the decoder state advances with the chosen b, and the encoder goes on from the
    residual x - x_hat_t of the chosen b.

The objective (``tune``): "ssim" the project's patch SSIM (``metrics.patch_ssim``) of the
8-bit reconstruction against the input at the coded size (the default; images under 8 px
on a side use "psnr"); "psnr" minus the mean squared error of the 8-bit pixels; "loss"
the training loss of weights 2, MSE in model range + SSIM_SHARE * (1 - patch SSIM), which
keeps PSNR up where "ssim" alone costs 0.3-0.5 dB (issue #18).

Each image is searched on its own, with batches whose shape depends on that image only,
so an image gets the same bits alone or in a batch. ``rounds = 0`` is not a search:
the codec then keeps the ordinary encoder (effort 0, byte for byte).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ThumbcodecError
from .metrics import PATCH, patch_ssim
from .npmodel import _erf, _sigmoid, conv2d, pixel_shuffle
from .pixels import RANGE, from_model, pad_to, to_model

TUNES = ("ssim", "psnr", "loss")
SSIM_SHARE = 0.04  # the training loss of weights 2: L2 + 0.04 (1 - patch SSIM)
LEVELS = (0, 1, 3, 6, 12)  # search rounds K per effort level; provisional until issue #18
                           # measures gain per second (experiments/effort_probe.py)


def rounds_for(effort: int) -> int:
    """Search rounds of an effort level (0: the ordinary encoder)."""
    if not isinstance(effort, int) or not 0 <= effort < len(LEVELS):
        raise ThumbcodecError(f"effort must be 0..{len(LEVELS) - 1}, got {effort!r}")
    return LEVELS[effort]


def objective(recon_u8: np.ndarray, ref_u8: np.ndarray, tune: str = "ssim") -> np.ndarray:
    """Higher is better. (N, H, W, 3) uint8 reconstructions against one (H, W, 3) uint8
    reference -> (N,) float64."""
    if tune not in TUNES:
        raise ThumbcodecError(f"unknown tune {tune!r}: use one of {', '.join(TUNES)}")
    small = min(ref_u8.shape[:2]) < PATCH
    if tune == "ssim" and not small:
        return patch_ssim(recon_u8, ref_u8)
    d = recon_u8.astype(np.float64) - ref_u8.astype(np.float64)
    mse = (d * d).mean(axis=(-3, -2, -1))
    if tune == "loss":
        mse = mse * (2 * RANGE / 255) ** 2  # in model range, as the training loss
        return -mse if small else -(mse + SSIM_SHARE * (1 - patch_ssim(recon_u8, ref_u8)))
    return -mse


@dataclass
class Trace:
    """What the search did for one image: per iteration the encoder's proposal (bits past
    the budget zeroed), the chosen bits, the flips kept, and the objective of each."""
    codes: np.ndarray      # (T, C, h, w) chosen codes in {-1, 0, +1}
    proposed: np.ndarray   # (T, C, h, w) the encoder's proposals from the same states
    flips: list            # flips kept per iteration
    score_proposed: list   # objective of the proposal, per iteration
    score_chosen: list     # objective of the chosen bits, per iteration


CANDIDATE_PIXELS = 256 * 32 * 32  # candidate images decoded at once (memory grows with them)


class _Candidates:
    """Decodes a base code b and its single-bit flips as one batch, from one image's
    decoder state, with what the flips share computed once.

    The decoder's first two layers (a 1x1 convolution, then the first ConvLSTM's 3x3
    input convolution) are affine in the bits, so the gates of b with bit (c, y, x)
    flipped are those of b plus -2 b[c, y, x] times one 3x3 kernel K_c placed at (y, x).
    The hidden-state convolutions see the same previous state for every candidate: the
    state stays at batch 1 and broadcasts. Scores from here rank candidates; the chosen
    bits are decoded again by ``NumpyCodec._decode_step`` itself.
    """

    def __init__(self, codec):
        p = codec.p
        self.codec, self.p = codec, p
        wx = p["decoder.stages.0.conv_x.weight"]                        # (G, D, 3, 3)
        wd = p["decoder.conv.weight"][:, :, 0, 0]                       # (D, C)
        self.k = np.einsum("gdij,dc->cgij", wx, wd).astype(np.float32)  # (C, G, 3, 3)
        self.pad = wx.shape[-1] // 2

    def gates_x(self, b):
        """Input part of the first ConvLSTM's gates for codes b (N, C, h, w)."""
        p = self.p
        x = conv2d(b, p["decoder.conv.weight"], p["decoder.conv.bias"])
        return conv2d(x, p["decoder.stages.0.conv_x.weight"], p["decoder.stages.0.conv_x.bias"])

    def flipped(self, base_gates, b, bits):
        """Gates of b with each of ``bits`` (flat indices) flipped: (len(bits), G, h, w)."""
        _, nc, hh, ww = b.shape
        out = np.repeat(base_gates, len(bits), 0)
        kp = self.pad
        for j, k in enumerate(bits):
            c, y, x = np.unravel_index(k, (nc, hh, ww))
            y0, y1 = max(0, y - kp), min(hh, y + kp + 1)
            x0, x1 = max(0, x - kp), min(ww, x + kp + 1)
            # output (Y, X) takes input (y, x) through kernel tap (y - Y + kp, x - X + kp)
            ker = self.k[c][:, kp + y - (y1 - 1): kp + y - y0 + 1][:, ::-1]
            ker = ker[:, :, kp + x - (x1 - 1): kp + x - x0 + 1][:, :, ::-1]
            out[j, :, y0:y1, x0:x1] += np.float32(-2.0 * b[0, c, y, x]) * ker
        return out

    def decode(self, gates, states):
        """Decoder output for first-LSTM input gates (N, G, h, w) and one image's states;
        the rest as ``NumpyCodec._decode_step``."""
        codec, p, cfg = self.codec, self.p, self.codec.cfg
        h, c = states[0]
        if h is not None:
            gates = gates + conv2d(h, p["decoder.stages.0.conv_h.weight"])
        i, f, g, o = np.split(gates, 4, axis=1)
        c = _sigmoid(i) * np.tanh(g) if c is None else _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        x = pixel_shuffle(_sigmoid(o) * np.tanh(c))
        for i in range(1, len(cfg.dec)):
            if i < cfg.dec_lstm:
                x, _ = codec._lstm(f"decoder.stages.{i}", x, states[i])
            else:
                x = conv2d(x, p[f"decoder.stages.{i}.0.weight"], p[f"decoder.stages.{i}.0.bias"])
                x = 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0, dtype=np.float32)))
            x = pixel_shuffle(x)
        return np.tanh(conv2d(x, p["decoder.out.weight"], p["decoder.out.bias"]))


def _score(codec, b, dec, x_hat, t, image, tune):
    """Exact: the objective of codes b (1, C, h, w) decoded by the decoder's own step,
    with the decoder state and reconstruction after it."""
    d, dec = codec._decode_step(b, dec)
    x_hat = codec._recon(x_hat, d, t)
    height, width = image.shape[:2]
    return float(objective(from_model(x_hat)[:, :height, :width], image, tune)[0]), dec, x_hat


def search_one(codec, image: np.ndarray, iterations: int, rounds: int,
               keep_bits: int | None = None, tune: str = "ssim") -> Trace:
    """Search the codes of one (H, W, 3) uint8 image for ``iterations`` steps on a
    ``npmodel.NumpyCodec``. ``keep_bits``: bits of the last iteration a file keeps (None:
    all); the others are 0 and are not searched."""
    height, width = image.shape[:2]
    cand = _Candidates(codec)
    x = to_model(pad_to(image, codec.cfg.stride)[None])           # (1, 3, H', W')
    chunk = max(1, CANDIDATE_PIXELS // (x.shape[2] * x.shape[3]))
    enc = [(None, None)] * (len(codec.cfg.enc) - 1)
    dec = [(None, None)] * codec.cfg.dec_lstm
    x_hat, r = None, x
    codes, proposed, flips, s_prop, s_chosen = [], [], [], [], []
    for t in range(iterations):
        b_prop, enc = codec._encode_step(codec._enc_in(r, t), enc)  # (1, C, h, w)
        n_bits = b_prop.size
        kept = n_bits if keep_bits is None or t < iterations - 1 else min(keep_bits, n_bits)
        b_prop = b_prop.copy()
        b_prop.reshape(n_bits)[kept:] = 0.0
        b = b_prop.copy()
        n_flips = 0
        for _ in range(rounds):
            base = cand.gates_x(b)
            scores = []
            for s0 in range(-1, kept, chunk):                      # -1: b itself first
                g = cand.flipped(base, b, range(max(0, s0), min(kept, s0 + chunk)))
                if s0 < 0:
                    g = np.concatenate([base, g])
                d = cand.decode(g, dec)
                prev = None if x_hat is None else np.broadcast_to(x_hat, d.shape)
                y = from_model(codec._recon(prev, d, t))[:, :height, :width]
                scores.append(objective(y, image, tune))
            score = np.concatenate(scores)
            best = int(np.argmax(score[1:]))                       # ties: the lowest bit
            if not score[1 + best] > score[0]:
                break
            b.reshape(n_bits)[best] *= -1.0
            n_flips += 1
        first, dec_p, x_hat_p = _score(codec, b_prop, dec, x_hat, t, image, tune)
        chosen, dec, x_hat = (first, dec_p, x_hat_p) if n_flips == 0 else \
            _score(codec, b, dec, x_hat, t, image, tune)
        if chosen < first:      # the batched scores can differ in the last float bits
            b, n_flips, chosen, dec, x_hat = b_prop.copy(), 0, first, dec_p, x_hat_p
        codes.append(b[0])
        proposed.append(b_prop[0])
        flips.append(n_flips)
        s_prop.append(first)
        s_chosen.append(chosen)
        r = x - x_hat
    return Trace(np.stack(codes), np.stack(proposed), flips, s_prop, s_chosen)


def search_codes(codec, images, iterations: int, rounds: int, keep_bits: int | None = None,
                 tune: str = "ssim") -> np.ndarray:
    """Searched codes (T, B, C, h, w) for images of one size ((H, W, 3) uint8 each), as
    ``Runner.compress`` returns them; bits of the last iteration past ``keep_bits`` are 0."""
    if tune not in TUNES:
        raise ThumbcodecError(f"unknown tune {tune!r}: use one of {', '.join(TUNES)}")
    return np.stack([search_one(codec, im, iterations, rounds, keep_bits, tune).codes
                     for im in images], axis=1)
