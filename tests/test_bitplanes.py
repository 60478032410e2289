import numpy as np
from hypothesis import given, settings, strategies as st

from thumbcodec.bitplanes import bytes_to_codes, codes_to_bytes
from thumbcodec.format import Layout


def _codes(rng, t, shape):
    return np.where(rng.random((t, *shape)) < 0.5, -1.0, 1.0).astype(np.float32)


@settings(max_examples=60)
@given(st.integers(0, 5), st.integers(1, 9), st.integers(1, 4), st.integers(1, 4),
       st.integers(0, 2**32 - 1))
def test_round_trip_and_every_prefix(t, c, h, w, seed):
    codes = _codes(np.random.default_rng(seed), t, (c, h, w))
    data = codes_to_bytes(codes)
    B = c * h * w
    L = -(-B // 8)
    assert len(data) == t * L
    assert np.array_equal(bytes_to_codes(data, Layout((c, h, w), 16)), codes)
    for n in range(len(data) + 1):
        got = bytes_to_codes(data[:n], Layout((c, h, w), 16)).reshape(-1, B)
        whole, rest = divmod(n, L)
        assert len(got) == whole + (rest > 0)
        flat = codes.reshape(-1, B)
        assert np.array_equal(got[:whole], flat[:whole])
        if rest:
            k = min(8 * rest, B)
            assert np.array_equal(got[whole, :k], flat[whole, :k])
            assert not got[whole, k:].any()


def test_bit_order_is_channel_major_msb_first():
    codes = -np.ones((1, 2, 2, 4), np.float32)  # C=2, h=2, w=4: 16 bits
    codes[0, 0, 0, 0] = 1   # bit 0 -> 0x80 of byte 0
    codes[0, 0, 1, 3] = 1   # bit 7 -> 0x01 of byte 0
    codes[0, 1, 0, 1] = 1   # bit 9 -> 0x40 of byte 1
    assert codes_to_bytes(codes) == bytes([0x81, 0x40])


def test_hand_built_golden_file():
    """tests/vectors/golden.rnnc, built by hand from docs/format.md (see the comments)."""
    from pathlib import Path

    from thumbcodec.format import HEADER_SIZE, Header, layout, parse_header

    data = (Path(__file__).parent / "vectors" / "golden.rnnc").read_bytes()
    # header: magic 8E 52, version 1 / weights 1 = 0x21, width-1 = 15, height-1 = 7
    assert data[:HEADER_SIZE] == bytes.fromhex("8e522100f007")
    assert parse_header(data) == Header(16, 8, 1)
    # 16x8 at stride 8 with 8 channels: 2 positions x 8 channels = 16 bits per iteration
    it1 = np.array([[[1 if (c + x) % 2 == 0 else -1 for x in range(2)]] for c in range(8)])
    it2 = np.ones((8, 1, 2))
    it2[7] = -1                       # 0xFF 0xFC
    it3 = np.zeros((8, 1, 2))         # truncated: only its first byte, 0x0F, is present
    it3[:4] = -1
    it3[2:4] = [[[1, 1]]]             # bits 0000 1111: channels 0,1 -> -1; channels 2,3 -> +1
    expected = np.stack([it1, it2, it3]).astype(np.float32)
    got = bytes_to_codes(data[HEADER_SIZE:], layout(16, 8, stride=8, bits=8))
    assert np.array_equal(got, expected)
    assert data[HEADER_SIZE:HEADER_SIZE + 4] == codes_to_bytes(expected[:2])
