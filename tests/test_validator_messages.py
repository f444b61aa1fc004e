"""The one-line errors of file layouts, line ends, per-video files and headers, read whole.

A team fixes its submission from these lines alone: each must name the file (and line), what
was found and what was expected. The files are written here by hand from the protocol (a header
line, then one row per frame), independent of the writers.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from formats_cases import VIDEOS, key, write_folder, write_list

from abaw import protocol
from abaw.formats import validate

R = "10-60-1280x720_right"


def va_row(frame: int) -> str:
    """Valence / arousal that vary (a constant column or few decimals would be warned about)."""
    return f"{(frame % 9 - 4) / 8:.3f},{(frame % 5 - 2) / 4:.3f}"


def per_video_files():
    header = protocol.rules("VA", 3).prediction_header
    return {f"{v}.txt": "".join([header + "\n"] + [va_row(f) + "\n" for f in range(1, n + 1)])
            .encode() for v, n in VIDEOS.items()}


def packed(path, files: dict):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def lines_of(report):
    return [str(p) for p in report.problems()]


def single_file(newline="\n", track="VA", edition=5, skip=()):
    """A valid file for VIDEOS' template, less the (video, frame) rows in `skip`."""
    value = va_row if track == "VA" else lambda f: str(f % 8)
    return newline.join([protocol.rules(track, edition).prediction_header]
                        + [f"{key(v, f)},{value(f)}" for v, n in VIDEOS.items()
                           for f in range(1, n + 1) if (v, f) not in skip]) + newline


# --- per-video files (editions 1-3) --------------------------------------------------------------

# (id, edit of the folder's files, the one message after the folder's path or of the file)
PER_VIDEO = [
    ("empty-file", lambda f: {**f, "105.txt": b""},
     "105.txt: found an empty file, expected a header line and 17 rows"),
    ("whitespace-file", lambda f: {**f, "105.txt": b" \n"},
     "105.txt: found only whitespace, expected a header line and 17 rows"),
    ("header-only", lambda f: {**f, "105.txt": f["105.txt"].split(b"\n")[0] + b"\n"},
     "105.txt: found only the header, expected 17 rows"),
    ("two-rows-too-many", lambda f: {**f, "105.txt": f["105.txt"] + b"0.100,0.200\n0.300,0.400\n"},
     "105.txt: found 19 rows, expected 17 (one per frame of 105, frames 1-17; +2 rows)"),
    ("one-row-short", lambda f: {**f, "105.txt": f["105.txt"].rsplit(b"\n", 2)[0] + b"\n"},
     "105.txt: found 16 rows, expected 17 (one per frame of 105, frames 1-17; -1 row)"),
    ("crlf-file", lambda f: {**f, "105.txt": f["105.txt"].replace(b"\n", b"\r\n")},
     "105.txt:1: found CRLF (\\r\\n) line ends on 18 of 18 lines, expected LF (\\n) as in the "
     "template"),
    ("both-people-missing", lambda f: {k: v for k, v in f.items() if "1280x720" not in k},
     ": found no file 10-60-1280x720_left.txt, expected one file per test video or person"),
    ("one-person-missing", lambda f: {k: v for k, v in f.items() if R not in k},
     ": found no file 10-60-1280x720_right.txt; 10-60-1280x720_left is there: each person has "
     "its own file, expected one file per test video or person"),
    ("same-video-twice", lambda f: {**f, "VA/105.txt": f["105.txt"]},
     ": found 'VA/105.txt' and '105.txt', expected one file per video"),
    ("nested-one-level", lambda f: {**{k: v for k, v in f.items() if k != "105.txt"},
                                    "preds/105.txt": f["105.txt"]},
     ": found 'preds/105.txt' in a nested or unknown folder, expected <video>.txt at the top "
     "level or in one of VA, VA_Estimation_Challenge, VA_Set/"),
    ("junk-before-the-files", lambda f: {**f, "0notes.md": b"x"},
     ": found '0notes.md', expected only <video>.txt files"),
    ("system-file", lambda f: {**f, ".DS_Store": b"x"},
     ": found '.DS_Store' (system file), expected only submission files"),
    ("resource-fork", lambda f: {**f, "._105.txt": b"x"},
     ": found '._105.txt' (system file), expected only submission files"),
]


