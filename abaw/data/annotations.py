"""Annotation files into label arrays, in bulk: per-video VA / EXPR / AU files and MTL split files.

All files of one track and split are joined into one byte buffer and checked and parsed at once:
- EXPR and AU hold single-digit integers (0..7, 0/1, -1): a byte-level NumPy pass checks every
  token and reads every value (no text-to-number call per line);
- VA holds floats: one `pandas.read_csv` (C engine) call over the joined buffer.
Lines the fast pass flags are re-read one by one in Python, so the rules are the plain ones
(`_check_token`): the fast pass only decides quickly that a line is fine. Labels keep their
sentinels (VA -5, EXPR/AU -1); `abaw.metrics.valid_mask` masks them. Line i of a file (1-based,
line 1 is the header) is frame i-1.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data import problems as P
from abaw.data import textfile as T

_INT = re.compile(r"-?\d+\Z")


def label_width(track: str, edition: int) -> int:
    """Columns of a track's label array: VA 2, EXPR/CE/LSD 1 (class index), AU 12 (8 in ed. 1), MTL 15."""
    track = track.upper()
    if track in ("EXPR", "CE", "LSD"):
        return 1
    if track == "MTL":
        return 15
    return len(protocol.rules(track, edition).names)


def class_names(track: str, edition: int) -> tuple[str, ...]:
    """Class names of a single-label track (EXPR has 7 classes in editions 1-2, else 8)."""
    return {"EXPR": protocol.expr_classes(edition), "CE": protocol.CE_CLASSES,
            "LSD": protocol.LSD_CLASSES}[track]


def expected_text(track: str, edition: int) -> str:
    if track == "VA":
        return "a number in [-1, 1] or -5 (not annotated)"
    if track == "AU":
        return "0, 1 or -1 (not annotated)"
    names = class_names(track, edition)
    return f"an integer 0..{len(names) - 1} ({names[0]}..{names[-1]}) or -1 (not annotated)"


def _check_token(track: str, edition: int, tok: str, allow_empty=False):
    """(value, ok) for one field under the plain rules; an empty field is NaN when allowed."""
    tok = tok.strip()
    if tok == "" and allow_empty:
        return math.nan, True
    if track == "VA":
        try:
            v = float(tok)
        except ValueError:
            return None, False
        ok = math.isfinite(v) and (-1.0 <= v <= 1.0 or v == protocol.SENTINELS["VA"])
        return v, ok
    if not _INT.match(tok):
        return None, False
    v = int(tok)
    top = 1 if track == "AU" else len(class_names(track, edition)) - 1
    return v, (0 <= v <= top) or v == -1


def check_line(text: str, columns, edition: int, allow_empty=False):
    """(values, None) for a good line, else (None, (field name, track, token)) of its first bad
    field. columns: (field names, track of each field)."""
    toks = text.split(",")
    values = []
    for name, track, tok in zip(columns[0], columns[1], toks, strict=False):
        v, ok = _check_token(track, edition, tok, allow_empty)
        if not ok:
            return None, (name, track, tok)
        values.append(v)
    return values, None


def _columns(track, edition):
    names = protocol.rules(track, edition).names if track != "EXPR" else ("class",)
    return names, (track,) * len(names)


def _header_hint(track: str, edition: int):
    def hint(found: str) -> str:
        eds = [e for e in protocol.EDITIONS if track in protocol.EDITIONS[e].tracks
               and protocol.rules(track, e).annotation_header == found]
        return f"that is the {track} header of edition(s) {eds}: is the edition right?" if eds else ""
    return hint


def _small_ints(a: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int):
    """Fast pass over lines of `width` single-digit integers with an optional minus:
    (values (n_lines, width) float32, or None when a line failed; line ok)."""
    isdig = (a - 48) < 10  # uint8 arithmetic wraps below '0'
    issep = (a == T.COMMA) | (a == T.NL)
    isneg = a == T.MINUS
    bad = ~(isdig | issep | isneg)
    bad[:-1] |= isdig[:-1] & ~issep[1:]                 # a digit ends its token
    bad[1:] |= isdig[1:] & ~(issep[:-1] | isneg[:-1])   # ... and starts it, or follows a minus
    bad[1:] |= isneg[1:] & ~issep[:-1]                  # a minus starts its token
    bad[1:] |= issep[1:] & ~isdig[:-1]                  # no empty token
    bad[0] |= issep[0]
    line_ok = np.ones(len(ends), bool)
    line_ok[np.searchsorted(ends, np.flatnonzero(bad))] = False
    # A well-formed line of k tokens is 2k - 1 bytes plus one per minus sign (few): k per line
    # without listing every comma.
    minus_per_line = np.bincount(np.searchsorted(ends, np.flatnonzero(isneg)), minlength=len(ends))
    line_ok &= (ends - starts + 1 - minus_per_line) == 2 * width
    if not line_ok.all():
        return None, line_ok
    prev_neg = np.zeros_like(isneg)
    prev_neg[1:] = isneg[:-1]
    values = (a[isdig] - 48).astype(np.float32)
    values[prev_neg[isdig]] *= -1
    if len(values) != len(ends) * width:
        return None, np.zeros(len(ends), bool)
    return values.reshape(-1, width), line_ok  # (n_lines, width)


