"""What users hit first (issue #14): a photo in, a thumbnail out; never lose a file.

Each test names the item of the issue it holds. They were committed before the fixes.
"""
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import thumbcodec
from thumbcodec import batch
from thumbcodec.cli import main

from conftest import gradient

ROOT = Path(__file__).resolve().parent.parent


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


def photo(w=768, h=512, seed=0):
    """A smooth photo-sized picture with a few shapes: recognisable when shrunk."""
    a = gradient(w, h, seed).astype(np.int16)
    a[h // 4: h // 2, w // 4: w // 2] = [250, 30, 30]
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


# ---- 1. a default output name is never an input's own picture

def test_1_decode_default_name_does_not_point_at_the_original(tmp_path, example_paths):
    src = tmp_path / "kodim23.png"
    src.write_bytes(example_paths[0].read_bytes())
    before = src.read_bytes()
    assert run("encode", src, "--bytes", 64).exit_code == 0
    r = run("decode", tmp_path / "kodim23.rnnc")
    assert r.exit_code == 0, r.output
    assert src.read_bytes() == before
    assert Image.open(tmp_path / "kodim23.rnnc.png").size == (32, 32)
    # with -o DIR the names stay <stem>.png
    r = run("decode", tmp_path / "kodim23.rnnc", "-o", tmp_path / "out")
    assert r.exit_code == 0 and (tmp_path / "out" / "kodim23.png").exists()


def test_1_force_advice_never_points_at_a_file_that_is_not_an_output(tmp_path, example_paths):
    src = tmp_path / "x.png"
    src.write_bytes(example_paths[0].read_bytes())
    assert run("encode", src, "--bytes", 40, "-o", tmp_path / "x.rnnc").exit_code == 0
    r = run("decode", tmp_path / "x.rnnc", "-o", src)
    assert r.exit_code == 1 and "--force" not in r.output
    assert "not written by thumbcodec" in r.output


# ---- 2. two inputs that map to one output

def test_2_clashing_outputs_later_one_fails_and_subfolders_mirror(tmp_path, example_paths):
    for d in ("a", "b"):
        (tmp_path / "in" / d).mkdir(parents=True)
    (tmp_path / "in" / "a" / "x.png").write_bytes(example_paths[0].read_bytes())
    Image.open(example_paths[1]).save(tmp_path / "in" / "a" / "x.jpg")
    (tmp_path / "in" / "b" / "x.png").write_bytes(example_paths[2].read_bytes())
    r = run("encode", tmp_path / "in", "--bytes", 40, "-o", tmp_path / "out", "--json")
    rows = json.loads(r.stdout)
    assert r.exit_code == 1
    assert [row["ok"] for row in rows] == [True, False, True]  # a/x.jpg clashes with a/x.png
    assert "a/x.rnnc" in rows[1]["error"]
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.rnnc")) \
        == ["a/x.rnnc", "b/x.rnnc"]


def test_2_clash_in_place(tmp_path, example_paths):
    (tmp_path / "x.png").write_bytes(example_paths[0].read_bytes())
    Image.open(example_paths[1]).save(tmp_path / "x.jpg")
    r = run("encode", tmp_path / "x.jpg", tmp_path / "x.png", "--bytes", 40, "--json")
    rows = json.loads(r.stdout)
    assert r.exit_code == 1 and [row["ok"] for row in rows] == [True, False]


# ---- 3. the progressive strip is an output like any other

def test_3_progressive_strip_is_never_overwritten_without_force(tmp_path, example_paths):
    run("encode", example_paths[0], "--bytes", 40, "-o", tmp_path / "x.rnnc")
    strip = tmp_path / "y.progressive.png"
    strip.write_bytes(b"precious")
    r = run("decode", tmp_path / "x.rnnc", "-o", tmp_path / "y.png", "--progressive")
    assert r.exit_code == 1 and strip.read_bytes() == b"precious"
    assert not (tmp_path / "y.png").exists()


# ---- 4. races: outputs are created exclusively

def test_4_two_writers_of_one_output_one_fails(tmp_path, example_paths):
    dst = tmp_path / "x.rnnc"
    results = []

    def job(nbytes):
        results.append(batch.encode_files([(example_paths[0], dst)], nbytes=nbytes)[0])

    real = batch.write_atomic

    def slow_write(path, data, overwrite=False):  # both pass the exists check first
        import time
        time.sleep(0.3)
        return real(path, data, overwrite=overwrite)

    batch.write_atomic = slow_write
    try:
        threads = [threading.Thread(target=job, args=(n,)) for n in (30, 40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        batch.write_atomic = real
    assert sorted(r.ok for r in results) == [False, True]
    assert dst.stat().st_size == [r for r in results if r.ok][0].details["bytes"]


# ---- 5. a killed batch resumes

def test_5_skip_existing_and_stale_temp_files(tmp_path, example_paths):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        (src / f"{i}.png").write_bytes(example_paths[i % len(example_paths)].read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    (out / ".0.rnnc.abc123.tmp").write_bytes(b"")      # left by a kill -9
    assert run("encode", src / "0.png", src / "1.png", "--bytes", 40, "-o", out).exit_code == 0
    r = run("encode", src, "--bytes", 40, "-o", out, "--skip-existing", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row.get("skipped", False) for row in rows] == [True, True, False, False]
    assert sorted(p.name for p in out.iterdir()) == ["0.rnnc", "1.rnnc", "2.rnnc", "3.rnnc"]


# ---- 6. a photo in, a thumbnail out

def test_6_photo_becomes_a_thumbnail_by_default(tmp_path):
    photo().save(tmp_path / "photo.png")
    r = run("encode", tmp_path / "photo.png", "--bytes", 64)
    assert r.exit_code == 0, r.output
    img = thumbcodec.decode((tmp_path / "photo.rnnc").read_bytes())
    assert max(img.size) <= 64 and abs(img.width / img.height - 1.5) < 0.2
    ref = np.asarray(photo().resize(img.size, Image.LANCZOS), np.float64)
    assert np.abs(np.asarray(img, np.float64) - ref).mean() < 25  # looks like the photo


@pytest.mark.parametrize("size, nbytes", [((32, 32), 16), ((32, 32), 134), ((48, 40), 200),
                                          ((100, 75), 200)])
def test_6_thumbnail_sized_inputs_keep_their_size(tmp_path, size, nbytes):
    Image.fromarray(gradient(*size)).save(tmp_path / "t.png")
    assert run("encode", tmp_path / "t.png", "--bytes", nbytes).exit_code == 0
    assert thumbcodec.decode((tmp_path / "t.rnnc").read_bytes()).size == size


def test_6_library_has_the_same_rule():
    data = thumbcodec.encode(photo(), bytes=64)
    assert max(thumbcodec.info(data).width, thumbcodec.info(data).height) <= 64
    data = thumbcodec.encode(photo(), bytes=64, fit=None)  # as given
    assert (thumbcodec.info(data).width, thumbcodec.info(data).height) == (768, 512)


def test_6_budget_below_one_iteration_is_said(tmp_path):
    Image.fromarray(gradient(100, 75)).save(tmp_path / "t.png")
    r = run("encode", tmp_path / "t.png", "--bytes", 40)
    assert r.exit_code == 0
    assert "less than one iteration" in r.output


# ---- 7. the advice names the real flags

def test_7_too_many_pixels_advice_names_cli_flags(tmp_path):
    Image.fromarray(gradient(1400, 1000)).save(tmp_path / "big.png")
    r = run("encode", tmp_path / "big.png", "--bytes", 64, "--fit", 1400)
    assert r.exit_code == 1
    assert "--max-pixels" in r.output and "--fit" in r.output and "max_pixels" not in \
        r.output.replace("--max-pixels", "")


# ---- 8. one-line errors where tracebacks were

@pytest.mark.parametrize("target", [
    "existing-file",
    "ro/newdir"])
def test_8_bad_output_paths_are_one_line(tmp_path, example_paths, target):
    if target == "existing-file":
        out = tmp_path / "noext"
        out.write_bytes(b"x")
        srcs = [example_paths[0], example_paths[1]]
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        out = ro / "newdir"
        srcs = [example_paths[0], example_paths[1]]
        if os.geteuid() == 0:
            pytest.skip("root ignores folder permissions")
    r = CliRunner().invoke(main, ["encode", *map(str, srcs), "--bytes", 40, "-o", str(out)])
    assert r.exit_code in (1, 2) and r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output and "Error" in r.output


def test_8_dev_stdout_and_out_of_memory_are_one_line(tmp_path, example_paths, monkeypatch):
    r = CliRunner().invoke(main, ["encode", str(example_paths[0]), "-o", "/dev/stdout"])
    assert r.exit_code == 2 and "-o -" in r.output and "Traceback" not in r.output
    from thumbcodec import codec

    def oom(*a, **k):
        raise MemoryError
    monkeypatch.setattr(codec, "encode_batch", oom)
    r = CliRunner().invoke(main, ["encode", str(example_paths[0]), "-o", str(tmp_path / "m.rnnc")])
    assert r.exit_code == 1 and "out of memory" in r.output and r.exception is not None
    assert isinstance(r.exception, SystemExit)


def test_16_verbose_says_each_file(tmp_path, example_paths):
    r = run("encode", example_paths[0], example_paths[1], "-o", tmp_path, "-v")
    assert r.exit_code == 0
    assert [line.endswith("64 bytes, 32x32") for line in r.output.splitlines()] == [True, True]


def test_8_unreadable_weights_are_a_weights_error(tmp_path, monkeypatch):
    from thumbcodec import weights as W
    d = tmp_path / "w"
    d.mkdir()
    f = d / W.get_info(W.DEFAULT_ID).file
    f.write_bytes(b"junk")
    monkeypatch.setenv("THUMBCODEC_WEIGHTS", str(d))
    W.load_arrays.cache_clear()
    with pytest.raises(thumbcodec.WeightsError):
        W.load_arrays(W.DEFAULT_ID)
    W.load_arrays.cache_clear()


# ---- 10. wrong output

def test_10_dark_16_bit_png_is_scaled_by_its_mode(tmp_path):
    a = np.full((32, 32), 200, np.uint16)  # 200 of 65535: almost black
    Image.fromarray(a).save(tmp_path / "dark.png")
    assert Image.open(tmp_path / "dark.png").mode.startswith("I")
    img = batch.load_image(tmp_path / "dark.png")
    assert np.asarray(img).max() <= 1


def _icc_rgb_profile(red, green, blue, gamma=2.2, white=(0.9642, 1.0, 0.8249)) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile from its primaries' XYZ (D50)."""
    import struct

    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def xyz(v):
        return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    name = b"test RGB\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", xyz(white)), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)),
            (b"bXYZ", xyz(blue)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text\0\0\0\0none\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + s15(white[0])
              + s15(white[1]) + s15(white[2]) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + data


def test_10_icc_profiles_are_converted_to_srgb(tmp_path):
    """An image whose profile swaps red and blue (against sRGB's primaries): its pixels
    (200, 40, 40) mean a blue, and must be read as one."""
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    Image.new("RGB", (32, 32), (200, 40, 40)).save(
        tmp_path / "swapped.png", icc_profile=_icc_rgb_profile(blue, green, red))
    got = np.asarray(batch.load_image(tmp_path / "swapped.png"), np.int16)[0, 0]
    assert np.abs(got - np.array([35, 35, 201])).max() <= 8, got
    plain = tmp_path / "plain.png"
    Image.new("RGB", (32, 32), (200, 40, 40)).save(plain)  # no profile: sRGB, as is
    assert tuple(np.asarray(batch.load_image(plain))[0, 0]) == (200, 40, 40)


# ---- 12. weights wherever pip put them

def test_12_missing_weights_error_names_the_variable(tmp_path, monkeypatch):
    from thumbcodec import weights as W
    monkeypatch.setenv("THUMBCODEC_WEIGHTS", str(tmp_path))
    W.load_arrays.cache_clear()
    with pytest.raises(thumbcodec.WeightsError, match="THUMBCODEC_WEIGHTS"):
        W.load_arrays(W.DEFAULT_ID)
    W.load_arrays.cache_clear()


def test_12_user_scheme_is_searched(monkeypatch):
    import site
    from thumbcodec import weights as W
    monkeypatch.delenv("THUMBCODEC_WEIGHTS", raising=False)
    assert Path(site.USER_BASE) / "share" / "thumbcodec" / "weights" in W.search_dirs()


# ---- 13. stdin and stdout

def test_13_pipes(tmp_path, example_paths):
    cli = [sys.executable, "-m", "thumbcodec.cli"]
    src = example_paths[0].read_bytes()
    r = subprocess.run(cli + ["encode", "-", "--bytes", "64", "-o", "-"], input=src,
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 64 and r.stdout[:2] == b"\x8eR"
    r2 = subprocess.run(cli + ["decode", "-", "-o", "-"], input=r.stdout, capture_output=True)
    assert r2.returncode == 0, r2.stderr
    assert Image.open(io.BytesIO(r2.stdout)).size == (32, 32)


def test_13_json_stdout_is_only_json(tmp_path, example_paths):
    cli = [sys.executable, "-m", "thumbcodec.cli"]
    r = subprocess.run(cli + ["encode", str(example_paths[0]), "--bytes", "40", "-o",
                              str(tmp_path / "a.rnnc"), "--json"], capture_output=True, text=True)
    assert json.loads(r.stdout)[0]["ok"] is True
    r = subprocess.run(cli + ["info", str(tmp_path / "a.rnnc"), str(tmp_path / "nope.rnnc"),
                              "--json"], capture_output=True, text=True)
    rows = json.loads(r.stdout)
    assert r.returncode == 1 and [row["ok"] for row in rows] == [True, False]
    one = json.loads(subprocess.run(cli + ["info", str(tmp_path / "a.rnnc"), "--json"],
                                    capture_output=True, text=True).stdout)
    assert one["header_bytes"] == 6


# ---- 9. memory and the auto backend

def test_9_junk_is_refused_by_its_length_before_it_is_read(tmp_path, monkeypatch):
    junk = tmp_path / "junk.rnnc"
    with open(junk, "wb") as f:  # a valid 32x32 header, then 64 MB of nothing (sparse)
        f.write(bytes.fromhex("8e522201f01f"))
        f.truncate(64 << 20)
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read whole")
                        if self == junk else real(self))
    r = run("decode", junk, "-o", tmp_path / "j.png")
    assert r.exit_code == 1 and "payload of 67108858 bytes is longer" in r.output


def test_9_batches_are_cut_by_pixels(monkeypatch):
    from thumbcodec import codec
    seen = []
    real = codec.engine.load

    class Spy:
        def __init__(self, runner):
            self.runner, self.cfg = runner, runner.cfg

        def compress(self, x, n):
            seen.append(x.shape[0] * x.shape[2] * x.shape[3])
            return self.runner.compress(x, n)

    monkeypatch.setattr(codec.engine, "load", lambda *a, **k: Spy(real(*a, **k)))
    imgs = [gradient(256, 192, seed=i) for i in range(40)]
    codec.encode_batch(imgs, iterations=1, fit=None, backend="numpy")
    assert max(seen) <= codec.BATCH_PIXELS and sum(seen) == 40 * 256 * 192


# ---- 11. torch is optional

def test_11_every_command_but_training_works_without_torch(tmp_path, example_paths):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(20):  # more than 16: once the torch backend
        (src / f"{i}.png").write_bytes(example_paths[i % len(example_paths)].read_bytes())
    no_torch = ("import sys; sys.modules['torch'] = None\n"  # import torch now fails
                "from thumbcodec.cli import main; main()")
    py = [sys.executable, "-c", no_torch]
    r = subprocess.run(py + ["encode", str(src), "--bytes", "40", "-o", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(py + ["decode", str(tmp_path / "o"), "-o", str(tmp_path / "p")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "p").glob("*.png"))) == 20
    r = subprocess.run(py + ["encode", str(src / "0.png"), "--bytes", "40", "--device", "cuda",
                             "-o", str(tmp_path / "c.rnnc")], capture_output=True, text=True)
    assert r.returncode == 1 and "torch" in r.stderr and "Traceback" not in r.stderr
    deps = (ROOT / "pyproject.toml").read_text().split("dependencies = [")[1].split("]")[0]
    assert "torch" not in deps


# ---- 14. Pillow

def test_14_pillow_save_open_verify(tmp_path, example_paths):
    im = Image.open(example_paths[0])
    im.save(tmp_path / "x.rnnc", bytes=64)
    assert (tmp_path / "x.rnnc").stat().st_size == 64
    with Image.open(tmp_path / "x.rnnc") as r:
        assert r.format == "RNNC" and r.size == (32, 32)
        r.load()
    bad = tmp_path / "bad.rnnc"
    bad.write_bytes((tmp_path / "x.rnnc").read_bytes()[:6] + bytes(300))  # payload too long
    with Image.open(bad) as r:
        with pytest.raises((OSError, ValueError)):
            r.verify()
    with pytest.raises((OSError, ValueError)):
        Image.open(bad).load()


def test_14_pillow_limit_and_closed_file(tmp_path, monkeypatch):
    data = thumbcodec.encode(Image.fromarray(gradient(64, 48)), bytes=40)
    (tmp_path / "a.rnnc").write_bytes(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "a.rnnc").load()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    im = Image.open(tmp_path / "a.rnnc")
    im.load()
    assert im.fp is None or im.fp.closed  # the file handle is closed after load()


# ---- 15. progress and decode batches

def test_15_decode_of_a_folder_batches(tmp_path, example_paths, monkeypatch):
    from thumbcodec import codec
    src = tmp_path / "in"
    src.mkdir()
    for i in range(12):
        (src / f"{i}.png").write_bytes(example_paths[i % len(example_paths)].read_bytes())
    assert run("encode", src, "--bytes", 40, "-o", tmp_path / "o").exit_code == 0
    calls = []
    real = codec.decode_batch
    monkeypatch.setattr(codec, "decode_batch", lambda datas, **k: calls.append(len(datas))
                        or real(datas, **k))
    assert run("decode", tmp_path / "o", "-o", tmp_path / "p").exit_code == 0
    assert calls == [12]


# ---- 16. CLI habits

def test_16_default_budget_quiet_and_too_many_bytes(tmp_path, example_paths):
    r = run("encode", example_paths[0], "-o", tmp_path / "d.rnnc")
    assert r.exit_code == 0 and (tmp_path / "d.rnnc").stat().st_size == 64  # the default
    r = run("encode", example_paths[0], "--bytes", 100_000, "-o", tmp_path / "big.rnnc")
    assert r.exit_code == 0 and "largest" in r.output
    assert (tmp_path / "big.rnnc").stat().st_size < 100_000
    assert run("encode", example_paths[0], "--bytes", 5).exit_code == 2
    r = run("encode", example_paths[0], "--bytes", 10_000, "-o", tmp_path / "q.rnnc", "-q")
    assert r.exit_code == 0 and r.output == ""


def test_16_device_error_once(tmp_path, example_paths):
    r = run("encode", *example_paths, "--bytes", 40, "--device", "cuda", "-o", tmp_path / "o")
    assert r.exit_code in (1, 2)
    assert r.output.count("cuda") == 1


def test_16_gif_in_a_folder(tmp_path, example_paths):
    Image.open(example_paths[0]).convert("P").save(tmp_path / "a.gif")
    r = run("encode", tmp_path, "--bytes", 40, "-o", tmp_path / "o", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["input"].endswith("a.gif")


# ---- 17. packaging

def test_17_packaging_conventions():
    import tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert meta["license"] in ("MIT", {"text": "MIT"}) or "MIT" in str(meta["license"])
    assert "version" in meta.get("dynamic", [])  # one place: thumbcodec.__version__
    assert (ROOT / "thumbcodec" / "py.typed").exists()
    assert thumbcodec.__version__.split(".dev")[0] in (ROOT / "CHANGELOG.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "SOURCES.md" in readme or "research use" in readme  # the weights' terms
    assert "stays decodable" in readme or "keep decoding" in readme