@pytest.mark.parametrize("case", PER_VIDEO, ids=[c[0] for c in PER_VIDEO])
def test_per_video_problems_name_file_found_and_expected(case, tmp_path):
    _, edit, message = case
    root = write_folder(tmp_path, edit(per_video_files()))
    report = validate(root, "VA", 3, lengths=dict(VIDEOS))
    where = f"{root}" if message.startswith(":") else ""
    assert lines_of(report)[0] == where + message, report.text_lines()
    assert report.verdict == "invalid"


def test_per_video_problems_past_the_first_are_each_reported(tmp_path):
    """A problem file does not stop the check of the files after it."""
    files = per_video_files()
    files.update({"0notes.md": b"x", "VA/105.txt": files["105.txt"],
                  "VA/122-60-1920x1080-1.txt": files["122-60-1920x1080-1.txt"],
                  f"{R}.txt": files[f"{R}.txt"] + b"0.100,0.200\n"})
    report = validate(write_folder(tmp_path, files), "VA", 3, lengths=dict(VIDEOS))
    assert dict(report.counts) == {"unexpected_file": 1, "layout": 3, "length": 1}


def test_a_folder_without_video_files_misses_every_video(tmp_path):
    report = validate(write_folder(tmp_path, {"notes.md": b"x"}), "VA", 3, lengths=dict(VIDEOS))
    assert dict(report.counts) == {"unexpected_file": 1, "missing_video": 4}


def test_an_unreadable_zip_of_per_video_files_is_one_problem(tmp_path):
    (tmp_path / "s.zip").write_bytes(b"PK\x03\x04 not really a zip")
    report = validate(tmp_path / "s.zip", "VA", 3, lengths=dict(VIDEOS))
    assert dict(report.counts) == {"zip_unreadable": 1}


def test_without_lengths_an_empty_file_expects_one_row_per_frame(tmp_path):
    files = per_video_files()
    files["105.txt"] = b""
    files[f"{R}.txt"] = files[f"{R}.txt"].split(b"\n")[0] + b"\n"
    report = validate(write_folder(tmp_path, files), "VA", 3)
    assert lines_of(report) == [
        f"{R}.txt: found only the header, expected one row per frame after the header",
        "105.txt: found an empty file, expected a header line and one row per frame"]


def test_a_valid_folder_counts_what_was_checked(tmp_path):
    report = validate(write_folder(tmp_path, per_video_files()), "VA", 3, lengths=dict(VIDEOS))
    assert report.valid
    assert dict(report.checked) == {"files": 4, "rows": sum(VIDEOS.values()), "videos": 4}


def test_unknown_lengths_leave_the_row_counts_unchecked(tmp_path):
    files = per_video_files()
    files["105.txt"] += b"0.100,0.200\n"
    report = validate(write_folder(tmp_path, files), "VA", 3, lengths={v: -1 for v in VIDEOS})
    assert report.verdict == "not checked" and report.errors == 0
    assert report.unchecked == ["the per-video lengths (pass --root: the dataset with the test "
                                "videos)"]
    report = validate(write_folder(tmp_path, files), "VA", 3, lengths={**VIDEOS, "105": -1})
    assert report.valid, report.text_lines()


# --- one file, alone or in a zip ----------------------------------------------------------------

def test_line_ends_other_than_the_templates_name_the_first_such_line(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    rows = single_file().split("\n")
    mixed = "\n".join(rows[:4]) + "\r\n" + "\n".join(rows[4:])      # line 4 ends in CRLF
    (tmp_path / "s.txt").write_text(mixed, newline="")
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report) == [f"{tmp_path / 's.txt'}:4: found CRLF (\\r\\n) line ends on 1 of "
                                "58 lines, expected LF (\\n) as in the template"]

    crlf_tpl = tmp_path / "crlf_template.txt"
    crlf_tpl.write_bytes(tpl.read_bytes().replace(b"\n", b"\r\n"))
    text = single_file(newline="\r\n")
    rows = text.split("\r\n")
    mixed = "\r\n".join(rows[:2]) + "\r\n" + rows[2] + "\n" + "\r\n".join(rows[3:])
    (tmp_path / "s.txt").write_text(mixed, newline="")               # line 3 ends in LF
    report = validate(tmp_path / "s.txt", "VA", 5, template=crlf_tpl)
    assert lines_of(report) == [f"{tmp_path / 's.txt'}:3: found LF (\\n) line ends on 1 of 58 "
                                "lines, expected CRLF (\\r\\n) as in the template"]
    (tmp_path / "s.txt").write_text(text[:-2], newline="")           # no final line end: fine
    assert validate(tmp_path / "s.txt", "VA", 5, template=crlf_tpl).valid


