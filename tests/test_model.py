import numpy as np
import pytest
import torch

from thumbcodec.format import layout
from thumbcodec.layers import Binarizer, ConvLSTMCell
from thumbcodec.metrics import patch_ssim
from thumbcodec.model import Config, RNNCodec, to_input, to_uint8
from thumbcodec.npmodel import NumpyCodec
from training.train import patch_ssim_torch, step_loss


def test_conv_lstm_stride_applies_to_input_only():
    cell = ConvLSTMCell(4, 6, stride=2)
    assert cell.conv_x.stride == (2, 2) and cell.conv_h.stride == (1, 1)
    x = torch.randn(2, 4, 9, 8)
    st = cell.init_state(x.shape, x.dtype, x.device)
    h, (h2, c) = cell(x, st)
    assert h.shape == (2, 6, 5, 4) and c.shape == h.shape


def test_binarizer_values_and_straight_through():
    b = Binarizer(3, 5)
    x = torch.randn(4, 3, 2, 2, requires_grad=True)
    b.train()
    y = b(x)
    assert set(y.unique().tolist()) <= {-1.0, 1.0}
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    b.eval()
    with torch.no_grad():
        z = torch.tanh(b.conv(x))
        assert torch.equal(b(x), torch.where(z < 0, -1.0, 1.0))


def test_binarizer_trained_by_sign_is_deterministic_and_straight_through():
    b = Binarizer(3, 5)
    b.train()
    b.noise = 0.0
    x = torch.randn(4, 3, 2, 2, requires_grad=True)
    y = b(x)
    with torch.no_grad():
        assert torch.equal(y, b.eval()(x))  # what inference sends
    y.sum().backward()
    z = torch.tanh(b.conv(x.detach()))
    expect = torch.autograd.grad(z.sum(), b.conv.weight)[0]  # tanh's gradient, sign skipped
    assert torch.allclose(b.conv.weight.grad, expect)


def test_binarizer_is_unbiased():
    torch.manual_seed(0)
    b = Binarizer(1, 1)
    b.conv.weight.data.fill_(1.0)
    b.train()
    x = torch.full((20000, 1, 1, 1), 0.5)
    assert abs(b(x).mean().item() - np.tanh(0.5)) < 0.03


def test_shapes_and_bits_per_iteration():
    cfg = Config()
    m = RNNCodec(cfg).eval()
    x = torch.zeros(3, 3, 32, 32)
    codes = m.compress(x, 4)
    s = cfg.stride
    assert codes.shape == (4, 3, cfg.bits, 32 // s, 32 // s)
    assert codes[0].numel() // 3 == layout(32, 32, s, cfg.bits).bits_per_iteration == 128
    assert m.compress(torch.zeros(1, 3, 40, 48), 1)[0, 0].shape == layout(48, 40, s, cfg.bits).shape
    steps = m.decompress(codes, progressive=True)
    assert len(steps) == 4 and steps[0].shape == x.shape


def test_config_round_trip():
    cfg = Config(bits=4, enc=(8, 16), dec=(32, 16))
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_a_few_training_steps_reduce_loss():
    torch.manual_seed(0)
    cfg = Config(enc=(8, 16), dec_in=16, dec=(32, 16), dec_lstm=1, bits=2)
    m = RNNCodec(cfg)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    rng = np.random.default_rng(0)
    x = to_input(rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8), "cpu")
    x = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    losses = []
    for _ in range(60):
        outs, masked = m(x, 2, 1, torch.full((8,), 10))
        loss = sum(((o - x) ** 2).mean() for o in outs) + ((masked - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


def test_to_uint8_inverts_to_input():
    a = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, -1)
    assert np.array_equal(to_uint8(to_input(a, "cpu")), a)


def test_nonsquare_crop_gives_rectangles_on_the_code_grid():
    from training.train import nonsquare_crop
    x = torch.zeros(2, 3, 32, 32)
    rng = np.random.default_rng(0)
    shapes = {tuple(nonsquare_crop(x, rng, 8).shape[2:]) for _ in range(200)}
    assert all(h != w and h % 8 == 0 and w % 8 == 0 and 8 <= min(h, w) for h, w in shapes)
    assert len(shapes) == 12  # every ordered pair of distinct sides in {8, 16, 24, 32}


@pytest.mark.parametrize("additive", [False, True])
def test_training_pass_matches_compress_then_decompress(additive):
    """In eval mode (sign binarizer) the unrolled training pass, the encoder and the
    decoder agree step by step, for one-shot and scaled-additive reconstruction; the
    NumPy mirror agrees with both."""
    torch.manual_seed(1)
    cfg = Config(enc=(8, 16), dec_in=16, dec=(32, 16), dec_lstm=1, bits=2, additive=additive)
    m = RNNCodec(cfg).eval()
    if additive:
        with torch.no_grad():
            m.log_gain.copy_(torch.linspace(0.3, -2.0, len(m.log_gain)))
    x = to_input(np.random.default_rng(0).integers(0, 256, (2, 16, 8, 3), dtype=np.uint8), "cpu")
    with torch.no_grad():
        outs, _ = m(x, 3)
    codes = m.compress(x, 3)
    steps = m.decompress(codes, progressive=True)
    for o, s in zip(outs, steps):
        assert torch.allclose(o, s, atol=1e-6)
    if additive:  # the running sum: step 2 adds gain_2 * (a decoder output in [-1, 1])
        assert (steps[1] - steps[0]).abs().max() <= m.log_gain[1].exp() + 1e-6
    npm = NumpyCodec(cfg, {k: v.numpy() for k, v in m.state_dict().items()})
    assert np.array_equal(npm.compress(x.numpy(), 3), codes.numpy())
    for a, b in zip(npm.decompress(codes.numpy(), progressive=True), steps):
        assert np.abs(a - b.numpy()).max() < 1e-4


def test_patch_ssim_loss_matches_the_metric():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 16, 24, 3), dtype=np.uint8)
    b = np.clip(a + rng.integers(-50, 50, a.shape), 0, 255).astype(np.uint8)
    got = float(patch_ssim_torch(to_input(b, "cpu"), to_input(a, "cpu")))
    assert abs(got - patch_ssim(a, b).mean()) < 1e-5
    assert float(patch_ssim_torch(to_input(a, "cpu"), to_input(a, "cpu"))) == pytest.approx(1.0)


def test_additive_model_with_ssim_term_learns():
    torch.manual_seed(0)
    cfg = Config(enc=(8, 16), dec_in=16, dec=(32, 16), dec_lstm=1, bits=2, additive=True)
    m = RNNCodec(cfg)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    x = to_input(np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8), "cpu")
    x = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    losses = []
    for _ in range(60):
        loss = step_loss(m, x, 2, None, None, ssim_weight=0.04)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


def test_binarizer_noise_keeps_bits_random_only_within_its_margin():
    torch.manual_seed(0)
    b = Binarizer(1, 1)
    b.conv.weight.data.fill_(1.0)
    b.train()
    b.noise = 0.5
    x = torch.atanh(torch.tensor([0.2, 0.7, -0.7])).repeat(20000).view(-1, 1, 1, 1)
    y = b(x).view(20000, 3)
    assert (y[:, 1] == 1).all() and (y[:, 2] == -1).all()   # beyond the margin: sign
    assert abs(y[:, 0].mean().item() - 0.2 / 0.5) < 0.03    # within: P(+1) = (1 + x/eps)/2
