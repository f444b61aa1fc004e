"""Value fields spelt as teams write them, judged column by column; the warnings judged over the
whole submission, whatever the files or chunks its rows come in."""

from __future__ import annotations

import pytest
from formats_cases import MTL_FRAMES, key, write_list

from abaw import protocol
from abaw.formats import validate, values

MTL_KEYS = [key(v, f) for v, frames in MTL_FRAMES.items() for f in frames]


def mtl_row(i: int) -> list[str]:
    """valence, arousal, expression, 12 AUs: varied, so that no warning is due."""
    return ([f"{(i % 9 - 4) / 8:.3f}", f"{(i % 5 - 2) / 4:.3f}", str(i % 8)]
            + [str((i + j) % 2) for j in range(12)])


# (field, spelling, the message(s) of its row after `file:line: `, or None when it is fine)
SPELLINGS = [
    ("valence", "+1.5e0", "found valence '+1.5e0', expected a value in [-1, 1] (clip)"),
    ("valence", "1e0", None),
    ("arousal", "-1.0E+00", None),
    ("arousal", "-2.5e0", "found arousal '-2.5e0', expected a value in [-1, 1] (clip)"),
    ("expression", "+8", "found '+8', expected a class index 0..7"),
    ("expression", " 0", "found ' 0', expected the value without spaces"),
    ("expression", " 7", "found ' 7', expected the value without spaces"),
    ("expression", " 8", ("found ' 8', expected the value without spaces",
                          "found ' 8', expected a class index 0..7")),
    ("expression", "3e0", "found '3e0', expected an integer class index 0..7 (the argmax)"),
    ("expression", "HAPPINESS", "found 'HAPPINESS', expected its class index 4"),
    ("expression", "\xe9", "found expression '\xe9', expected a number (ASCII digits, sign, "
     "point, exponent: what pandas reads as one)"),
    ("AU1", "+1", None),                                 # pandas reads 1
    ("AU1", " 1", "found ' 1', expected the value without spaces"),
    ("AU2", "0 ", "found '0 ', expected the value without spaces"),   # 0 itself is binary
    ("AU1", "1e0", "found AU1 '1e0', expected 0 or 1 (threshold the probabilities)"),
    ("AU2", "inf", "found AU2 'inf', expected a finite number"),
]
COLUMNS = ["valence", "arousal", "expression"] + [f"AU{i}" for i in range(1, 13)]


def test_each_spelling_is_judged_in_its_column(tmp_path):
    tpl = write_list(tmp_path, "MTL", 7)
    rows = [mtl_row(i) for i in range(len(MTL_KEYS))]
    for i, (column, text, _) in enumerate(SPELLINGS):
        rows[i][COLUMNS.index(column)] = text
    lines = [protocol.MTL_HEADER] + [k + "," + ",".join(r) for k, r in zip(MTL_KEYS, rows, strict=True)]
    path = tmp_path / "s.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))   # é as one byte, not UTF-8
    report = validate(path, "MTL", 7, test_list=tpl)          # MTL rows: its test list
    expected = {f"{path}:{i + 2}: {m}".replace("'\xe9'", "'\ufffd'")
                for i, (_, _, ms) in enumerate(SPELLINGS)
                for m in ((ms,) if isinstance(ms, str) else ms or ())}
    assert {str(p) for p in report.problems()} == expected


# --- rows checked in chunks: the same report as in one piece ------------------------------------

def va_file(tmp_path):
    """57 rows of VIDEOS' VA template: valence varies except in the last rows, arousal is one
    value throughout; two values out of range, one not a number."""
    tpl = write_list(tmp_path, "VA", 5)
    keys = [s.split(",")[0] for s in tpl.read_text().splitlines()[1:]]
    rows = [f"{k},{(i % 7 - 3) / 4 if i < 50 else 0.5:.3f},0.250" for i, k in enumerate(keys)]
    rows[3] = rows[3].replace(",0.250", ",1.250")
    rows[30] = rows[30].split(",")[0] + ",x,0.250"
    rows[51] = rows[51].split(",")[0] + ",-3.000,0.250"
    path = tmp_path / "s.txt"
    path.write_text("\n".join([protocol.rules("VA", 5).prediction_header] + rows) + "\n")
    return path, tpl


def test_chunked_rows_give_the_same_report(tmp_path, monkeypatch):
    path, tpl = va_file(tmp_path)
    whole = validate(path, "VA", 5, template=tpl)
    assert [str(p) for p in whole.problems()] == [
        f"{path}:32: found valence 'x', expected a number (ASCII digits, sign, point, exponent: "
        "what pandas reads as one)",
        f"{path}:5: found arousal '1.250', expected a value in [-1, 1] (clip)",
        f"{path}:53: found valence '-3.000', expected a value in [-1, 1] (clip)",
        f"{path}: found arousal 0.25 on all 54 rows, expected values that vary (a constant "
        "prediction scores CCC 0)"]
    for chunk in (1, 5, 56):
        monkeypatch.setattr(values, "CHUNK_ROWS", chunk)
        chunked = validate(path, "VA", 5, template=tpl)
        assert chunked.problems() == whole.problems(), chunk
        assert chunked.counts == whole.counts and chunked.checked == whole.checked


# --- warnings over all the files of a per-video submission --------------------------------------

LONG = {"a": 60, "b": 60, "c": 60, "d": 60}       # 240 rows: enough to judge classes never used


def per_video(tmp_path, track, edition, row):
    root = tmp_path / track
    root.mkdir(parents=True)
    header = protocol.rules(track, edition).prediction_header
    for k, (video, n) in enumerate(LONG.items()):
        (root / f"{video}.txt").write_text(
            "\n".join([header] + [row(k, i) for i in range(n)]) + "\n")
    return root


