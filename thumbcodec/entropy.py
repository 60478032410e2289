"""A binary arithmetic coder whose every byte prefix decodes, for exact byte budgets.

The payload coder of format version 2 (docs/format.md, issue #15).

The coder
---------
The stream is a number v in [0, 1), written as bytes, most significant first. Each bit
splits the current interval [low, low + R) (integers at a scale of S bits: the interval is
[low / 2^S, (low + R) / 2^S)) in two, by its probability p of being 1, in units of
1/4096 (PROB_BITS = 12; 1 <= p <= 4095):

    R0 = (R >> 12) * (4096 - p)      bit 0: [low, low + R0)     bit 1: [low + R0, low + R)

and while R < 2^24 the interval is scaled by a byte (low <<= 8, R <<= 8, S += 8). It
starts at low = 0, R = 2^32, S = 32, so R stays in [2^24, 2^32]: every step is integer
arithmetic on values below 2^44, exact in C (uint64) and in JavaScript numbers.

Prefixes. k bytes b_1..b_k stand for every stream that starts with them: the values in
J = [0.b_1..b_k, 0.b_1..b_k + 256^-k). A bit is *determined* by them when J lies wholly in
one half of the interval split for that bit; the decoder returns bits while they are
determined and stops at the first that is not (or at the number of bits it was asked
for). It runs two ordinary range decoders side by side, one reading the missing bytes as
0x00 (the least value of J) and one as 0xFF (its greatest); a bit is determined when both
agree. Every bit returned is the encoder's: J of a longer prefix lies inside J of a shorter
one, so more bytes never take a bit back.

Exact budgets and termination. Told N bytes, the encoder writes the N-byte stream that
determines the longest run of its bits: the bits s_1..s_n with n as large as possible such
that some N-byte J lies inside the interval of s_1..s_n and *straddles* the split point of
bit n + 1 (so that bit is not determined; decoding stops at exactly n bits, and never
returns a bit the encoder did not code), or lies anywhere inside the interval of all the
bits. There is one such J at most for each n (the one holding the split point), so the
stream is deterministic; past the bits it holds, its bytes follow from that choice. With no
budget, the encoder writes the shortest stream that determines all its bits. What the
termination costs is measured by ``experiments/entropy_probe.py``.

Why not constriction. ``constriction`` (PyPI, Rust wheels, also WebAssembly) has a range
coder and ANS, well made, but (checked with 0.5.0): its compressed data are 32-bit words,
not bytes; a cut stream decodes to as many symbols as asked, right or wrong, with no way to
know which are determined (decoding 300 Bernoulli bits from 6 of 7 words returned 300 bits,
11 of them wrong); it has no encoder that fills an exact budget; and its models take
floating-point probabilities. The prefix rule and the budget are the coder's termination,
the part a library owns, so this ~100-line coder is our own, and the NumPy-only install
keeps no compiled dependency.

The context model
-----------------
``ContextModel``: a static table of p (12-bit integers, fitted by ``tools/fit_context.py``
for one weights id, stored beside its weights file) indexed by a small context of each code
bit b[t][c][y][x] (iteration t, channel c; coded in the order of format version 1: t, then
c, y, x):

    iteration         t (the table's last row for t beyond it)   T rows
    channel           c                                        C
    previous          b[t-1][c][y][x]   (none at t = 0)        3   (none, 0, 1)
    left              b[t][c][y][x-1]   (none at x = 0)        3
    up                b[t][c][y-1][x]   (none at y = 0)        3
    previous channel  b[t][c-1][y][x]   (none at c = 0)        3

All of these precede the bit in coding order, so the decoder knows them. Richer contexts
(diagonal neighbours, two iterations back, all earlier channels at the position) were
measured and saved at most 0.5% more on held-out thumbnails (experiments/entropy_probe.py);
an exact iteration row instead of iteration buckets saved 0.6-0.9% more.

Before the code bits the stream holds one flag bit, coded with P(1) = 1/4096 (it costs
0.0004 bits when 0): 1 would announce an alpha channel, the next format feature; this
decoder refuses it. (``CodeStream``: flag, then the code bits.)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROB_BITS = 12
ONE = 1 << PROB_BITS     # probabilities are integers 1..ONE-1, in units of 1/ONE
START_BITS = 32          # the interval starts as [0, 2^32) at scale 32
BOTTOM = 1 << 24         # R is kept in [BOTTOM, 2^32]


def _split(r: int, p1: int) -> int:
    """R0, the width of bit 0's part of an interval of width r, when P(1) = p1/ONE."""
    return (r >> PROB_BITS) * (ONE - p1)


