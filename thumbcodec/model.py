"""The conv/deconv LSTM codec of Toderici et al. 2016 (§3.6).

Data flow for one iteration t (x in model range [-0.9, 0.9], r_0 = x)::

    r_{t-1} --Encoder(LSTM state)--> Binarizer --> b_t in {-1,+1}^(bits x H/s x W/s)
    b_t --Decoder(LSTM state)--> d_t   (through tanh)
    x_hat_t = d_t                       one-shot (the default; weights id 1)
    x_hat_t = x_hat_{t-1} + g_t d_t     scaled-additive (Config.additive; the encoder
                                        then sees r_{t-1} / g_t; g_t learned, x_hat_0 = 0)
    r_t = x - x_hat_t

Any prefix of b_1, b_2, ... decodes; missing bits are 0 (the mean of +-1).
Hyper-parameters live in ``Config``, which is stored with the weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import numpy as np
import torch.nn.functional as F

from .config import Config
from .layers import Binarizer, ConvLSTMCell
from .pixels import from_model, to_model


class Encoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.conv = nn.Conv2d(3, cfg.enc[0], 3, 2, 1)
        chans = list(cfg.enc)
        self.lstms = nn.ModuleList(
            ConvLSTMCell(cin, cout, stride=2, hidden_kernel=cfg.hidden_kernel)
            for cin, cout in zip(chans[:-1], chans[1:]))
        self.binarizer = Binarizer(chans[-1], cfg.bits)

    def init_state(self, x):
        states, shape = [], x.shape
        shape = (shape[0], 0, -(-shape[2] // 2), -(-shape[3] // 2))
        for cell in self.lstms:
            states.append(cell.init_state(shape, x.dtype, x.device))
            shape = (shape[0], 0, -(-shape[2] // 2), -(-shape[3] // 2))
        return states

    def forward(self, r, states):
        h = self.conv(r)
        new = []
        for cell, st in zip(self.lstms, states):
            h, st = cell(h, st)
            new.append(st)
        return self.binarizer(h), new


class Decoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.conv = nn.Conv2d(cfg.bits, cfg.dec_in, 1)
        self.stages = nn.ModuleList()
        cin = cfg.dec_in
        for i, width in enumerate(cfg.dec):
            if i < cfg.dec_lstm:
                self.stages.append(ConvLSTMCell(cin, width, hidden_kernel=cfg.hidden_kernel))
            else:
                self.stages.append(nn.Sequential(nn.Conv2d(cin, width, 3, 1, 1), nn.GELU()))
            cin = width // 4  # after depth-to-space x2
        self.n_lstm = cfg.dec_lstm
        self.out = nn.Conv2d(cin, 3, 3, 1, 1)

    def init_state(self, b):
        states = []
        n, _, h, w = b.shape
        for cell in self.stages[: self.n_lstm]:
            states.append(cell.init_state((n, 0, h, w), b.dtype, b.device))
            h, w = 2 * h, 2 * w
        return states

    def forward(self, b, states):
        x = self.conv(b)
        new = []
        for i, stage in enumerate(self.stages):
            if i < self.n_lstm:
                x, st = stage(x, states[i])
                new.append(st)
            else:
                x = stage(x)
            x = F.pixel_shuffle(x, 2)
        return torch.tanh(self.out(x)), new


GAINS = 16  # learned gains of the additive variant; later iterations reuse the last one


class RNNCodec(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        if cfg.additive:
            self.log_gain = nn.Parameter(torch.tensor([1.0] + [0.5] * (GAINS - 1)).log())

    def _enc_in(self, r, t: int):
        """What the encoder sees at iteration t: the residual (divided by g_t if additive)."""
        return r / self.log_gain[min(t, GAINS - 1)].exp() if self.cfg.additive else r

    def _recon(self, prev, d, t: int):
        """The reconstruction after iteration t from the previous one and the decoder output."""
        if not self.cfg.additive:
            return d
        step = d * self.log_gain[min(t, GAINS - 1)].exp()
        return step if prev is None else prev + step

    def unroll(self, x=None, iterations: int = 0, codes=None, mask_at=None, keep=None,
               detach_masked: bool = False):
        """The one iteration loop. Encodes ``x`` for ``iterations`` steps (or decodes the
        given ``codes``, (T, B, bits, h, w)), yielding per step (b_t, x_hat_t, masked_t).

        ``masked_t`` (at step ``mask_at`` only, in training) is the reconstruction decoded
        from b_t with its bits beyond ``keep[i]`` (in file order) zeroed, as a truncated file
        would be; that extra decode does not change the states used afterwards. With
        ``detach_masked`` its loss trains the decoder only (no gradient into the encoder).
        """
        enc_s = self.encoder.init_state(x) if codes is None else None
        dec_s, x_hat, r = None, None, x
        for t in range(iterations if codes is None else len(codes)):
            if codes is None:
                b, enc_s = self.encoder(self._enc_in(r, t), enc_s)
            else:
                b = codes[t]
            if dec_s is None:
                dec_s = self.decoder.init_state(b)
            masked = None
            if t == mask_at:
                flat = b.flatten(1).detach() if detach_masked else b.flatten(1)
                idx = torch.arange(flat.shape[1], device=b.device)
                mb = torch.where(idx[None] < keep[:, None], flat, torch.zeros_like(flat))
                masked = self._recon(x_hat, self.decoder(mb.view_as(b), dec_s)[0], t)
            d, dec_s = self.decoder(b, dec_s)
            x_hat = self._recon(x_hat, d, t)
            yield b, x_hat, masked
            if codes is None:
                r = x - x_hat

    def forward(self, x, iterations: int, mask_at: int | None = None, keep=None,
                detach_masked: bool = False):
        """Training pass: (the reconstructions after each of ``iterations`` steps, the
        truncated-code reconstruction at ``mask_at`` or None)."""
        outs, masked = [], None
        for _, x_hat, m in self.unroll(x, iterations, mask_at=mask_at, keep=keep,
                                     detach_masked=detach_masked):
            outs.append(x_hat)
            masked = m if m is not None else masked
        return outs, masked

    @torch.no_grad()
    def compress(self, x, iterations: int):
        """(B, 3, H, W) in model range, H and W multiples of stride -> (T, B, bits, h, w) +-1."""
        return torch.stack([b for b, _, _ in self.unroll(x, iterations)])

    @torch.no_grad()
    def decompress(self, codes, progressive: bool = False):
        """(T, B, bits, h, w) codes in {-1, 0, +1} -> images (B, 3, H, W) in [-1, 1].

        With ``progressive`` returns the list of the T reconstructions, one per iteration.
        """
        recons = [x_hat for _, x_hat, _ in self.unroll(codes=codes)]
        return recons if progressive else recons[-1]


def to_input(batch_u8: np.ndarray, device) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float tensor in model range (``pixels.to_model``)."""
    return torch.from_numpy(to_model(batch_u8)).to(device)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) tensor in model range -> (B, H, W, 3) uint8 (``pixels.from_model``)."""
    return from_model(x.detach().float().cpu().numpy())
