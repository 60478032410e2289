"""The same network in NumPy, for inference without importing torch (fast start-up).

It reads the weights .npz directly and mirrors model.py layer by layer: convolutions as
one matrix product over sliding windows (im2col), the fused-gate ConvLSTM, depth-to-space,
exact GELU (erf), tanh, the sign binarizer and the additive variant's gains. Decoded pixels
stay within +-1 of the torch path; encoded bits match except where a binarizer input lies
within rounding of zero.
"""
from __future__ import annotations

import numpy as np

from .config import Config

_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x):
    """erf to about 1e-7 (Abramowitz & Stegun 7.1.26); enough for 8-bit output."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * a)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return s * (1.0 - poly * np.exp(-a * a))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def conv2d(x, w, b=None, stride=1):
    """(B, C, H, W) * (O, C, k, k), 'same' padding k//2 -> (B, O, H', W')."""
    o, c, k, _ = w.shape
    if k == 1:
        xs = x[:, :, ::stride, ::stride]
        y = np.einsum("bchw,oc->bohw", xs, w[:, :, 0, 0], optimize=True)
    else:
        p = k // 2
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
        win = win[:, :, ::stride, ::stride]                  # (B, C, H', W', k, k)
        bsz, _, ho, wo = win.shape[:4]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(bsz * ho * wo, c * k * k)
        y = (cols @ w.reshape(o, c * k * k).T).reshape(bsz, ho, wo, o).transpose(0, 3, 1, 2)
    if b is not None:
        y = y + b[None, :, None, None]
    return np.ascontiguousarray(y, dtype=np.float32)


def pixel_shuffle(x, r=2):
    b, c, h, w = x.shape
    x = x.reshape(b, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // (r * r), h * r, w * r)


class NumpyCodec:
    """compress / decompress with the interface of model.RNNCodec, on NumPy arrays."""

    def __init__(self, cfg: Config, arrays: dict[str, np.ndarray]):
        self.cfg = cfg
        self.p = {k: v.astype(np.float32) for k, v in arrays.items()}

    def _lstm(self, name, x, state, stride=1):
        h, c = state
        gates = conv2d(x, self.p[f"{name}.conv_x.weight"], self.p[f"{name}.conv_x.bias"], stride)
        if h is not None:
            gates += conv2d(h, self.p[f"{name}.conv_h.weight"])
        i, f, g, o = np.split(gates, 4, axis=1)
        c = _sigmoid(i) * np.tanh(g) if c is None else _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h, (h, c)

    def _encode_step(self, r, states):
        p = self.p
        x = conv2d(r, p["encoder.conv.weight"], p["encoder.conv.bias"], 2)
        new = []
        for i, st in enumerate(states):
            x, st = self._lstm(f"encoder.lstms.{i}", x, st, 2)
            new.append(st)
        z = np.tanh(conv2d(x, p["encoder.binarizer.conv.weight"]))
        return np.where(z < 0, -1.0, 1.0).astype(np.float32), new

    def _decode_step(self, b, states):
        p = self.p
        x = conv2d(b, p["decoder.conv.weight"], p["decoder.conv.bias"])
        new = []
        for i in range(len(self.cfg.dec)):
            if i < self.cfg.dec_lstm:
                x, st = self._lstm(f"decoder.stages.{i}", x, states[i])
                new.append(st)
            else:
                x = conv2d(x, p[f"decoder.stages.{i}.0.weight"], p[f"decoder.stages.{i}.0.bias"])
                x = 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0, dtype=np.float32)))
            x = pixel_shuffle(x)
        return np.tanh(conv2d(x, p["decoder.out.weight"], p["decoder.out.bias"])), new

    def _gain(self, t: int):
        log_gain = self.p["log_gain"]
        return np.exp(log_gain[min(t, len(log_gain) - 1)])

    def _enc_in(self, r, t: int):
        return r / self._gain(t) if self.cfg.additive else r

    def _recon(self, prev, d, t: int):
        if not self.cfg.additive:
            return d
        step = d * self._gain(t)
        return step if prev is None else prev + step

    def unroll(self, x=None, iterations: int = 0, codes=None):
        """The one iteration loop: encodes ``x`` for ``iterations`` steps (or decodes
        ``codes``), yielding (b_t, x_hat_t) per step, as ``model.RNNCodec.unroll``."""
        enc = [(None, None)] * (len(self.cfg.enc) - 1)
        dec = [(None, None)] * self.cfg.dec_lstm
        x_hat, r = None, x
        for t in range(iterations if codes is None else len(codes)):
            if codes is None:
                b, enc = self._encode_step(self._enc_in(r, t), enc)
            else:
                b = np.asarray(codes[t], np.float32)
            d, dec = self._decode_step(b, dec)
            x_hat = self._recon(x_hat, d, t)
            yield b, x_hat
            if codes is None:
                r = x - x_hat

    def compress(self, x, iterations: int):
        """(B, 3, H, W) float32 in model range -> (T, B, bits, h, w) +-1."""
        return np.stack([b for b, _ in self.unroll(x, iterations)])

    def decompress(self, codes, progressive: bool = False):
        """(T, B, bits, h, w) codes -> (B, 3, H, W) float32, or the list of the T
        reconstructions with ``progressive``."""
        recons = [x_hat for _, x_hat in self.unroll(codes=codes)]
        return recons if progressive else recons[-1]
