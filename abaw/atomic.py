"""Files that appear whole or not at all.

Everything abaw writes for later (prediction sets, submissions, zips, features, checkpoints,
parameters, weights folders) goes to a temporary file or folder beside the target and is renamed
over it: `os.replace` is atomic within one file system, so an interrupted run leaves the old one
or none, never half of a new one that a later step would read as complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from abaw.errors import AbawError


@contextmanager
def atomic_file(path, mode: str = "wb", fsync: bool = False):
    """Yield a file object open in `mode`; on a clean exit it becomes `path` (parents made).
    `fsync`: flush to the disk before the rename (checkpoints: they must survive a power cut)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path, data: bytes, fsync: bool = False) -> Path:
    """`data` as the whole content of `path`, atomically; returns the path."""
    with atomic_file(path, "wb", fsync) as fh:
        fh.write(data)
    return Path(path)


@contextmanager
def atomic_folder(path):
    """Yield a new, empty folder beside `path`; on a clean exit it becomes `path` (parents made).
    An existing folder at `path` is replaced, and removed only once the new one is in place."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AbawError(f"{path}: found a file, expected a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary folder
    old = None
    try:
        yield tmp
        if path.exists():
            old = path.parent / f".{path.name}.old.{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