ZIPS = [
    ("six-files", {f"{i}.txt": None for i in range(6)},
     ": found 6 files ('0.txt', '1.txt', '2.txt', '3.txt', '4.txt'), expected exactly one "
     "submission file"),
    ("in-a-folder", {"VA/VA.txt": None},
     ": found 'VA/VA.txt' inside a folder, expected the submission file at the top level of the "
     "zip"),
    ("only-junk", {"__MACOSX/._VA.txt": b"x"},
     ": found '__MACOSX/._VA.txt' (system file), expected only submission files"),
]


@pytest.mark.parametrize("case", ZIPS, ids=[c[0] for c in ZIPS])
def test_zip_layout_problems_name_the_zip(case, tmp_path):
    _, members, message = case
    tpl = write_list(tmp_path, "VA", 5)
    valid = single_file().encode()
    path = packed(tmp_path / "s.zip", {k: valid if v is None else v for k, v in members.items()})
    report = validate(path, "VA", 5, template=tpl)
    assert lines_of(report) == [f"{path}{message}"]


def test_an_empty_folder_is_no_submission(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    (tmp_path / "sub").mkdir()
    report = validate(tmp_path / "sub", "VA", 5, template=tpl)
    assert lines_of(report) == [f"{tmp_path / 'sub'}: found no files, expected one submission "
                                "file"]


def test_a_valid_file_counts_its_rows_and_the_templates(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    (tmp_path / "s.txt").write_text(single_file())
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    n = sum(VIDEOS.values())
    assert report.valid and dict(report.checked) == {"files": 1, "rows": n, "template rows": n}
    assert report.summary() == (f"{tmp_path / 's.txt'}: valid VA submission for edition 5 (1 file, "
                                f"{n} rows, {n} template rows)")


# --- rows missing from one file: each run reported on the line where it belongs ----------------

V1, L = "122-60-1920x1080-1", "10-60-1280x720_left"
MISSING = [
    ("first-rows", {(V1, 1), (V1, 2)},
     [f":2: found no rows for frames 1-2 (2 rows) of video {V1!r}"]),
    ("second-row", {(V1, 2)}, [f":3: found no rows for frame 2 of video {V1!r}"]),
    ("first-frame-of-the-next-video", {(L, 1)},
     [f":14: found no rows for frame 1 of video {L!r}"]),
    ("two-runs", {(V1, 5), (L, 3), (L, 4), (L, 5)},
     [f":6: found no rows for frame 5 of video {V1!r}",
      f":15: found no rows for frames 3-5 (3 rows) of video {L!r}"]),
    ("after-a-missing-video", {(V1, f) for f in range(1, 13)} | {(L, 1), (L, 2)},
     [f":2: found no rows for frames 1-2 (2 rows) of video {L!r}"]),
]


@pytest.mark.parametrize("case", MISSING, ids=[c[0] for c in MISSING])
def test_missing_rows_are_reported_where_they_belong(case, tmp_path):
    _, skip, messages = case
    tpl = write_list(tmp_path, "EXPR", 8)
    (tmp_path / "s.txt").write_text(single_file(track="EXPR", edition=8, skip=skip))
    report = validate(tmp_path / "s.txt", "EXPR", 8, template=tpl)
    assert [str(p) for p in report.examples["missing_rows"]] == [
        f"{tmp_path / 's.txt'}{m}, expected every template row, frames without a face too"
        for m in messages], report.text_lines()


def test_both_people_of_a_video_missing_get_no_hint_of_each_other(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    skip = {(v, f) for v in (L, R) for f in range(1, 15)}
    (tmp_path / "s.txt").write_text(single_file(skip=skip))
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report) == [
        f"{tmp_path / 's.txt'}: found no rows for video {v!r} (14 template rows), expected every "
        "video of the template" for v in (L, R)]


def test_images_missing_from_the_test_list_are_counted_per_run(tmp_path):
    tpl = write_list(tmp_path, "LSD", 4)
    lines = tpl.read_text().splitlines()
    rows = [lines[0]] + [f"{line.split(',')[0]},{i % 6}" for i, line in enumerate(lines[1:])]
    kept = [row for i, row in enumerate(rows) if i not in (2, 5, 6)]
    (tmp_path / "s.txt").write_text("\n".join(kept) + "\n")
    report = validate(tmp_path / "s.txt", "LSD", 4, template=tpl)
    first, second = (rows[i].split(",")[0] for i in (2, 5))
    assert lines_of(report) == [
        f"{tmp_path / 's.txt'}: found no rows for 1 image(s) from {first!r} (line 3 of the "
        "list), expected every image of the test list",
        f"{tmp_path / 's.txt'}: found no rows for 2 image(s) from {second!r} (line 6 of the "
        "list), expected every image of the test list"]


# --- rows that are not the template's ------------------------------------------------------------

def expr_rows(tmp_path, edit):
    """EXPR edition 8 file of VIDEOS' template, its rows (header first) edited by `edit`."""
    tpl = write_list(tmp_path, "EXPR", 8)
    lines = edit(single_file(track="EXPR", edition=8).splitlines())
    (tmp_path / "s.txt").write_text("\n".join(lines) + "\n")
    return validate(tmp_path / "s.txt", "EXPR", 8, template=tpl), tmp_path / "s.txt"


def test_extra_rows_are_reported_per_run_of_one_video(tmp_path):
    """Counters off by one at both ends of neighbouring videos: two runs, not one."""
    def edit(lines):
        end = len(lines)
        return (lines[:13] + [f"{key(V1, 13)},1", f"{key(L, 0)},1"] + lines[13:end]
                + [f"{key('105', 18)},1", f"{key('105', 19)},1"])
    report, path = expr_rows(tmp_path, edit)
    assert lines_of(report) == [
        f"{path}:14: found 1 row for frame 13 of video {V1!r} not in the template, expected only "
        "the template's rows (frames 1-12 of 12 rows)",
        f"{path}:15: found 1 row for frame 0 of video {L!r} not in the template, expected only "
        "the template's rows (frames 1-14 of 14 rows)",
        f"{path}:61: found 2 rows for frames 18-19 of video '105' not in the template, expected "
        "only the template's rows (frames 1-17 of 17 rows)"]


def test_each_repeat_of_a_row_names_the_line_of_its_first(tmp_path):
    report, path = expr_rows(tmp_path, lambda x: x[:2] + [x[1]] + x[2:4] + [x[1]] + x[4:])
    assert lines_of(report) == [
        f"{path}:{n}: found {key(V1, 1)!r} again (first on line 2), expected each template row once"
        for n in (3, 6)]


def test_a_frame_name_followed_by_a_space_is_not_a_row(tmp_path):
    report, path = expr_rows(tmp_path, lambda x: x[:6] + [x[6].replace(",", " ")] + x[7:])
    assert lines_of(report) == [
        f"{path}:7: found {key(V1, 6) + ' 6'!r}, expected {key(V1, 6)!r} (copy frame names from "
        "the template)",
        f"{path}:7: found no value after the frame name, expected 1 value field (one class index "
        "0..7; the header names the classes)"]


def test_a_test_list_file_without_its_header(tmp_path):
    tpl = write_list(tmp_path, "LSD", 4)
    images = [s.split(",")[0] for s in tpl.read_text().splitlines()[1:]]
    (tmp_path / "s.txt").write_text("".join(f"{s},{i % 6}\n" for i, s in enumerate(images)))
    report = validate(tmp_path / "s.txt", "LSD", 4, template=tpl)
    assert lines_of(report) == [
        f"{tmp_path / 's.txt'}:1: found no header (line 1 is a row: '0.jpg,0'), expected the "
        "header 'image,expression' on line 1"]


def test_the_dummy_template_with_a_row_dropped_reports_the_row(tmp_path):
    """The template's placeholders are compared row by row only when the rows are the
    template's: a dropped row is reported as missing, not compared out of step."""
    tpl = write_list(tmp_path, "VA", 5, style="dummy")
    lines = tpl.read_text().splitlines()
    (tmp_path / "s.txt").write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report)[0] == (f"{tmp_path / 's.txt'}:6: found no rows for frame 5 of video "
                                   f"{V1!r}, expected every template row, frames without a face "
                                   "too")
    assert report.counts["missing_rows"] == 1 and report.errors == 1


def test_a_file_written_twice_names_each_rows_first_copy(tmp_path):
    """Two runs' outputs concatenated: every row of the second copy is a repeat of the first."""
    tpl = write_list(tmp_path, "VA", 5)
    rows = single_file().splitlines()
    (tmp_path / "s.txt").write_text("\n".join(rows + rows[1:]) + "\n")
    n = len(rows) - 1
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl, cap=n)
    assert report.kinds() == {"duplicate_row"}
    assert lines_of(report) == [f"{tmp_path / 's.txt'}:{i + 1 + n}: found {rows[i].split(',')[0]!r} "
                                f"again (first on line {i + 1}), expected each template row once"
                                for i in range(1, n + 1)]


