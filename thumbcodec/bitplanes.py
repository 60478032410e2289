"""Codes in {-1, +1} <-> payload bytes, in the bit order of docs/format.md.

Each iteration's codes (C, h, w) are listed channel-major (index c*h*w + y*w + x), one bit
each (1 = +1, 0 = -1), most significant bit first, padded with 0 bits to a whole byte.
Missing bits of a truncated trailing iteration decode as 0, the mean of +-1.
"""
from __future__ import annotations

import numpy as np

from .format import Layout


def codes_to_bytes(codes: np.ndarray) -> bytes:
    """(T, C, h, w) array of +-1 -> payload bytes, each iteration byte-aligned."""
    codes = np.asarray(codes)
    bits = (codes.reshape(len(codes), int(np.prod(codes.shape[1:]))) > 0).astype(np.uint8)
    return np.packbits(bits, axis=1, bitorder="big").tobytes()  # pads each row with 0 bits


def bytes_to_codes(payload: bytes, layout: Layout) -> np.ndarray:
    """Payload bytes -> (T, C, h, w) float32 codes in {-1, 0, +1}.

    T counts a trailing partial iteration, whose missing bits are 0. An empty payload gives
    T = 0. A payload longer than the layout allows is a FormatError.
    """
    B, L = layout.bits_per_iteration, layout.iteration_bytes
    whole, leftover = layout.split(len(payload))
    steps = whole + (1 if leftover else 0)
    codes = np.zeros((steps, B), np.float32)
    raw = np.frombuffer(payload, np.uint8)
    for t in range(steps):
        vals = np.unpackbits(raw[t * L: (t + 1) * L], bitorder="big")[:B]
        codes[t, :len(vals)] = vals.astype(np.float32) * 2 - 1
    return codes.reshape(steps, *layout.shape)
