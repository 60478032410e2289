"""Building blocks of the conv/deconv LSTM codec (Toderici et al. 2016, §3.2 and §3.6).

- ``ConvLSTMCell``: an LSTM whose gates are convolutions. The stride applies to the
  input convolution only; the hidden-to-hidden convolution is stride 1. The four gate
  convolutions are fused into one convolution of 4x the channels.
- ``Binarizer``: 1x1 convolution -> tanh -> {-1, +1}. Stochastic in training
  (+1 with probability (1+x)/2, gradient passed straight through), ``sign`` at inference
  with sign(0) = +1. In training the bit is sign(x + noise * u), u uniform in [-1, 1):
  ``noise`` 1 gives the paper's stochastic bits, 0 the sign as at inference, and values
  between keep bits random only within that margin of 0 (training options, issue #19).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvLSTMCell(nn.Module):
    def __init__(self, cin: int, hidden: int, *, stride: int = 1, kernel: int = 3,
                 hidden_kernel: int = 1):
        super().__init__()
        self.hidden = hidden
        self.stride = stride
        self.conv_x = nn.Conv2d(cin, 4 * hidden, kernel, stride, kernel // 2)
        self.conv_h = nn.Conv2d(hidden, 4 * hidden, hidden_kernel, 1, hidden_kernel // 2,
                                bias=False)

    def init_state(self, x_shape, dtype, device):
        """Zero (h, c) for an input of shape (B, C, H, W)."""
        b, _, h, w = x_shape
        oh, ow = -(-h // self.stride), -(-w // self.stride)
        z = torch.zeros(b, self.hidden, oh, ow, dtype=dtype, device=device)
        return z, z

    def forward(self, x, state):
        h, c = state
        gates = self.conv_x(x) + self.conv_h(h)  # (B, 4*hidden, H', W')
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class _Sign(torch.autograd.Function):
    """sign with sign(0) = +1; gradient passed straight through."""

    @staticmethod
    def forward(ctx, x):
        return torch.where(x < 0, -1.0, 1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


class _NoisySign(torch.autograd.Function):
    """sign(x + noise * u), u uniform in [-1, 1) (noise 1, x in [-1, 1]: +1 with
    probability (1+x)/2); gradient passed straight through."""

    @staticmethod
    def forward(ctx, x, noise: float):
        u = 2 * torch.rand_like(x) - 1
        return torch.where(x - noise * u > 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class Binarizer(nn.Module):
    def __init__(self, cin: int, bits: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, bits, 1, bias=False)
        self.noise = 1.0  # in training; not a weight, not saved

    def forward(self, x):
        x = torch.tanh(self.conv(x))
        if self.training and self.noise > 0:
            return _NoisySign.apply(x, self.noise)
        return _Sign.apply(x)
