"""Value checks of submission rows: field counts, numbers, ranges, classes, 0/1 AUs, precision.

Rows come as byte ranges of one file (`vstart` .. `vend`: the text after the key, or the whole
line for per-video files). Well-formed rows are checked vectorised; only fields that are not
plain decimals are looked at one by one. Each row gets at most one problem per kind (its first
offending field), so a kind's count is the number of rows that have it.
"""

from __future__ import annotations

import math

import numpy as np

from abaw.core.layout import layout
from abaw.formats import textscan as ts
from abaw.formats.report import Report, quote

MIN_VALUES_FOR_PRECISION = 10   # fewer values than this say nothing about rounding


def column_types(track: str, edition: int) -> list[tuple[str, str, int]]:
    """(type, column name, classes) per value field: 'va' float, 'class' index, 'au' 0/1."""
    lay = layout(track, edition)
    several = len(lay.blocks) > 1         # MTL names its class field after the task
    out = []
    for b in lay.blocks:
        if b.kind == "classes":
            out.append(("class", "expression" if several else "class", b.size))
        else:
            out += [("va" if b.kind == "values" else "au", n, 0) for n in b.names]
    return out


def _class_names(track: str, edition: int) -> tuple[str, ...]:
    block = layout(track, edition).block("classes")
    return block.names if block is not None else ()


def describe(track: str, edition: int) -> str:
    """The value fields a row must hold, in words."""
    types = column_types(track, edition)
    if types[0][0] == "class" and len(types) == 1:
        return (f"1 value field (one class index 0..{types[0][2] - 1}; the header names the "
                "classes)")
    return f"{len(types)} value fields ({','.join(name for _, name, _ in types)})"


def _classify_text(raw: bytes, kind: str, n_classes: int, names) -> tuple[list[str], float]:
    """Problem kinds of one field that is not a plain decimal, and its value (NaN if none)."""
    s = raw.decode("utf-8", "replace")
    t = s.strip()
    found = ["whitespace"] if t != s else []
    try:
        v = float(t)
    except ValueError:
        if kind == "class" and t.lower() in names:
            return found + ["class_name"], math.nan
        return found + ["not_a_number"], math.nan
    if not math.isfinite(v):
        return found + ["not_finite"], math.nan
    if kind == "va" and abs(v) > 1:
        found.append("va_range")
    elif kind == "class":
        if not t.lstrip("+-").isdigit():
            found.append("class_not_integer")
        elif not 0 <= v < n_classes:
            found.append("class_range")
    elif kind == "au" and t not in ("0", "1"):
        found.append("au_not_binary")
    return found, v


def check_values(report: Report, file: str, lines: ts.Lines, line_no: np.ndarray,
                 vstart: np.ndarray, vend: np.ndarray, has_sep: np.ndarray, track: str,
                 edition: int) -> None:
    types = column_types(track, edition)
    n_f = len(types)
    buf = lines.buf
    rows = np.flatnonzero(has_sep)
    single = all(t == "au" or (t == "class" and c <= 10) for t, _, c in types)
    if single and len(rows):                 # fast path: `d` or `d,d,...,d` rows, no comma scan
        ok, chars = ts.single_chars(buf, vstart[rows], vend[rows] - vstart[rows], n_f)
        d = chars.astype(np.int16) - 48
        limit = np.array([2 if t == "au" else c for t, _, c in types])
        ok &= np.all((d >= 0) & (d < limit[None, :]), axis=1)
        rows = rows[~ok]
    if len(rows) == 0 and has_sep.all():
        return
    commas = lines.commas()
    nf = np.zeros(len(vstart), np.int64)
    nf[rows] = ts.commas_between(commas, vstart[rows] - 1, vend[rows]) + 1
    wrong = np.flatnonzero(~has_sep)
    wrong = np.union1d(wrong, rows[nf[rows] != n_f])
    rows = rows[nf[rows] == n_f]
    if len(rows):
        _check_fields(report, file, lines, commas, line_no[rows], vstart[rows], vend[rows],
                      types, track, edition)
    if len(wrong):
        _field_counts(report, file, lines, commas, line_no[wrong], vstart[wrong], vend[wrong],
                      nf[wrong], types, track, edition)


