"""Videos, people and frames named in the validator's messages: a run of extra frames by its
first and last frame, a template that lists a video twice, the person hints (edition 1's `_main`
too, never for a video without a person suffix), a folder without any video file.

Files are written here by hand from the protocol's formats (independent of the writers).
"""

from __future__ import annotations

from formats_cases import key, template_text, write_folder

from abaw import protocol
from abaw.formats import validate

EXPR8 = protocol.rules("EXPR", 8).prediction_header


def expr_file(path, rows):
    """An EXPR edition 8 file of (video, frame) rows, classes varying."""
    path.write_text("\n".join([EXPR8] + [f"{key(v, f)},{i % 8}" for i, (v, f) in
                                         enumerate(rows)]) + "\n")
    return path


def messages(report):
    return [str(p) for p in report.problems()]


def test_a_run_of_extra_frames_names_its_first_and_last(tmp_path):
    tpl = tmp_path / "t.txt"
    tpl.write_text(template_text("EXPR", 8, videos={"105": 17}))
    sub = expr_file(tmp_path / "s.txt", [("105", f) for f in range(1, 21)])    # 18-20 extra
    assert messages(validate(sub, "EXPR", 8, template=tpl)) == [
        f"{sub}:19: found 3 rows for frames 18-20 of video '105' not in the template, expected "
        "only the template's rows (frames 1-17 of 17 rows)"]


def test_a_template_listing_a_video_twice_misses_its_second_listing(tmp_path):
    """Each row of the submission matches the first listing of its frame; the second listing
    is one run of missing rows, after the last row."""
    tpl = tmp_path / "t.txt"
    rows = [key("216", f) for f in range(1, 21)]
    tpl.write_text("\n".join([EXPR8] + [f"{k}," for k in rows + rows]) + "\n")
    sub = expr_file(tmp_path / "s.txt", [("216", f) for f in range(1, 21)])
    assert messages(validate(sub, "EXPR", 8, template=tpl)) == [
        f"{sub}:22: found no rows for frames 1-20 (20 rows) of video '216', expected every "
        "template row, frames without a face too"]


def test_a_video_without_a_person_suffix_gets_no_person_hint(tmp_path):
    tpl = tmp_path / "t.txt"
    tpl.write_text(template_text("EXPR", 8, videos={"105": 4, "105_left": 5}))
    sub = expr_file(tmp_path / "s.txt", [("105_left", f) for f in range(1, 6)])
    assert messages(validate(sub, "EXPR", 8, template=tpl)) == [
        f"{sub}: found no rows for video '105' (4 template rows), expected every video of the "
        "template"]


def test_a_missing_person_of_edition_1_names_the_others_present(tmp_path):
    """Edition 1 names people `_left`, `_right` and also `_main`."""
    header = protocol.rules("VA", 1).prediction_header
    lengths = {f"10-60-1280x720{s}": 12 for s in ("_left", "_right", "_main")}
    files = {f"{v}.txt": (header + "\n" + "".join(f"{(f % 9 - 4) / 8:.3f},0.{f:03d}\n"
                                                  for f in range(n))).encode()
             for v, n in lengths.items() if not v.endswith("_main")}
    root = write_folder(tmp_path, files)
    assert messages(validate(root, "VA", 1, lengths=lengths)) == [
        f"{root}: found no file 10-60-1280x720_main.txt; 10-60-1280x720_left, "
        "10-60-1280x720_right is there: each person has its own file, expected one file per "
        "test video or person"]


def test_a_folder_without_any_file_is_no_submission(tmp_path):
    (tmp_path / "sub").mkdir()
    for lengths in (None, {"105": 17}):
        report = validate(tmp_path / "sub", "VA", 3, lengths=lengths)
        assert messages(report) == [f"{tmp_path / 'sub'}: found no <video>.txt files, expected "
                                    "one file per test video"]
        assert report.counts == {"empty_file": 1} and not report.valid
