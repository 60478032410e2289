"""Quality targets (thumbcodec/target.py, issue #18): the smallest file reaching a quality."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import thumbcodec
from thumbcodec import target
from thumbcodec.cli import main
from thumbcodec.metrics import patch_ssim, psnr

from conftest import gradient


def _quality(data, image, metric):
    pic = np.asarray(thumbcodec.decode(data, backend="numpy"))
    return float((patch_ssim if metric == "ssim" else psnr)(pic, image))


@pytest.mark.parametrize("metric,value,effort", [("ssim", 0.8, 0), ("psnr", 20.0, 0),
                                                 ("ssim", 0.8, 1)])
def test_smallest_file_one_byte_less_misses(thumbs, metric, value, effort):
    im = thumbs[0]
    r = thumbcodec.encode_target(im, **{metric: value}, effort=effort)
    assert r.reached and r.metric == metric
    n = len(r.data)
    assert _quality(r.data, im, metric) == pytest.approx(r.value) and r.value >= value
    shorter = thumbcodec.encode(im, bytes=n - 1, effort=effort)   # the codec's own file
    assert _quality(shorter, im, metric) < value
    # the same in a batch, beside an image with another answer
    both = thumbcodec.encode_target_batch([gradient(16, 16, seed=1), im], **{metric: value},
                                          effort=effort)
    assert both[1].data == r.data


def test_out_of_reach_gives_the_largest_file(thumbs):
    r = thumbcodec.encode_target(thumbs[1], psnr=80.0, effort=0)
    assert not r.reached and r.tried == 1
    assert r.data == thumbcodec.encode(thumbs[1], bytes=10_000, effort=0)


def test_bad_targets():
    im = gradient(16, 16)
    for kw in ({}, {"ssim": 0.9, "psnr": 30}, {"ssim": 1.5}, {"psnr": -1}, {"ssim": "x"}):
        with pytest.raises(thumbcodec.ThumbcodecError):
            thumbcodec.encode_target(im, **kw)
    with pytest.raises(thumbcodec.ThumbcodecError, match="at least 8x8"):
        thumbcodec.encode_target(gradient(6, 6), ssim=0.5)


def test_cli_targets(tmp_path, thumbs):
    Image.fromarray(thumbs[0]).save(tmp_path / "a.png")
    out = tmp_path / "a.rnnc"
    r = CliRunner().invoke(main, ["encode", str(tmp_path / "a.png"), "--ssim", "0.8", "--json",
                                  "--effort", "0", "-o", str(out)])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)[0]
    assert row["reached"] and row["ssim"] >= 0.8 and row["bytes"] == out.stat().st_size
    assert out.read_bytes() == thumbcodec.encode_target(thumbs[0], ssim=0.8, effort=0).data
    r = CliRunner().invoke(main, ["encode", str(tmp_path / "a.png"), "--psnr", "90",
                                  "--effort", "0", "-o", str(tmp_path / "b.rnnc")])
    assert r.exit_code == 0 and "out of reach" in r.stderr and r.stderr.count("\n") == 1
    for bad in (["--ssim", "2"], ["--ssim", "0.9", "--bytes", "40"], ["--psnr", "x"]):
        r = CliRunner().invoke(main, ["encode", str(tmp_path / "a.png"), *bad])
        assert r.exit_code == 2 and "Traceback" not in r.output