HEADERS = [
    (" image_location,valence,arousal", " (leading whitespace)"),
    ("image_location, valence, arousal", " (spaces)"),
    ("image_location,valence,arousal ", " (trailing whitespace)"),
    ("Image_Location,Valence,Arousal", " (different letter case)"),
    ("image_location,arousal,valence", ""),
]


@pytest.mark.parametrize("header,what", HEADERS, ids=[w or "other" for _, w in HEADERS])
def test_a_header_unlike_the_templates_says_how_it_differs(header, what, tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    rows = single_file().splitlines()
    (tmp_path / "s.txt").write_text("\n".join([header] + rows[1:]) + "\n")
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report) == [f"{tmp_path / 's.txt'}:1: found {header!r}{what}, expected "
                                "'image_location,valence,arousal' byte for byte, as in the "
                                "template"]


def test_a_file_cut_off_inside_its_last_frame_name(tmp_path):
    tpl = write_list(tmp_path, "VA", 5)
    text = single_file()
    cut = text[:text.rindex("\n", 0, len(text) - 1) + 1 + 10]       # 10 characters of the key
    (tmp_path / "s.txt").write_text(cut)
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report) == [
        f"{tmp_path / 's.txt'}:58: found '105/00017.', expected '105/00017.jpg' (copy frame names "
        "from the template)",
        f"{tmp_path / 's.txt'}:58: found no value after the frame name, expected 2 value fields "
        "(valence,arousal)"]


