"""The encoder's bit search (thumbcodec/effort.py, issue #18) on the NumPy network."""
import numpy as np
import pytest

import thumbcodec
from thumbcodec import engine, effort
from thumbcodec.bitplanes import codes_to_bytes
from thumbcodec.format import Header
from thumbcodec.pixels import from_model, to_model

from conftest import gradient


@pytest.fixture(scope="module")
def codec():
    return engine.load(2, "cpu", "numpy")


def _file(image, codes, keep=None):
    """.rnnc bytes of (T, C, h, w) codes, cut to ``keep`` payload bytes."""
    payload = codes_to_bytes(codes)
    return Header(image.shape[1], image.shape[0], 2).pack() + payload[:keep]


def _score(codec, image, codes, tune):
    """Objective of the last iteration of ``codes``, decoded by the ordinary decoder."""
    y = codec.decompress(codes[:, None])
    return effort.objective(from_model(y)[:, :image.shape[0], :image.shape[1]], image, tune)[0]


def test_zero_rounds_is_the_ordinary_encoder(codec, thumbs):
    im = thumbs[0]
    ref = codec.compress(to_model(im[None]), 3)[:, 0]
    assert np.array_equal(effort.search_one(codec, im, 3, 0).codes, ref)


def test_candidate_gates_match_decoding_the_flipped_codes(codec):
    rng = np.random.default_rng(1)
    b = np.sign(rng.normal(size=(1, 8, 3, 5))).astype(np.float32)
    _, st = codec._decode_step(np.sign(rng.normal(size=b.shape)).astype(np.float32),
                               [(None, None)] * 2)
    cand = effort._Candidates(codec)
    for states in ([(None, None)] * 2, st):
        d = cand.decode(cand.flipped(cand.gates_x(b), b, range(b.size)), states)
        flipped = np.repeat(b, b.size, 0).reshape(b.size, b.size)
        flipped[np.arange(b.size), np.arange(b.size)] *= -1
        d_ref, _ = codec._decode_step(flipped.reshape(b.size, *b.shape[1:]), states)
        assert np.abs(d - d_ref).max() < 1e-5


@pytest.mark.parametrize("tune", ["ssim", "psnr"])
def test_search_never_lowers_the_objective_of_an_iteration(codec, thumbs, tune):
    flips = 0
    for im in [thumbs[2], gradient(16, 16, seed=3)]:
        tr = effort.search_one(codec, im, 2, 2, tune=tune)
        for t in range(2):
            mine = _score(codec, im, tr.codes[: t + 1], tune)
            theirs = _score(codec, im, np.concatenate([tr.codes[:t], tr.proposed[t: t + 1]]), tune)
            assert mine >= theirs
            assert mine == pytest.approx(tr.score_chosen[t])
        flips += sum(tr.flips)
        # the first iteration starts from the ordinary encoder's state: it can only gain
        plain = codec.compress(to_model(im[None]), 1)[:, 0]
        assert np.array_equal(tr.proposed[0], plain[0])
    assert flips > 0  # the encoder's proposals are not all local optima


def test_files_decode_with_the_ordinary_decoder(codec, thumbs):
    im = thumbs[1]
    tr = effort.search_one(codec, im, 2, 1)
    out = np.asarray(thumbcodec.decode(_file(im, tr.codes), backend="numpy"))
    ref = from_model(codec.decompress(tr.codes[:, None]))[0]
    assert np.array_equal(out, ref)


def test_alone_equals_in_a_batch(codec):
    ims = [gradient(16, 16, seed=s) for s in (10, 11, 12)]
    batch = effort.search_codes(codec, ims, 2, 1)
    for j, im in enumerate(ims):
        assert np.array_equal(batch[:, j], effort.search_codes(codec, [im], 2, 1)[:, 0])


def test_budget_ending_inside_an_iteration(codec):
    im = gradient(24, 16, seed=5)            # 3x2 positions x 8 channels = 48 bits, 6 bytes
    keep_bits = 16                           # a file of 6 + 6 + 2 bytes
    tr = effort.search_one(codec, im, 2, 3, keep_bits=keep_bits)
    assert not tr.codes[1].reshape(-1)[keep_bits:].any()
    assert np.all(np.abs(tr.codes[1].reshape(-1)[:keep_bits]) == 1)
    # the file cut after 8 payload bytes decodes to what the search scored
    data = _file(im, tr.codes, keep=8)
    out = np.asarray(thumbcodec.decode(data, backend="numpy"))[None]
    assert effort.objective(out, im, "ssim")[0] == pytest.approx(tr.score_chosen[1])
    assert tr.score_chosen[1] >= tr.score_proposed[1]
    # the first proposal is the ordinary encoder's first iteration
    plain = thumbcodec.encode(im, bytes=6 + 8, backend="numpy")
    assert _file(im, tr.proposed[:1]) == plain[: 6 + 6]


def test_objective_tunes():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    noisy = np.clip(ref.astype(int) + rng.integers(-9, 10, ref.shape), 0, 255).astype(np.uint8)
    both = np.stack([ref, noisy])
    for tune in effort.TUNES:
        s = effort.objective(both, ref, tune)
        assert s[0] > s[1]
    assert effort.objective(both[:, :4, :4], ref[:4, :4], "ssim")[0] == 0  # < 8 px: -MSE
    with pytest.raises(thumbcodec.ThumbcodecError):
        effort.objective(both, ref, "butteraugli")


def test_codec_effort():
    im = gradient(16, 16, seed=7)            # 2x2 positions x 8 channels: 4 bytes per iteration
    for nbytes in (6 + 8, 6 + 6):            # whole iterations; a cut inside the second
        plain = thumbcodec.encode(im, bytes=nbytes, backend="numpy")
        assert thumbcodec.encode(im, bytes=nbytes, backend="numpy", effort=0) == plain
        searched = thumbcodec.encode(im, bytes=nbytes, effort=1)
        assert len(searched) == nbytes and searched[:10] != plain[:10]
        other = gradient(16, 16, seed=8)
        assert searched == thumbcodec.encode_batch([other, im], bytes=nbytes, effort=1)[1]
        first = [np.asarray(thumbcodec.decode(d[:10], backend="numpy"))[None]
                 for d in (plain, searched)]
        assert effort.objective(first[1], im)[0] > effort.objective(first[0], im)[0]
    with pytest.raises(thumbcodec.ThumbcodecError, match="effort must be"):
        thumbcodec.encode(im, effort=len(effort.LEVELS))
    with pytest.raises(thumbcodec.ThumbcodecError, match="unknown tune"):
        thumbcodec.encode(im, effort=1, tune="butteraugli")
