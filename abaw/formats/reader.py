"""Reading an official-format prediction file (or folder, or zip) back into decoded values.

Used by `abaw eval` to score files in the submission format against validation annotations
(validation has no template, so rows are taken as they are: keys give (video, frame); per-video
files give frames 1..N). Values must pass the validator's value checks; the first problem is
raised with the count of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.errors import AbawError
from abaw.formats import textscan as ts
from abaw.formats.entries import JUNK, list_entries
from abaw.formats.numbers import all_numbers, read_number
from abaw.formats.report import Report
from abaw.formats.templates import IMAGE_SUFFIXES, parse_keys
from abaw.formats.values import check_values, column_types


@dataclass
class Official:
    """Decoded predictions: per video (frames, values (n, K) float64); image-level rows (LSD)
    keep their names in `images` under the single video ''."""

    track: str
    edition: int
    videos: dict = field(default_factory=dict)   # video -> (frames (n,), values (n, K))
    images: list | None = None
    source: str = ""


def read_official(path, track: str, edition: int) -> Official:
    path = Path(path)
    if not path.exists():
        raise AbawError(f"{path}: not found, expected predictions in the submission format")
    r = protocol.rules(track, edition)
    report = Report(str(path), r.track, edition)
    entries = [e for e in list_entries(path, report)
               if not any(p in JUNK or p.startswith("._") for p in e.parts)]
    _raise(report)
    out = Official(r.track, edition, source=str(path))
    if r.submission == "per_video":
        for e in entries:
            if not e.parts[-1].endswith(".txt"):
                continue
            frames, values = _file(e.name, _read(e, report), r, keyed=False)
            out.videos[e.parts[-1][:-4]] = (frames[0], values)
        if not out.videos:
            raise AbawError(f"{path}: found no <video>.txt files, expected one per video")
        return out
    files = [e for e in entries if e.parts[-1].lower().endswith((".txt", ".csv"))]
    if len(files) != 1:
        raise AbawError(f"{path}: found {len(files)} prediction files, expected exactly one")
    keys, values = _file(files[0].name, _read(files[0], report), r, keyed=True)
    image_level, videos, vid, frames, bad, names = keys
    if image_level:
        out.images = names
        out.videos[""] = (np.arange(1, len(names) + 1), values)
        return out
    for k, v in enumerate(videos):
        rows = np.flatnonzero(vid == k)
        out.videos[v] = (frames[rows], values[rows])
    return out


def _read(entry, report: Report) -> bytes:
    data = entry.read()           # None: too large or unreadable, said in the report
    _raise(report)
    return data


def _raise(report: Report) -> None:
    if not report.valid:
        first = report.problems()[0]
        raise AbawError(f"{first} ({sum(report.counts.values())} problems; `abaw validate` "
                        "lists them all)")


def _file(name: str, data: bytes, r, keyed: bool):
    report = Report(name, r.track, r.edition)
    lines = ts.split_lines(data or b"")
    if len(lines) == 0:
        raise AbawError(f"{name}: found an empty file, expected a header and one row per frame")
    first = lines.raw(0)
    head = first.split(b",", 1)[0]
    has_header = not (b"/" in head or head.lower().endswith(IMAGE_SUFFIXES)) if keyed else \
        not all_numbers(first)
    body = np.arange(1 if has_header else 0, len(lines))
    body = body[lines.ends[body] > lines.starts[body]]
    if len(body) == 0:
        raise AbawError(f"{name}: found only a header, expected one row per frame")
    starts, ends = lines.starts[body], lines.ends[body]
    if keyed:
        key_end = ts.first_comma(lines.buf, len(lines.data), starts, ends, lines.commas())
        if r.track in protocol.IMAGE_TRACKS:              # rows named by image, no video
            names = [lines.data[a:b].decode("utf-8", "replace")
                     for a, b in zip(starts.tolist(), key_end.tolist(), strict=True)]
            keys = (True, [""], None, None, None, names)
        else:
            keys = parse_keys(lines.buf, starts, key_end - starts, body + 1, name, strict=False)
            if keys[4].any():
                i = int(np.flatnonzero(keys[4])[0])
                raise AbawError(f"{name}:{int(body[i]) + 1}: found frame name "
                                f"{lines.data[starts[i]:key_end[i]].decode()!r}, expected "
                                "<video>/<NNNNN>.jpg")
            keys = (*keys, None)
        vstart, has_sep = key_end + 1, key_end < ends
    else:
        keys = (np.arange(1, len(body) + 1),)
        vstart, has_sep = starts, np.ones(len(body), bool)
    check_values(report, name, lines, body + 1, vstart, ends, has_sep, r.track, r.edition)
    _raise(report)
    return keys, _parse(lines, vstart, ends, len(column_types(r.track, r.edition)))


def _parse(lines: ts.Lines, vstart, vend, n_fields: int) -> np.ndarray:
    starts, lengths = ts.fields(lines.buf, lines.commas(), vstart - 1, vend, n_fields)
    values, codes = ts.parse_numbers(lines.buf, starts, lengths)
    for r, c in np.argwhere(codes == ts.OTHER).tolist():     # exponents, spaces: rare
        s = int(starts[r, c])
        v = read_number(lines.data[s:s + int(lengths[r, c])])
        values[r, c] = np.nan if v is None else v
    if not np.all(np.isfinite(values)):
        raise AbawError("predictions: found a value that is not a finite number, expected "
                        "numbers only")
    return values