def _floats(body: bytes, width: int, usecols=None):
    """pandas C engine over the whole buffer: (values (n, width) float32, or None if it failed).
    An empty field becomes NaN (a missing MTL task; an error anywhere else, found by the checks)."""
    import pandas as pd

    try:
        df = pd.read_csv(io.BytesIO(body), header=None, dtype=np.float32, engine="c",
                         usecols=usecols, na_values=[""], keep_default_na=False,
                         skip_blank_lines=False, quoting=3)
    except (ValueError, pd.errors.ParserError):
        return None
    out = df.to_numpy(dtype=np.float32)
    return out if out.shape[1] == width else None


def read_annotation_files(files, track: str, edition: int, problems: list) -> dict[str, np.ndarray]:
    """Per-video annotation files -> {id: (N, K) float32 labels}; a bad file is left out and named.

    files: list of (absolute path, path relative to the root). The id is the file's stem.
    """
    track = track.upper()
    rules = protocol.rules(track, edition)
    width = label_width(track, edition)
    texts = [t for p, rel in files
             if (t := T.read_text(p, rel, problems, rules.annotation_header,
                                  header_hint=_header_hint(track, edition))) is not None]
    want = 1 if track == "EXPR" else width  # EXPR: one class index although the header names 8
    return _read_values(texts, track, edition, want, width, rules.annotation_header, problems)


def _read_values(texts, track, edition, want, width, header, problems) -> dict[str, np.ndarray]:
    if not texts:
        return {}
    body = b"".join(t.body for t in texts)
    a, starts, ends = T.lines(body)
    offsets = np.concatenate([[0], np.cumsum([t.n_rows for t in texts])]).astype(np.int64)
    columns = _columns(track, edition)
    # VA: pandas needs every line to have the same field count, so files that don't are read
    # line by line. EXPR/AU: `_small_ints` checks the field count of each line itself.
    broken = _bad_files(T.fields_per_line(a, ends) == want, offsets) if track == "VA" else set()
    if broken:
        for f in sorted(broken):
            lo, hi = offsets[f], offsets[f + 1]
            _recheck(body, starts[lo:hi], ends[lo:hi], np.zeros(hi - lo, bool),
                     np.full((hi - lo, width), np.nan, np.float32), want, columns,
                     edition, [texts[f]], np.array([0, hi - lo]), problems, header)
        return _read_values([t for f, t in enumerate(texts) if f not in broken], track, edition,
                            want, width, header, problems)
    values = None
    if track == "VA":
        values = _floats(body, width)
        if values is not None:
            line_ok = np.all(((values >= -1) & (values <= 1))
                             | (values == protocol.SENTINELS["VA"]), axis=1)
        else:  # pandas failed somewhere: parse file by file to find where
            values = np.full((len(starts), width), np.nan, np.float32)
            line_ok = _floats_per_file(texts, offsets, values, width)
    else:
        values, line_ok = _small_ints(a, starts, ends, want)
        if values is None:  # read the lines that passed; the others are rechecked below
            values = np.full((len(starts), width), np.nan, np.float32)
        if not line_ok.all() and line_ok.any():
            keep = np.repeat(line_ok, ends - starts + 1)  # bytes of the lines that passed
            sub = a[keep]
            values[line_ok] = _small_ints(sub, *T.lines(sub.tobytes())[1:], want)[0]
        top = 1 if track == "AU" else len(class_names(track, edition)) - 1
        line_ok &= np.all((values <= top) & (values >= -1), axis=1)
    _recheck(body, starts, ends, line_ok, values, want, columns, edition, texts, offsets,
             problems, header)
    bad = _bad_files(line_ok, offsets)
    return {Path(t.rel).stem: values[offsets[f]:offsets[f + 1]]
            for f, t in enumerate(texts) if f not in bad}


