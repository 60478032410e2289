import numpy as np
from hypothesis import given, settings, strategies as st

from thumbcodec.bitplanes import bytes_to_codes, codes_to_bytes


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
    assert np.array_equal(bytes_to_codes(data, (c, h, w)), codes)
    for n in range(len(data) + 1):
        got = bytes_to_codes(data[:n], (c, h, w)).reshape(-1, B)
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
