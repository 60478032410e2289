"""Plumbing of the benchmark and fuzz commands on tiny inputs (no timing assertions)."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from benchmarks import quality as bench, stdcodecs
from tools import fuzz
from thumbcodec.cli import main
from thumbcodec.weights import DEFAULT_ID, get_info

from conftest import gradient


def test_std_codecs_headerless_sizes():
    img = Image.fromarray(gradient(32, 32))
    for codec in stdcodecs.available():
        data, n, status = stdcodecs.search(codec, img, 64)
        assert 0 < n <= len(data), codec.name
        assert status in ("ok", "under", "over")
        if status == "ok":
            assert n >= 64
        assert codec.decode(data).size == (32, 32)


def test_jpeg_payload_is_between_sos_and_eoi():
    img = Image.fromarray(gradient(16, 16))
    data, n = stdcodecs.JPEG("444").encode(img, 50)
    sos = data.index(b"\xff\xda")
    seg = int.from_bytes(data[sos + 2: sos + 4], "big")
    assert n == len(data) - 2 - (sos + 2 + seg)


def test_bench_quality_cli(tmp_path, example_paths):
    r = CliRunner().invoke(bench.main, [*map(str, example_paths[:2]), "--targets", "32,64",
                                        "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    ours = [s for s in summary if s["codec"] == "thumbcodec"]
    assert [s["headerless"] for s in ours] == [32, 64] and all(s["n"] == 2 for s in ours)
    assert {"jpeg-420", "webp"} <= {s["codec"] for s in summary}
    curve = json.loads((tmp_path / "bytewise.json").read_text())
    # every payload length up to the longest file (version 2 files of all iterations are
    # shorter than version 1's 16 bytes per iteration)
    full = 16 * get_info(DEFAULT_ID).max_iterations
    assert [c["payload"] for c in curve] == list(range(len(curve)))
    assert 0.75 * full < len(curve) <= full + 1
    for f in ["quality.json", "quality.md", "rd.png", "sheet.png", "cache.json", "bytewise.png"]:
        assert (tmp_path / f).exists()


def test_summarize_and_table():
    rows = [{"codec": "a", "target": 64, "headerless": 64, "total": 70, "status": "ok",
             "ssim": s, "psnr": 20.0} for s in (0.5, 0.7)]
    rows.append({"codec": "a", "target": 64, "headerless": 80, "total": 90, "status": "over",
                 "ssim": 0.9, "psnr": 30.0})
    (s,) = bench.summarize(rows)
    assert s["ssim"] == pytest.approx(0.7) and s["missed"] == 1 and s["n"] == 3
    assert "0.700" in bench.markdown_table([s], (64,)) and "1 missed" in bench.markdown_table([s], (64,))


def test_fuzz_short_run_is_clean():
    assert fuzz.run(3000, 10, seed=1) == []


def test_count_macs_positive():
    from thumbcodec.codec import load_model
    from thumbcodec.speed import count_macs
    assert count_macs(load_model(device="cpu")) > 1e6


def test_bench_speed_cli_plumbing(tmp_path):
    r = CliRunner().invoke(main, ["bench", "speed", "--batches", "1,2", "--repeats", "1", "--device", "cpu",
                                  "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output[r.output.index("{"):])
    assert {(x["backend"], x["batch"]) for x in res["rows"]} >= {("torch", 1), ("numpy", 2)}
    most = get_info(DEFAULT_ID).max_iterations   # a full-length file is timed
    assert max(x["iterations"] for x in res["rows"]) == most
    assert res["macs_per_iteration"] > 0 and res["matmul_peak_gflops_fp32"] > 0
    assert res["cli"]["encode_numpy_s"] > 0 and (tmp_path / "speed.json").exists()
