"""The .rnnc container: header and payload layout (docs/format.md). No torch here.

    offset 0  2 bytes  magic 0x8E 0x52
    offset 2  1 byte   version (bits 7-5) | weights id (bits 4-0)
    offset 3  3 bytes  width-1 (12 bits) | height-1 (12 bits), big-endian
    offset 6  ...      payload: version 1, iterations of ceil(B/8) bytes each;
                       version 2, one arithmetic-coded stream of the same bits (entropy.py)

The layout of a payload (bits per iteration, bytes per iteration, how many iterations it
may hold) follows from the header and the registry entry of its weights id, in one
function: ``layout``. Nothing here loads a network.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import FormatError, LimitError

MAGIC = b"\x8eR"
VERSION = 2                 # what new files are written as
VERSIONS = (1, 2)           # what this decoder reads
HEADER_SIZE = 6
MAX_SIDE = 4096             # 12-bit size fields store side - 1
MAX_WEIGHTS_ID = 31         # 5-bit field; id 0 is never assigned
MAX_VERSION = 7             # 3-bit field
MAX_ITERATIONS = 16         # longest payload a v1 file may carry, in iterations
MAX_PIXELS = 1024 * 1024    # default decoder guard against absurd sizes; can be raised


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    weights_id: int
    version: int = 1  # the codec names the version it writes (VERSION for new files)

    def pack(self) -> bytes:
        if not 1 <= self.version <= MAX_VERSION:
            raise FormatError(f"version must be 1..{MAX_VERSION}, got {self.version}")
        if not 1 <= self.weights_id <= MAX_WEIGHTS_ID:
            raise FormatError(f"weights id must be 1..{MAX_WEIGHTS_ID}, got {self.weights_id}")
        check_size(self.width, self.height, max_pixels=MAX_SIDE * MAX_SIDE)
        w, h = self.width - 1, self.height - 1
        return MAGIC + bytes([self.version << 5 | self.weights_id,
                              w >> 4, (w & 0xF) << 4 | h >> 8, h & 0xFF])


def check_size(width: int, height: int, max_pixels: int | None = None) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise FormatError(f"image size {width}x{height} is outside 1..{MAX_SIDE} per side")
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if width * height > limit:
        raise LimitError(f"image of {width}x{height} = {width * height} pixels exceeds the "
                         f"limit of {limit} pixels (raise it with max_pixels)")


def parse_header(data: bytes, max_pixels: int | None = None) -> Header:
    """Validate and read the 6-byte header; raises FormatError with a one-line reason."""
    if len(data) < HEADER_SIZE:
        if data[: len(MAGIC)] != MAGIC[: len(data)]:
            raise FormatError("not a .rnnc file (wrong magic)")
        raise FormatError(f"header cut short: {len(data)} of {HEADER_SIZE} bytes")
    if data[:2] != MAGIC:
        raise FormatError("not a .rnnc file (wrong magic)")
    version, weights_id = data[2] >> 5, data[2] & 0x1F
    if version not in VERSIONS:
        raise FormatError(f"unknown .rnnc version {version} (this decoder reads "
                          f"{' and '.join(map(str, VERSIONS))})")
    if weights_id == 0:
        raise FormatError("invalid weights id 0")
    width = (data[3] << 4 | data[4] >> 4) + 1
    height = ((data[4] & 0xF) << 8 | data[5]) + 1
    check_size(width, height, max_pixels)
    return Header(width, height, weights_id, version)


@dataclass(frozen=True)
class Layout:
    """How the payload of an image of a given size is cut, for one weights id."""
    shape: tuple[int, int, int]  # codes per iteration: (bit channels, rows, columns)
    max_iterations: int          # the most a payload may hold

    @property
    def bits_per_iteration(self) -> int:
        c, h, w = self.shape
        return c * h * w

    @property
    def iteration_bytes(self) -> int:
        return math.ceil(self.bits_per_iteration / 8)

    @property
    def max_payload(self) -> int:
        return self.max_iterations * self.iteration_bytes

    def split(self, payload_len: int) -> tuple[int, int]:
        """(whole iterations, leftover bits of a trailing partial iteration) in a version-1
        payload of ``payload_len`` bytes; FormatError if it is longer than allowed (for
        both versions: a version-2 payload is never longer than version 1's)."""
        if payload_len > self.max_payload:
            raise FormatError(f"payload of {payload_len} bytes is longer than "
                              f"{self.max_iterations} iterations of {self.iteration_bytes} bytes")
        whole, rest = divmod(payload_len, self.iteration_bytes)
        return whole, min(8 * rest, self.bits_per_iteration)


def layout(width: int, height: int, stride: int, bits: int,
           max_iterations: int = MAX_ITERATIONS) -> Layout:
    """The payload layout of a width x height image for weights whose code stride is
    ``stride`` pixels with ``bits`` channels, trained for ``max_iterations`` (the registry
    entry's fields): ceil(W/s) x ceil(H/s) x bits codes per iteration, at most
    min(max_iterations, MAX_ITERATIONS) iterations."""
    return Layout((bits, math.ceil(height / stride), math.ceil(width / stride)),
                  min(max_iterations, MAX_ITERATIONS))
