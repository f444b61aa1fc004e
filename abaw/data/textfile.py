"""Reading the organisers' text files as bytes, and finding their lines and columns in bulk.

Every file is read whole; the structure (lines, fields per line, the `<video>/<NNNNN>.jpg` image
column) is found with NumPy on the byte array, never with a Python loop per line, because the
release has millions of rows (Aff-Wild2 ~2.8M frames, templates ~2.7M rows).

Tolerated with a warning (nothing is lost): a UTF-8 BOM, CRLF line ends, blank lines at the end.
Errors: an empty file, a file with no rows, a header that differs from the expected one by a byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data import problems as P

BOM = b"\xef\xbb\xbf"
NL, COMMA, MINUS, SLASH = 10, 44, 45, 47


@dataclass
class TextFile:
    rel: str            # path relative to the dataset root, for messages
    header: str | None  # line 1 when the file has a header
    body: bytes         # the rows, LF line ends, ending with one b"\n" (b"" when there are none)
    first_line: int     # file line number of the first row (2 after a header, else 1)

    @property
    def n_rows(self) -> int:
        return self.body.count(b"\n")


def read_text(path: Path, rel: str, problems: list, expected_header: str | None = None,
              has_header: bool = True, header_hint=None) -> TextFile | None:
    """Read a file; None (and an error in `problems`) when it can't be used."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        problems.append(P.error(rel, None, f"an unreadable file ({e.strerror})", "a readable file"))
        return None
    what = f"header {expected_header!r}" if expected_header else "one line per row"
    if not data.strip():
        problems.append(P.error(rel, None, "an empty file", what))
        return None
    if data.startswith(BOM):
        problems.append(P.warning(rel, 1, "a UTF-8 byte-order mark (BOM)", "plain UTF-8 without BOM",
                                  "the BOM was ignored"))
        data = data[len(BOM):]
    if b"\r" in data:
        crlf = data.count(b"\r\n")
        problems.append(P.warning(rel, data[: data.index(b"\r")].count(b"\n") + 1,
                                  f"CRLF line ends ({crlf} lines)", "LF line ends",
                                  "the CR characters were ignored"))
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data.rstrip(b"\n") + b"\n"  # blank lines at the end carry nothing
    header = None
    if has_header:
        cut = data.index(b"\n")
        head, data = data[:cut], data[cut + 1:]
        header = head.decode("utf-8", errors="replace")
        if expected_header is not None and header != expected_header:
            hint = header_hint(header) if header_hint else ""
            problems.append(P.error(rel, 1, f"header {P.quote(header, 120)}",
                                    f"{expected_header!r} byte for byte", hint))
            return None
    if not data:
        problems.append(P.error(rel, None, "no rows after the header" if has_header else "no rows",
                                what if not has_header else "at least one row"))
        return None
    return TextFile(rel, header, data, 2 if has_header else 1)


def lines(body: bytes):
    """(a, starts, ends): the bytes as uint8 and each line's [start, end) (end = its LF)."""
    a = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(a == NL)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    return a, starts, ends


