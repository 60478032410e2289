"""Decoder weights for the browser (web/rnnc.js): the decoder half of a shipped weights id,
int8 with one scale per output channel, written to web/rnnc-w<ID>.bin; the id's context
table for format version 2, copied byte for byte to web/rnnc-w<ID>.ctx.json (the same
sha256 as in the registry); and the manifest web/weights.json (file, bytes, sha256, what a
decoder checks in a header; "context": file, bytes, sha256 of the table) that rnnc.js reads
and tests/test_web.py checks.

    python tools/web_weights.py                # (re)write the files of every shipped id
    python tools/web_weights.py 3              # one id (a new one): the others stay listed
    python tools/web_weights.py 2 --measure    # + SSIM lost on the Kodak thumbnails
    python tools/web_weights.py 2 --measure --levels 31 --out /tmp/w31   # a trial

The file, little-endian, every array 4-byte aligned:

    offset 0   4 bytes  magic "RNNW"
    offset 4   4 bytes  J, length of the JSON description (padded with spaces to 4n)
    offset 8   J bytes  {"weights_id", "config", "max_iterations", "tensors": [
                          {"name", "shape", "dtype": "int8" | "float32",
                           "offset", "scales"(int8 only: offset of shape[0] float32)}]}
    8 + J      ...      the arrays; offsets count from here

A weight w[o, ...] is stored as round(w / s[o]) with s[o] = max |w[o, ...]| / L, L the
id's entry in LEVELS; biases and the additive variant's gains stay float32. For ids 1
and 2, L is 63 (7-bit values in int8 bytes), not 127: the gzip download is 12% smaller
(575 KB for weights 2, not 656 KB) for a little more error (docs/web.md). 31 levels
(504 KB) lose up to 0.001 SSIM on the Kodak thumbnails but put the texture vector 1.6
levels from the float decoder on average, over the 1.5 the browser test allows; 15 levels
(422 KB) lose up to 0.004 SSIM. For id 3, L is 95: 63 put a weights-3 trial 1.67
levels from the float decoder on the texture vector, 95 put it 0.72; with 95 the shipped
id 3 loses at most 0.001 SSIM on the Kodak thumbnails (16 to 128 B, `--measure`). A new
id gets NEW_ID_LEVELS (95) until its own measurement sets its entry. The Python decoder
with these weights is ``web_codec(id)`` (NumpyCodec on the dequantized arrays); ``decode_web`` decodes .rnnc
bytes with it, as rnnc.js does, and is what the browser test compares pixels with.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
MAGIC = b"RNNW"
MANIFEST = "weights.json"
HEADER_SIZE = 6          # of a .rnnc file (docs/format.md)
LEVELS = {1: 63, 2: 63, 3: 95}  # per id, int8 values in -L..L (see above for why 63)
NEW_ID_LEVELS = 95       # an id not in LEVELS yet


def levels_of(weights_id: int) -> int:
    return LEVELS.get(weights_id, NEW_ID_LEVELS)


def file_name(weights_id: int) -> str:
    return f"rnnc-w{weights_id}.bin"


def context_blob(weights_id: int) -> tuple[str, bytes] | None:
    """(file name, bytes) of the shipped context table of an id, checked against the
    registry's sha256; None for an id without one."""
    from thumbcodec import weights as W
    info = W.get_info(weights_id)
    if info.context is None:
        return None
    file, sha = info.context
    blob = W.weights_path(info, file).read_bytes()
    if hashlib.sha256(blob).hexdigest() != sha:
        raise ValueError(f"weights id {weights_id}: {file} does not match the registry's sha256")
    return file, blob


def decoder_arrays(arrays: dict[str, np.ndarray], config: dict) -> dict[str, np.ndarray]:
    """The parameters decompress() reads: decoder.*, and log_gain when additive."""
    keep = {k: v for k, v in arrays.items() if k.startswith("decoder.")}
    if config.get("additive"):
        keep["log_gain"] = arrays["log_gain"]
    return keep