def _cut(low: int, r: int, scale: int, nbytes: int, split: int | None = None) -> bytes | None:
    """The nbytes-byte stream J that lies in [low, low + r) (at ``scale`` bits) and, when
    ``split`` is given, straddles low + split (holds values on both sides of it); None if
    there is none."""
    shift = scale - 8 * nbytes
    if shift <= 0:  # J is no wider than a unit: it fits, and cannot straddle a unit point
        return None if split is not None else (low << -shift).to_bytes(nbytes, "big")
    if split is None:
        j = -(-low >> shift)                       # the first J starting inside
    else:
        m = low + split
        if m & ((1 << shift) - 1) == 0:            # the split point is a byte boundary
            return None
        j = m >> shift                             # the J holding the split point
        if j << shift < low:
            return None
    if (j + 1) << shift > low + r:
        return None
    return j.to_bytes(nbytes, "big")


class ShortStreamError(ValueError):
    """``encode(bits, probs, nbytes, upto)``: no stream of exactly nbytes bytes determines
    at most ``upto`` bits (they code shorter, and the bits after them are not given)."""


def encode(bits, probs, nbytes: int | None = None, upto: int | None = None) -> tuple[bytes, int]:
    """Code ``bits`` (0/1), bit i with P(1) = probs[i]/ONE. Returns (stream, n), the stream
    determining exactly bits[:n] (decoding stops there: its bytes straddle the split of bit
    n + 1), or all of ``bits`` (the decoder must stop there by itself):

    - with ``nbytes``: exactly nbytes bytes, n as large as fits and at most ``upto``
      (ShortStreamError if bits[:upto] code in fewer bytes and upto < len(bits));
    - without: the shortest stream with n = ``upto`` (default: all the bits); in the rare
      case that no stream straddles the split of the bit after (a split on a byte
      boundary), it holds the following bits of ``bits`` too, up to the first that can.
    """
    bits = [int(b) for b in bits]
    probs = [int(p) for p in probs]
    upto = len(bits) if upto is None else upto
    if len(probs) != len(bits):
        raise ValueError(f"{len(bits)} bits but {len(probs)} probabilities")
    if any(not 0 < p < ONE for p in probs):
        raise ValueError(f"probabilities must be 1..{ONE - 1}")
    if nbytes is not None and nbytes < 0:
        raise ValueError("nbytes must be >= 0")
    if not 0 <= upto <= len(bits):
        raise ValueError(f"upto must be 0..{len(bits)}")
    low, r, scale = 0, 1 << START_BITS, START_BITS
    best: tuple[bytes, int] | None = None
    for n in range(len(bits) + 1):
        r0 = _split(r, probs[n]) if n < len(bits) else None
        if nbytes is not None:
            if scale > 8 * nbytes or r0 is None:
                # (at a scale of at most 8N bits, an N-byte J cannot straddle: go on)
                cand = _cut(low, r, scale, nbytes, r0)
                if cand is not None:
                    best = (cand, n)
                elif _cut(low, r, scale, nbytes) is None:
                    break  # no N-byte J fits in this interval, nor in any inside it
            if n == upto:
                break
        elif n >= upto:
            for k in range(scale // 8 + 1):  # the shortest J that stops decoding here
                if (data := _cut(low, r, scale, k, r0)) is not None:
                    return data, n
        if n == len(bits):
            break
        if bits[n]:
            low, r = low + r0, r - r0
        else:
            r = r0
        while r < BOTTOM:
            low, r, scale = low << 8, r << 8, scale + 8
    if best is None:
        # Only with nbytes and upto < len(bits): bits[:upto] code in so few bytes that an
        # nbytes-byte stream would determine bits past upto too (one cannot stop there).
        raise ShortStreamError(f"{upto} bits code in fewer than {nbytes} bytes")
    return best


class Decoder:
    """Decodes the bits that a byte prefix determines, one at a time: ``bit(p)`` returns 0
    or 1, or None from the first bit the bytes do not determine on."""

    def __init__(self, data: bytes):
        self.data, self.pos = bytes(data), 0
        self.r = 1 << START_BITS
        self.lo = self.hi = 0   # (least, greatest value of J) - low, at the current scale
        self.stopped = False
        for _ in range(START_BITS // 8):
            self._shift()

    def _shift(self) -> None:
        a, b = (self.data[self.pos],) * 2 if self.pos < len(self.data) else (0x00, 0xFF)
        self.pos += 1
        self.lo, self.hi = self.lo << 8 | a, self.hi << 8 | b

    def bit(self, p1: int) -> int | None:
        if self.stopped:
            return None
        r0 = _split(self.r, p1)
        if self.hi < r0:
            bit, self.r = 0, r0
        elif self.lo >= r0:
            bit, self.r = 1, self.r - r0
            self.lo, self.hi = self.lo - r0, self.hi - r0
        else:
            self.stopped = True
            return None
        while self.r < BOTTOM:
            self.r <<= 8
            self._shift()
        return bit


def decode(data: bytes, probs) -> list[int]:
    """The bits ``data`` determines, for fixed probabilities (at most len(probs) bits)."""
    dec, out = Decoder(data), []
    for p in probs:
        b = dec.bit(int(p))
        if b is None:
            break
        out.append(b)
    return out


# --- the context model of the code bits ------------------------------------------------

ALPHA_P1 = 1   # P(alpha flag = 1) in 1/ONE: the flag that opens every version-2 stream


@dataclass(frozen=True)
class ContextModel:
    """P(bit = 1) in 1/ONE units for each context: p1[t, c, prev, left, up, prevch], each
    of the last four 0 (none), 1 (bit 0) or 2 (bit 1); t beyond the table uses its last row."""
    p1: np.ndarray        # (T, C, 3, 3, 3, 3) integers 1..ONE-1
    weights_id: int = 0

    @property
    def channels(self) -> int:
        return self.p1.shape[1]

    def to_dict(self) -> dict:
        return {"format": "thumbcodec context model", "weights_id": self.weights_id,
                "prob_bits": PROB_BITS, "shape": list(self.p1.shape),
                "index": "iteration, channel, previous iteration, left, up, previous channel",
                "p1": self.p1.reshape(-1).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ContextModel":
        if d.get("prob_bits") != PROB_BITS:
            raise ValueError(f"context model has prob_bits {d.get('prob_bits')}, not {PROB_BITS}")
        p1 = np.asarray(d["p1"], np.int64).reshape(d["shape"])
        if p1.ndim != 6 or p1.shape[0] < 1 or p1.shape[2:] != (3, 3, 3, 3):
            raise ValueError(f"context model of shape {p1.shape}")
        if p1.min() < 1 or p1.max() >= ONE:
            raise ValueError(f"context model probabilities outside 1..{ONE - 1}")
        return cls(p1, int(d.get("weights_id", 0)))

    def save(self, path) -> None:
        from .files import write_atomic
        write_atomic(path, (json.dumps(self.to_dict(), separators=(",", ":")) + "\n").encode(),
                     overwrite=True)

    @classmethod
    def load(cls, path) -> "ContextModel":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def contexts(self, bits: np.ndarray) -> np.ndarray:
        """(T, C, h, w) bits 0/1 -> (T, C, h, w) flat indices into p1."""
        b = np.asarray(bits, np.int64)
        T, C, h, w = b.shape
        def shifted(axis):  # the neighbour along ``axis`` (one back), 0 where there is none
            out = np.zeros_like(b)
            src = [slice(None)] * 4
            dst = [slice(None)] * 4
            src[axis], dst[axis] = slice(0, -1), slice(1, None)
            out[tuple(dst)] = b[tuple(src)] + 1
            return out
        t = np.minimum(np.arange(T), self.p1.shape[0] - 1).reshape(T, 1, 1, 1)
        c = np.arange(C).reshape(1, C, 1, 1)
        idx = t * C + c
        for axis in (0, 3, 2, 1):  # previous iteration, left, up, previous channel
            idx = idx * 3 + shifted(axis)
        return idx

    def probs(self, bits: np.ndarray) -> np.ndarray:
        """P(1) of each bit of (T, C, h, w) bits 0/1, in coding order (flat)."""
        if np.shape(bits)[1] != self.channels:
            raise ValueError(f"codes have {np.shape(bits)[1]} channels, the model {self.channels}")
        return self.p1.reshape(-1)[self.contexts(bits)].reshape(-1)

    def encode(self, codes: np.ndarray, nbytes: int | None = None,
               nbits: int | None = None) -> tuple[bytes, int]:
        """(T, C, h, w) codes +-1 -> (stream, code bits it determines): the alpha flag (0),
        then the codes, as ``encode``: exactly ``nbytes`` bytes holding as many bits as
        fit, at most ``nbits``; or the shortest stream holding ``nbits`` (default: all).
        A stream holding all the codes stops the decoder only if they are all the
        iterations it reads (the weights' maximum): give ``nbits`` otherwise."""
        bits = (np.asarray(codes) > 0).astype(np.int64)
        upto = None if nbits is None else 1 + min(nbits, bits.size)
        stream, n = encode(np.concatenate([[0], bits.reshape(-1)]),
                           np.concatenate([[ALPHA_P1], self.probs(bits)]), nbytes, upto)
        return stream, max(0, n - 1)

    def decode(self, data: bytes, shape, iterations: int) -> tuple[np.ndarray, int]:
        """The codes a stream determines: ((T, C, h, w) float32 in {-1, 0, +1}, bits
        determined), T the iterations touched (at most ``iterations``); the bits not
        determined are 0. ValueError if the stream's alpha flag is 1."""
        C, h, w = shape
        if C != self.channels:
            raise ValueError(f"codes have {C} channels, the model {self.channels}")
        last = self.p1.shape[0] - 1
        dec = Decoder(data)
        flag = dec.bit(ALPHA_P1)
        if flag == 1:
            raise ValueError("alpha channel (version 2 flag) is not supported by this decoder")
        B = C * h * w
        v = [0] * (iterations * B)   # the bits decoded so far, stored as 1 + bit (0: none)
        n = 0
        if flag is not None:
            # the loop of Decoder.bit, inlined on Python ints and lists: the hot path of
            # every version-2 decode (about 1 microsecond a bit)
            p1 = self.p1.reshape(-1).tolist()
            r, lo, hi, stopped = dec.r, dec.lo, dec.hi, False
            src, pos, size = dec.data, dec.pos, len(dec.data)
            for t in range(iterations):
                base_t = min(t, last) * C
                for c in range(C):
                    row = (base_t + c) * 81
                    for y in range(h):
                        for x in range(w):
                            i = n
                            ctx = row + (v[i - B] * 27 if t else 0) \
                                + (v[i - 1] * 9 if x else 0) + (v[i - w] * 3 if y else 0) \
                                + (v[i - h * w] if c else 0)
                            r0 = (r >> PROB_BITS) * (ONE - p1[ctx])
                            if hi < r0:
                                r, b = r0, 1
                            elif lo >= r0:
                                r, lo, hi, b = r - r0, lo - r0, hi - r0, 2
                            else:
                                stopped = True
                                break
                            v[i] = b
                            n += 1
                            while r < BOTTOM:
                                r <<= 8
                                if pos < size:
                                    lo, hi = lo << 8 | src[pos], hi << 8 | src[pos]
                                else:
                                    lo, hi = lo << 8, hi << 8 | 0xFF
                                pos += 1
                        if stopped:
                            break
                    if stopped:
                        break
                if stopped:
                    break
        bits = (np.asarray(v, np.int64) - 1).clip(0).reshape(iterations, C, h, w)
        return self._codes(bits, n), n

    def iteration_offsets(self, data: bytes, shape, iterations: int,
                          n_all: int | None = None) -> list[int]:
        """For each whole iteration the stream determines, the length of the shortest prefix
        of ``data`` that determines it (prefixes determine more bits with every byte, so a
        binary search over lengths). ``n_all``: the bits ``data`` determines, if known."""
        B = int(np.prod(shape))
        if n_all is None:
            n_all = self.decode(data, shape, iterations)[1]
        out: list[int] = []
        lo = 0
        for t in range(1, n_all // B + 1):
            a, b = lo, len(data)          # the shortest prefix holding t * B bits is in (a, b]
            while b - a > 1:
                m = (a + b) // 2
                if self.decode(data[:m], shape, t)[1] >= t * B:
                    b = m
                else:
                    a = m
            out.append(b)
            lo = b - 1
        return out

    @staticmethod
    def _codes(bits: np.ndarray, n: int) -> np.ndarray:
        T, C, h, w = bits.shape
        B = C * h * w
        flat = (bits.reshape(-1).astype(np.float32) * 2 - 1)
        flat[n:] = 0
        return flat[: -(-n // B) * B].reshape(-1, C, h, w)