def test_classes_used_in_some_file_are_used(tmp_path):
    """Each class is predicted in one file only: none is 'never predicted'."""
    root = per_video(tmp_path, "EXPR", 3, lambda k, i: str(2 * k + i % 2))
    report = validate(root, "EXPR", 3, lengths=LONG)
    assert report.valid and report.warnings == 0, report.text_lines()
    unused = per_video(tmp_path / "x", "EXPR", 3, lambda k, i: str(2 * k + i % 2) if k else "2")
    report = validate(unused, "EXPR", 3, lengths=LONG)
    assert [str(p) for p in report.problems()] == [
        f"{unused}: found no row predicting Neutral, Anger ({sum(LONG.values())} rows), expected "
        "every class / AU predicted somewhere (one never predicted scores F1 0)"]


def test_aus_active_in_some_file_are_active(tmp_path):
    """AU1 is active in the first file only, AU2 in none."""
    def row(k, i):
        return ",".join(["1" if k == 0 and i % 2 else "0", "0"] + [str((i + j) % 2)
                                                                  for j in range(6)])
    root = per_video(tmp_path, "AU", 1, row)
    report = validate(root, "AU", 1, lengths=LONG)
    assert [str(p) for p in report.problems()] == [
        f"{root}: found no row predicting AU2 ({sum(LONG.values())} rows), expected every "
        "class / AU predicted somewhere (one never predicted scores F1 0)"]


@pytest.mark.parametrize("decimals,word", [(1, "decimal"), (2, "decimals")])
def test_precision_over_all_files(decimals, word, tmp_path):
    """Rounded values in every file: one warning, counting the values of all files."""
    root = per_video(tmp_path, "VA", 3,
                     lambda k, i: f"{(i % 9 - 4) / 8:.{decimals}f},{(i % 5 - 2) / 4:.{decimals}f}")
    report = validate(root, "VA", 3, lengths=LONG)
    assert [str(p) for p in report.problems()] == [
        f"{root}: found all 480 valence/arousal values written with at most {decimals} {word}, "
        "expected at least 3 decimals (e.g. 6): rounding lowers CCC"]


# --- how many values a warning needs -------------------------------------------------------------

def one_video(tmp_path, track, rows):
    root = tmp_path / f"{track}{len(rows)}"
    root.mkdir(parents=True)
    header = protocol.rules(track, 3).prediction_header
    (root / "v.txt").write_text("\n".join([header] + rows) + "\n")
    return validate(root, track, 3, lengths={"v": len(rows)})


def test_warnings_need_enough_values(tmp_path):
    least = values.MIN_VALUES_FOR_WARNINGS
    for n in (least - 1, least):                     # a constant arousal over n rows
        report = one_video(tmp_path, "VA", [f"{i / 100:.3f},0.250" for i in range(n)])
        assert report.kinds() == ({"constant_column"} if n >= least else set()), n
    for n in (least // 2 - 1, least // 2):           # 2n values written with 2 decimals
        report = one_video(tmp_path, "VA", [f"{i / 10:.2f},{i / 10 + 0.01:.2f}" for i in range(n)])
        assert report.kinds() == ({"precision"} if 2 * n >= least else set()), n
    least = values.MIN_ROWS_FOR_CLASSES
    for n in (least - 1, least):                     # class 7 (Other) never predicted
        report = one_video(tmp_path, "EXPR", [str(i % 7) for i in range(n)])
        assert report.kinds() == ({"class_never_predicted"} if n >= least else set()), n


def test_the_range_of_a_column_spans_every_file(tmp_path):
    """Valence reaches its largest value, and arousal its smallest, in the first files; the last
    file holds that one value throughout: neither column is constant over the submission."""
    def row(k, i):
        last = k == len(LONG) - 1
        return "0.500,0.500" if last else f"{0.5 - (i % 5) / 10:.3f},{0.5 + (i % 5) / 10:.3f}"
    root = per_video(tmp_path, "VA", 3, row)
    report = validate(root, "VA", 3, lengths=LONG)
    assert report.valid and report.warnings == 0, report.text_lines()


def test_values_in_exponent_notation_count_in_the_warnings(tmp_path):
    """Valence written `%.1e` (`-1.2e-01`: 0.12, two decimals) is rounded; arousal written `5e-01`
    on every row is one constant value."""
    root = per_video(tmp_path, "VA", 3, lambda k, i: f"{(i % 9 - 4) / 8:.1e},5e-01")
    report = validate(root, "VA", 3, lengths=LONG)
    assert [str(p) for p in report.problems()] == [
        f"{root}: found all 480 valence/arousal values written with at most 2 decimals, expected "
        "at least 3 decimals (e.g. 6): rounding lowers CCC",
        f"{root}: found arousal 0.5 on all 240 rows, expected values that vary (a constant "
        "prediction scores CCC 0)"]
    root = per_video(tmp_path / "x", "VA", 3, lambda k, i: f"{(i % 9 - 4) / 8:.3e},{i / 1e3:.0e}")
    assert validate(root, "VA", 3, lengths=LONG).warnings == 0    # -1.250e-01: 4 decimals
    root = per_video(tmp_path / "y", "VA", 3, lambda k, i: f"{i % 3 - 1:.0e},{(i + 1) % 3 - 1:.0e}")
    assert "written with at most 0 decimals" in str(validate(root, "VA", 3, lengths=LONG)
                                                    .problems()[0])            # 1e+00: none
