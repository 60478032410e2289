import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from thumbcodec.cli import main
from thumbcodec.weights import DEFAULT_ID

from conftest import gradient


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_encode_info_decode(tmp_path, example_paths):
    src = example_paths[0]
    out = tmp_path / "x.rnnc"
    r = run("encode", src, "--bytes", 64, "-o", out, "--format", 1)
    assert r.exit_code == 0, r.output
    assert out.stat().st_size == 64
    r = run("info", out, "--json")
    assert r.exit_code == 0
    info = json.loads(r.output)
    assert (info["header_bytes"], info["payload_bytes"], info["iterations"],
            info["leftover_bits"]) == (6, 58, 3, 80)
    r = run("info", out)
    assert "32x32" in r.output and "3 iterations + 80 bits" in r.output
    png = tmp_path / "y.png"
    r = run("decode", out, "-o", png, "--progressive")
    assert r.exit_code == 0, r.output
    assert Image.open(png).size == (32, 32)
    assert Image.open(tmp_path / "y.progressive.png").size == (4 * 32 + 3 * 2, 32)


def test_format_2_is_the_default_and_info_says_where_iterations_end(tmp_path, example_paths):
    out = tmp_path / "x.rnnc"
    r = run("encode", example_paths[0], "--bytes", 64, "-o", out)
    assert r.exit_code == 0, r.output
    assert out.stat().st_size == 64
    info = json.loads(run("info", out, "--json").output)
    assert info["version"] == 2 and info["payload_bytes"] == 58
    bits = info["iterations"] * info["bits_per_iteration"] + info["leftover_bits"]
    assert bits >= 58 * 8 and len(info["iteration_offsets"]) == info["iterations"]
    assert info["iteration_offsets"] == sorted(info["iteration_offsets"])
    r = run("encode", example_paths[0], "--weights", 1, "--bytes", 64, "-o", tmp_path / "w1.rnnc")
    assert r.exit_code == 0 and json.loads(run("info", tmp_path / "w1.rnnc", "--json").output)["version"] == 1
    r = run("encode", example_paths[0], "--weights", 1, "--format", 2, "-o", tmp_path / "w1b.rnnc")
    assert r.exit_code == 1 and "no context table" in r.output and "Traceback" not in r.output


def test_truncated_file_decodes(tmp_path, example_paths):
    out = tmp_path / "x.rnnc"
    run("encode", example_paths[1], "--bytes", 64, "-o", out)
    t = tmp_path / "t.rnnc"
    t.write_bytes(out.read_bytes()[:40])
    r = run("decode", t)
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "t.rnnc.png").size == (32, 32)  # never t.png: an input's name


def test_sizes_resize_and_fit(tmp_path):
    Image.fromarray(gradient(100, 75)).save(tmp_path / "a.png")
    r = run("encode", tmp_path / "a.png", "--iterations", 2)
    assert r.exit_code == 0
    run("decode", tmp_path / "a.rnnc")
    assert Image.open(tmp_path / "a.png").size == (100, 75)
    r = run("encode", tmp_path / "a.png", "--iterations", 2, "--fit", 40, "-o", tmp_path / "f.rnnc")
    assert r.exit_code == 0 and "40x30" in run("info", tmp_path / "f.rnnc").output
    r = run("encode", tmp_path / "a.png", "--iterations", 2, "--resize", "32x32", "-o",
            tmp_path / "r.rnnc")
    assert "32x32" in run("info", tmp_path / "r.rnnc").output
    r = run("encode", tmp_path / "a.png", "--iterations", 2, "--resize", "32by32")
    assert r.exit_code == 2


def test_folder_batch_with_a_bad_file(tmp_path, example_paths):
    src = tmp_path / "in"
    src.mkdir()
    for p in example_paths:
        (src / p.name).write_bytes(p.read_bytes())
    (src / "broken.png").write_bytes(b"not a png at all")
    out = tmp_path / "out"
    r = run("encode", src, "--bytes", 40, "-o", out, "--json")
    assert r.exit_code == 1
    rows = json.loads(r.stdout)
    assert sum(r["ok"] for r in rows) == len(example_paths)
    bad = [r for r in rows if not r["ok"]]
    assert len(bad) == 1 and "broken.png" in bad[0]["error"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.stem + ".rnnc" for p in example_paths)
    r = run("decode", out, "-o", tmp_path / "png")
    assert r.exit_code == 0
    assert len(list((tmp_path / "png").glob("*.png"))) == len(example_paths)


