import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from thumbcodec import format as F
from thumbcodec.errors import FormatError, LimitError

DOC = Path(__file__).resolve().parent.parent / "docs" / "format.md"


@given(st.integers(1, F.MAX_SIDE), st.integers(1, F.MAX_SIDE), st.integers(1, 31))
def test_header_round_trip(w, h, wid):
    hdr = F.Header(w, h, wid)
    data = hdr.pack()
    assert len(data) == F.HEADER_SIZE
    assert F.parse_header(data, max_pixels=F.MAX_SIDE ** 2) == hdr


def test_header_golden_bytes():
    # 32x32, weights 1: magic 8E 52, version 1 << 5 | 1 = 0x21, (31, 31) in 12+12 bits
    assert F.Header(32, 32, 1, version=1).pack() == bytes.fromhex("8e52 21 01 f0 1f")
    assert F.Header(4096, 1, 31, version=1).pack() == bytes.fromhex("8e52 3f ff f0 00")
    # version 2 (the default): 2 << 5 | 2 = 0x42
    assert F.Header(32, 32, 2, version=2).pack() == bytes.fromhex("8e52 42 01 f0 1f")


@pytest.mark.parametrize("data, msg", [
    (b"", "header cut short: 0 of 6 bytes"),
    (b"GIF89a"[:3], "wrong magic"),
    (b"\x8e", "header cut short"),
    (b"\x8eR\x21\x01", "header cut short"),
    (b"PNG\x00\x00\x00", "wrong magic"),
    (b"\x8eR\x61\x01\xf0\x1f", "unknown .rnnc version 3 (this decoder reads 1 and 2)"),
    (b"\x8eR\xe1\x01\xf0\x1f", "unknown .rnnc version 7"),
    (b"\x8eR\x01\x01\xf0\x1f", "unknown .rnnc version 0"),
    (b"\x8eR\x20\x01\xf0\x1f", "invalid weights id 0"),
])
def test_bad_headers(data, msg):
    with pytest.raises(FormatError, match=re.escape(msg)):
        F.parse_header(data)


def test_pixel_limit():
    data = F.Header(4096, 4096, 1).pack()
    with pytest.raises(LimitError, match="exceeds the limit"):
        F.parse_header(data)
    assert F.parse_header(data, max_pixels=4096 * 4096).width == 4096


def test_header_pack_refuses_bad_fields():
    for bad in [F.Header(0, 5, 1), F.Header(5, 4097, 1), F.Header(5, 5, 0), F.Header(5, 5, 32)]:
        with pytest.raises(FormatError):
            bad.pack()


def test_payload_layout():
    lay = F.layout(32, 32, stride=8, bits=8)  # 4 x 4 positions x 8 channels
    assert (lay.shape, lay.bits_per_iteration, lay.iteration_bytes) == ((8, 4, 4), 128, 16)
    assert lay.split(0) == (0, 0)
    assert lay.split(58) == (3, 80)
    assert lay.split(16 * 16) == (16, 0)
    with pytest.raises(FormatError, match="longer than 16 iterations"):
        lay.split(16 * 16 + 1)
    assert F.Layout((3, 1, 4), 16).split(5) == (2, 8)  # 2-byte iterations, 12 bits each
    # weights trained for fewer iterations cap the payload; none may exceed MAX_ITERATIONS
    assert F.layout(32, 32, 8, 8, max_iterations=8).split(128) == (8, 0)
    with pytest.raises(FormatError, match="longer than 8 iterations"):
        F.layout(32, 32, 8, 8, max_iterations=8).split(129)
    assert F.layout(32, 32, 8, 8, max_iterations=99).max_iterations == F.MAX_ITERATIONS
    assert F.layout(7, 33, 8, 8).shape == (8, 5, 1)  # ceil(33/8) rows, ceil(7/8) columns


def test_doc_table_matches_constants():
    text = DOC.read_text()
    header = text[text.index("## Header"):text.index("## Payload")]
    rows = re.findall(r"^\| (\d+) \| (\d+) \| .+? \| (.+?) \|", header, re.M)
    offsets = [(int(o), int(s)) for o, s, _ in rows]
    assert offsets == [(0, 2), (2, 1), (3, 3)]
    assert sum(s for _, s in offsets) == F.HEADER_SIZE
    assert "0x8E 0x52" in rows[0][2] and F.MAGIC == bytes([0x8E, 0x52])
    assert f"{F.HEADER_SIZE}-byte header" in text
    assert f"1–{F.MAX_SIDE}" in text
    assert f"{F.MAX_ITERATIONS} iterations" in text
    assert f"{F.MAX_PIXELS:,}" in text
    assert f"weights id 1–{F.MAX_WEIGHTS_ID}" in text
