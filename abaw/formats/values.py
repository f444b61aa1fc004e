"""Value checks of submission rows: field counts, numbers, ranges, classes, 0/1 AUs; and the
figures behind the warnings (decimals written, constant columns, classes never predicted).

Rows come as byte ranges of one file (`vstart` .. `vend`: the text after the key, or the whole
line for per-video files). Well-formed rows are checked vectorised, `CHUNK_ROWS` at a time so that
memory stays bounded whatever the file; only fields that are not plain decimals are looked at one
by one, and what a field is worth is what pandas reads (`numbers.read_number`). Each row gets at
most one problem per kind (its first offending field), so a kind's count is the number of rows
that have it. Warnings are judged over a whole submission (`ValueStats`), from the text written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from abaw.core.layout import layout
from abaw.formats import textscan as ts
from abaw.formats.numbers import ASCII_BLANKS, is_integer_text, read_number
from abaw.formats.report import Report, quote

MIN_VALUES_FOR_WARNINGS = 10    # fewer values than this say nothing about rounding or constancy
MIN_ROWS_FOR_CLASSES = 200      # a class missing from fewer rows may just be rare
MIN_DECIMALS = 3                # fewer decimals cost CCC (the organisers still score the file)
CHUNK_ROWS = 1 << 18            # rows whose fields are parsed at once


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


@dataclass
class ValueStats:
    """What the warnings need, gathered over every row of every file of one submission."""

    track: str
    edition: int
    rows: int = 0
    va_values: int = 0
    va_decimals: int = -1                       # most decimals written in a valence/arousal field
    low: dict = field(default_factory=dict)     # va column -> smallest value
    high: dict = field(default_factory=dict)    # va column -> largest value
    counts: dict = field(default_factory=dict)  # class column -> (n_classes,) rows per class;
    #                                             au column -> rows with the AU active
    dummy_rows: int = 0                         # rows compared with the template's dummy values
    dummy_equal: int = 0                        # ... and equal to them
    dummy_example: str = ""

    def add(self, values: np.ndarray, decimals: np.ndarray | None = None) -> None:
        """Rows (R, n_fields) of parsed values (NaN where unreadable); decimals (R, n_va)."""
        types = column_types(self.track, self.edition)
        self.rows += len(values)
        for c, (kind, _, n) in enumerate(types):
            col = values[:, c]
            col = col[np.isfinite(col)]
            if kind == "va":
                if len(col):
                    self.low[c] = min(self.low.get(c, np.inf), float(col.min()))
                    self.high[c] = max(self.high.get(c, -np.inf), float(col.max()))
                self.va_values += len(col)
            elif kind == "class":
                ok = col[(col >= 0) & (col < n) & (col == np.floor(col))].astype(np.int64)
                self.counts[c] = self.counts.get(c, 0) + np.bincount(ok, minlength=n)[:n]
            else:
                self.counts[c] = self.counts.get(c, 0) + int((col == 1).sum())
        if decimals is not None and decimals.size:
            self.va_decimals = max(self.va_decimals, int(decimals.max()))

    def warn(self, report: Report, file) -> None:
        """Add the warnings these figures call for (each kind at most once per submission)."""
        types = column_types(self.track, self.edition)
        if self.dummy_rows >= MIN_VALUES_FOR_WARNINGS and self.dummy_equal == self.dummy_rows:
            report.add("template_dummy", file, None, f"the template's own values on all "
                       f"{self.dummy_rows} rows ({self.dummy_example})",
                       "the model's predictions (the template's values are placeholders)")
        if self.va_values >= MIN_VALUES_FOR_WARNINGS and 0 <= self.va_decimals < MIN_DECIMALS:
            d = self.va_decimals
            report.add("precision", file, None,
                       f"all {self.va_values} valence/arousal values written with at most {d} "
                       f"decimal{'' if d == 1 else 's'}",
                       f"at least {MIN_DECIMALS} decimals (e.g. 6): rounding lowers CCC")
        if self.rows < MIN_VALUES_FOR_WARNINGS:
            return
        constant = [f"{types[c][1]} {self.low[c]:g}" for c in sorted(self.low)
                    if self.low[c] == self.high[c]]
        if constant:
            report.add("constant_column", file, None,
                       f"{', '.join(constant)} on all {self.rows} rows",
                       "values that vary (a constant prediction scores CCC 0)")
        never = []
        for c, (kind, name, _) in enumerate(types):
            if kind == "class" and c in self.counts:
                names = _class_names(self.track, self.edition)
                never += [names[k] for k in np.flatnonzero(self.counts[c] == 0)]
            elif kind == "au" and self.counts.get(c, 1) == 0:
                never.append(name)
        if never and self.rows >= MIN_ROWS_FOR_CLASSES:
            report.add("class_never_predicted", file, None,
                       f"no row predicting {', '.join(never)} ({self.rows} rows)",
                       "every class / AU predicted somewhere (one never predicted scores F1 0)")


def _classify_text(raw: bytes, kind: str, n_classes: int, names) -> tuple[list[str], float]:
    """Problem kinds of one field that is not a plain decimal, and its value (NaN if none)."""
    found = ["whitespace"] if raw.strip(ASCII_BLANKS) != raw else []
    v = read_number(raw)
    if v is None:
        text = raw.strip(ASCII_BLANKS).decode("utf-8", "replace").lower()
        if kind == "class" and text in names:
            return found + ["class_name"], math.nan
        return found + ["not_a_number"], math.nan
    if not math.isfinite(v):
        return found + ["not_finite"], math.nan
    if kind == "va" and abs(v) > 1:
        found.append("va_range")
    elif kind == "class":
        if not is_integer_text(raw):
            found.append("class_not_integer")
        elif not 0 <= v < n_classes:
            found.append("class_range")
    elif kind == "au" and raw.strip(ASCII_BLANKS) not in (b"0", b"1"):
        found.append("au_not_binary")
    return found, v


def check_values(report: Report, file: str, lines: ts.Lines, line_no: np.ndarray,
                 vstart: np.ndarray, vend: np.ndarray, has_sep: np.ndarray, track: str,
                 edition: int, stats: ValueStats | None = None) -> None:
    """Check the value fields of rows `line_no`; well-formed rows are added to `stats`."""
    types = column_types(track, edition)
    for lo in range(0, len(vstart), CHUNK_ROWS):
        sl = slice(lo, lo + CHUNK_ROWS)
        _check_chunk(report, file, lines, line_no[sl], vstart[sl], vend[sl], has_sep[sl], types,
                     track, edition, stats)


def _check_chunk(report, file, lines, line_no, vstart, vend, has_sep, types, track, edition,
                 stats):
    n_f = len(types)
    buf = lines.buf
    rows = np.flatnonzero(has_sep)
    single = all(t == "au" or (t == "class" and c <= 10) for t, _, c in types)
    if single and len(rows):                 # fast path: `d` or `d,d,...,d` rows, no comma scan
        ok, chars = ts.single_chars(buf, vstart[rows], vend[rows] - vstart[rows], n_f)
        d = chars.astype(np.int16) - 48
        limit = np.array([2 if t == "au" else c for t, _, c in types])
        ok &= np.all((d >= 0) & (d < limit[None, :]), axis=1)
        if stats is not None:
            stats.add(d[ok].astype(np.float64))
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
                      types, track, edition, stats)
    if len(wrong):
        _field_counts(report, file, lines, commas, line_no[wrong], vstart[wrong], vend[wrong],
                      nf[wrong], types, track, edition)


def _check_fields(report, file, lines, commas, line_no, vstart, vend, types, track, edition,
                  stats):
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
    if stats is not None:                        # warnings are judged on rows without errors
        clean = ~np.any([m.any(axis=1) for m in kinds.values()], axis=0) if kinds else \
            np.ones(len(values), bool)
        va = np.flatnonzero(col_kind[0] == "va")
        decimals = None
        if len(va):                              # decimals as written
            ok = plain[clean][:, va]
            decimals = ts.fraction_digits(lines.buf, starts[clean][:, va][ok],
                                          lengths[clean][:, va][ok])
            other = np.argwhere(clean[:, None] & (col_kind == "va") & (codes == ts.OTHER))
            places = [_decimal_places(data[int(starts[r, c]):int(starts[r, c] + lengths[r, c])])
                      for r, c in other.tolist()]
            decimals = np.concatenate([decimals, np.array(places, np.int64)])
        stats.add(values[clean], decimals)


def _decimal_places(raw: bytes) -> int:
    """Decimal places of the last digit of a number that is not a plain decimal (`2.5e-01`: 2,
    `5e-01`: 1, `1.5e+01`: 0; a plain decimal of more digits than the fast parser takes)."""
    mantissa, _, exponent = raw.strip(ASCII_BLANKS).lower().partition(b"e")
    return max(len(mantissa.partition(b".")[2]) - int(exponent or 0), 0)


def _message(kind, data, starts, lengths, r, c, types, track, edition):
    s = int(starts[r, c])
    field = data[s:s + int(lengths[r, c])]
    col_kind, col_name, n_classes = types[c]
    shown = quote(field)
    if kind == "not_a_number":
        return (f"{col_name} {shown}" if field else f"an empty {col_name}"), \
            "a number (ASCII digits, sign, point, exponent: what pandas reads as one)"
    if kind == "not_finite":
        return f"{col_name} {shown}", "a finite number"
    if kind == "whitespace":
        return shown, "the value without spaces"
    if kind == "va_range":
        return f"{col_name} {shown}", "a value in [-1, 1] (clip)"
    if kind == "class_name":
        names = [n.lower() for n in _class_names(track, edition)]
        idx = names.index(field.strip(ASCII_BLANKS).decode("utf-8", "replace").lower())
        return shown, f"its class index {idx}"
    if kind == "class_not_integer":
        return shown, f"an integer class index 0..{n_classes - 1} (the argmax)"
    if kind == "class_range":
        return shown, f"a class index 0..{n_classes - 1}"
    return f"{col_name} {shown}", "0 or 1 (threshold the probabilities)"


def _field_counts(report, file, lines, commas, line_no, vstart, vend, nf, types, track, edition):
    data = lines.data
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
