"""Writing files safely: the one atomic writer of the package (and of the tools around it).

Data goes to a temporary file in the destination's folder, is flushed, and then appears
under its name at once: by ``os.replace`` when overwriting was asked for, otherwise by
``os.link``, which fails if the name exists, so that "never overwritten without --force"
holds even when two processes race for one output. A crash leaves at most a temporary
file named ``.NAME.PID.*.tmp``, never a half-written output; ``clean_stale`` removes such
files whose process is gone.
"""
from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_writer(path, overwrite: bool = False):
    """``with atomic_writer(path) as f: f.write(...)``; raises FileExistsError if the
    output exists and ``overwrite`` is False (checked again at the moment of creation)."""
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(17, "exists (use --force to overwrite)", str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX,
                               dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(17, "exists (use --force to overwrite)", str(path)) from None
            except OSError:  # a file system without hard links: rename, checked just before
                if os.path.lexists(path):
                    raise FileExistsError(17, "exists (use --force to overwrite)",
                                          str(path)) from None
                os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_atomic(path, data: bytes, overwrite: bool = False) -> None:
    """Write bytes to ``path`` atomically (see ``atomic_writer``)."""
    with atomic_writer(path, overwrite) as f:
        f.write(data)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(path) -> int:
    """Remove the temporary files that writers of ``path`` left when they were killed (their
    process is gone, or the name has no process id); returns how many were removed."""
    path = Path(path)
    n = 0
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return 0
    for f in folder.glob(f".{glob.escape(path.name)}.*{TMP_SUFFIX}"):
        pid = f.name[len(path.name) + 2:].split(".")[0]
        if not pid.isdigit() or (int(pid) != os.getpid() and not _alive(int(pid))):
            f.unlink(missing_ok=True)
            n += 1
    return n