def test_rows_with_other_numbers_of_fields_say_how_many(tmp_path):
    """Eight numbers are one-hot scores; eight words, or two numbers, are just the wrong count."""
    words = ",".join(["x"] * 8)

    def edit(x):
        return (x[:2] + [x[2].split(",")[0] + ",0,0,1,0,0,0,0,0", x[3].split(",")[0] + "," + words,
                         x[4].split(",")[0] + ",3,4"] + x[5:])
    report, path = expr_rows(tmp_path, edit)
    describe = "1 value field (one class index 0..7; the header names the classes)"
    assert lines_of(report) == [
        f"{path}:4: found 8 value fields {words!r}, expected {describe}",
        f"{path}:5: found 2 value fields '3,4', expected {describe}",
        f"{path}:3: found 8 columns '0,0,1,0,0,0,0,0', expected one class index 0..7 (the argmax)"]
    tpl = write_list(tmp_path, "VA", 5)
    rows = single_file().splitlines()
    rows[9] = rows[9].rsplit(",", 1)[0]
    (tmp_path / "s.txt").write_text("\n".join(rows) + "\n")
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report) == [f"{tmp_path / 's.txt'}:10: found 1 value field "
                                f"{rows[9].split(',')[1]!r}, expected 2 value fields "
                                "(valence,arousal)"]


def test_a_file_of_too_many_lines_is_not_read(tmp_path, monkeypatch):
    from abaw.formats import checks

    tpl = write_list(tmp_path, "VA", 5)
    text = single_file()
    monkeypatch.setattr(checks, "MAX_LINES", text.count("\n"))        # the file's own count: read
    (tmp_path / "s.txt").write_text(text)
    assert validate(tmp_path / "s.txt", "VA", 5, template=tpl).valid
    (tmp_path / "s.txt").write_text(text + "\n")
    report = validate(tmp_path / "s.txt", "VA", 5, template=tpl)
    assert lines_of(report) == [f"{tmp_path / 's.txt'}: found 59 lines, expected at most 58 (the "
                                "largest template has 1,022,655 rows); not read"]