def quantize(w: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per output channel (axis 0) -> (int8 values in -levels..levels, float32
    scales)."""
    w = np.asarray(w, np.float32)
    peak = np.abs(w.reshape(len(w), -1)).max(axis=1)
    scales = np.where(peak > 0, peak / levels, 1).astype(np.float32)
    q = np.rint(w / scales.reshape(-1, *[1] * (w.ndim - 1)))
    return np.clip(q, -levels, levels).astype(np.int8), scales


def max_iterations(weights_id: int) -> int:
    """Iterations a file of this id may hold, as the Python decoder enforces (probed with
    thumbcodec.info on the header of an 8x8 file with growing payloads)."""
    import thumbcodec
    from thumbcodec.config import Config
    from thumbcodec.weights import load_arrays
    cfg = Config.from_dict(load_arrays(weights_id)[0])
    L = math.ceil(math.ceil(8 / cfg.stride) ** 2 * cfg.bits / 8)
    header = bytes([0x8E, 0x52, 1 << 5 | weights_id, 0, 0x70, 0x07])
    n = 0
    while n < 64:
        try:
            thumbcodec.info(header + bytes((n + 1) * L))
        except ValueError:  # FormatError: payload too long
            break
        n += 1
    return n


def shipped_ids() -> list[int]:
    """The weights ids this install decodes (probed with thumbcodec.info on a header)."""
    import thumbcodec
    ids = []
    for wid in range(1, 32):
        try:
            thumbcodec.info(bytes([0x8E, 0x52, 1 << 5 | wid, 0, 0x70, 0x07]))
        except thumbcodec.ThumbcodecError:
            continue
        ids.append(wid)
    return ids


def build(weights_id: int, levels: int | None = None) -> bytes:
    """The web weights file for a shipped weights id (deterministic; levels: the id's)."""
    from thumbcodec.weights import load_arrays
    config, arrays = load_arrays(weights_id)
    return pack(weights_id, config, arrays, max_iterations(weights_id),
                levels or levels_of(weights_id))


def pack(weights_id: int, config: dict, arrays: dict[str, np.ndarray], max_iter: int,
         levels: int) -> bytes:
    """A web weights file from a config and its arrays (the decoder's are kept)."""
    tensors, blobs, offset = [], [], 0
    for name, w in sorted(decoder_arrays(arrays, config).items()):
        w = np.asarray(w, np.float32)
        entry = {"name": name, "shape": list(w.shape)}
        if name.endswith(".weight"):
            q, s = quantize(w, levels)
            entry.update(dtype="int8", offset=offset)
            parts = [q.tobytes()]
            pad = -len(parts[0]) % 4
            parts.append(bytes(pad))
            entry["scales"] = offset + len(parts[0]) + pad
            parts.append(s.astype("<f4").tobytes())
        else:
            entry.update(dtype="float32", offset=offset)
            parts = [w.astype("<f4").tobytes()]
        blob = b"".join(parts)
        blobs.append(blob)
        offset += len(blob)
        tensors.append(entry)
    desc = {"weights_id": weights_id, "config": config, "max_iterations": max_iter,
            "tensors": tensors}
    js = json.dumps(desc, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    return MAGIC + len(js).to_bytes(4, "little") + js + b"".join(blobs)


def read(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Web weights file -> (description, {name: dequantized float32 array})."""
    if blob[:4] != MAGIC:
        raise ValueError("not a web weights file")
    j = int.from_bytes(blob[4:8], "little")
    desc = json.loads(blob[8: 8 + j])
    data = blob[8 + j:]
    out = {}
    for t in desc["tensors"]:
        n = int(np.prod(t["shape"]))
        if t["dtype"] == "int8":
            q = np.frombuffer(data, np.int8, n, t["offset"]).astype(np.float32)
            s = np.frombuffer(data, "<f4", t["shape"][0], t["scales"])
            out[t["name"]] = (q.reshape(t["shape"][0], -1) * s[:, None]).reshape(t["shape"])
        else:
            out[t["name"]] = np.frombuffer(data, "<f4", n, t["offset"]).reshape(t["shape"]).copy()
    return desc, out


def load_web(weights_id: int, folder: Path = WEB) -> tuple[dict, dict[str, np.ndarray]]:
    return read((Path(folder) / file_name(weights_id)).read_bytes())


@functools.lru_cache(maxsize=None)
def web_codec(weights_id: int, folder: Path = WEB):
    """NumpyCodec running the web weights (dequantized), for comparisons."""
    from thumbcodec.config import Config
    from thumbcodec.npmodel import NumpyCodec
    desc, arrays = load_web(weights_id, folder)
    return NumpyCodec(Config.from_dict(desc["config"]), arrays)


def to_codes(data: bytes) -> np.ndarray:
    """.rnnc bytes (format version 1 or 2) -> (T, C, h, w) codes in {-1, 0, +1}, as the
    Python decoder reads them (``thumbcodec.codec.parse``: a trailing partial iteration's
    missing bits 0), and one all-zero step when there are none."""
    from thumbcodec.codec import parse
    _, lay, codes = parse(data)
    return codes if len(codes) else np.zeros((1, *lay.shape), np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """(B, 3, H, W) model range -> (B, H, W, 3) uint8, as thumbcodec.pixels.from_model."""
    y = np.rint((np.asarray(x, np.float32) + np.float32(0.9)) * np.float32(255 / 1.8))
    return np.clip(y, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def decode_web(datas: list[bytes], weights_id: int | None = None, all_steps: bool = False,
               folder: Path = WEB) -> list:
    """Decode .rnnc bytes with the web weights: (H, W, 3) uint8 arrays (or, with
    all_steps, a list of them per file). Files of equal size and length decode together."""
    from thumbcodec.format import parse_header
    codecs, groups, out = {}, {}, [None] * len(datas)
    for i, d in enumerate(datas):
        head = parse_header(d)
        wid = weights_id or head.weights_id
        if wid not in codecs:
            codecs[wid] = web_codec(wid, folder)
        codes = to_codes(d)
        groups.setdefault((wid, head.width, head.height, len(codes)), []).append((i, codes))
    for (wid, w, h, _), items in groups.items():
        # every step (the flag is positional: its name changes with the package's refactor)
        steps = codecs[wid].decompress(np.stack([c for _, c in items], axis=1), True)
        pics = [to_uint8(y)[:, :h, :w] for y in steps]
        for j, (i, _) in enumerate(items):
            seq = [np.ascontiguousarray(p[j]) for p in pics]
            out[i] = seq if all_steps else seq[-1]
    return out


def write(ids: list[int], folder: Path = WEB, levels: int | None = None) -> dict:
    """Write the files for ids and merge them into the manifest; returns the manifest."""
    folder.mkdir(exist_ok=True)
    path = folder / MANIFEST
    manifest = json.loads(path.read_text()) if path.exists() else {"weights": {}}
    for wid in ids:
        blob = build(wid, levels)
        _write_atomic(folder / file_name(wid), blob)
        context = context_blob(wid)
        if context is not None:
            _write_atomic(folder / context[0], context[1])
        manifest["weights"][str(wid)] = manifest_entry(wid, blob, context)
    manifest["weights"] = dict(sorted(manifest["weights"].items(), key=lambda kv: int(kv[0])))
    _write_atomic(path, (json.dumps(manifest, indent=1) + "\n").encode())
    return manifest


def manifest_entry(weights_id: int, blob: bytes,
                   context: tuple[str, bytes] | None = None) -> dict:
    """What weights.json says of a web weights file (and of the context table, when the id
    has one): what rnnc.js checks before loading them."""
    desc = read(blob)[0]
    entry = {"file": file_name(weights_id), "bytes": len(blob),
             "sha256": hashlib.sha256(blob).hexdigest(),
             "max_iterations": desc["max_iterations"],
             "bits": desc["config"]["bits"], "stride": 2 ** len(desc["config"]["enc"])}
    if context is not None:
        file, data = context
        entry["context"] = {"file": file, "bytes": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()}
    return entry


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def measure(weights_id: int, kodak: str, budgets=(16, 32, 48, 64, 96, 128),
            folder: Path = WEB) -> list[dict]:
    """Patch SSIM of the float decoder and of the web weights on the Kodak thumbnails,
    at header-less payloads of `budgets` bytes (files of budget + 6 bytes)."""
    import thumbcodec
    from thumbcodec.metrics import patch_ssim
    from training.data import kodak_thumbs
    thumbs = kodak_thumbs(kodak)
    full = thumbcodec.encode_batch(list(thumbs), iterations=max_iterations(weights_id),
                                   weights_id=weights_id)
    rows = []
    for b in budgets:
        files = [d[: HEADER_SIZE + b] for d in full]
        ref = np.stack([np.asarray(im) for im in thumbcodec.decode_batch(files, backend="numpy")])
        web = np.stack(decode_web(files, folder=folder))
        s_ref, s_web = patch_ssim(thumbs, ref).mean(), patch_ssim(thumbs, web).mean()
        rows.append({"payload_bytes": b, "ssim_float": round(float(s_ref), 4),
                     "ssim_web": round(float(s_web), 4),
                     "ssim_lost": round(float(s_ref - s_web), 4),
                     "max_level_diff": int(np.abs(ref.astype(int) - web).max()),
                     "mean_level_diff": round(float(np.abs(ref.astype(int) - web).mean()), 3)})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", type=int, nargs="*",
                    help="shipped weights ids to export (default: every shipped id)")
    ap.add_argument("--measure", action="store_true",
                    help="also print the SSIM lost against the float decoder (Kodak)")
    ap.add_argument("--kodak", default=str(ROOT.parent / "shared" / "data" / "kodak"))
    ap.add_argument("--levels", type=int, default=None,
                    help="quantization levels each side of 0, 1..127 (default: the id's, "
                         f"{LEVELS}, else {NEW_ID_LEVELS})")
    ap.add_argument("--out", type=Path, default=WEB,
                    help="folder to write to (default web/; another one for trials)")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    a.ids = a.ids or shipped_ids()
    if a.levels is not None and not 1 <= a.levels <= 127:
        ap.error("--levels must be 1..127")
    manifest = write(a.ids, a.out, a.levels)
    for wid in a.ids:
        print(json.dumps({"weights_id": wid, **manifest["weights"][str(wid)]}))
    if a.measure:
        for wid in a.ids:
            for row in measure(wid, a.kodak, folder=a.out):
                print(json.dumps({"weights_id": wid, **row}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
