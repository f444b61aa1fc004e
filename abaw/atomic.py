"""Files that appear whole or not at all, and folders abaw replaces only when it made them.

Everything abaw writes for later (prediction sets, submissions, zips, features, checkpoints,
parameters, weights folders) goes to a temporary file or folder beside the target and is renamed
over it: `os.replace` is atomic within one file system, so an interrupted run leaves the old one
or none, never half of a new one that a later step would read as complete. Files and folders get
the permissions an ordinary `open` / `mkdir` would give (umask applied), not the private ones of
`tempfile`.

A folder made by `atomic_folder` holds a marker file (`MARKER`); an existing folder is replaced
only when it has one, so no command ever removes a folder it did not create.

Folders that one process fills over a long time (a run) are taken exclusively: `new_folder` makes
a fresh one (`os.mkdir` fails on an existing name: the next free suffix is taken), and
`claim_folder` creates a claim file with `O_EXCL` inside a given folder; of two processes started
at the same moment, exactly one gets it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from abaw.errors import AbawError

T = TypeVar("T")

MARKER = ".abaw-folder"     # inside every folder `atomic_folder` made: it may replace that folder
CLAIM = ".abaw-claimed"     # inside a folder one process claimed to write (a run)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _named(path: Path, make: Callable[..., T], **kw: Any) -> T:
    """`make(**kw)` (a temporary file or folder beside `path`); an OS error names `path`, the
    output the user asked for, not the temporary name."""
    try:
        return make(**kw)
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(path)) from None


def made_by_abaw(path: str | os.PathLike) -> bool:
    """A real folder (not a link) holding abaw's marker file."""
    path = Path(path)
    return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb",
                fsync: bool = False) -> Iterator[IO]:
    """Yield a file object open in `mode`; on a clean exit it becomes `path` (parents made).
    `fsync`: flush to the disk before the rename (checkpoints: they must survive a power cut)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _named(path, tempfile.mkstemp, prefix=f".{path.name}.", suffix=".tmp",
                     dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())      # mkstemp makes it private (0600)
        with os.fdopen(fd, mode) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = False) -> Path:
    """`data` as the whole content of `path`, atomically; returns the path."""
    with atomic_file(path, "wb", fsync) as fh:
        fh.write(data)
    return Path(path)


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new folder beside `path` (holding only the marker); on a clean exit it becomes
    `path` (parents made). An existing folder at `path` is replaced only if abaw made it (its
    marker is there), and removed only once the new one is in place."""
    path = Path(path)
    if path.is_symlink():
        raise AbawError(f"{path}: found a link, expected a folder abaw made (nothing was "
                        "replaced; choose another name)")
    if path.exists() and not path.is_dir():
        raise AbawError(f"{path}: found a file, expected a folder")
    if path.exists() and not made_by_abaw(path):
        raise AbawError(f"{path}: found a folder abaw did not make (no {MARKER} inside), expected "
                        "a new name or a folder abaw wrote; nothing was replaced")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(_named(path, tempfile.mkdtemp, prefix=f".{path.name}.", suffix=".tmp",
                      dir=path.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result is an ordinary folder
    (tmp / MARKER).write_bytes(b"made by abaw: abaw may replace this folder\n")
    old = None
    try:
        yield tmp
        if path.exists():     # moved aside to a fresh name of our own, removed once replaced
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def new_folder(parent: str | os.PathLike, name: str) -> Path:
    """A folder created now under `parent` (made if needed): `name`, or `name-2`, `name-3` ...
    when that is taken, so two processes asking for the same name get two folders."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for i in itertools.count(1):
        path = parent / (name if i == 1 else f"{name}-{i}")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


def claim_folder(path: str | os.PathLike) -> bool:
    """Make `path` if needed and claim it: True for the one caller that created its claim file,
    False when it was claimed before (by an earlier or a concurrent process)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    os.close(fd)
    return True
