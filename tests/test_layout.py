"""The codec apart from the lab: the installed package holds only the codec, every fact has
one owner, and docs/format.md's tables are the code's."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import thumbcodec
from thumbcodec import codec, errors
from thumbcodec import format as F
from thumbcodec import weights as W

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "format.md").read_text()


def _table(heading: str) -> list[list[str]]:
    part = DOC[DOC.index(heading):]
    rows = []
    for line in part.splitlines()[1:]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:]  # without the header row


def test_errors_table_is_what_the_decoder_says():
    rows = _table("## Limits and errors")
    assert len(rows) == 8
    for condition, example, kind, message in rows:
        m = re.fullmatch(r"`([0-9a-f ]+)`(?: \+ (\d+) bytes)?", example)
        data = bytes.fromhex(m[1]) + bytes(int(m[2] or 0))
        with pytest.raises(errors.ThumbcodecError) as e:
            codec.parse(data)
        assert type(e.value).__name__ == kind, condition
        assert str(e.value) == message.strip("`"), condition


def test_weights_table_is_the_registry():
    rows = _table("## Weights ids")
    assert [int(r[0]) for r in rows] == sorted(W.REGISTRY)
    for wid, stride, bits, per_it, max_it, ctx in rows:
        info = W.get_info(int(wid))
        assert ctx.strip("`") == (info.context[0] if info.context else "none")
        lay = info.layout(32, 32)
        assert (int(stride), int(bits)) == (info.config.stride, info.config.bits)
        assert (int(per_it), int(max_it)) == (lay.iteration_bytes, lay.max_iterations)


def test_worked_example_is_the_encoder_output():
    hexes = re.search(r"## Worked example.*?```\n(.+?)\n```", DOC, re.S)[1]
    expected = bytes.fromhex(hexes.replace("|", " "))
    got = thumbcodec.encode(Image.open(ROOT / "examples" / "landscape.png"), bytes=40,
                            weights_id=2, backend="numpy", format=1)
    assert got == expected
    i = thumbcodec.info(got)
    assert (i.width, i.height, i.weights_id, i.iterations, i.leftover_bits) == (32, 32, 2, 2, 16)


def test_worked_example_version_2_is_the_encoder_output():
    part = DOC[DOC.index("## Worked example, version 2"):]
    hexes = re.search(r"```\n(.+?)\n```", part, re.S)[1]
    expected = bytes.fromhex(hexes.replace("|", " "))
    got = thumbcodec.encode(Image.open(ROOT / "examples" / "landscape.png"), bytes=24,
                            weights_id=2, backend="numpy")
    assert got == expected
    i = thumbcodec.info(got)
    assert (i.version, i.iterations, i.leftover_bits, i.iteration_offsets) == (2, 1, 33, [14])
    model = W.context_model(2)
    assert (model.p1[0, 0, 0, 0, 0, 0], model.p1[0, 0, 0, 2, 0, 0]) == (1937, 3027)
    assert "= 1937" in part and "= 3027" in part


def test_installed_package_holds_only_the_codec():
    """Import every module of the package in a fresh interpreter: no plotting, no
    standard codecs, nothing from the lab folders."""
    code = ("import pkgutil, sys, thumbcodec\n"
            "for m in pkgutil.walk_packages(thumbcodec.__path__, 'thumbcodec.'):\n"
            "    if not m.name.endswith('__main__'):\n"
            "        __import__(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'imagecodecs', 'blurhash', 'training', 'benchmarks', 'tools',"
            " 'experiments')]\n"
            "print(len(list(pkgutil.walk_packages(thumbcodec.__path__))), bad)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    n, bad = r.stdout.split(" ", 1)
    assert int(n) >= 15 and bad.strip() == "[]"
    names = {p.stem for p in (ROOT / "thumbcodec").glob("*.py")}
    assert not names & {"train", "data", "bench", "stdcodecs", "placeholder", "fuzz"}


def test_info_works_without_the_weights_file(tmp_path):
    f = tmp_path / "x.rnnc"
    f.write_bytes(bytes.fromhex("8e52 22 01f01f") + bytes(34))
    env = {**os.environ, "THUMBCODEC_WEIGHTS": str(tmp_path / "nowhere")}
    cli = [sys.executable, "-m", "thumbcodec.cli"]
    r = subprocess.run(cli + ["info", str(f), "--json"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["iterations"] == 2
    r = subprocess.run(cli + ["decode", str(f), "-o", str(tmp_path / "x.png")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "weights id 2: file rnnc-w2.npz not found" in r.stderr
    assert "THUMBCODEC_WEIGHTS" in r.stderr
    # version 2: header and byte counts; where the iterations end needs the context table
    f.write_bytes(bytes.fromhex("8e52 42 01f01f") + bytes.fromhex("f613a00f4e8bda402a6f"))
    r = subprocess.run(cli + ["info", str(f), "--json"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert (got["version"], got["payload_bytes"], got["iterations"]) == (2, 10, None)
    r = subprocess.run(cli + ["info", str(f)], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "context table of these weights is not installed" in r.stdout
    r = subprocess.run(cli + ["decode", str(f), "-o", str(tmp_path / "y.png")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "rnnc-w2.ctx.json not found" in r.stderr


def test_the_fuzzer_runs_the_decoders_own_parsing():
    from tools import fuzz
    assert fuzz.parse is codec.parse


def test_one_pixel_scaling_for_both_backends():
    import numpy as np
    from thumbcodec.model import to_input, to_uint8
    from thumbcodec.pixels import RANGE, from_model, to_model
    a = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, -1)
    assert np.array_equal(to_input(a, "cpu").numpy(), to_model(a))
    assert to_model(a).min() == -RANGE and to_model(a).max() == pytest.approx(RANGE)
    assert np.array_equal(from_model(to_model(a)), a)
    assert np.array_equal(to_uint8(to_input(a, "cpu")), a)


def test_registry_is_one_data_file():
    raw = json.loads((ROOT / "thumbcodec" / "registry.json").read_text())
    assert raw["default"] == W.DEFAULT_ID and set(map(int, raw["ids"])) == set(W.REGISTRY)
    for wid, e in raw["ids"].items():
        assert set(e) - {"context"} == {"file", "sha256", "config", "max_iterations", "about"}
        assert e["about"] and re.fullmatch(r"[0-9a-f]{64}", e["sha256"])
        assert e["max_iterations"] <= F.MAX_ITERATIONS