def _check_fields(report, file, lines, commas, line_no, vstart, vend, types, track, edition):
    n_f = len(types)
    starts, lengths = ts.fields(lines.buf, commas, vstart - 1, vend, n_f)   # (R, n_f)
    values, codes = ts.parse_numbers(lines.buf, starts, lengths)
    names = {n.lower(): i for i, n in enumerate(_class_names(track, edition))}
    kinds: dict[str, np.ndarray] = {}

    def flag(kind, mask):
        kinds[kind] = kinds[kind] | mask if kind in kinds else mask

    data = lines.data
    other: dict[str, list] = {}
    for r, c in np.argwhere(codes == ts.OTHER).tolist():   # fields that are not plain decimals
        s = int(starts[r, c])
        found, v = _classify_text(data[s:s + int(lengths[r, c])], types[c][0], types[c][2], names)
        values[r, c] = v
        for kind in found:
            other.setdefault(kind, []).append((r, c))
    for kind, where in other.items():
        m = np.zeros(codes.shape, bool)
        m[tuple(np.array(where).T)] = True
        flag(kind, m)
    empty = codes == ts.EMPTY
    flag("not_a_number", empty)
    col_kind = np.array([k for k, _, _ in types])[None, :]            # (1, n_f)
    n_classes = np.array([c for _, _, c in types])[None, :]
    plain = (codes == ts.INT) | (codes == ts.DECIMAL)
    decimal = codes == ts.DECIMAL
    flag("va_range", (col_kind == "va") & plain & (np.abs(values) > 1))
    is_class = col_kind == "class"
    flag("class_not_integer", is_class & decimal)
    flag("class_range", is_class & (codes == ts.INT) & ((values < 0) | (values >= n_classes)))
    flag("au_not_binary", (col_kind == "au") & (decimal | (plain & (values != 0) & (values != 1))))
    for kind, mask in kinds.items():
        hit = np.flatnonzero(mask.any(axis=1))
        first = mask[hit].argmax(axis=1)
        report.add_rows(kind, file, line_no[hit],
                        lambda i, hit=hit, first=first, kind=kind: _message(
                            kind, data, starts, lengths, hit[i], first[i], types, track, edition))
    _precision(report, file, line_no, values, codes, types)


def _message(kind, data, starts, lengths, r, c, types, track, edition):
    s = int(starts[r, c])
    field = data[s:s + int(lengths[r, c])]
    col_kind, col_name, n_classes = types[c]
    shown = quote(field)
    if kind == "not_a_number":
        return (f"{col_name} {shown}" if field else f"an empty {col_name}"), "a number"
    if kind == "not_finite":
        return f"{col_name} {shown}", "a finite number"
    if kind == "whitespace":
        return shown, "the value without spaces"
    if kind == "va_range":
        return f"{col_name} {shown}", "a value in [-1, 1] (clip)"
    if kind == "class_name":
        names = [n.lower() for n in _class_names(track, edition)]
        idx = names.index(field.decode("utf-8", "replace").strip().lower())
        return shown, f"its class index {idx}"
    if kind == "class_not_integer":
        return shown, f"an integer class index 0..{n_classes - 1} (the argmax)"
    if kind == "class_range":
        return shown, f"a class index 0..{n_classes - 1}"
    return f"{col_name} {shown}", "0 or 1 (threshold the probabilities)"


def _precision(report, file, line_no, values, codes, types):
    cols = [c for c, (kind, _, _) in enumerate(types) if kind == "va"]
    if not cols:
        return
    v = values[:, cols].ravel()
    v = v[np.isfinite(v)]
    if len(v) < MIN_VALUES_FOR_PRECISION:
        return
    for decimals in (1, 2):
        scaled = v * 10 ** decimals
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-6):
            report.add("precision", file, None,
                       f"all {len(v)} valence/arousal values rounded to {decimals} decimal"
                       f"{'s' if decimals > 1 else ''}",
                       "full precision (e.g. 6 decimals): rounding lowers CCC")
            return


def _field_counts(report, file, lines, commas, line_no, vstart, vend, nf, types, track, edition):
    data = lines.data
    n_f = len(types)
    one_hot = np.zeros(len(nf), bool)
    n_classes = types[0][2]
    if len(types) == 1 and types[0][0] == "class":
        cand = np.flatnonzero(nf == n_classes)
        if len(cand):
            starts, lengths = ts.fields(lines.buf, commas, vstart[cand] - 1, vend[cand], n_classes)
            _, codes = ts.parse_numbers(lines.buf, starts, lengths)
            numeric = np.all((codes == ts.INT) | (codes == ts.DECIMAL), axis=1)
            one_hot[cand[numeric]] = True
    hot = np.flatnonzero(one_hot)
    report.add_rows("one_hot", file, line_no[hot], lambda i: (
        f"{n_classes} columns {quote(data[vstart[hot[i]]:vend[hot[i]]])}",
        f"one class index 0..{n_classes - 1} (the argmax)"))
    rest = np.flatnonzero(~one_hot)

    def make(i):
        k = rest[i]
        if nf[k] == 0:
            return "no value after the frame name", describe(track, edition)
        return (f"{nf[k]} value field{'s' if nf[k] > 1 else ''} "
                f"{quote(data[vstart[k]:vend[k]])}", describe(track, edition))
    report.add_rows("field_count", file, line_no[rest], make)
    del n_f
