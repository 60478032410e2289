"""Codes in {-1, +1} <-> payload bytes, in the bit order of docs/format.md.

Each iteration's codes (C, h, w) are listed channel-major (index c*h*w + y*w + x), one bit
each (1 = +1, 0 = -1), most significant bit first, padded with 0 bits to a whole byte.
Missing bits of a truncated trailing iteration decode as 0, the mean of +-1.
"""
from __future__ import annotations

import numpy as np
from bitarray import bitarray

from .format import Layout


def codes_to_bytes(codes: np.ndarray) -> bytes:
    """(T, C, h, w) array of +-1 -> payload bytes, each iteration byte-aligned."""
    out = bytearray()
    for it in np.asarray(codes):
        bits = bitarray(endian="big")
        bits.pack((it.reshape(-1) > 0).astype(np.uint8).tobytes())
        out += bits.tobytes()
    return bytes(out)


def bytes_to_codes(payload: bytes, layout: Layout) -> np.ndarray:
    """Payload bytes -> (T, C, h, w) float32 codes in {-1, 0, +1}.

    T counts a trailing partial iteration, whose missing bits are 0. An empty payload gives
    T = 0. A payload longer than the layout allows is a FormatError.
    """
    B, L = layout.bits_per_iteration, layout.iteration_bytes
    whole, leftover = layout.split(len(payload))
    steps = whole + (1 if leftover else 0)
    codes = np.zeros((steps, B), np.float32)
    for t in range(steps):
        bits = bitarray(endian="big")
        bits.frombytes(payload[t * L: (t + 1) * L])
        n = min(len(bits), B)
        vals = np.frombuffer(bits[:n].unpack(), np.uint8)
        codes[t, :n] = vals.astype(np.float32) * 2 - 1
    return codes.reshape(steps, *layout.shape)
