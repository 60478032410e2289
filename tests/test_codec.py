import numpy as np
import pytest
from PIL import Image

import thumbcodec
from thumbcodec import HEADER_SIZE
from thumbcodec.errors import FormatError, LimitError, ThumbcodecError, WeightsError
from thumbcodec.format import Header
from thumbcodec.weights import DEFAULT_ID, get_info
from thumbcodec.metrics import psnr

from conftest import gradient


@pytest.mark.parametrize("fmt", [1, 2])
def test_bytes_budget_is_exact(thumbs, fmt):
    for t in thumbs:
        for n in [6, 7, 22, 40, 64, 100, 128]:
            data = thumbcodec.encode(t, bytes=n, format=fmt)
            assert len(data) == n
        # beyond the trained iterations the file stops growing: at most all of them x 16 B
        its = get_info(DEFAULT_ID).max_iterations
        data = thumbcodec.encode(t, bytes=1000, format=fmt)
        assert len(data) <= HEADER_SIZE + its * 16 and thumbcodec.info(data).iterations == its
        assert (len(data) == HEADER_SIZE + its * 16) == (data[2] >> 5 == 1)


def test_version_2_holds_more_bits_in_the_same_bytes(thumbs):
    for t in thumbs:
        for n in [22, 32, 64, 96]:
            i1 = thumbcodec.info(thumbcodec.encode(t, bytes=n, format=1))
            i2 = thumbcodec.info(thumbcodec.encode(t, bytes=n))
            bits = lambda i: i.iterations * i.bits_per_iteration + i.leftover_bits
            assert i1.version == 1 and bits(i2) >= bits(i1)


def test_version_2_iterations_and_offsets(thumbs):
    data = thumbcodec.encode(thumbs[0], iterations=4)
    i = thumbcodec.info(data)
    assert (i.version, i.iterations, i.leftover_bits) == (2, 4, 0)
    assert len(i.iteration_offsets) == 4 and i.iteration_offsets[-1] <= i.payload_bytes <= 64
    # cut at each offset: exactly that many whole iterations, one byte less: fewer
    for k, off in enumerate(i.iteration_offsets, 1):
        assert thumbcodec.info(data[:HEADER_SIZE + off]).iterations == k
        assert thumbcodec.info(data[:HEADER_SIZE + off - 1]).iterations == k - 1
    with pytest.raises(ThumbcodecError, match="format must be 1 or 2"):
        thumbcodec.encode(thumbs[0], format=3)
    with pytest.raises(WeightsError, match="no context table"):
        thumbcodec.encode(thumbs[0], weights_id=1, format=2)
    assert thumbcodec.encode(thumbs[0], weights_id=1, bytes=22)[2] >> 5 == 1


def test_iterations_and_info(thumbs):
    data = thumbcodec.encode(thumbs[0], iterations=4, format=1)
    i = thumbcodec.info(data)
    assert (i.width, i.height, i.weights_id, i.header_bytes) == (32, 32, DEFAULT_ID, HEADER_SIZE)
    assert (i.payload_bytes, i.iterations, i.leftover_bits, i.bits_per_iteration) == (64, 4, 0, 128)
    i = thumbcodec.info(data[:40])
    assert (i.iterations, i.leftover_bits) == (2, 8 * 2)
    assert i.iteration_offsets == [16, 32]


@pytest.mark.parametrize("w, h", [(32, 32), (48, 40), (100, 75), (1, 1), (7, 33)])
def test_round_trip_sizes(w, h):
    img = gradient(w, h)
    out = thumbcodec.decode(thumbcodec.encode(img, iterations=8))
    assert out.size == (w, h) and out.mode == "RGB"


def test_pil_and_array_inputs_agree(thumbs):
    a = thumbs[1]
    assert thumbcodec.encode(a, bytes=64) == thumbcodec.encode(Image.fromarray(a), bytes=64)


