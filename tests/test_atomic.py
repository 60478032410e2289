"""Outputs are written atomically: never a partial file, even under concurrency or kill."""
import os
import signal
import subprocess
import sys
import threading
import time

from PIL import Image

from thumbcodec.files import write_atomic
from thumbcodec.format import parse_header

from conftest import gradient


def test_concurrent_writers_leave_one_whole_file(tmp_path):
    dst = tmp_path / "x.rnnc"
    payloads = [bytes([i]) * (1000 + i) for i in range(8)]

    def writer(p):
        for _ in range(50):
            write_atomic(dst, p, overwrite=True)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert dst.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["x.rnnc"]


def test_exclusive_writers_one_wins_and_nothing_is_replaced(tmp_path):
    dst = tmp_path / "x.rnnc"
    wins, refused = [], []

    def writer(p):
        try:
            write_atomic(dst, p)
            wins.append(p)
        except FileExistsError:
            refused.append(p)

    threads = [threading.Thread(target=writer, args=(bytes([i]) * 100,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(refused) == 7
    assert dst.read_bytes() == wins[0]
    assert [p.name for p in tmp_path.iterdir()] == ["x.rnnc"]


def test_write_failure_leaves_nothing(tmp_path):
    dst = tmp_path / "y.rnnc"
    try:
        write_atomic(dst, object())  # not bytes: the write fails midway
    except TypeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_killed_batch_leaves_only_whole_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(300):
        Image.fromarray(gradient(32, 32, seed=i)).save(src / f"{i:03d}.png")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "thumbcodec.cli", "encode", str(src),
                             "--bytes", "64", "-o", str(out), "--device", "cpu"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and any(out.glob("*.rnnc"))):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for f in out.glob("*.rnnc") if out.exists() else []:
        data = f.read_bytes()
        assert len(data) == 64, f
        parse_header(data)
