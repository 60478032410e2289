"""ms per thumbnail of web/rnnc.js in headless Chromium (docs/web.md's speed table).

    python tools/web_bench.py [--repeats 5]

Files are 32x32 .rnnc files of weights 2 with random payloads (the decoder's work does
not depend on the bits): 64 B files (4 iterations: 3 whole and 10 bytes of a fourth) and
134 B files (8 iterations). Each figure is the fastest of --repeats runs of decodeAll
over a batch, divided by the batch size, in the page, in one Worker and in two; weights and
WebAssembly are loaded before timing (the first decode, loading included, is reported
apart). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_serve  # noqa: E402

HEADER_32 = bytes([0x8E, 0x52, 1 << 5 | 2, 0x01, 0xF0, 0x1F])  # v1, weights 2, 32x32


def files(size: int, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [base64.b64encode(HEADER_32 + rng.bytes(size - 6)).decode() for _ in range(n)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    a = ap.parse_args(argv)
    n = max(a.batches)
    groups = [{"label": "64 B, 4 iterations", "files": files(64, n), "batches": a.batches},
              {"label": "134 B, 8 iterations", "files": files(134, n), "batches": a.batches}]
    body = json.dumps({"groups": groups, "repeats": a.repeats}).encode()
    result = web_serve.run_page("/tests/web/bench.html", {"/bench.json": body}, timeout=580)
    print(json.dumps(result, indent=1))
    return 0 if "fatal" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
