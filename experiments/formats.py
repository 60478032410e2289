"""Mean patch SSIM of a shipped weights id in both file formats at equal header-less bytes.

    python -m experiments.formats ../shared/data/kodak 2 [--sizes 16,64,128,192,256]
        [--effort N] [--formats 1,2]

The 504 Kodak thumbnails are encoded with ``encode_batch(bytes=b + 6, format=f)`` for
each header-less size b and format version f (1: raw bit planes; 2: entropy-coded, which
needs the id's context table), at encoder effort N (default 0, the library's; the CLI's
is 2), decoded, and scored with ``metrics.patch_ssim``. Prints one
JSON line per format: SSIM and mean whole iterations per size. This is what
``benchmarks.quality`` measures for thumbcodec in the default format, for both formats
and without the standard codecs.
"""
import argparse
import json

import numpy as np

import thumbcodec
from thumbcodec.metrics import patch_ssim
from training.data import kodak_thumbs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kodak")
    ap.add_argument("weights", type=int)
    ap.add_argument("--sizes", default="16,64,128,192,256", help="header-less bytes")
    ap.add_argument("--formats", default="1,2")
    ap.add_argument("--effort", type=int, default=0)
    a = ap.parse_args(argv)
    thumbs = kodak_thumbs(a.kodak)
    sizes = [int(b) for b in a.sizes.split(",")]
    for fmt in map(int, a.formats.split(",")):
        row = {"weights": a.weights, "format": fmt, "effort": a.effort, "ssim": {},
               "iterations": {}}
        for b in sizes:
            files = thumbcodec.encode_batch(list(thumbs), bytes=b + 6, weights_id=a.weights,
                                            format=fmt, effort=a.effort)
            dec = np.stack([np.asarray(im) for im in
                            thumbcodec.decode_batch(files, backend="numpy")])
            row["ssim"][b] = round(float(patch_ssim(thumbs, dec).mean()), 4)
            row["iterations"][b] = round(float(np.mean(
                [thumbcodec.info(f).iterations for f in files])), 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
