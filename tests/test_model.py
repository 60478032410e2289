import numpy as np
import torch

from thumbcodec.layers import Binarizer, ConvLSTMCell
from thumbcodec.model import Config, RNNCodec, to_input, to_uint8


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
    assert codes[0].numel() // 3 == cfg.bits_per_iteration(32, 32) == 128
    assert cfg.bits_per_iteration(48, 40) == -(-48 // s) * -(-40 // s) * cfg.bits
    steps = m.decompress(codes, all_steps=True)
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
    from thumbcodec.train import nonsquare_crop
    x = torch.zeros(2, 3, 32, 32)
    rng = np.random.default_rng(0)
    shapes = {tuple(nonsquare_crop(x, rng, 8).shape[2:]) for _ in range(200)}
    assert all(h != w and h % 8 == 0 and w % 8 == 0 and 8 <= min(h, w) for h, w in shapes)
    assert len(shapes) == 12  # every ordered pair of distinct sides in {8, 16, 24, 32}