def fields_per_line(a: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(n_lines,) number of comma-separated fields on each line (an empty line has 1)."""
    commas = np.flatnonzero(a == COMMA)
    before_end = np.searchsorted(commas, ends)  # commas before each line's LF
    return np.diff(before_end, prepend=0) + 1


def line_text(body: bytes, starts, ends, i: int) -> str:
    return body[starts[i]:ends[i]].decode("utf-8", errors="replace")


@dataclass
class ImageColumn:
    videos: list[str]     # distinct video ids, in order of first appearance
    code: np.ndarray      # (n_rows,) index into videos
    frames: np.ndarray    # (n_rows,) int64, 1-based
    bad: np.ndarray       # (n_rows,) True where the first field isn't `<video>/<NNNNN>.jpg`
    nfields: np.ndarray   # (n_rows,) comma-separated fields on the line


def image_column(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> ImageColumn:
    """Parse the first field `<video>/<NNNNN>.jpg` of every line in bulk."""
    n = len(starts)
    commas = np.flatnonzero(a == COMMA)
    k = np.searchsorted(commas, starts)  # (n,) commas before each line
    nfields = np.searchsorted(commas, ends) - k + 1
    first = commas[np.minimum(k, max(len(commas) - 1, 0))] if len(commas) else ends
    stop = np.where(nfields > 1, first, ends)  # end of the first field
    digits = protocol.FRAME_DIGITS
    suffix = np.frombuffer(b".jpg", np.uint8)
    tail_len = 1 + digits + len(suffix)  # "/NNNNN.jpg" after the video name
    name_len = stop - starts - tail_len
    bad = name_len < 1
    width = max(int(name_len.max()) if n else 0, 1)
    a_pad = np.concatenate([a, np.zeros(max(width, tail_len) + 1, np.uint8)])
    windows = np.lib.stride_tricks.sliding_window_view(a_pad, max(width, tail_len))
    tail = windows[np.where(bad, 0, stop - tail_len), :tail_len]  # (n, 10)
    d = tail[:, 1:1 + digits] - np.uint8(48)  # (n, 5); wraps above 9 below '0'
    bad |= (tail[:, 0] != SLASH) | np.any(tail[:, 1 + digits:] != suffix, axis=1)
    bad |= np.any(d > 9, axis=1)
    frames = (d.astype(np.int32) @ (10 ** np.arange(digits - 1, -1, -1, dtype=np.int32))
              ).astype(np.int64)
    bad |= frames < protocol.FIRST_FRAME
    name_len = np.where(bad, 0, name_len)
    # (n, width) bytes of each video name, zero-padded, gathered through the strided view.
    padded = windows[starts, :width].copy()
    padded[np.arange(width)[None, :] >= name_len[:, None]] = 0
    names = padded.view(f"S{width}").ravel()  # (n,)
    change = np.ones(n, bool)
    change[1:] = names[1:] != names[:-1]
    block = np.cumsum(change) - 1  # rows of one video are usually consecutive: work per block
    videos: list[str] = []
    code_of: dict[str, int] = {}
    block_code = np.empty(int(change.sum()), np.int64)
    for b, raw in enumerate(names[change]):  # one step per block of rows, not per row
        name = raw.decode("utf-8", errors="replace")
        if name not in code_of:
            code_of[name] = len(videos)
            videos.append(name)
        block_code[b] = code_of[name]
    code = block_code[block] if n else np.zeros(0, np.int64)
    return ImageColumn(videos, code, frames, bad, nfields)


def first_fields(body: bytes) -> list[str]:
    """The first comma-separated field of every line (image names of a list), in bulk."""
    import re

    return re.findall(r"^([^,\n]*)", body.decode("utf-8", errors="replace"), flags=re.M)[
        : body.count(b"\n")]


def rows_by_video(col: ImageColumn, t: TextFile, problems: list) -> dict | None:
    """{video: (n,) row indices in file order}; a repeated (video, frame) row is an error (None)."""
    order = np.argsort(col.code, kind="stable")
    bounds = np.searchsorted(col.code[order], np.arange(len(col.videos) + 1))
    out = {}
    failed = False
    for v, name in enumerate(col.videos):  # one step per video
        rows = order[bounds[v]:bounds[v + 1]]
        frames = col.frames[rows]
        srt = np.sort(frames)
        dup = srt[1:][srt[1:] == srt[:-1]]
        if len(dup):
            lines = rows[frames == dup[0]] + t.first_line
            problems.append(P.error(t.rel, int(lines[1]),
                                    f"row {name}/{protocol.frame_name(int(dup[0]))} again",
                                    f"each image once (first on line {int(lines[0])})",
                                    f"{len(dup) - 1} more repeats" if len(dup) > 1 else ""))
            failed = True
        out[name] = rows
    return None if failed else out


def report_rows(mask, t: TextFile, starts, ends, problems: list, field, expected) -> bool:
    """One error for the first flagged row of a file (counting the others); True if any."""
    bad = np.flatnonzero(mask)
    if len(bad) == 0:
        return False
    i = int(bad[0])
    text = line_text(t.body, starts, ends, i)
    more = len(bad) - 1
    note = f"{more} more line{'s' if more > 1 else ''} like it" if more else ""
    problems.append(P.error(t.rel, t.first_line + i, P.quote(text.split(",")[0] if field else text),
                            expected, note, field=field))
    return True


def global_to_file(line_offsets: np.ndarray, i: int) -> tuple[int, int]:
    """Row `i` of a concatenation of files -> (file index, row within that file)."""
    f = int(np.searchsorted(line_offsets, i, side="right") - 1)
    return f, int(i - line_offsets[f])
