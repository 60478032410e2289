"""examples/scale_out.py: thumbcodec encode on a local Dask cluster of two workers gives the
files (and Parquet rows) that ``thumbcodec encode`` gives, image by image."""
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from PIL import Image

import thumbcodec
from examples import scale_out
from thumbcodec.cli import main as cli
from tests.conftest import gradient

OPTS = dict(nbytes=64, backend="torch")  # pinned: numpy and torch may differ in rare bits


@pytest.fixture(scope="module")
def client():
    c = scale_out.start(workers=2)
    yield c
    scale_out.close(c)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """201 small images in subfolders: 196 good, a name clash (a/x.jpg, a/x.png: the later
    fails) and 3 corrupt files."""
    src = tmp_path_factory.mktemp("catalogue")
    sizes = [(32, 32), (24, 16), (17, 29), (40, 40), (150, 100)]
    for i in range(196):
        sub = src / ["", "a", "b", "b/c"][i % 4]
        sub.mkdir(parents=True, exist_ok=True)
        w, h = sizes[i % len(sizes)]
        Image.fromarray(gradient(w, h, seed=i)).save(sub / f"img{i:03d}.{['png', 'jpg'][i % 2]}")
    Image.fromarray(gradient(32, 32, seed=1000)).save(src / "a" / "x.png")
    Image.fromarray(gradient(32, 32, seed=1001)).save(src / "a" / "x.jpg")  # clashes: fails
    (src / "junk.png").write_bytes(b"not a png at all" * 10)
    (src / "b" / "empty.jpg").write_bytes(b"")
    good = (src / "img000.png").read_bytes()
    (src / "b" / "c" / "cut.png").write_bytes(good[: len(good) // 2])
    bad = {"junk.png", "b/empty.jpg", "b/c/cut.png", "a/x.png"}  # a/x.png: x.jpg sorts first
    return src, bad


@pytest.fixture(scope="module")
def reference(catalogue, tmp_path_factory):
    """What ``thumbcodec encode SRC --bytes 64 --effort 0 -o REF`` writes, and the inputs it
    fails (the catalogue job encodes at effort 0; the CLI's default is a search)."""
    src, _ = catalogue
    ref = tmp_path_factory.mktemp("ref")
    r = CliRunner().invoke(cli, ["encode", str(src), "--bytes", "64", "-o", str(ref),
                                 "--backend", "torch", "--effort", "0", "--json"])
    rows = json.loads(r.stdout)
    assert r.exit_code == 1  # some inputs failed
    return ref, {Path(row["input"]).relative_to(src).as_posix() for row in rows if not row["ok"]}


def test_folder_matches_cli_on_two_workers(client, catalogue, reference, tmp_path):
    src, bad = catalogue
    ref, ref_failed = reference
    out = tmp_path / "out"
    report = scale_out.encode_folder(client, src, out, **OPTS)
    json.dumps(report)  # what the script prints
    assert report["engine"] == "dask" and report["workers"] == 2
    assert report["images"] == 201 and report["done"] == 197 and report["skipped"] == 0
    # the work ran on both workers, each of which loaded the model once
    assert len(report["per_worker"]) == 2 and min(report["per_worker"].values()) > 0
    assert set(report["model_loads"].values()) == {1}
    failed = {Path(f["input"]).relative_to(src).as_posix(): f["error"] for f in report["failed"]}
    assert set(failed) == bad == ref_failed
    assert "also the output of" in failed["a/x.png"]
    # file by file, the bytes thumbcodec encode wrote
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(ref) for p in ref.rglob("*") if p.is_file())
    assert len(files) == 197 and Path("b/c/img003.rnnc") in files
    for f in files:
        assert (out / f).read_bytes() == (ref / f).read_bytes(), f
    # a re-run writes nothing and skips everything that is done
    mtimes = {f: (out / f).stat().st_mtime_ns for f in files}
    again = scale_out.encode_folder(client, src, out, **OPTS)
    assert (again["done"], again["skipped"], len(again["failed"])) == (0, 197, 4)
    assert mtimes == {f: (out / f).stat().st_mtime_ns for f in files}


def test_table_round_trip(client, catalogue, reference, tmp_path):
    src, bad = catalogue
    ref, _ = reference
    paths = sorted(str(p) for p in src.rglob("*") if p.is_file() and p.name != "x.png")
    pq.write_table(pa.table({"path": paths}), tmp_path / "in.parquet")
    report = scale_out.encode_table(client, tmp_path / "in.parquet", tmp_path / "out.parquet",
                                    **OPTS)
    assert len(report["per_worker"]) == 2 and report["done"] == len(paths) - 3
    rows = pq.read_table(tmp_path / "out.parquet").sort_by("path").to_pylist()
    assert [r["path"] for r in rows] == paths
    for r in rows:
        name = Path(r["path"]).relative_to(src).as_posix()
        if name in bad:
            assert r["rnnc"] is None and r["error"].startswith(r["path"])
            continue
        assert r["error"] is None
        assert r["rnnc"] == (ref / Path(name).with_suffix(".rnnc")).read_bytes(), name
        i = thumbcodec.info(r["rnnc"])
        assert (r["width"], r["height"]) == (i.width, i.height)
    again = scale_out.encode_table(client, tmp_path / "in.parquet", tmp_path / "out.parquet",
                                   **OPTS)
    assert (again["done"], again["skipped"]) == (0, len(paths) - 3)
    assert again["failed"] == report["failed"]


def test_script_prints_one_json_object(tmp_path):
    """The script on its own local cluster: only the report on stdout, exit 1 on failures."""
    import subprocess
    import sys
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        Image.fromarray(gradient(32, 32, seed=i)).save(src / f"{i}.png")
    (src / "bad.png").write_bytes(b"junk")
    script = Path(scale_out.__file__)
    p = subprocess.run([sys.executable, script, src, tmp_path / "out", "--bytes", "64",
                        "--workers", "1", "--backend", "numpy"],
                       capture_output=True, text=True, timeout=120)
    report = json.loads(p.stdout)  # one object, nothing else
    assert p.returncode == 1 and report["done"] == 3 and report["workers"] == 1
    assert [f["input"] for f in report["failed"]] == [str(src / "bad.png")]
    assert sorted(q.name for q in (tmp_path / "out").iterdir()) == ["0.rnnc", "1.rnnc", "2.rnnc"]
