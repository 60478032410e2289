"""web/rnnc.js in a real browser (headless Chromium from the Debian package `chromium`):
every pixel against the Python decoder running the same web weights (<= 2 levels) and the
float decoder (mean <= 1.5 levels), junk refused with the Python decoder's messages; and
the web weights against their manifest and the shipped weights.

Without chromium these tests skip, except under CI (CI set), where they fail.
"""
import base64
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

import thumbcodec

ROOT = Path(__file__).resolve().parent.parent


def _load(name):  # tools/<name>.py by path, so that tools/ need not be on sys.path
    spec = importlib.util.spec_from_file_location(f"_web_tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


web_serve = _load("web_serve")
web_weights = _load("web_weights")

VEC = Path(__file__).parent / "vectors"
WEB = ROOT / "web"


def _header(width, height, weights_id=2, version=1):
    w, h = width - 1, height - 1
    return bytes([0x8E, 0x52, version << 5 | weights_id, w >> 4, (w & 0xF) << 4 | h >> 8, h & 0xFF])


JUNK = {
    "empty": b"",
    "one-byte": b"\x8e",
    "cut-header": b"\x8eR\x22\x01",
    "text": b"hello, world",
    "wrong-magic": b"\x89PNG\r\n\x1a\n" + bytes(20),
    "version-2": _header(32, 32, version=2) + bytes(16),
    "weights-0": _header(32, 32, weights_id=0),
    "weights-9": _header(32, 32, weights_id=9) + bytes(16),
    "too-large": _header(4096, 4096),
    "too-long": _header(32, 32) + bytes(16 * 8 + 1),
}


def _cases():
    """(name, bytes, iterations or None): the vectors, random cuts of them, junk."""
    vectors = sorted(VEC.glob("*.rnnc"))
    out = [(p.stem, p.read_bytes(), None) for p in vectors]
    rng = np.random.default_rng(16)
    for k in range(10):
        p = vectors[rng.integers(len(vectors))]
        d = p.read_bytes()
        n = int(rng.integers(6, len(d)))
        out.append((f"cut{k}-{p.stem}-{n}B", d[:n], None))
    d = (VEC / "w2-texture-134B.rnnc").read_bytes()
    out.append(("w2-texture-134B-iterations-3", d, 3))
    # odd sizes (padding, crop, short pixel blocks), random bits: 1x1, 100x60, 9x33 of weights 1
    for w, h, wid, its in ((1, 1, 2, 3), (100, 60, 2, 2), (9, 33, 1, 5)):
        L = -(-w // 8) * -(-h // 8)  # bytes per iteration: 8 bits per code position
        out.append((f"random-{w}x{h}-w{wid}", _header(w, h, wid) + rng.bytes(its * L - 1), None))
    out += [(f"junk-{k}", v, None) for k, v in JUNK.items()]
    return out


def _chromium_or_skip():
    if web_serve.chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing under CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")


ADDITIVE = ["w2-landscape-64B", "w2-texture-134B"]


def _additive_weights(folder: Path) -> dict[str, bytes]:
    """Weights 2 run as the scaled-additive variant (Config.additive, made-up gains): the
    path a future weights id may take. Written to folder, served under /additive/."""
    from thumbcodec.weights import load_arrays
    config, arrays = load_arrays(2)
    config = {**config, "additive": True}
    arrays = {**arrays, "log_gain": np.log(np.float32([1.0, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1]))}
    blob = web_weights.pack(2, config, arrays, 8)
    manifest = json.dumps({"weights": {"2": web_weights.manifest_entry(2, blob)}}).encode()
    (folder / web_weights.file_name(2)).write_bytes(blob)
    return {"/additive/weights.json": manifest, f"/additive/{web_weights.file_name(2)}": blob}


@pytest.fixture(scope="module")
def additive_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("additive")


@pytest.fixture(scope="module")
def page(additive_folder):
    _chromium_or_skip()
    cases = _cases()
    listing = [{"name": n, "base64": base64.b64encode(d).decode(),
                **({} if it is None else {"iterations": it})} for n, d, it in cases]
    listing += [{"name": f"additive-{n}", "weights": "/additive/",
                 "base64": base64.b64encode((VEC / f"{n}.rnnc").read_bytes()).decode()}
                for n in ADDITIVE]
    extra = {"/cases.json": json.dumps(listing).encode(), **_additive_weights(additive_folder)}
    result = web_serve.run_page("/tests/web/test.html", extra, timeout=90)
    assert "fatal" not in result, result.get("fatal")
    return cases, result


def _rgb(c):
    a = np.frombuffer(base64.b64decode(c["rgba"]), np.uint8).reshape(c["height"], c["width"], 4)
    assert (a[..., 3] == 255).all()
    return a[..., :3].astype(int)


def _python_error(data):
    try:
        thumbcodec.decode(data, backend="numpy")
    except thumbcodec.ThumbcodecError as e:
        return str(e).replace("max_pixels", "maxPixels")
    return None


def test_pixels_match_python(page):
    cases, result = page
    got = {c["name"]: c for c in result["cases"]}
    names, datas = [], []
    for name, data, iterations in cases:
        if name.startswith("junk-"):
            continue
        if iterations is not None:  # the first `iterations` steps = the file cut after them
            L = web_weights.to_codes(data, web_weights.web_codec(2).cfg)[0].size // 8
            data = data[: 6 + iterations * L]
        names.append(name)
        datas.append(data)
    web = web_weights.decode_web(datas)
    flt = thumbcodec.decode_batch(datas, backend="numpy")
    assert len(names) == len(cases) - len(JUNK)
    for name, w, f in zip(names, web, flt):
        c = got[name]
        assert "error" not in c, (name, c.get("error"))
        assert c["isImageData"]
        js, w, f = _rgb(c), w.astype(int), np.asarray(f, int)
        assert js.shape == w.shape == f.shape, name
        assert np.abs(js - w).max() <= 2, name
        assert np.abs(js - f).mean() <= 1.5, name


def test_additive_variant_matches_python(page, additive_folder):
    _, result = page
    got = {c["name"]: c for c in result["cases"]}
    datas = [(VEC / f"{n}.rnnc").read_bytes() for n in ADDITIVE]
    for name, want in zip(ADDITIVE, web_weights.decode_web(datas, folder=additive_folder)):
        c = got[f"additive-{name}"]
        assert "error" not in c, c.get("error")
        js = _rgb(c)
        assert js.shape == want.shape and np.abs(js - want.astype(int)).max() <= 2, name
        one_shot = web_weights.decode_web([datas[ADDITIVE.index(name)]])[0]
        assert np.abs(js - one_shot.astype(int)).mean() > 5  # the gains did change the image


def test_junk_is_refused_with_python_messages(page):
    _, result = page
    got = {c["name"]: c for c in result["cases"]}
    for name, data in JUNK.items():
        c = got[f"junk-{name}"]
        assert c.get("isError"), (name, c)
        assert c["error"] == _python_error(data), name
    assert result["workerError"] == _python_error(base64.b64decode("AAAA"))


def test_batch_worker_progressive_dataurl(page):
    _, result = page
    assert result["batchSame"] and result["workerSame"]
    assert result["poolSame"]  # two Workers, each a part of the list; onStep's indices
    p = result["progressive"]
    n = len(p["steps"])
    assert p["steps"] == [[t, n] for t in range(1, n + 1)] and n == 8
    assert p["lastSame"]
    w = result["workerProgressive"]  # the Worker posts the same steps
    assert w["steps"] == [[0, t, n, True] for t in range(1, n + 1)] and w["lastSame"]
    first = _rgb(p["first"])
    data = (VEC / f"{p['name']}.rnnc").read_bytes()
    assert np.abs(first - web_weights.decode_web([data[:6 + 16]])[0]).max() <= 2
    assert result["dataURL"] == {"prefix": "data:image/png;base64,", "size": [32, 32]}


def test_web_weights_match_manifest_and_shipped_weights():
    manifest = json.loads((WEB / "weights.json").read_text())["weights"]
    missing = {str(i) for i in web_weights.shipped_ids()} - set(manifest)
    assert not missing, f"no web weights for ids {sorted(missing)}: run tools/web_weights.py"
    for wid, entry in manifest.items():
        blob = (WEB / entry["file"]).read_bytes()
        assert len(blob) == entry["bytes"] <= 1_500_000
        assert hashlib.sha256(blob).hexdigest() == entry["sha256"]
        assert blob == web_weights.build(int(wid)), f"web weights {wid} are stale: rerun tools/web_weights.py"


def test_web_weights_are_close_to_float_weights():
    from thumbcodec.weights import load_arrays
    _, shipped = load_arrays(2)
    _, web = web_weights.load_web(2)
    for name, w in web.items():
        ref = shipped[name]
        # per output channel: within half a step of that channel's scale
        step = (np.abs(ref.reshape(len(ref), -1)).max(1) / web_weights.LEVELS
                if name.endswith(".weight") else 0)
        err = np.abs(w - ref).reshape(len(ref), -1).max(1)
        assert (err <= step / 2 + 1e-7).all(), name


def test_committed_wasm_is_built_from_source(tmp_path):
    """web/rnnc.wasm is what web/build.sh makes from web/src/rnnc.c (with Debian 12's
    clang 14, which made it; other compilers emit other bytes, so the test skips there)."""
    import shutil
    import subprocess
    clang = shutil.which("clang")
    if clang is None or shutil.which("wasm-ld") is None:
        pytest.skip("clang and lld are not installed (apt-get install clang lld)")
    if "clang version 14." not in subprocess.run([clang, "--version"], capture_output=True,
                                                  text=True).stdout:
        pytest.skip("not clang 14")
    out = tmp_path / "rnnc.wasm"
    subprocess.run(["sh", str(WEB / "build.sh"), str(out)], check=True, capture_output=True)
    assert out.read_bytes() == (WEB / "rnnc.wasm").read_bytes(), "rebuild web/rnnc.wasm: web/build.sh"


def test_docs_give_the_current_download_sizes():
    """docs/web.md's size table is tools/web_sizes.py's first line (gzip within 2%: zlib
    versions differ)."""
    import re
    doc = (ROOT / "docs" / "web.md").read_text()
    sizes = _load("web_sizes").sizes()
    for name, size in sizes.items():
        label = "**total**" if name == "total" else f"`{name}`"
        row = next(line for line in doc.splitlines() if line.startswith(f"| {label}"))
        raw, gz = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) B\b", row)][-2:]
        assert raw == size["raw"], f"docs/web.md: {name} is {size['raw']} B now"
        assert abs(gz - size["gzip"]) <= 0.02 * size["gzip"], f"docs/web.md: {name} gzip"
