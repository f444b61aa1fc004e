"""A value is a number when the organisers' reader says so: generated spellings of numbers (other
digit systems, `_` between digits, Unicode signs, points and blanks, NaN / inf spellings) in
every kind of column, each judged by the validator as pandas.read_csv judges it.

The reference is pandas itself, on the field alone: it reads a float (finite or not) or text.
Python's float() is not: it takes `３`, `٣` and `1_0`.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from formats_cases import key

from abaw import protocol
from abaw.formats import validate

# zero of every decimal-digit system tried (Unicode category Nd): float() reads them all
DIGIT_SYSTEMS = {
    "fullwidth": 0xFF10, "arabic-indic": 0x0660, "extended-arabic-indic": 0x06F0,
    "nko": 0x07C0, "devanagari": 0x0966, "bengali": 0x09E6, "gurmukhi": 0x0A66,
    "gujarati": 0x0AE6, "oriya": 0x0B66, "tamil": 0x0BE6, "telugu": 0x0C66, "kannada": 0x0CE6,
    "malayalam": 0x0D66, "thai": 0x0E50, "lao": 0x0ED0, "tibetan": 0x0F20, "myanmar": 0x1040,
    "khmer": 0x17E0, "mongolian": 0x1810, "balinese": 0x1B50, "math-bold": 0x1D7CE,
    "math-double-struck": 0x1D7D8, "math-monospace": 0x1D7F6,
}
SHAPES = ["0.25", "-0.5", "1", "0", ".5", "0.123456"]


def in_system(text: str, zero: int, only_last: bool = False) -> str:
    idx = [i for i, c in enumerate(text) if c in "0123456789"]
    pick = idx[-1:] if only_last else idx
    return "".join(chr(zero + int(c)) if i in pick else c for i, c in enumerate(text))


def variants() -> list[str]:
    out = []
    for zero in DIGIT_SYSTEMS.values():
        for shape in SHAPES:
            out += [in_system(shape, zero), in_system(shape, zero, only_last=True)]
    out += [a + "_" + b for a, b in [("0.1", "5"), ("1", "0"), ("0", "5"), ("-0.2", "5"),
                                     ("0.123", "456"), ("1", "0e-1"), ("", "0.5"), ("0.5", "")]]
    out += [s + "0.5" for s in ("\u2212", "\uff0d", "\u2010", "\ufe63", "\u2013")]     # minus look-alikes
    out += ["0" + p + "5" for p in ("\uff0e", "\u066b", "\u00b7", "\u3002")]         # point look-alikes
    out += [a + "0.5" + b for a, b in [("\xa0", ""), ("", "\xa0"), ("\u3000", ""), ("\u2002", ""),
                                       (" ", ""), ("", " "), ("\t", ""), ("\x0b", ""), ("\x0c", "")]]
    out += ["inf", "-inf", "+inf", "Inf", "INF", "infinity", "-Infinity", "iNfInItY", "1e999",
            "-1e999", "nan", "NaN", "-nan", "-NaN", "NA", "null", "NULL", "None", "N/A", "#N/A",
            "<NA>", "1.#IND", "-1.#QNAN", "n/a", "#NA", "#N/A N/A"]
    out += ["NAN", "Nan", "nAn", "NaN ", " nan", "0x10", "1e", "1e+", "..5", "--1", "+-1", "e5",
            ".", "+", "-", "true", "True", "1d5", "inf0", "infi", "0.5e1.0", "\u00b2", "\u00bd",
            "\u2167", "1/2", "0.5f", "5%"]
    out += ["0.5", "-0.25", "+0.5", ".5", "5.", "-.5", "1e-5", "1E-5", "+.5e-3", "00.5",
            "1.0e+00", "0", "1", "-1", "0.000000", "1e0"]
    return list(dict.fromkeys(out))


VARIANTS = variants()


def pandas_reads(text: str) -> str:
    """'finite', 'nonfinite' or 'text': what pandas.read_csv makes of the field."""
    col = pd.read_csv(io.StringIO("x,y\n" + text + ",0\n"))["x"]
    if col.dtype.kind not in "fi":
        return "text"
    return "finite" if np.isfinite(col.iloc[0]) else "nonfinite"


@pytest.fixture(scope="module")
def reference():
    return {v: pandas_reads(v) for v in VARIANTS}


def test_the_corpus_covers_every_verdict(reference):
    counts = pd.Series(reference).value_counts().to_dict()
    assert len(VARIANTS) >= 300 and set(counts) == {"finite", "nonfinite", "text"}, counts
    # the class of bug: Python reads these as numbers, pandas does not
    fooled = [v for v in VARIANTS if reference[v] == "text" and _python_float(v)]
    assert len(fooled) >= 200, len(fooled)


def _python_float(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


# (track, edition, row maker: value -> fields after the key, rows-file maker)
COLUMNS = {
    "valence": ("VA", 8, lambda v: f"{v},0.1"),
    "arousal": ("VA", 8, lambda v: f"-0.1,{v}"),
    "expr-class": ("EXPR", 8, lambda v: v),
    "ce-class": ("CE", 7, lambda v: v),
    "au": ("AU", 10, lambda v: ",".join([v] + ["0"] * 11)),
    "mtl-valence": ("MTL", 7, lambda v: ",".join([v, "0.2", "3"] + ["1"] * 12)),
    "mtl-expression": ("MTL", 7, lambda v: ",".join(["0.1", "0.2", v] + ["0"] * 12)),
    "lsd-class": ("LSD", 4, lambda v: v),
}


def _files(tmp_path, name):
    track, edition, fields = COLUMNS[name]
    r = protocol.rules(track, edition)
    keys = ([f"{i}.jpg" for i in range(len(VARIANTS))] if track == "LSD"
            else [key("44-25-426x240", f + 1) for f in range(len(VARIANTS))])
    tpl = tmp_path / "template.txt"
    tpl.write_text("\n".join([r.prediction_header] + [k + "," for k in keys]) + "\n")
    sub = tmp_path / "sub.txt"
    rows = [f"{k},{fields(v)}" for k, v in zip(keys, VARIANTS, strict=True)]
    sub.write_bytes(("\n".join([r.prediction_header] + rows) + "\n").encode())
    return track, edition, tpl, sub


@pytest.mark.parametrize("column", list(COLUMNS))
def test_every_spelling_is_judged_as_pandas_reads_it(column, reference, tmp_path):
    track, edition, tpl, sub = _files(tmp_path, column)
    report = validate(sub, track, edition, template=tpl, cap=10 ** 6)
    kinds: dict[int, set] = {}
    for p in report.problems():
        kinds.setdefault(p.line, set()).add(p.kind)
    wrong = []
    for i, v in enumerate(VARIANTS):
        got = kinds.get(i + 2, set())
        want = reference[v]
        ok = {"text": bool(got & {"not_a_number", "class_name"}),
              "nonfinite": "not_finite" in got,
              "finite": not got & {"not_a_number", "not_finite", "class_name"}}[want]
        if not ok:
            wrong.append((v, want, sorted(got)))
    assert not wrong, f"{len(wrong)} of {len(VARIANTS)} misjudged, e.g. {wrong[:5]}"


@pytest.mark.parametrize("zero", list(DIGIT_SYSTEMS.values())[:8])
def test_a_first_row_in_other_digits_is_not_taken_for_data(zero, tmp_path):
    """Per-video files: line 1 is a header unless it reads as numbers; `０.５,０.５` does not."""
    folder = tmp_path / "sub"
    folder.mkdir()
    first = in_system("0.5,0.25", zero)
    (folder / "v.txt").write_text(f"{first}\n" + "0.1,0.2\n" * 3)
    report = validate(folder, "VA", 3, lengths={"v": 4})
    assert report.counts["header"] == 1
    assert "no header" not in str(report.examples["header"][0])