def _floats_per_file(texts, offsets, values, width) -> np.ndarray:
    """After a failed bulk parse: parse file by file; lines of files that fail stay flagged."""
    line_ok = np.zeros(len(values), bool)
    for f, t in enumerate(texts):
        v = _floats(t.body, width)
        if v is not None and len(v) == offsets[f + 1] - offsets[f]:
            values[offsets[f]:offsets[f + 1]] = v
            line_ok[offsets[f]:offsets[f + 1]] = np.all(
                ((v >= -1) & (v <= 1)) | (v == protocol.SENTINELS["VA"]), axis=1)
    return line_ok


def _recheck(body, starts, ends, line_ok, values, want, columns, edition, texts, offsets,
             problems, header, allow_empty=False, first_col=0):
    """Re-read flagged lines in Python; report the first bad line of each file (and how many)."""
    flagged = np.flatnonzero(~line_ok)
    reported: dict[int, list] = {}
    for i in flagged:
        text = T.line_text(body, starts, ends, i)
        f, row = T.global_to_file(offsets, int(i))
        n = text.count(",") + 1
        if n != want:
            issue = (None, f"{n} field{'s' if n != 1 else ''} ({P.quote(text)})",
                     f"{want} ({header if want > 1 else 'one value'})")
        else:
            fields = text.split(",")[first_col:]
            vals, bad = check_line(",".join(fields), columns, edition, allow_empty)
            if bad is None:
                values[i] = vals
                line_ok[i] = True
                continue
            name, track, tok = bad
            issue = (name, P.quote(tok), expected_text(track, edition))
        if f in reported:
            reported[f][1] += 1
        else:
            reported[f] = [issue, 0, texts[f].first_line + row]
    for f, (issue, more, line) in reported.items():
        note = f"{more} more line{'s' if more > 1 else ''} like it" if more else ""
        problems.append(P.error(texts[f].rel, line, issue[1], issue[2], note, field=issue[0]))


def _bad_files(line_ok, offsets) -> set[int]:
    bad = np.flatnonzero(~line_ok)
    return set(np.searchsorted(offsets, bad, side="right").astype(int) - 1)


MTL_COLUMNS = (protocol.VA_NAMES + ("expression",) + protocol.AUS_12,
               ("VA", "VA", "EXPR") + ("AU",) * 12)


def read_mtl_file(path: Path, rel: str, problems: list, labelled: bool = True, edition: int = 7):
    """An MTL split file -> (ImageColumn, labels (N, 15) float32 or None, {video: rows}), or None.

    Rows: `<video>/<NNNNN>.jpg,v,a,expr,AU1..AU26`; an empty field is NaN (that task missing).
    A test list has the same header and one image per row (its other fields are ignored).
    """
    t = T.read_text(path, rel, problems, protocol.MTL_HEADER)
    if t is None:
        return None
    a, starts, ends = T.lines(t.body)
    col = T.image_column(a, starts, ends)
    nfields = col.nfields
    offsets = np.array([0, len(starts)])
    ok_fields = nfields == protocol.MTL_FIELDS if labelled else nfields <= protocol.MTL_FIELDS
    failed = T.report_rows(col.bad, t, starts, ends, problems, "image",
                           f"'<video>/<{'N' * protocol.FRAME_DIGITS}>.jpg'")
    if not labelled:
        failed |= T.report_rows(~ok_fields, t, starts, ends, problems, None,
                                f"at most {protocol.MTL_FIELDS} fields")
        groups = None if failed else T.rows_by_video(col, t, problems)
        return None if groups is None else (col, None, groups)
    labels = None
    if ok_fields.all():
        labels = _floats(t.body, 15, usecols=list(range(1, 16)))
    if labels is None:
        labels = np.full((len(starts), 15), np.nan, np.float32)
        line_ok = np.zeros(len(starts), bool)
    else:
        v = labels
        line_ok = np.all(np.isnan(v[:, :2]) | ((v[:, :2] >= -1) & (v[:, :2] <= 1))
                         | (v[:, :2] == protocol.SENTINELS["VA"]), axis=1)
        ints = v[:, 2:]
        top = np.array([len(protocol.EXPR_CLASSES_8) - 1] + [1] * 12, np.float32)
        line_ok &= np.all(np.isnan(ints) | ((ints == np.round(ints)) & (ints >= -1) & (ints <= top)),
                          axis=1)
    line_ok &= ok_fields
    before = len(P.errors(problems))
    _recheck(t.body, starts, ends, line_ok, labels, protocol.MTL_FIELDS, MTL_COLUMNS,
             edition, [t], offsets, problems, protocol.MTL_HEADER, allow_empty=True, first_col=1)
    groups = None if failed or len(P.errors(problems)) > before else T.rows_by_video(col, t, problems)
    return None if groups is None else (col, labels, groups)

