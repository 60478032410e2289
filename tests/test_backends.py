"""The NumPy inference path against the torch one, on the shipped weights."""
import subprocess
import sys

import numpy as np
import pytest

import thumbcodec

from conftest import gradient


def _bits(data):
    return np.unpackbits(np.frombuffer(data, np.uint8))


@pytest.mark.parametrize("size", [(32, 32), (48, 40), (100, 75), (1, 1), (7, 33)])
def test_numpy_matches_torch(size, thumbs):
    imgs = thumbs if size == (32, 32) else [gradient(*size, seed=s) for s in range(3)]
    for img in imgs:
        a = thumbcodec.encode(img, iterations=8, backend="torch")
        b = thumbcodec.encode(img, iterations=8, backend="numpy")
        # bits may differ only where a binarizer input is within rounding of zero
        assert (_bits(a) != _bits(b)).mean() <= 0.01
        for n in (len(a), 6 + 40):
            pa = np.asarray(thumbcodec.decode(a[:n], backend="torch"), int)
            pb = np.asarray(thumbcodec.decode(a[:n], backend="numpy"), int)
            assert np.abs(pa - pb).max() <= 1


def test_batch_numpy_matches(thumbs):
    datas = thumbcodec.encode_batch(thumbs, bytes=64, backend="numpy")
    assert datas == thumbcodec.encode_batch(thumbs, bytes=64, backend="torch")


def test_backend_errors(thumbs):
    with pytest.raises(thumbcodec.ThumbcodecError, match="unknown backend"):
        thumbcodec.encode(thumbs[0], bytes=64, backend="tpu")


def test_single_file_cli_does_not_import_torch(tmp_path, example_paths):
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from thumbcodec.cli import main\n"
        f"r = CliRunner().invoke(main, ['encode', {str(example_paths[0])!r}, '--bytes', '64',"
        f" '-o', {str(tmp_path / 'a.rnnc')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        f"r = CliRunner().invoke(main, ['decode', {str(tmp_path / 'a.rnnc')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
