"""Model hyper-parameters: one dataclass, stored with the weights. No torch here."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Config:
    bits: int = 8                  # bit channels per code position per iteration
    enc: tuple = (32, 48, 96)      # conv (stride 2) then one ConvLSTM (stride 2) per entry
    dec_in: int = 64               # width of the decoder's first (1x1) convolution
    dec: tuple = (192, 64, 64)     # decoder stage widths, from the code grid upwards;
                                   # each stage is followed by depth-to-space x2
    dec_lstm: int = 2              # the first dec_lstm stages are ConvLSTMs, the rest
                                   # (high resolution) are plain convolutions: cheaper
    hidden_kernel: int = 1         # kernel of the hidden-to-hidden convolutions
    additive: bool = False         # False: one-shot (the decoder predicts the whole image
                                   # each iteration); True: scaled-additive (it predicts a
                                   # residual scaled by a learned per-iteration gain)

    @property
    def stride(self) -> int:
        """Pixels per code position along each axis: 2 ** number of encoder stages."""
        return 2 ** len(self.enc)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
