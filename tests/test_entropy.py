"""The prefix-decodable binary arithmetic coder and its context model (thumbcodec/entropy.py)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from thumbcodec import entropy as E


def _stream(rng, n, kind):
    """Bits and 12-bit probabilities: fair, skewed (well predicted), or mispredicted."""
    if kind == "random":
        return rng.integers(0, 2, n), rng.integers(1, E.ONE, n)
    q = rng.choice([0.7, 0.95, 0.995])
    p1 = np.full(n, max(1, int(round((1 - q) * E.ONE))))
    bits = (rng.random(n) < (1 - q if kind == "skewed" else q)).astype(int)
    return bits, p1


def _check_prefixes(data, bits, probs, n):
    """Every byte prefix decodes to a prefix of the bits, monotone, all n at the end."""
    last = 0
    for k in range(len(data) + 1):
        got = E.decode(data[:k], probs)
        assert got == list(bits[: len(got)]), f"prefix of {k} bytes returned a wrong bit"
        assert len(got) >= last, f"prefix of {k} bytes returned fewer bits than {k - 1}"
        last = len(got)
    assert last == n


@pytest.mark.parametrize("kind", ["random", "skewed", "mispredicted"])
def test_every_prefix_of_a_whole_stream(kind):
    rng = np.random.default_rng(["random", "skewed", "mispredicted"].index(kind))
    for _ in range(12):
        bits, probs = _stream(rng, int(rng.integers(0, 600)), kind)
        data, n = E.encode(bits, probs)
        assert n == len(bits)
        _check_prefixes(data, bits, probs, n)
        # the shortest stream: one byte less no longer determines every bit
        if len(data):
            assert len(E.decode(data[:-1], probs)) < len(bits)


@pytest.mark.parametrize("kind", ["random", "skewed", "mispredicted"])
def test_exact_budget_holds_the_most_bits(kind):
    rng = np.random.default_rng(10 + ["random", "skewed", "mispredicted"].index(kind))
    bits, probs = _stream(rng, 1000, kind)
    full, _ = E.encode(bits, probs)
    prev = 0
    for nbytes in list(range(0, 40)) + [len(full) - 1, len(full), len(full) + 3]:
        data, n = E.encode(bits, probs, nbytes)
        assert len(data) == nbytes
        assert E.decode(data, probs) == list(bits[:n])      # exactly n bits, all right
        if nbytes < 40:
            _check_prefixes(data, bits, probs, n)
        if nbytes <= len(full):
            assert n >= prev
            prev = n
    assert E.encode(bits, probs, len(full))[1] == len(bits)
    assert E.encode(bits, probs, len(full) - 1)[1] < len(bits)


def test_budget_longer_than_the_bits_up_to_a_cut():
    """With a budget and upto < len(bits): bits that code in fewer bytes than the budget
    cannot stop at upto in exactly that many bytes (the stream would determine the next
    bits too): ShortStreamError, not a wrong stream."""
    rng = np.random.default_rng(3)
    bits, probs = _stream(rng, 800, "random")
    short, _ = E.encode(bits, probs, upto=100)
    with pytest.raises(E.ShortStreamError):
        E.encode(bits, probs, len(short) + 20, upto=100)
    data, n = E.encode(bits, probs, len(short) + 20)        # all the bits may go on
    assert len(data) == len(short) + 20 and n > 100
    data, n = E.encode(bits, probs, len(short) - 1, upto=100)
    assert len(data) == len(short) - 1 and n < 100


def test_budget_is_nearly_the_information_content():
    """At a budget, the bits held cost at most a few bits more than 8N (termination)."""
    rng = np.random.default_rng(3)
    bits, probs = _stream(rng, 4000, "random")
    p = probs / E.ONE
    cost = np.cumsum(np.where(bits == 1, -np.log2(p), -np.log2(1 - p)))
    for nbytes in (8, 16, 32, 64):
        _, n = E.encode(bits, probs, nbytes)
        assert cost[n - 1] <= 8 * nbytes            # cannot beat the information content
        assert cost[n] > 8 * nbytes - 24            # and loses less than 3 bytes to it


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(1, E.ONE - 1)), max_size=120),
       st.integers(0, 20))
def test_any_bits_any_budget(pairs, nbytes):
    bits = [b for b, _ in pairs]
    probs = [p for _, p in pairs]
    data, n = E.encode(bits, probs, nbytes)
    assert len(data) == nbytes
    _check_prefixes(data, bits, probs, n)


def test_deterministic_golden():
    """The bitstream is pinned: a JavaScript or C port must give these bytes."""
    bits = [1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1] * 4
    probs = [100, 4000, 2048, 3000, 1, 4095, 700, 2500] * 8
    data, n = E.encode(bits, probs)
    assert (data.hex(), n) == (GOLDEN_WHOLE, 64)
    data, n = E.encode(bits, probs, 5)
    assert (data.hex(), n) == (GOLDEN_5, N_5)


GOLDEN_WHOLE = "f9d2bf255affb6f4b84b98411977f26eff68d72bd07ff75d"
GOLDEN_5, N_5 = "f9d2bf255a", 12


def test_decoder_stops_on_garbage_without_error():
    rng = np.random.default_rng(4)
    probs = rng.integers(1, E.ONE, 500)
    for k in range(30):
        data = rng.integers(0, 256, k).astype(np.uint8).tobytes()
        got = E.decode(data, probs)
        assert len(got) <= 500


def test_bad_arguments():
    with pytest.raises(ValueError):
        E.encode([1, 0], [0, 10])
    with pytest.raises(ValueError):
        E.encode([1, 0], [10])
    with pytest.raises(ValueError):
        E.encode([1], [10], -1)


# --- the context model ---------------------------------------------------------------

def _model(seed=0, C=8):
    rng = np.random.default_rng(seed)
    return E.ContextModel(rng.integers(1, E.ONE, (2, C, 3, 3, 3, 3)), 2)


def test_contexts_match_their_definition():
    rng = np.random.default_rng(5)
    b = rng.integers(0, 2, (3, 4, 2, 3))
    ctx = _model(C=4).contexts(b)  # 2 iteration rows: iteration 2 uses the last
    for t, c, y, x in np.ndindex(b.shape):
        want = np.ravel_multi_index(
            (min(t, 1), c, b[t - 1, c, y, x] + 1 if t else 0, b[t, c, y, x - 1] + 1 if x else 0,
             b[t, c, y - 1, x] + 1 if y else 0, b[t, c - 1, y, x] + 1 if c else 0),
            (2, 4, 3, 3, 3, 3))
        assert ctx[t, c, y, x] == want


def test_model_round_trip_and_prefixes():
    model = _model()
    rng = np.random.default_rng(6)
    codes = np.where(rng.random((3, 8, 4, 4)) < 0.3, -1.0, 1.0).astype(np.float32)
    data, n = model.encode(codes)
    assert n == codes.size
    got, m = model.decode(data, (8, 4, 4), 3)
    assert m == n and np.array_equal(got, codes)
    last = 0
    for k in range(len(data) + 1):
        got, m = model.decode(data[:k], (8, 4, 4), 3)
        flat = got.reshape(-1)
        assert np.array_equal(flat[:m], codes.reshape(-1)[:m]) and not flat[m:].any()
        assert len(got) == -(-m // 128) and m >= last
        last = m
    data, n = model.encode(codes, 20)
    got, m = model.decode(data, (8, 4, 4), 3)
    assert len(data) == 20 and m == n and np.array_equal(got.reshape(-1)[:n], codes.reshape(-1)[:n])


def test_iteration_offsets_are_the_shortest_prefixes():
    model = _model(2)
    rng = np.random.default_rng(7)
    codes = np.where(rng.random((3, 8, 2, 2)) < 0.2, -1.0, 1.0).astype(np.float32)
    data, _ = model.encode(codes)
    offsets = model.iteration_offsets(data, (8, 2, 2), 3)
    assert len(offsets) == 3 and offsets[-1] <= len(data)
    for t, k in enumerate(offsets, 1):
        assert model.decode(data[:k], (8, 2, 2), 3)[1] >= 32 * t
        assert model.decode(data[:k - 1], (8, 2, 2), 3)[1] < 32 * t


def test_alpha_flag_is_refused():
    model = _model(3)
    # a stream whose first (flag) bit is 1: code [1] with the flag's probability
    data, n = E.encode([1, 1, 0], [E.ALPHA_P1, 2048, 2048])
    with pytest.raises(ValueError, match="alpha"):
        model.decode(data, (8, 1, 1), 1)
    assert model.decode(b"", (8, 1, 1), 1)[1] == 0


def test_model_file_round_trip(tmp_path):
    model = _model(1)
    model.save(tmp_path / "m.json")
    back = E.ContextModel.load(tmp_path / "m.json")
    assert np.array_equal(back.p1, model.p1) and back.weights_id == 2
    d = model.to_dict()
    d["p1"][0] = 0
    with pytest.raises(ValueError):
        E.ContextModel.from_dict(d)


def test_shipped_table_for_weights_2():
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "weights" / "rnnc-w2.ctx.json"
    if not path.exists():
        pytest.skip("no context table for weights 2")
    model = E.ContextModel.load(path)
    assert model.weights_id == 2 and model.channels == 8
