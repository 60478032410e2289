"""The trainer (training/): runs, resumes from its plain-array checkpoint, refuses to save
a diverged model, exports weights, and runs under torchrun with two CPU processes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from thumbcodec.config import Config
from thumbcodec.model import RNNCodec
from training import checkpoint
from training.data import make_pool, weighted_images
from training.train import lr_at, main, parse_args

from conftest import gradient

ROOT = Path(__file__).resolve().parent.parent
SMALL = '{"enc": [8, 8, 8], "dec_in": 8, "dec": [8, 8, 8]}'


@pytest.fixture()
def photos(tmp_path):
    data = tmp_path / "photos"
    (data / "flat").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(gradient(64 + 8 * i, 48, seed=i)).save(data / f"p{i}.png")
    Image.fromarray(gradient(40, 40, seed=9)).save(data / "flat" / "f.png")
    return data


def _args(data, out, *extra):
    return ["--data", str(data), "--out", str(out), "--pool", "64", "--batch", "4",
            "--iterations", "2", "--val-every", "999", "--threads", "1", "--config", SMALL,
            "--warmup", "2", *map(str, extra)]


def test_train_resume_and_checkpoint_format(tmp_path, photos):
    out = tmp_path / "run"
    main(_args(photos, out, "--stop-step", 3, "--ssim-weight", 0.1))
    meta, arrays = checkpoint.read(out / "ckpt.npz")
    assert meta["step"] == 3 and meta["samples"] == 12 and meta["cpu_seconds"] > 0
    assert meta["iterations"] == 2 and Config.from_dict(meta["config"]).enc == (8, 8, 8)
    model = RNNCodec(Config.from_dict(meta["config"]))
    assert {k[len("model/"):] for k in arrays if k.startswith("model/")} == set(model.state_dict())
    assert all(arrays[k].dtype == np.float32 for k in arrays if k.startswith("model/"))
    assert all(arrays[k].dtype == np.uint16 for k in arrays if k.startswith("adam/"))  # bf16
    with pytest.raises(SystemExit):  # an existing checkpoint needs --resume
        main(_args(photos, out, "--stop-step", 5))
    main(_args(photos, out, "--stop-step", 5, "--resume"))
    meta2, _ = checkpoint.read(out / "ckpt.npz")
    assert meta2["step"] == 5 and meta2["cpu_seconds"] > meta["cpu_seconds"]
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [0, 3, 5]  # first validation, then one final record per session


def test_checkpoint_round_trip_keeps_model_and_moments(tmp_path):
    model = RNNCodec(Config.from_dict(json.loads(SMALL)))
    opt = torch.optim.Adam(model.parameters())
    x = torch.rand(2, 3, 16, 16) - 0.5
    outs, _ = model(x, 2)
    sum(((o - x) ** 2).mean() for o in outs).backward()
    opt.step()
    checkpoint.save(tmp_path / "c.npz", model, opt, {"step": 1, "config": model.cfg.to_dict()})
    model2 = RNNCodec(model.cfg)
    opt2 = torch.optim.Adam(model2.parameters())
    meta = checkpoint.load(tmp_path / "c.npz", model2, opt2)
    assert meta["step"] == 1 and meta["adam"]["step"] == 1
    for (n, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert torch.equal(a, b), n
    for p, p2 in zip(model.parameters(), model2.parameters()):
        m, m2 = opt.state[p]["exp_avg"], opt2.state[p2]["exp_avg"]
        assert torch.allclose(m, m2, rtol=1e-2, atol=1e-12)  # bf16 moments


def test_non_finite_model_never_replaces_a_checkpoint(tmp_path):
    model = RNNCodec(Config.from_dict(json.loads(SMALL)))
    opt = torch.optim.Adam(model.parameters())
    checkpoint.save(tmp_path / "c.npz", model, opt, {"step": 7})
    with torch.no_grad():
        next(model.parameters())[0] = float("nan")
    with pytest.raises(FloatingPointError):
        checkpoint.save(tmp_path / "c.npz", model, opt, {"step": 8})
    assert checkpoint.read(tmp_path / "c.npz")[0]["step"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_non_finite_steps_are_skipped_then_the_run_stops(tmp_path, photos, monkeypatch):
    import training.train as T
    out = tmp_path / "run"
    main(_args(photos, out, "--stop-step", 2))
    good = checkpoint.read(out / "ckpt.npz")[1]
    monkeypatch.setattr(T, "step_loss", lambda *a, **k: torch.tensor(float("nan"),
                                                                       requires_grad=True))
    with pytest.raises(SystemExit) as e:
        main(_args(photos, out, "--stop-step", 9, "--resume", "--max-skips", 3))
    assert e.value.code == 3
    log = (out / "log.jsonl").read_text()
    assert log.count('"skipped_step": true') == 3
    after = checkpoint.read(out / "ckpt.npz")[1]
    assert all(np.array_equal(good[k], after[k]) for k in good)  # the last good state


def test_schedule_warmup_constant_then_decay():
    a = parse_args(["--data", "examples", "--out", "/tmp/x-never-made", "--lr", "1e-3",
                    "--warmup", "10", "--decay-at", "100", "--decay-steps", "50"])
    assert lr_at(0, a) == pytest.approx(1e-4) and lr_at(9, a) == pytest.approx(1e-3)
    assert lr_at(10, a) == lr_at(99, a) == 1e-3
    assert lr_at(125, a) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert lr_at(150, a) == lr_at(10_000, a) == pytest.approx(5e-5)
    a.decay_at = None  # the horizon moves: constant until a decay is asked for
    assert lr_at(10_000, a) == 1e-3


def test_bf16_by_default_only_where_it_pays(monkeypatch):
    from training.train import bf16_pays
    base = ["--data", "examples", "--out", "/tmp/x-never-made"]
    assert parse_args(base).amp is None  # the machine decides
    assert parse_args(base + ["--no-amp"]).amp is False
    assert parse_args(base + ["--amp"]).amp is True
    assert bf16_pays(torch.device("cuda"))
    for cap, pays in (("AVX2", False), ("DEFAULT", False), ("AVX512", True)):
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: cap)
        assert bf16_pays(torch.device("cpu")) is pays


def test_weighted_sources_and_pool(photos):
    imgs = dict(weighted_images([str(photos), f"{photos / 'flat'}:0.25"]))
    assert imgs[(photos / "flat" / "f.png").resolve()] == 0.25
    assert imgs[(photos / "p0.png").resolve()] == 1.0 and len(imgs) == 4
    pool = make_pool([str(photos), f"{photos / 'flat'}:0"], 30, seed=1)
    assert pool.shape == (30, 32, 32, 3) and pool.dtype == np.uint8
    assert np.array_equal(pool, make_pool([str(photos), f"{photos / 'flat'}:0"], 30, seed=1))


def test_hard_pool_leans_to_crops_png_codes_largest(tmp_path):
    """--hard K keeps, of K crops from an image, the one PNG codes largest; every image
    keeps its share of the pool."""
    from training.data import png_size
    rng = np.random.default_rng(0)
    for name, channel in (("red", 0), ("blue", 2)):  # half noise, half flat; one hue each
        a = np.zeros((96, 192, 3), np.uint8)
        a[:, :96, channel] = rng.integers(0, 256, (96, 96))
        a[:, 96:, channel] = 200
        Image.fromarray(a).save(tmp_path / f"{name}.png")
    plain, hard = (make_pool(str(tmp_path), 60, seed=3, hard=k) for k in (1, 4))
    sizes = [np.mean([png_size(t) for t in pool]) for pool in (plain, hard)]
    assert sizes[1] > 1.2 * sizes[0]
    red = [int((pool[..., 0].mean((1, 2)) > pool[..., 2].mean((1, 2))).sum()) for pool in (plain, hard)]
    assert red == [30, 30]


def test_export_gives_loadable_weights(tmp_path, photos):
    from thumbcodec.npmodel import NumpyCodec
    from thumbcodec.weights import sha256_of
    out = tmp_path / "run"
    main(_args(photos, out, "--stop-step", 1))
    digest = checkpoint.export_weights(out / "ckpt.npz", tmp_path / "w.npz")
    assert digest == sha256_of(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as z:
        arrays = {k: z[k] for k in z.files}
    cfg = Config.from_dict(json.loads(str(arrays.pop("__config__"))))
    codes = NumpyCodec(cfg, arrays).compress(np.zeros((1, 3, 16, 16), np.float32), 2)
    assert codes.shape == (2, 1, cfg.bits, 2, 2)


def test_torchrun_two_cpu_processes(tmp_path, photos):
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node", "2", "-m", "training.train",
                        *_args(photos, out, "--stop-step", 3, "--no-amp")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "world 2" in r.stdout
    meta, _ = checkpoint.read(out / "ckpt.npz")
    assert meta["step"] == 3 and meta["samples"] == 3 * 4 * 2  # both ranks' batches


def test_bf16_autocast_only_where_it_agrees_with_fp32():
    """Every batch shape the loop can draw (32x32 and the non-square crops) that ``amp_for``
    lets run in bf16 gets every conv output within 5% of fp32 (max error over max value).
    On an AMX Xeon with one thread the encoder's stride-2 conv into one column did not
    (relative error 1.4); on other CPUs every shape agrees."""
    from training.train import amp_for
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        cfg = Config()
        model = RNNCodec(cfg).eval()
        seen = []
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                mod.register_forward_hook(lambda m, i, o: seen.append((m, i[0], o)))
        x = torch.from_numpy(np.stack([gradient(32, 32, seed=s) for s in range(4)])).permute(
            0, 3, 1, 2).float() / 127.5 - 1
        sides = range(cfg.stride, 33, cfg.stride)
        shapes = [(32, 32)] + [(h, w) for h in sides for w in sides if h != w]
        checked = 0
        for h, w in shapes:
            xb = x[:, :, :h, :w].contiguous()
            if not amp_for(xb, True, cfg.stride):
                continue
            seen.clear()
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
                model(xb, 2)
            with torch.no_grad():
                for mod, inp, out in list(seen):   # (the fp32 calls append to seen too)
                    ref = mod(inp.float())
                    err = (out.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6)
                    assert err < 0.05, (h, w, mod, tuple(inp.shape), float(err))
                    checked += 1
        assert checked > 100
    finally:
        torch.set_num_threads(threads)


def test_late_iteration_diagnostics_match_the_decoder():
    """experiments.late_iterations re-runs the encoder step by step: its SSIM after each
    iteration must be what compress + progressive decompress give."""
    from experiments.late_iterations import diagnose
    from thumbcodec.metrics import patch_ssim
    from thumbcodec.model import RNNCodec, to_input, to_uint8
    torch.manual_seed(0)
    model = RNNCodec(Config(enc=(8, 8, 16), dec_in=8, dec=(16, 8, 8))).eval()
    thumbs = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    rows = diagnose(model, thumbs, 3)
    with torch.no_grad():
        steps = model.decompress(model.compress(to_input(thumbs, "cpu"), 3), progressive=True)
    for row, y in zip(rows, steps):
        assert row["ssim"] == pytest.approx(float(patch_ssim(thumbs, to_uint8(y)).mean()))
        assert 0 <= row["|tanh|"] <= 1 and row["rms"] > 0
    assert [r["t"] for r in rows] == [1, 2, 3] and not model.encoder.binarizer.training


def test_widened_checkpoint_computes_the_same_and_its_new_units_learn(tmp_path):
    """experiments.widen: the wider model's reconstructions at every iteration equal the
    original's, the checkpoint resumes with its Adam moments, and the zeroed links from the
    new units get gradient (so widening is not a no-op)."""
    from experiments.widen import main as widen_main
    from thumbcodec.model import RNNCodec
    from training import checkpoint
    torch.manual_seed(0)
    small = Config(enc=(8, 8, 16), dec_in=8, dec=(16, 8, 8))
    model = RNNCodec(small)
    opt = torch.optim.Adam(model.parameters())
    x = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    outs, _ = model(x, 3)
    sum(((o - x) ** 2).mean() for o in outs).backward()
    opt.step()
    checkpoint.save(tmp_path / "a.npz", model, opt, {"step": 5, "config": small.to_dict()})
    widen_main([str(tmp_path / "a.npz"), str(tmp_path / "b.npz"),
                "--enc", "12", "16", "24", "--dec", "32", "16", "12", "--dec-in", "12"])
    meta, _ = checkpoint.read(tmp_path / "b.npz")
    wide = RNNCodec(Config.from_dict(meta["config"]))
    wopt = torch.optim.Adam(wide.parameters())
    checkpoint.load(tmp_path / "b.npz", wide, wopt)
    assert meta["widened"] == {"5": {"enc": [12, 16, 24], "dec_in": 12, "dec": [32, 16, 12]}}
    assert sum(p.numel() for p in wide.parameters()) > 1.5 * sum(
        p.numel() for p in model.parameters())
    with torch.no_grad():
        for a, b in zip(model.eval()(x, 4)[0], wide.eval()(x, 4)[0]):
            assert torch.allclose(a, b, atol=1e-6)
    wide.train()
    assert len(wopt.state) == len(list(wide.parameters()))
    outs, _ = wide(x, 3)
    sum(((o - x) ** 2).mean() for o in outs).backward()
    links = {"decoder.out.weight": (slice(None), slice(2, None)),       # from new dec[2] units
             "decoder.stages.1.conv_x.weight": (slice(0, 8), slice(4, None)),  # after shuffle
             "encoder.binarizer.conv.weight": (slice(None), slice(16, None))}
    grads = dict(wide.named_parameters())
    for name, idx in links.items():
        assert (wide.state_dict()[name][idx] == 0).all()
        assert grads[name].grad[idx].abs().sum() > 0, name


def test_tail_weight_scales_only_the_iterations_after_the_shipped_ones():
    from thumbcodec.model import RNNCodec
    from training.train import step_loss
    torch.manual_seed(0)
    model = RNNCodec(Config(enc=(8, 8, 16), dec_in=8, dec=(16, 8, 8))).eval()
    x = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    with torch.no_grad():
        full = [float(step_loss(model, x, n, ssim_weight=0.1)) * n for n in (2, 4)]
        cut = float(step_loss(model, x, 4, ssim_weight=0.1, tail=(2, 0.0))) * 4
        half = float(step_loss(model, x, 4, ssim_weight=0.1, tail=(2, 0.5))) * 4
    assert cut == pytest.approx(full[0], rel=1e-6)
    assert half == pytest.approx((full[0] + full[1]) / 2, rel=1e-6)
    assert full[1] > full[0] * 1.2  # the tail is not negligible, so the test can fail


def test_branch_table_rows_at_the_shipped_byte_sizes(tmp_path, capsys):
    """experiments.branch_table: one Markdown row per validation from --from on, SSIM
    picked at 16 bytes per iteration, '—' past a run's iterations or a missing set."""
    from experiments.branch_table import main as table
    log = tmp_path / "log.jsonl"
    ssim = [round(0.5 + i / 100, 2) for i in range(20)]  # 0.50 after 1 iteration, ...
    log.write_text("\n".join(json.dumps(r) for r in [
        {"step": 10, "core_hours": 0.1, "kodak": {"ssim": ssim}},
        {"step": 20, "loss": 0.03},  # a progress record, not a validation
        {"step": 30, "core_hours": 0.25, "kodak": {"ssim": ssim[:8]},
         "extra-val": {"ssim": ssim}},
    ]) + "\n")
    table([f"{log}:arm", "--from", "20"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # header, rule, the one validation at step >= 20
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[:3] == ["arm", "30", "0.25"]
    assert cells[3:9] == ["0.5000", "0.5100", "0.5300", "0.5700", "—", "—"]
    assert cells[9:] == ["0.5000", "0.5100", "0.5300", "0.5700", "0.6100", "0.6500"]


def test_truncation_bits_narrow_the_cut_without_changing_the_draws():
    from training.train import draw_keep
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    every = draw_keep(a, 128, 4000)
    first = draw_keep(b, 128, 4000, most=32)
    assert every.min() == 0 and every.max() == 127 and first.min() == 0 and first.max() == 31
    assert np.array_equal(first, every * 32 // 128)   # the same draws, scaled
    assert a.random() == b.random()                   # so the data order that follows holds
    assert draw_keep(np.random.default_rng(5), 16, 10, most=32).max() < 16  # a narrow crop
    with pytest.raises(SystemExit):
        parse_args(["--data", "examples", "--out", "/tmp/x-never-made", "--truncation-bits", "0"])


def test_truncation_decoder_only_sends_no_gradient_to_the_encoder():
    torch.manual_seed(0)
    model = RNNCodec(Config())
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    keep = torch.tensor([5, 40])
    for detach, encoder_learns in ((False, True), (True, False)):
        model.zero_grad(set_to_none=True)
        _, masked = model(x, 2, 0, keep, detach)
        ((masked - x) ** 2).mean().backward()
        enc = [p.grad for p in model.encoder.parameters()]
        dec = [p.grad for p in model.decoder.parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in dec)
        assert any(g is not None and g.abs().sum() > 0 for g in enc) == encoder_learns


def test_truncation_weight_scales_only_the_truncated_term():
    from training.train import step_loss
    torch.manual_seed(0)
    model = RNNCodec(Config()).eval()   # eval: bits by sign, so every call codes the same
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    keep = torch.tensor([5, 40])
    with torch.no_grad():
        plain = step_loss(model, x, 3)                                   # mean of 3 costs
        w0 = step_loss(model, x, 3, 0, keep, mask_weight=0.0)            # 4 terms, one 0
        w1 = step_loss(model, x, 3, 0, keep)
        w_half = step_loss(model, x, 3, 0, keep, mask_weight=0.5)
    assert float(w0) * 4 == pytest.approx(float(plain) * 3, rel=1e-5)
    masked = float(w1) * 4 - float(plain) * 3
    assert masked > 0
    assert float(w_half) * 4 == pytest.approx(float(plain) * 3 + 0.5 * masked, rel=1e-5)