def test_every_truncation_decodes_and_whole_iterations_improve(thumbs):
    data = thumbcodec.encode(thumbs[0], iterations=8, format=1)
    for n in range(HEADER_SIZE, len(data) + 1):
        assert thumbcodec.decode(data[:n]).size == (32, 32)
    # quality never drops as whole iterations are added (mean over the examples)
    datas = [thumbcodec.encode(t, iterations=8, format=1) for t in thumbs]
    curve = []
    for k in range(1, 9):
        outs = thumbcodec.decode_batch([d[: HEADER_SIZE + 16 * k] for d in datas])
        curve.append(np.mean([psnr(t, np.asarray(o)) for t, o in zip(thumbs, outs)]))
    assert all(b >= a - 0.05 for a, b in zip(curve, curve[1:])), curve
    assert curve[-1] > curve[0] + 3, curve


def test_batch_matches_single(thumbs):
    datas = thumbcodec.encode_batch(thumbs + [gradient(48, 40)], bytes=64)
    for t, d in zip(thumbs, datas):
        assert d == thumbcodec.encode(t, bytes=64)
    outs = thumbcodec.decode_batch(datas)
    for d, o in zip(datas, outs):
        assert np.abs(np.asarray(o, int) - np.asarray(thumbcodec.decode(d), int)).max() <= 1


def test_decode_iterations_argument(thumbs):
    data = thumbcodec.encode(thumbs[0], iterations=8, format=1)
    a = thumbcodec.decode(data, iterations=3)
    b = thumbcodec.decode(data[: HEADER_SIZE + 48])
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_header_only_file_decodes():
    data = Header(20, 10, 1).pack()
    assert thumbcodec.decode(data).size == (20, 10)


def test_decoder_errors():
    with pytest.raises(FormatError, match="wrong magic"):
        thumbcodec.decode(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(WeightsError, match="unknown weights id 30"):
        thumbcodec.decode(Header(32, 32, 30).pack())
    with pytest.raises(LimitError):
        thumbcodec.decode(Header(2000, 2000, 1).pack())
    with pytest.raises(FormatError, match="payload"):
        thumbcodec.decode(Header(32, 32, 1).pack() + bytes(17 * 16))
    assert thumbcodec.decode(Header(1100, 1000, 1).pack(), max_pixels=1_100_000).size == (1100, 1000)


def test_encoder_argument_errors(thumbs):
    with pytest.raises(ThumbcodecError, match="below the 6-byte header"):
        thumbcodec.encode(thumbs[0], bytes=5)
    with pytest.raises(ThumbcodecError, match="either bytes or iterations"):
        thumbcodec.encode(thumbs[0], bytes=64, iterations=2)
    with pytest.raises(ThumbcodecError, match="iterations must be"):
        thumbcodec.encode(thumbs[0], iterations=99)
    with pytest.raises(ThumbcodecError, match="uint8"):
        thumbcodec.encode(np.zeros((4, 4), np.float32))


def test_write_read(tmp_path, thumbs):
    p = tmp_path / "a.rnnc"
    thumbcodec.write(p, thumbs[0], bytes=64)
    assert p.stat().st_size == 64
    assert thumbcodec.read(p).size == (32, 32)
    assert not [q for q in tmp_path.iterdir() if q.name.endswith(".tmp")]


def test_pillow_plugin(tmp_path, thumbs):
    p = tmp_path / "a.rnnc"
    thumbcodec.write(p, thumbs[2], bytes=64)
    with Image.open(p) as im:
        assert im.format == "RNNC" and im.size == (32, 32) and im.mode == "RGB"
        got = np.asarray(im.convert("RGB"))
    assert np.array_equal(got, np.asarray(thumbcodec.read(p)))
    bad = tmp_path / "b.rnnc"
    bad.write_bytes(b"\x8eR\x61\x01\xf0\x1f")
    with pytest.raises(Exception):
        Image.open(bad)
