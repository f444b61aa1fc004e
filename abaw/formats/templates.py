"""The organisers' row lists: edition 5+ templates, MTL / LSD test lists, edition 3 id lists.

A template (`CVPR_6th_ABAW_Expr_test_set_sample.txt`, `CER.txt`, the MTL / LSD release lists) is
the only authority on the rows of a submission: its line 1 is the header to copy byte for byte,
then one row per test frame whose first field is the key `<video>/<NNNNN>.jpg` (LSD: an image name,
`0.jpg`), followed by empty values (`key,`), dummy values (`key,0`), or nothing (`key`).

`Template` keeps the file's bytes and the offsets of every key, so writers copy keys without
re-formatting them and the validator compares keys without splitting the file into Python strings.
Row videos and frame numbers are parsed on first use, vectorised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.errors import AbawError
from abaw.formats import textscan as ts
from abaw.formats.numbers import ASCII_BLANKS, is_frame_number

IMAGE_SUFFIXES = (b".jpg", b".jpeg", b".png")


@dataclass
class Template:
    path: Path | None
    lines: ts.Lines
    header: str | None           # line 1 without BOM and line end; None when the list has none
    row_start: np.ndarray        # (N,) offset of each row's key in lines.buf
    key_len: np.ndarray          # (N,) bytes of each key (up to the first comma)
    row_line: np.ndarray         # (N,) 1-based line number of each row in the file
    value_style: str             # "empty" (key,) | "dummy" (key,0) | "none" (key only)
    newline: bytes = b"\n"       # the template's line end, reproduced by the writers
    name: str = field(default="")

    @cached_property
    def sha256(self) -> str:
        """Checksum of the file as read (BOM included), for manifests."""
        return hashlib.sha256((ts.BOM if self.lines.bom else b"") + self.lines.data).hexdigest()

    def __len__(self) -> int:
        return len(self.row_start)

    def key(self, row: int) -> str:
        s = int(self.row_start[row])
        return self.lines.data[s:s + int(self.key_len[row])].decode("utf-8", "replace")

    @cached_property
    def image_level(self) -> bool:
        """Keys are bare image names (LSD): rows are numbered, they belong to no video."""
        return self._parsed[0]

    @cached_property
    def videos(self) -> list[str]:
        """Distinct videos in order of first appearance (image-level lists: one, named '')."""
        return self._parsed[1]

    @cached_property
    def video_of_row(self) -> np.ndarray:
        """(N,) int32 index into `videos`."""
        return self._parsed[2]

    @cached_property
    def frames(self) -> np.ndarray:
        """(N,) int64 1-based frame number of each row (image-level lists: the row number)."""
        return self._parsed[3]

    def lengths(self) -> dict[str, int]:
        counts = np.bincount(self.video_of_row, minlength=len(self.videos))
        return {v: int(c) for v, c in zip(self.videos, counts, strict=True)}

    @cached_property
    def _parsed(self):
        return parse_keys(self.lines.buf, self.row_start, self.key_len, self.row_line,
                          self.name or "template")[:4]


def parse_keys(buf, starts, key_len, line_no, where: str, strict: bool = True):
    """Vectorised `<video>/<NNNNN>.<ext>` parse.

    Returns (image_level, videos, video_of_row, frames, bad). The common spelling (`/`, five
    digits, `.jpg`) is checked on a small window at the end of each key; other keys (more digits,
    another extension) are parsed one by one. A key without a slash is an image name (LSD). An
    unreadable key raises when `strict`, else it is flagged in `bad` (video -1, frame 0).
    """
    n = len(starts)
    bad = np.zeros(n, bool)
    if n == 0:
        return False, [], np.zeros(0, np.int32), np.zeros(0, np.int64), bad
    d = protocol.FRAME_DIGITS
    tail = ts.gather(buf, starts + np.maximum(key_len - (d + 5), 0), d + 5)   # (N, '/NNNNN.jpg')
    digits = tail[:, 1:d + 1].astype(np.int64) - 48
    fast = ((key_len > d + 5) & (tail[:, 0] == ts.SLASH)
            & np.all((digits >= 0) & (digits <= 9), axis=1)
            & np.all(tail[:, d + 1:] == np.frombuffer(b".jpg", np.uint8), axis=1))
    frames = digits @ (10 ** np.arange(d - 1, -1, -1, dtype=np.int64))
    video_len = key_len - (d + 5)
    slow = np.flatnonzero(~fast)
    if strict and len(slow) == n and not np.any(buf[int(starts.min()):int((starts + key_len).max())]
                                                == ts.SLASH):
        return True, [""], np.zeros(n, np.int32), np.arange(1, n + 1, dtype=np.int64), bad
    for i in slow:                                     # unusual spellings, one by one
        s = int(starts[i])
        key = bytes(buf[s:s + int(key_len[i])]).decode("utf-8", "replace")
        video, _, name = key.rpartition("/")
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if not video or not is_frame_number(stem):
            if strict:
                raise AbawError(f"{where}:{int(line_no[i])}: found key {key!r}, expected "
                                f"<video>/<{'N' * d}>.jpg (a 1-based frame number)")
            bad[i], frames[i], video_len[i] = True, 0, 0
            continue
        frames[i] = int(stem)
        video_len[i] = len(video.encode("utf-8"))
    # a new video starts where the name's length or bytes differ from the previous row's
    words = ts.prefix_words(buf, starts, video_len)                  # (N, width / 8)
    same = np.zeros(n, bool)
    same[1:] = (video_len[1:] == video_len[:-1]) & np.all(words[1:] == words[:-1], axis=1)
    run_starts = np.flatnonzero(~same)
    ids: dict[str, int] = {}
    run_ids = np.empty(len(run_starts), np.int32)
    for r, i in enumerate(run_starts):
        s = int(starts[i])
        name = bytes(buf[s:s + int(video_len[i])]).decode("utf-8", "replace")
        run_ids[r] = ids.setdefault(name, len(ids))
    video_of_row = np.repeat(run_ids, np.diff(np.append(run_starts, n))).astype(np.int32)
    if strict and np.any(frames < 1):
        i = int(np.flatnonzero(frames < 1)[0])
        raise AbawError(f"{where}:{int(line_no[i])}: found frame {int(frames[i])}, expected "
                        "1-based frame numbers")
    if bad.any():                      # unreadable keys belong to no video
        video_of_row[bad] = -1
        names = list(ids)
        used = np.unique(video_of_row[~bad])
        if len(used) < len(names):     # drop the empty name that bad rows created
            remap = np.full(len(names), -1, np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            video_of_row[~bad] = remap[video_of_row[~bad]]
            ids = {names[u]: k for k, u in enumerate(used)}
    return False, list(ids), video_of_row, frames.astype(np.int64), bad


def _looks_like_key(first_field: bytes) -> bool:
    return b"/" in first_field or first_field.lower().endswith(IMAGE_SUFFIXES)


def template_from_bytes(data: bytes, name: str = "template", path: Path | None = None) -> Template:
    lines = ts.split_lines(data)
    if len(lines) == 0:
        raise AbawError(f"{name}: found an empty file, expected a header and one row per "
                        "test frame")
    nonblank = lines.ends > lines.starts
    first = lines.raw(0)
    has_header = not _looks_like_key(first.split(b",", 1)[0])
    rows = np.flatnonzero(nonblank)
    if has_header:
        rows = rows[rows > 0]
    if len(rows) == 0:
        raise AbawError(f"{name}: found only a header, expected one row per test frame")
    starts, ends = lines.starts[rows], lines.ends[rows]
    n_commas = np.count_nonzero(lines.buf == ts.COMMA) - (lines.raw(0).count(b",") if has_header
                                                          else 0)
    if n_commas == len(rows) and np.all(lines.buf[np.maximum(ends - 1, 0)] == ts.COMMA):
        key_end = ends - 1                  # `key,` rows (empty values): no comma search needed
    else:
        key_end = ts.first_comma(lines.buf, len(lines.data), starts, ends, lines.commas())
    has_values = (ends - key_end) > 1
    style = "none" if not (key_end < ends).any() else ("dummy" if has_values.any() else "empty")
    header = lines.text(0) if has_header else None
    return Template(path, lines, header, starts, key_end - starts, rows + 1, style,
                    b"\r\n" if lines.crlf[0] else b"\n", name)


def _columns(header: str) -> list[str]:
    return [c.strip(ASCII_BLANKS.decode()).lower() for c in header.split(",")]


def template_for(source, r) -> Template:
    """The template or MTL / LSD list `source` (a path or a Template) for the track rules `r`.

    Its header must name the track's value columns (the key column's name is not checked): a VA
    template used for EXPR would give EXPR rows under a VA header. A list without a header (MTL /
    LSD lists may have none) can't be checked and is taken as it is.
    """
    tpl = source if isinstance(source, Template) else read_template(source)
    if tpl.header is None or _columns(tpl.header)[1:] == _columns(r.prediction_header)[1:]:
        return tpl
    other = sorted({t for e, ed in protocol.EDITIONS.items() for t in ed.tracks
                    if _columns(tpl.header)[1:] == _columns(protocol.rules(t, e).prediction_header)[1:]})
    hint = f" (the {' / '.join(other)} header)" if other else ""
    raise AbawError(f"{tpl.name}:1: found header {tpl.header[:120]!r}{hint}, expected the "
                    f"{r.track} header {r.prediction_header!r}: is this the {r.track} template?")


def read_template(path) -> Template:
    """Read a template or a MTL / LSD test list (with or without a header line)."""
    path = Path(path)
    if not path.is_file():
        raise AbawError(f"{path}: template not found, expected the organisers' test-set file")
    return template_from_bytes(path.read_bytes(), str(path), path)


def template_from_rows(videos, frames_per_video, header: str | None,
                       name: str = "rows from the dataset index") -> Template:
    """A template made from (video, frames) pairs, e.g. the test sequences of a dataset index.

    Keys are spelt `<video>/<NNNNN>.jpg` by `protocol.frame_name`; rows have empty values.
    """
    parts = [] if header is None else [header]
    for video, frames in zip(videos, frames_per_video, strict=True):
        parts.extend(f"{video}/{protocol.frame_name(int(f))}," for f in frames)
    return template_from_bytes(("\n".join(parts) + "\n").encode("utf-8"), name)


def image_template(images, header: str | None, name: str = "image list") -> Template:
    """An image-level list (LSD): one row per image name, in the given order."""
    parts = ([] if header is None else [header]) + [f"{img}," for img in images]
    return template_from_bytes(("\n".join(parts) + "\n").encode("utf-8"), name)


def read_test_list(path) -> list[str]:
    """Edition 3 test list: one annotation id per line, no header. Blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise AbawError(f"{path}: test list not found, expected one test id per line")
    text = path.read_bytes()
    if text.startswith(ts.BOM):
        text = text[len(ts.BOM):]
    ids = [line.strip() for line in text.decode("utf-8", "replace").splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise AbawError(f"{path}: found no ids, expected one test id per line")
    seen: set[str] = set()
    for n, i in enumerate(ids, 1):
        if i in seen:
            raise AbawError(f"{path}:{n}: found id {i} twice, expected each test id once")
        seen.add(i)
    return ids


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
