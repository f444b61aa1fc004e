"""The files of a submission (a file, a folder, or a zip), each read at most once within bounds.

Nothing is ever extracted: zip members are read as streams. Bounds, whatever the input:
- at most `MAX_ENTRIES` files per zip or folder (a zip's end record is read first);
- at most `MAX_TOTAL_BYTES` (128 MiB) uncompressed bytes in all (the largest real submission,
  VA of editions 5+, is about 51 MB);
- a zip member expanding more than `MAX_RATIO` (100) times the compressed bytes it consumed, once
  past `RATIO_FREE_BYTES` (8 MiB), is not read on (real submissions compress 10-20 times; a
  deflate bomb ~1000 times).
What could not be read is a problem in the report (`too_large`, `zip_unreadable`), and its
entry's `read()` gives None.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from abaw.atomic import MARKER
from abaw.formats.report import Report, quote

JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
MAX_TOTAL_BYTES = 128 << 20         # uncompressed bytes read from one submission, in all
MAX_RATIO = 100                     # uncompressed / compressed size of a zip member ...
RATIO_FREE_BYTES = 8 << 20          # ... checked once a member has given this many bytes
MAX_ENTRIES = 10_000                # files in a zip or folder (editions 1-3: one per test video)
# bytes read from a zip member at a time; zipfile then reads as few compressed bytes, so the
# ratio of what came out to what went in is known after a few blocks
BLOCK = 1 << 16


@dataclass
class Budget:
    """Bytes read so far from one submission, against MAX_TOTAL_BYTES."""

    used: int = 0


@dataclass
class Entry:
    name: str                         # shown in problems: the path inside the zip / folder
    parts: tuple[str, ...]            # folders + file name inside the container
    read: Callable[[], bytes | None]  # None: not read (the problem is in the report)


def list_entries(path: Path, report: Report) -> list[Entry]:
    """The files of a submission; reading them draws on one byte budget for the submission."""
    budget = Budget()
    if path.is_file() and path.suffix.lower() == ".zip":
        return _zip_entries(path, report, budget)
    if path.is_dir():
        return _folder_entries(path, report, budget)
    return [Entry(str(path), (path.name,), _file_reader(path, str(path), report, budget))]


def _file_reader(p: Path, name: str, report: Report, budget: Budget):
    def read():
        try:
            size = p.stat().st_size
            if budget.used + size > MAX_TOTAL_BYTES:
                report.add("too_large", name, None, f"a file of {size:,} bytes ({budget.used:,} "
                           "read before it)", f"submission files of at most {MAX_TOTAL_BYTES:,} "
                           "bytes in all")
                return None
            data = p.read_bytes()[:MAX_TOTAL_BYTES - budget.used]   # it may have grown since
        except OSError as e:
            report.add("zip_unreadable", name, None, f"a file that can't be read ({e.strerror})",
                       "a readable file")
            return None
        budget.used += len(data)
        return data
    return read


def _folder_entries(path: Path, report: Report, budget: Budget) -> list[Entry]:
    files = []
    for folder, dirs, names in os.walk(path):              # links to folders are not followed
        dirs.sort()
        files += [Path(folder) / n for n in sorted(names)]
        if len(files) > MAX_ENTRIES:
            report.add("too_large", path, None, f"more than {MAX_ENTRIES:,} files",
                       f"at most {MAX_ENTRIES:,} (one per test video)")
            return []
    out = []
    for p in files:
        rel = p.relative_to(path)
        if rel.as_posix() == MARKER:         # abaw's mark on a folder it wrote: not a file of it
            continue
        out.append(Entry(rel.as_posix(), rel.parts,
                         _file_reader(p, rel.as_posix(), report, budget)))
    return out


def _zip_too_large(path: Path, report: Report) -> bool:
    """Refuse before reading the central directory: a zip bigger than the whole byte budget, or
    whose end record announces more than MAX_ENTRIES entries (each would cost memory)."""
    size = path.stat().st_size
    if size > MAX_TOTAL_BYTES:
        report.add("too_large", path, None, f"a zip of {size:,} bytes",
                   f"at most {MAX_TOTAL_BYTES:,} bytes")
        return True
    try:
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)    # the end record only (private, stable since 2.x)
    except (OSError, AttributeError, IndexError):
        return False                         # ZipFile says what is wrong
    if end and end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ENTRIES:
        report.add("too_large", path, None, f"a zip of {end[zipfile._ECD_ENTRIES_TOTAL]:,} "
                   "entries", f"at most {MAX_ENTRIES:,} (one per test video)")
        return True
    return False


def _read_member(zf, info, path: Path, report: Report, budget: Budget) -> bytes | None:
    """A member's bytes, read as a stream within the budget and the ratio bound, or None."""
    name = quote(info.filename)
    blocks, size = [], 0
    try:
        with zf.open(info) as fh:
            while block := fh.read(BLOCK):
                size += len(block)
                if budget.used + size > MAX_TOTAL_BYTES:
                    report.add("too_large", path, None, f"entry {name} expanding past "
                               f"{MAX_TOTAL_BYTES - budget.used:,} bytes (it announces "
                               f"{info.file_size:,})", f"submission files of at most "
                               f"{MAX_TOTAL_BYTES:,} bytes in all")
                    return None
                # compressed bytes consumed so far (ZipExtFile's own count; else the whole
                # member's, which only makes the bound trip later)
                consumed = info.compress_size - getattr(fh, "_compress_left", 0)
                if size > RATIO_FREE_BYTES and size > MAX_RATIO * max(consumed, 1):
                    report.add("too_large", path, None, f"entry {name} expanding more than "
                               f"{MAX_RATIO} times its compressed bytes ({size:,} from "
                               f"{consumed:,})", "an ordinary text file (a zip bomb is never "
                               "expanded)")
                    return None
                blocks.append(block)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError,
            ValueError) as e:                # bad CRC, encrypted, unknown compression, truncated
        report.add("zip_unreadable", path, None, f"entry {name} that can't be read ({e})",
                   "readable, unencrypted entries")
        return None
    budget.used += size
    return b"".join(blocks)


def _zip_entries(path: Path, report: Report, budget: Budget) -> list[Entry]:
    try:
        if _zip_too_large(path, report):
            return []
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        report.add("zip_unreadable", path, None, f"an unreadable zip ({e})", "a valid zip file")
        return []
    out = []
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            report.add("zip_unsafe", path, None, f"entry {quote(name)} with an absolute path",
                       "relative paths inside the zip")
            continue
        if ".." in pure.parts:
            report.add("zip_unsafe", path, None, f"entry {quote(name)} that climbs out with '..'",
                       "relative paths inside the zip")
            continue
        if info.is_dir():
            continue
        out.append(Entry(pure.as_posix(), pure.parts,
                         lambda info=info: _read_member(zf, info, path, report, budget)))
    return out