def test_no_overwrite_without_force(tmp_path, example_paths):
    out = tmp_path / "x.rnnc"
    assert run("encode", example_paths[0], "--bytes", 30, "-o", out).exit_code == 0
    r = run("encode", example_paths[0], "--bytes", 64, "-o", out)
    assert r.exit_code == 1 and "exists (use --force" in r.output
    assert out.stat().st_size == 30
    assert run("encode", example_paths[0], "--bytes", 64, "-o", out, "--force").exit_code == 0
    assert out.stat().st_size == 64


def test_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.rnnc"
    bad.write_bytes(b"\x8eR\x61\x01\xf0\x1f")
    cases = [
        (["decode", bad], "unknown .rnnc version 3"),
        (["decode", tmp_path / "missing.rnnc"], "no such file"),
        (["info", bad], "unknown .rnnc version 3"),
        (["encode", tmp_path / "missing.png", "--bytes", 64], "no such file"),
        (["encode", tmp_path, "--bytes", 64], "no input images found"),
    ]
    for args, msg in cases:
        r = run(*args)
        assert r.exit_code in (1, 2), (args, r.output)
        assert msg in r.output, (args, r.output)
        assert "Traceback" not in r.output
        assert sum(line.startswith("Error: ") for line in r.output.splitlines()) == 1
    short = tmp_path / "short.rnnc"
    short.write_bytes(b"\x8eR\x21")
    r = run("decode", short)
    assert r.exit_code == 1 and "header cut short" in r.output


def test_usage_errors_exit_2(example_paths):
    assert run("encode", example_paths[0], "--bytes", 5).exit_code == 2  # below the header
    assert run("encode", example_paths[0], "--bytes", 64, "--iterations", 2).exit_code == 2
    assert run("encode", example_paths[0], "--bytes", 0).exit_code == 2
    assert run("decode").exit_code == 2


def test_every_command_has_help_with_example():
    for cmd in ["encode", "decode", "info"]:
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Example: thumbcodec " + cmd in r.output


def test_max_pixels_on_encode_and_decode(tmp_path):
    Image.fromarray(gradient(64, 48)).save(tmp_path / "a.png")
    r = run("encode", tmp_path / "a.png", "--iterations", 1, "--max-pixels", 1000)
    assert r.exit_code == 1 and "exceeds the limit of 1000 pixels" in r.output
    assert run("encode", tmp_path / "a.png", "--iterations", 1).exit_code == 0
    r = run("decode", tmp_path / "a.rnnc", "--max-pixels", 1000, "-o", tmp_path / "b.png")
    assert r.exit_code == 1 and "exceeds the limit" in r.output
    assert not (tmp_path / "b.png").exists()
    r = run("decode", tmp_path / "a.rnnc", "--max-pixels", 4000, "-o", tmp_path / "b.png")
    assert r.exit_code == 0


def test_many_files_show_progress_and_all_written(tmp_path, example_paths):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(40):
        (src / f"{i:03d}.png").write_bytes(example_paths[i % len(example_paths)].read_bytes())
    r = run("encode", src, "--bytes", 22, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "encoding" in r.output  # the progress bar (stderr is mixed into output)
    files = list((tmp_path / "out").glob("*.rnnc"))
    assert len(files) == 40 and all(f.stat().st_size == 22 for f in files)


def test_encode_weights_option(tmp_path, example_paths):
    out = tmp_path / "w.rnnc"
    r = run("encode", example_paths[0], "--bytes", 40, "--weights", 1, "-o", out)
    assert r.exit_code == 0, r.output
    assert json.loads(run("info", out, "--json").output)["weights_id"] == 1 != DEFAULT_ID
    r = run("encode", example_paths[0], "--bytes", 40, "--weights", 30, "-o", tmp_path / "v.rnnc")
    assert r.exit_code == 2 and "unknown weights id 30" in r.output
    assert not (tmp_path / "v.rnnc").exists()


def test_encode_effort_option(tmp_path):
    Image.fromarray(gradient(16, 16, seed=7)).save(tmp_path / "g.png")
    plain, searched = tmp_path / "p.rnnc", tmp_path / "s.rnnc"
    # weights 2: their plain bits are known to lose to this search here
    assert run("encode", tmp_path / "g.png", "--bytes", 14, "-o", plain, "--weights", 2,
               "--backend", "numpy").exit_code == 0
    r = run("encode", tmp_path / "g.png", "--bytes", 14, "-o", searched, "--effort", 1,
            "--tune", "psnr", "--weights", 2)
    assert r.exit_code == 0, r.output
    assert len(searched.read_bytes()) == 14 and searched.read_bytes() != plain.read_bytes()
    assert run("decode", searched).exit_code == 0
    assert run("encode", tmp_path / "g.png", "--effort", 9).exit_code == 2
