"""Validator levels: an error is what the organisers would reject or mis-read; a warning is
accepted but costs score (fewer than 3 decimals as written, a constant column, the template's
dummy values, a class never predicted), shown and turned into an error by --strict. Per-video
files checked without the test videos and their lengths are "not checked", never valid.

Files are written here from the protocol's formats, row by row (independent of the writers).
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from formats_cases import key

from abaw import protocol
from abaw.cli import main
from abaw.formats import validate

VIDEOS = {"44-25-426x240": 150, "216": 120}        # a template's own order: not sorted
ROWS = [key(v, f) for v, n in VIDEOS.items() for f in range(1, n + 1)]


def template(tmp_path, track, edition, dummy=""):
    header = protocol.rules(track, edition).prediction_header
    path = tmp_path / f"{track}_template.txt"
    path.write_text("\n".join([header] + [f"{k},{dummy}" for k in ROWS]) + "\n")
    return path


def submission(tmp_path, track, edition, values):
    header = protocol.rules(track, edition).prediction_header
    path = tmp_path / "sub.txt"
    path.write_text("\n".join([header] + [f"{k},{v}" for k, v in zip(ROWS, values, strict=True)])
                    + "\n")
    return path


def va_values(decimals, kind, rng):
    if kind == "varying":
        v = rng.uniform(-1, 1, (len(ROWS), 2))
    else:
        v = np.full((len(ROWS), 2), 0.0 if kind == "zero" else 0.5)
    return [f"{a:.{decimals}f},{b:.{decimals}f}" for a, b in v]


PRECISION = [(d, kind) for d in range(0, 10) for kind in ("varying", "zero", "half")]


@pytest.mark.parametrize("decimals,kind", PRECISION)
def test_precision_is_judged_on_the_text_written(decimals, kind, tmp_path):
    values = va_values(decimals, kind, np.random.default_rng(decimals))
    tpl = template(tmp_path, "VA", 8)
    report = validate(submission(tmp_path, "VA", 8, values), "VA", 8, template=tpl)
    assert report.valid and report.errors == 0, report.text_lines()   # the organisers score it
    assert ("precision" in report.counts) == (decimals < 3), report.text_lines()
    assert ("constant_column" in report.counts) == (kind != "varying")
    if decimals < 3:
        assert f"at most {decimals} decimal" in str(report.examples["precision"][0])
    strict = validate(submission(tmp_path, "VA", 8, values), "VA", 8, template=tpl, strict=True)
    assert strict.valid == (decimals >= 3 and kind == "varying")


def test_mixed_precision_counts_the_most_decimals(tmp_path):
    values = ["0.5,-0.25", "0.125,0.1"] * (len(ROWS) // 2)
    report = validate(submission(tmp_path, "VA", 8, values), "VA", 8,
                      template=template(tmp_path, "VA", 8))
    assert "precision" not in report.counts and report.valid


EXPR_CASES = {  # classes predicted -> warnings expected
    "all": (list(range(8)), set()),
    "no-other": (list(range(7)), {"class_never_predicted"}),
    "two": ([0, 4], {"class_never_predicted"}),
    "constant": ([6], {"class_never_predicted"}),
}


@pytest.mark.parametrize("case", list(EXPR_CASES))
def test_classes_never_predicted(case, tmp_path):
    classes, want = EXPR_CASES[case]
    values = [str(classes[i % len(classes)]) for i in range(len(ROWS))]
    report = validate(submission(tmp_path, "EXPR", 8, values), "EXPR", 8,
                      template=template(tmp_path, "EXPR", 8))
    assert set(report.counts) == want and report.valid
    if want:
        names = [protocol.EXPR_CLASSES_8[c] for c in range(8) if c not in classes]
        assert ", ".join(names) in str(report.examples["class_never_predicted"][0])


@pytest.mark.parametrize("never", [[], [0], [3, 11], list(range(12))])
def test_aus_never_active(never, tmp_path):
    rng = np.random.default_rng(len(never))
    values = []
    for _ in ROWS:
        a = (rng.random(12) < 0.5).astype(int)
        a[never] = 0
        values.append(",".join(map(str, a)))
    report = validate(submission(tmp_path, "AU", 10, values), "AU", 10,
                      template=template(tmp_path, "AU", 10))
    assert ("class_never_predicted" in report.counts) == bool(never) and report.valid


DUMMIES = [("VA", "0.5,-0.5"), ("EXPR", "0"), ("AU", "1,0,1,1,1,0,0,1,0,0,0,1"), ("CE", "3")]


@pytest.mark.parametrize("track,dummy", DUMMIES)
def test_the_templates_dummy_values_are_a_warning(track, dummy, tmp_path):
    tpl = template(tmp_path, track, 6, dummy)
    report = validate(submission(tmp_path, track, 6, [dummy] * len(ROWS)), track, 6, template=tpl)
    assert report.valid and "template_dummy" in report.counts, report.text_lines()
    assert repr(dummy) in str(report.examples["template_dummy"][0])
    assert not validate(tmp_path / "sub.txt", track, 6, template=tpl, strict=True).valid
    own = validate(submission(tmp_path, track, 6, [dummy] * (len(ROWS) - 1) + [_other(track)]),
                   track, 6, template=tpl)
    assert "template_dummy" not in own.counts


def test_a_copy_of_a_template_of_ten_rows_is_the_templates_values(tmp_path):
    tpl = tmp_path / "t.txt"
    tpl.write_text("\n".join(["image_location,valence,arousal"]
                             + [f"{k},0.5,-0.5" for k in ROWS[:10]]) + "\n")
    sub = tmp_path / "s.txt"
    sub.write_bytes(tpl.read_bytes())
    report = validate(sub, "VA", 6, template=tpl)
    assert [str(p) for p in report.examples["template_dummy"]] == [
        f"{sub}: found the template's own values on all 10 rows ('0.5,-0.5'), expected the "
        "model's predictions (the template's values are placeholders)"]


def _other(track):
    return {"VA": "0.1,0.2", "EXPR": "1", "AU": ",".join(["0"] * 12), "CE": "5"}[track]


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_exit_status_warnings_and_strict(tmp_path, capsys):
    tpl = template(tmp_path, "VA", 8)
    sub = submission(tmp_path, "VA", 8, va_values(1, "varying", np.random.default_rng(0)))
    argv = ["validate", str(sub), "-t", "va", "-e", "8", "--template", str(tpl)]
    code, out = run(argv, capsys)
    assert code == 0 and "valid VA submission" in out and "1 warning" in out
    assert "warning (accepted, costs score)" in out
    code, out = run(argv + ["--strict"], capsys)
    assert code == 1 and "INVALID" in out


# --- a template must be the template of the track -------------------------------------------

HEADER_OF = {"VA": ("VA", 8), "EXPR": ("EXPR", 8), "AU": ("AU", 8), "CE": ("CE", 8),
             "MTL": ("MTL", 4), "LSD": ("LSD", 4)}
MISMATCHES = [(a, b) for a in HEADER_OF for b in HEADER_OF if a != b]


@pytest.mark.parametrize("used_as,made_for", MISMATCHES)
def test_a_template_of_another_track_is_refused(used_as, made_for, tmp_path, capsys):
    header = protocol.rules(*HEADER_OF[made_for]).prediction_header
    tpl = tmp_path / "other_track_template.txt"
    tpl.write_text("\n".join([header] + [f"{k}," for k in ROWS[:30]]) + "\n")
    track, edition = HEADER_OF[used_as]
    values = {"VA": "0.1,0.2", "AU": ",".join(["0"] * 12),
              "MTL": ",".join(["0.1", "0.2", "3"] + ["0"] * 12)}.get(used_as, "1")
    sub = tmp_path / "sub.txt"           # the submission copies the template's header, as told
    sub.write_text("\n".join([header] + [f"{k},{values}" for k in ROWS[:30]]) + "\n")
    code, out = run(["validate", str(sub), "-t", used_as, "-e", str(edition), "--template",
                     str(tpl)], capsys)
    assert code == 2 and out.count("\n") == 1, out
    want = protocol.rules(track, edition).prediction_header
    assert "other_track_template.txt:1: found header" in out and repr(want) in out
    assert f"the {made_for} header" in out or made_for in ("MTL", "LSD")


def test_the_tracks_own_header_with_other_spacing_is_accepted(tmp_path):
    tpl = tmp_path / "t.txt"
    tpl.write_text("\n".join(["Image_Location, valence , AROUSAL"] + [f"{k}," for k in ROWS])
                   + "\n")
    sub = tmp_path / "s.txt"
    sub.write_text("\n".join(["Image_Location, valence , AROUSAL"]
                             + [f"{k},0.{i % 9}12345,-0.5{i % 7}0000" for i, k in enumerate(ROWS)])
                   + "\n")
    assert validate(sub, "VA", 8, template=tpl).valid


# --- per-video files without the test videos: not checked ----------------------------------

PER_VIDEO = [(track, edition, layout, packed)
             for edition in (1, 2, 3) for track in ("VA", "EXPR", "AU")
             for layout in ("top", "folder") for packed in (False, True)]


def _per_video_files(track, edition):
    r = protocol.rules(track, edition)
    row = {"VA": "0.1,0.2", "EXPR": "1", "AU": ",".join(["0"] * len(r.names))}[track]
    return {f"{v}.txt": (r.prediction_header + "\n" + f"{row}\n" * n).encode()
            for v, n in VIDEOS.items()}


@pytest.mark.parametrize("track,edition,layout,packed", PER_VIDEO)
def test_per_video_files_without_the_test_videos_are_not_checked(track, edition, layout,
                                                                  packed, tmp_path, capsys):
    files = {(f"{track}/{k}" if layout == "folder" else k): v
             for k, v in _per_video_files(track, edition).items()}
    if packed:
        path = tmp_path / "s.zip"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
        path.write_bytes(buf.getvalue())
    else:
        path = tmp_path / "sub"
        for name, data in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    report = validate(path, track, edition)
    assert report.verdict == "not checked" and not report.valid and report.errors == 0
    code, out = run(["validate", str(path), "-t", track, "-e", str(edition)], capsys)
    assert code == 3 and "NOT CHECKED" in out and "--root" in out
    ids = validate(path, track, edition, test_list=list(VIDEOS))
    assert ids.verdict == "not checked" and "lengths" in ids.unchecked[0]
    assert validate(path, track, edition, lengths=dict(VIDEOS)).valid
