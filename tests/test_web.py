"""web/rnnc.js in a real browser (headless Chromium from the Debian package `chromium`):
every pixel against the Python decoder running the same web weights (<= 2 levels) and the
float decoder (mean <= 1.5 levels), format versions 1 and 2; the code bits of version 2
(arithmetic decoder and context table) equal to Python's at every byte prefix; junk
refused with the Python decoder's messages; and the web weights and context tables
against their manifest and the shipped files.

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
    "version-3": _header(32, 32, version=3) + bytes(16),
    "weights-0": _header(32, 32, weights_id=0),
    "weights-9": _header(32, 32, weights_id=9) + bytes(16),
    "too-large": _header(4096, 4096),
    "too-long": _header(32, 32) + bytes(16 * 8 + 1),
    "v2-too-long": _header(32, 32, version=2) + bytes(16 * 8 + 1),
    "v2-alpha": bytes.fromhex("8e 52 42 00 f0 0f ff ff"),       # docs/format.md's example
    "v2-alpha-long": _header(32, 32, version=2) + bytes([0xff, 0xf0]) + bytes(20),
    "v2-no-table": _header(32, 32, weights_id=1, version=2) + bytes(16),  # weights 1 have none
}


def _v2_vectors() -> list[Path]:
    """The conformance vectors written as format 2 (tests/vectors/vectors.json)."""
    listing = json.loads((VEC / "vectors.json").read_text())
    return [VEC / f"{v['name']}.rnnc" for v in listing if v.get("format") == 2]


def _cuts(vectors: list[Path], rng, label: str, count: int = 10) -> list:
    """`count` cases, each a random vector cut at a random byte past the header."""
    out = []
    for k in range(count):
        p = vectors[rng.integers(len(vectors))]
        d = p.read_bytes()
        n = int(rng.integers(6, len(d)))
        out.append((f"{label}{k}-{p.stem}-{n}B", d[:n], None))
    return out


def _cases():
    """(name, bytes, iterations or None): the vectors, random cuts of them, junk."""
    vectors = sorted(VEC.glob("*.rnnc"))
    out = [(p.stem, p.read_bytes(), None) for p in vectors]
    rng = np.random.default_rng(16)
    out += _cuts(vectors, rng, "cut")
    d = (VEC / "w2-texture-134B.rnnc").read_bytes()
    out.append(("w2-texture-134B-iterations-3", d, 3))
    # version 2: random cuts of its vectors, a file decoded to 2 iterations, random streams
    rng2 = np.random.default_rng(15)
    out += _cuts(_v2_vectors(), rng2, "v2cut")
    out.append(("w2-v2-landscape-64B-iterations-2", (VEC / "w2-v2-landscape-64B.rnnc").read_bytes(), 2))
    out.append(("v2-zeros-32x32", _header(32, 32, version=2) + bytes(16), None))
    for w, h, n in ((1, 1, 5), (100, 60, 150), (9, 33, 7)):
        out.append((f"v2-random-{w}x{h}", _header(w, h, version=2) + bytes([0x7f]) + rng2.bytes(n), None))
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
    blob = web_weights.pack(2, config, arrays, 8, web_weights.levels_of(2))
    manifest = json.dumps({"weights": {"2": web_weights.manifest_entry(2, blob)}}).encode()
    (folder / web_weights.file_name(2)).write_bytes(blob)
    return {"/additive/weights.json": manifest, f"/additive/{web_weights.file_name(2)}": blob}


def _context_folders() -> dict[str, bytes]:
    """Weights folders whose context table is missing (/nocontext/: listed, not served) or
    altered (/badcontext/: one probability changed), served with the real web weights."""
    manifest = (WEB / "weights.json").read_bytes()
    blob = (WEB / web_weights.file_name(2)).read_bytes()
    table = json.loads((WEB / "rnnc-w2.ctx.json").read_text())
    table["p1"][0] += 1
    bad = json.dumps(table, separators=(",", ":")).encode() + b"\n"
    out = {}
    for name in ("nocontext", "badcontext"):
        out[f"/{name}/weights.json"] = manifest
        out[f"/{name}/{web_weights.file_name(2)}"] = blob
    out["/badcontext/rnnc-w2.ctx.json"] = bad
    return out


CONTEXT_CASES = {  # name: (weights folder, file)
    "nocontext-v1": ("/nocontext/", VEC / "w2-landscape-64B.rnnc"),
    "nocontext-v2": ("/nocontext/", VEC / "w2-v2-landscape-64B.rnnc"),
    "badcontext-v2": ("/badcontext/", VEC / "w2-v2-landscape-64B.rnnc"),
}

# every byte prefix of these files goes through rnnc.js's codeBits and info
PREFIX_FILES = {"w2-v2-landscape-64B": (VEC / "w2-v2-landscape-64B.rnnc").read_bytes(),
                "w2-v2-landscape-48x40-96B": (VEC / "w2-v2-landscape-48x40-96B.rnnc").read_bytes(),
                "worked-example": bytes.fromhex("8e524201f01ff613a00f4e8bda402a6ffba1e04e965fd06d")}


def _coder_cases() -> list[dict]:
    """Streams for the bare arithmetic decoder: random bits under random probabilities
    (skewed to the extremes 1 and 4095, where R0 is widest and narrowest) encoded by
    thumbcodec.entropy at budgets that cut them, and random bytes."""
    from thumbcodec import entropy
    rng = np.random.default_rng(17)
    out = []
    for k in range(24):
        n = int(rng.integers(1, 3000))
        kind = k % 3
        if kind == 0:
            probs = rng.integers(1, 4096, n)
        elif kind == 1:
            probs = rng.choice([1, 2, 4094, 4095, 2048, 17], n)
        else:
            probs = np.clip(rng.normal(4000, 200, n).astype(int), 1, 4095)
        bits = (rng.random(n) < probs / 4096).astype(int)
        if k % 4 == 3:
            bits = 1 - bits  # the unlikely outcome: R shrinks fastest
        full, _ = entropy.encode(bits, probs)
        data = full if k % 2 else entropy.encode(bits, probs, int(rng.integers(0, len(full) + 2)))[0]
        out.append({"base64": base64.b64encode(data).decode(), "probs": probs.tolist()})
    for k in range(8):
        probs = rng.integers(1, 4096, 500)
        out.append({"base64": base64.b64encode(rng.bytes(int(rng.integers(0, 80)))).decode(),
                    "probs": probs.tolist()})
    return out


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
    listing += [{"name": n, "weights": folder, "base64": base64.b64encode(p.read_bytes()).decode()}
                for n, (folder, p) in CONTEXT_CASES.items()]
    coder = _coder_cases()
    prefixes = [{"name": n, "base64": base64.b64encode(d).decode()} for n, d in PREFIX_FILES.items()]
    extra = {"/cases.json": json.dumps(listing).encode(), **_additive_weights(additive_folder),
             "/coder.json": json.dumps(coder).encode(), "/prefixes.json": json.dumps(prefixes).encode(),
             **_context_folders()}
    result = web_serve.run_page("/tests/web/test.html", extra, timeout=120)
    assert "fatal" not in result, result.get("fatal")
    result["coderCases"] = coder
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
    kept = [(n, d, it) for n, d, it in cases if not n.startswith("junk-")]
    names = [n for n, _, _ in kept]
    # a decode to `iterations` steps is the progressive decode's step of that number
    web = [steps[(it or len(steps)) - 1]
           for steps, (_, _, it) in zip(web_weights.decode_web([d for _, d, _ in kept], all_steps=True), kept)]
    flt = [thumbcodec.decode(d, iterations=it, backend="numpy") for _, d, it in kept]
    assert len(names) == len(cases) - len(JUNK)
    assert sum(d[2] >> 5 == 2 for _, d, _ in kept) >= 15  # version 2 is well covered
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


def _python_bits(data: bytes) -> tuple[int, str]:
    """(bits determined, those bits as 0/1 text) of .rnnc bytes, by the Python decoder."""
    from thumbcodec import weights as W
    from thumbcodec.codec import parse
    h, lay, codes = parse(data)
    if h.version == 2:
        _, n = W.context_model(h.weights_id).decode(data[6:], lay.shape, lay.max_iterations)
    else:
        whole, left = lay.split(len(data) - 6)
        n = whole * lay.bits_per_iteration + left
    flat = codes.reshape(-1)
    assert not flat[n:].any()  # the bits not determined are 0
    return n, "".join("1" if v > 0 else "0" for v in flat[:n])


def test_code_bits_match_python_at_every_prefix(page):
    """The arithmetic decoder and context table in JavaScript, bit-exact: every byte prefix
    of the files gives the same bits, as many of them, and the same info, as Python."""
    _, result = page
    got = result["prefixes"]
    want = [(name, k) for name, d in PREFIX_FILES.items() for k in range(6, len(d) + 1)]
    assert [(p["name"], p["k"]) for p in got] == want
    ns: dict[str, list[int]] = {}
    for p in got:
        data = PREFIX_FILES[p["name"]][: p["k"]]
        n, bits = _python_bits(data)
        assert (p["n"], p["bits"]) == (n, bits), (p["name"], p["k"])
        ns.setdefault(p["name"], []).append(n)
        inf = thumbcodec.info(data)
        assert (p["info"]["iterations"], p["info"]["leftoverBits"], p["info"]["iterationOffsets"]) \
            == (inf.iterations, inf.leftover_bits, inf.iteration_offsets), (p["name"], p["k"])
    for name, n in ns.items():  # more bytes never take a bit back, and nearly all add some
        steps = np.diff(n)
        assert (steps >= 0).all() and (steps > 0).mean() > 0.8, name


def test_info_matches_python(page):
    """rnnc.js's info against thumbcodec.info: the same fields (iteration offsets of version 2
    included) or the same error, for every case."""
    cases, result = page
    got = {c["name"]: c for c in result["info"]}
    keys = {"width": "width", "height": "height", "version": "version", "weightsId": "weights_id",
            "headerBytes": "header_bytes", "payloadBytes": "payload_bytes",
            "bitsPerIteration": "bits_per_iteration", "iterations": "iterations",
            "leftoverBits": "leftover_bits", "iterationOffsets": "iteration_offsets"}
    for name, data, iterations in cases:
        if iterations is not None:
            continue
        try:
            inf = thumbcodec.info(data).to_dict()
        except thumbcodec.ThumbcodecError as e:
            assert got[name].get("error") == str(e).replace("max_pixels", "maxPixels"), name
            continue
        assert {k: got[name].get(k) for k in keys} == {k: inf[v] for k, v in keys.items()}, name
    # without a context table, version 2 is described as far as Python describes it
    assert got["junk-v2-no-table"]["iterations"] is None is thumbcodec.info(JUNK["v2-no-table"]).iterations


def test_arithmetic_decoder_matches_python(page):
    """rnnc.js's arithmeticDecode against thumbcodec.entropy.decode on streams cut short,
    whole, and random, with probabilities at the extremes."""
    from thumbcodec import entropy
    _, result = page
    assert len(result["coder"]) == len(result["coderCases"]) == 32
    lengths = []
    for case, bits in zip(result["coderCases"], result["coder"]):
        want = entropy.decode(base64.b64decode(case["base64"]), case["probs"])
        assert bits == want
        lengths.append(len(bits))
    assert 0 < sum(n == len(c["probs"]) for n, c in zip(lengths, result["coderCases"])) < len(lengths)


def test_context_table_is_checked_and_fetched_only_for_version_2(page):
    _, result = page
    got = {c["name"]: c for c in result["cases"]}
    assert "error" not in got["nocontext-v1"], got["nocontext-v1"]  # never asked for the table
    assert got["nocontext-v2"]["error"].startswith("weights id 2: cannot read http://127.0.0.1:")
    assert got["nocontext-v2"]["error"].endswith("/nocontext/rnnc-w2.ctx.json: HTTP 404")
    bad = got["badcontext-v2"]["error"]
    assert bad.startswith("weights id 2: http://127.0.0.1:") and "/badcontext/rnnc-w2.ctx.json has sha256" in bad
    assert bad.endswith(f"expected {json.loads((WEB / 'weights.json').read_text())['weights']['2']['context']['sha256'][:12]}…")


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
        # the context table: the shipped file itself, as the registry lists it
        shipped = web_weights.context_blob(int(wid))
        if shipped is None:
            assert "context" not in entry
            continue
        table = (WEB / entry["context"]["file"]).read_bytes()
        assert (entry["context"]["file"], table) == shipped, f"rerun tools/web_weights.py {wid}"
        assert entry["context"] == {"file": shipped[0], "bytes": len(table),
                                    "sha256": hashlib.sha256(table).hexdigest()}


@pytest.mark.parametrize("wid", web_weights.shipped_ids())
def test_web_weights_are_close_to_float_weights(wid):
    from thumbcodec.weights import load_arrays
    _, shipped = load_arrays(wid)
    _, web = web_weights.load_web(wid)
    for name, w in web.items():
        ref = shipped[name]
        # per output channel: within half a step of that channel's scale
        step = (np.abs(ref.reshape(len(ref), -1)).max(1) / web_weights.levels_of(wid)
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
    """docs/web.md's size table is tools/web_sizes.py's first line, for the default weights
    (gzip within 2%: zlib versions differ)."""
    import re
    from thumbcodec.weights import DEFAULT_ID
    doc = (ROOT / "docs" / "web.md").read_text()
    sizes = _load("web_sizes").sizes(DEFAULT_ID)
    for name, size in sizes.items():
        label = "**total**" if name == "total" else f"`{name}`"
        row = next(line for line in doc.splitlines() if line.startswith(f"| {label}"))
        raw, gz = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) B\b", row)][-2:]
        assert raw == size["raw"], f"docs/web.md: {name} is {size['raw']} B now"
        assert abs(gz - size["gzip"]) <= 0.02 * size["gzip"], f"docs/web.md: {name} gzip"
