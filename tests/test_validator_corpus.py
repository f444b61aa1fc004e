"""A corpus of corrupted submissions: each mistake teams make (protocol §4), alone and combined.

Every corrupted file is made from a valid one by a small edit written here by hand. The test
asserts that exactly the expected kinds of problem are reported (nothing else), with the expected
counts, and that the message names what was found and what was expected.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from formats_cases import VIDEOS, id_list, make_preds, write_folder, write_list

from abaw.formats import validate, write_submission

EXPR_CLASSES = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
L, R = "10-60-1280x720_left", "10-60-1280x720_right"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Valid files written by the writer: {(track, edition): (lines, template path)}."""
    tmp = tmp_path_factory.mktemp("corpus")
    out = {}
    for track, edition in [("EXPR", 8), ("VA", 5), ("AU", 6), ("CE", 7), ("MTL", 7), ("LSD", 4)]:
        tpl = write_list(tmp, track, edition)
        w = write_submission(make_preds(track, edition, seed=edition), tmp / f"{track}.txt", tpl)
        out[(track, edition)] = (w.path.read_text().splitlines(), tpl)
    return out


def rows_of(lines, video):
    return [i for i, s in enumerate(lines) if s.startswith(video + "/")]


def drop(lines, idx):
    idx = set(idx)
    return [s for i, s in enumerate(lines) if i not in idx]


def set_value(lines, i, value):
    return lines[:i] + [lines[i].split(",", 1)[0] + "," + value] + lines[i + 1:]


def one_hot(lines):
    out = [lines[0]]
    for s in lines[1:]:
        k, c = s.split(",")
        out.append(k + "," + ",".join("1" if j == int(c) else "0" for j in range(8)))
    return out


def probs(lines, n):
    rng = np.random.default_rng(3)
    out = [lines[0]]
    for s in lines[1:]:
        out.append(s.split(",", 1)[0] + "," + ",".join(f"{x:.4f}" for x in rng.random(n)))
    return out


def round_va(lines, decimals):
    out = [lines[0]]
    for s in lines[1:]:
        k, v, a = s.split(",")
        out.append(f"{k},{float(v):.{decimals}f},{float(a):.{decimals}f}")
    return out


def first_row(lines, video):
    return rows_of(lines, video)[0]


def counter_names(lines, video, start=1):
    """Frame names made from a counter (no zero padding) instead of copied from the template."""
    out = list(lines)
    for n, i in enumerate(rows_of(lines, video)):
        k, v = out[i].split(",", 1)
        out[i] = f"{video}/{n + start}.jpg,{v}"
    return out


def counter_from_zero(lines, video):
    out = list(lines)
    for n, i in enumerate(rows_of(lines, video)):
        k, v = out[i].split(",", 1)
        out[i] = f"{video}/{n:05d}.jpg,{v}"
    return out


def swap(lines, i, j):
    out = list(lines)
    out[i], out[j] = out[j], out[i]
    return out


def video_first(lines, video):
    """A video's block moved to the top (e.g. videos written in sorted or dict order)."""
    block = rows_of(lines, video)
    return [lines[0]] + [lines[i] for i in block] + drop(lines, block)[1:]


# (id, track, edition, edit(lines) -> lines or bytes, {kind: count}, the first message after
# the file's path)
CASES = [
    ("empty", "EXPR", 8, lambda x: b"", {"empty_file": 1},
     ": found an empty file, expected a header line and 57 rows"),
    ("only-whitespace", "VA", 5, lambda x: b"\n\n", {"empty_file": 1},
     ": found only whitespace, expected a header line and 57 rows"),
    ("header-only", "EXPR", 8, lambda x: x[:1], {"empty_file": 1},
     ": found only the header, expected 57 rows"),
    ("bom", "EXPR", 8, lambda x: b"\xef\xbb\xbf" + "\n".join(x).encode() + b"\n", {"bom": 1},
     ":1: found a UTF-8 byte-order mark (EF BB BF) before the header, expected the file to "
     "start with the header"),
    ("crlf", "VA", 5, lambda x: "\r\n".join(x).encode() + b"\r\n", {"line_ending": 1},
     ":1: found CRLF (\\r\\n) line ends on 58 of 58 lines, expected LF (\\n) as in the template"),
    ("header-trailing-space", "EXPR", 8, lambda x: [x[0] + " "] + x[1:], {"header": 1},
     ":1: found 'image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other ' "
     "(trailing whitespace), expected "
     "'image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other' byte for "
     "byte, as in the template"),
    ("header-missing", "AU", 6, lambda x: x[1:], {"header": 1},
     ":1: found no header (line 1 is a row: "
     "'122-60-1920x1080-1/00001.jpg,0,1,1,1,0,0,1,0,1,0,0,0'), expected the header "
     "'image_location,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26' on line 1"),
    ("header-case", "VA", 5, lambda x: [x[0].upper()] + x[1:], {"header": 1},
     ":1: found 'IMAGE_LOCATION,VALENCE,AROUSAL' (different letter case), expected "
     "'image_location,valence,arousal' byte for byte, as in the template"),
    ("header-annotation-style", "EXPR", 8, lambda x: [",".join(EXPR_CLASSES)] + x[1:],
     {"header": 1},
     ":1: found 'Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other', expected "
     "'image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other' byte for "
     "byte, as in the template"),
    ("blank-line-inside", "EXPR", 8, lambda x: x[:5] + [""] + x[5:], {"blank_line": 1},
     ":6: found an empty line, expected no empty lines (one row per line, nothing after the "
     "last row)"),
    ("blank-lines-at-end", "VA", 5, lambda x: x + ["", ""], {"blank_line": 2},
     ":59: found an empty line, expected no empty lines (one row per line, nothing after the "
     "last row)"),
    ("no-face-rows-skipped", "EXPR", 8, lambda x: drop(x, rows_of(x, "105")[4:7]),
     {"missing_rows": 1},
     ":46: found no rows for frames 5-7 (3 rows) of video '105', expected every template row, "
     "frames without a face too"),
    ("right-person-skipped", "VA", 5, lambda x: drop(x, rows_of(x, R)), {"missing_video": 1},
     ": found no rows for video '10-60-1280x720_right' (14 template rows; 10-60-1280x720_left "
     "has rows: each person of a two-person video has its own), expected every video of the "
     "template"),
    ("whole-video-skipped", "AU", 6, lambda x: drop(x, rows_of(x, "105")), {"missing_video": 1},
     ": found no rows for video '105' (17 template rows), expected every video of the template"),
    ("extra-video", "EXPR", 8, lambda x: x + [f"999/{f:05d}.jpg,1" for f in (1, 2, 3)],
     {"extra_video": 1},
     ":59: found 3 rows of video '999', expected only the template's videos"),
    ("people-merged", "EXPR", 8,
     lambda x: drop(x, rows_of(x, L) + rows_of(x, R)) + [f"10-60-1280x720/{f:05d}.jpg,0"
                                                          for f in range(1, 15)],
     {"extra_video": 1, "missing_video": 2},
     ":31: found 14 rows of video '10-60-1280x720' (the template has 10-60-1280x720_left, "
     "10-60-1280x720_right), expected only the template's videos"),
    ("off-by-one-extra", "VA", 5,
     lambda x: x[:rows_of(x, "105")[-1] + 1] + ["105/00018.jpg,0.1,0.2"]
     + x[rows_of(x, "105")[-1] + 1:], {"extra_rows": 1},
     ":59: found 1 row for frame 18 of video '105' not in the template, expected only the "
     "template's rows (frames 1-17 of 17 rows)"),
    ("off-by-one-short", "AU", 6, lambda x: drop(x, rows_of(x, "105")[-1:]),
     {"missing_rows": 1},
     ":58: found no rows for frame 17 of video '105', expected every template row, frames "
     "without a face too"),
    ("counter-from-zero", "EXPR", 8, lambda x: counter_from_zero(x, "105"),
     {"extra_rows": 1, "missing_rows": 1},
     ":42: found 1 row for frame 0 of video '105' not in the template, expected only the "
     "template's rows (frames 1-17 of 17 rows)"),
    ("counter-names", "VA", 5, lambda x: counter_names(x, "105"), {"frame_name": 17},
     ":42: found '105/1.jpg', expected '105/00001.jpg' (copy frame names from the template)"),
    ("duplicate-row", "EXPR", 8, lambda x: x[:9] + [x[8]] + x[9:], {"duplicate_row": 1},
     ":10: found '122-60-1920x1080-1/00008.jpg' again (first on line 9), expected each "
     "template row once"),
    ("swapped-rows", "AU", 6, lambda x: swap(x, 3, 4), {"row_order": 1},
     ":5: found '122-60-1920x1080-1/00003.jpg' after '122-60-1920x1080-1/00004.jpg', expected "
     "the template's order ('122-60-1920x1080-1/00003.jpg' is on template line 4)"),
    ("video-moved", "EXPR", 8, lambda x: video_first(x, "105"), {"row_order": 1},
     ":19: found '122-60-1920x1080-1/00001.jpg' after '105/00017.jpg', expected the template's"
     " order ('122-60-1920x1080-1/00001.jpg' is on template line 2)"),
    ("garbage-key", "VA", 5, lambda x: x[:3] + ["hello,0.1,0.2"] + x[3:], {"bad_key": 1},
     ":4: found frame name 'hello', expected <video>/<NNNNN>.jpg as in the template"),
    ("empty-class", "EXPR", 8, lambda x: set_value(x, 6, ""), {"not_a_number": 1},
     ":7: found an empty class, expected a number (ASCII digits, sign, point, exponent: what "
     "pandas reads as one)"),
    ("no-values", "CE", 7, lambda x: x[:6] + [x[6].split(",")[0]] + x[7:], {"field_count": 1},
     ":7: found no value after the frame name, expected 1 value field (one class index 0..6; "
     "the header names the classes)"),
    ("va-three-fields", "VA", 5, lambda x: set_value(x, 2, "0.1,0.2,0.3"), {"field_count": 1},
     ":3: found 3 value fields '0.1,0.2,0.3', expected 2 value fields (valence,arousal)"),
    ("expr-one-hot", "EXPR", 8, one_hot, {"one_hot": len(VIDEOS) and 57},
     ":2: found 8 columns '0,0,1,0,0,0,0,0', expected one class index 0..7 (the argmax)"),
    ("expr-probabilities", "EXPR", 8, lambda x: probs(x, 8), {"one_hot": 57},
     ":2: found 8 columns '0.0856,0.2368,0.8013,0.5822,0.0941,0.4331,0.4791,0.1597', expected "
     "one class index 0..7 (the argmax)"),
    ("expr-class-name", "EXPR", 8, lambda x: set_value(x, 4, "Happiness"), {"class_name": 1},
     ":5: found 'Happiness', expected its class index 4"),
    ("expr-float-class", "EXPR", 8, lambda x: set_value(x, 4, "3.0"), {"class_not_integer": 1},
     ":5: found '3.0', expected an integer class index 0..7 (the argmax)"),
    ("expr-class-8", "EXPR", 8, lambda x: set_value(x, 4, "8"), {"class_range": 1},
     ":5: found '8', expected a class index 0..7"),
    ("expr-minus-one", "EXPR", 8, lambda x: set_value(set_value(x, 4, "-1"), 5, "-1"),
     {"class_range": 2},
     ":5: found '-1', expected a class index 0..7"),
    ("ce-class-7", "CE", 7, lambda x: set_value(x, 10, "7"), {"class_range": 1},
     ":11: found '7', expected a class index 0..6"),
    ("au-probabilities", "AU", 6, lambda x: probs(x, 12), {"au_not_binary": 57},
     ":2: found AU1 '0.0856', expected 0 or 1 (threshold the probabilities)"),
    ("au-two", "AU", 6, lambda x: set_value(x, 7, ",".join(["2"] + ["0"] * 11)),
     {"au_not_binary": 1},
     ":8: found AU1 '2', expected 0 or 1 (threshold the probabilities)"),
    ("au-eight-columns", "AU", 6, lambda x: set_value(x, 7, ",".join(["0"] * 8)),
     {"field_count": 1},
     ":8: found 8 value fields '0,0,0,0,0,0,0,0', expected 12 value fields "
     "(AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26)"),
    ("va-nan", "VA", 5, lambda x: set_value(x, 9, "nan,0.1"), {"not_finite": 1},
     ":10: found valence 'nan', expected a finite number"),
    ("va-inf", "VA", 5, lambda x: set_value(x, 9, "0.1,-inf"), {"not_finite": 1},
     ":10: found arousal '-inf', expected a finite number"),
    ("va-out-of-range", "VA", 5, lambda x: set_value(x, 9, "1.5,0.1"), {"va_range": 1},
     ":10: found valence '1.5', expected a value in [-1, 1] (clip)"),
    ("va-word", "VA", 5, lambda x: set_value(x, 9, "abc,0.1"), {"not_a_number": 1},
     ":10: found valence 'abc', expected a number (ASCII digits, sign, point, exponent: what "
     "pandas reads as one)"),
    ("va-space", "VA", 5, lambda x: set_value(x, 9, " 0.25,0.1"), {"whitespace": 1},
     ":10: found ' 0.25', expected the value without spaces"),
    ("bom+crlf", "EXPR", 8, lambda x: b"\xef\xbb\xbf" + "\r\n".join(x).encode() + b"\r\n",
     {"bom": 1, "line_ending": 1},
     ":1: found a UTF-8 byte-order mark (EF BB BF) before the header, expected the file to "
     "start with the header"),
    ("one-hot+crlf", "EXPR", 8, lambda x: "\r\n".join(one_hot(x)).encode() + b"\r\n",
     {"one_hot": 57, "line_ending": 1},
     ":2: found 8 columns '0,0,1,0,0,0,0,0', expected one class index 0..7 (the argmax)"),
    ("skipped+nan+dup", "VA", 5,
     lambda x: set_value(drop(x, rows_of(x, R))[:3] + [x[2]] + drop(x, rows_of(x, R))[3:], 6,
                         "nan,0"),
     {"missing_video": 1, "not_finite": 1, "duplicate_row": 1},
     ": found no rows for video '10-60-1280x720_right' (14 template rows; 10-60-1280x720_left "
     "has rows: each person of a two-person video has its own), expected every video of the "
     "template"),
    ("mtl-14-fields", "MTL", 7, lambda x: set_value(x, 2, ",".join(["0"] * 14)),
     {"field_count": 1},
     ":3: found 14 value fields '0,0,0,0,0,0,0,0,0,0,0,0,0,0', expected 15 value fields "
     "(valence,arousal,expression,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26)"),
    ("mtl-expr-8", "MTL", 7, lambda x: set_value(x, 2, "0.1,0.2,8," + ",".join(["0"] * 12)),
     {"class_range": 1},
     ":3: found '8', expected a class index 0..7"),
    ("mtl-au-prob", "MTL", 7,
     lambda x: set_value(x, 2, "0.1,0.2,3,0.7," + ",".join(["0"] * 11)),
     {"au_not_binary": 1},
     ":3: found AU1 '0.7', expected 0 or 1 (threshold the probabilities)"),
    ("mtl-row-missing", "MTL", 7, lambda x: drop(x, [3]), {"missing_rows": 1},
     ":4: found no rows for frame 9 of video '7-25-1920x1080', expected every template row, "
     "frames without a face too"),
    ("lsd-image-missing", "LSD", 4, lambda x: drop(x, [5]), {"missing_rows": 1},
     ": found no rows for 1 image(s) from '4.jpg' (line 6 of the list), expected every image "
     "of the test list"),
    ("lsd-class-6", "LSD", 4, lambda x: set_value(x, 5, "6"), {"class_range": 1},
     ":6: found '6', expected a class index 0..5"),
    ("lsd-extra-image", "LSD", 4, lambda x: x + ["999.jpg,1"], {"extra_rows": 1},
     ":25: found image '999.jpg', expected only the images of the test list"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_corrupted_file_reports_exactly_its_mistake(case, base, tmp_path):
    _, track, edition, edit, expected, message = case
    lines, tpl = base[(track, edition)]
    out = edit(list(lines))
    data = out if isinstance(out, bytes) else ("\n".join(out) + "\n").encode()
    path = tmp_path / "submission.txt"
    path.write_bytes(data)
    report = validate(path, track, edition, template=tpl)
    assert not report.valid
    assert dict(report.counts) == expected, report.text_lines()
    assert str(report.examples[next(iter(expected))][0]) == f"{path}{message}"


@pytest.mark.parametrize("track,edition", [("EXPR", 8), ("VA", 5), ("AU", 6), ("CE", 7),
                                           ("MTL", 7), ("LSD", 4)])
def test_valid_files_pass(track, edition, base, tmp_path):
    lines, tpl = base[(track, edition)]
    path = tmp_path / "ok.txt"
    path.write_text("\n".join(lines) + "\n")
    report = validate(path, track, edition, template=tpl)
    assert report.valid, report.text_lines()
    assert report.checked["rows"] == len(lines) - 1


def _zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


ZIP_CASES = [
    ("traversal", {"../evil.txt": b"x", "sub.txt": None}, {"zip_unsafe": 1},
     ": found entry '../evil.txt' that climbs out with '..', expected relative paths inside "
     "the zip"),
    ("absolute", {"/etc/evil.txt": b"x", "sub.txt": None}, {"zip_unsafe": 1},
     ": found entry '/etc/evil.txt' with an absolute path, expected relative paths inside the "
     "zip"),
    ("nested", {"folder/inner/sub.txt": None}, {"layout": 1},
     ": found 'folder/inner/sub.txt' inside a folder, expected the submission file at the top "
     "level of the zip"),
    ("macos-junk", {"sub.txt": None, "__MACOSX/._sub.txt": b"junk"}, {"unexpected_file": 1},
     ": found '__MACOSX/._sub.txt' (system file), expected only submission files"),
    ("two-files", {"sub.txt": None, "notes.txt": b"hello"}, {"layout": 1},
     ": found 2 files ('sub.txt', 'notes.txt'), expected exactly one submission file"),
    ("empty-zip", {}, {"empty_file": 1},
     ": found no files, expected one submission file"),
]


@pytest.mark.parametrize("case", ZIP_CASES, ids=[c[0] for c in ZIP_CASES])
def test_corrupted_zip(case, base, tmp_path):
    _, members, expected, message = case
    lines, tpl = base[("EXPR", 8)]
    valid = ("\n".join(lines) + "\n").encode()
    path = _zip(tmp_path / "s.zip", {k: valid if v is None else v for k, v in members.items()})
    report = validate(path, "EXPR", 8, template=tpl)
    assert dict(report.counts) == expected, report.text_lines()
    assert str(report.examples[next(iter(expected))][0]) == f"{path}{message}"
    assert not (tmp_path / "evil.txt").exists()


def test_not_a_zip(tmp_path, base):
    _, tpl = base[("EXPR", 8)]
    path = tmp_path / "s.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    report = validate(path, "EXPR", 8, template=tpl)
    assert set(report.counts) == {"zip_unreadable"}


def test_valid_zip_passes(base, tmp_path):
    lines, tpl = base[("VA", 5)]
    path = _zip(tmp_path / "s.zip", {"VA.txt": ("\n".join(lines) + "\n").encode()})
    assert validate(path, "VA", 5, template=tpl).valid


# --- editions 1-3: folders of per-video files ---------------------------------------------------

@pytest.fixture(scope="module")
def per_video(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pv")
    out = {}
    for track, edition in [("VA", 3), ("EXPR", 3), ("AU", 1)]:
        w = write_submission(make_preds(track, edition, seed=1), tmp / f"{track}{edition}",
                             test_list=id_list(tmp), lengths=dict(VIDEOS), layout="none")
        out[(track, edition)] = {p.name: p.read_bytes() for p in w.files}
    return out


def _cut_last(data: bytes) -> bytes:
    return b"\n".join(data.split(b"\n")[:-2]) + b"\n"


PV_CASES = [
    ("right-file-missing", lambda f: {k: v for k, v in f.items() if k != f"{R}.txt"},
     {"missing_video": 1},
     ": found no file 10-60-1280x720_right.txt; 10-60-1280x720_left is there: each person has "
     "its own file, expected one file per test video or person"),
    ("extra-file", lambda f: {**f, "777.txt": f["105.txt"]}, {"extra_video": 1},
     ": found file '777.txt', expected only the test videos' files"),
    ("one-frame-short", lambda f: {**f, "105.txt": _cut_last(f["105.txt"])}, {"length": 1},
     "105.txt: found 16 rows, expected 17 (one per frame of 105, frames 1-17; -1 row)"),
    ("nested-folder", lambda f: {f"a/b/{k}": v for k, v in f.items()}, {"layout": 4},
     ": found 'a/b/10-60-1280x720_left.txt' in a nested or unknown folder, expected "
     "<video>.txt at the top level or in one of VA, VA_Estimation_Challenge, VA_Set/"),
    ("csv-file", lambda f: {**f, "readme.csv": b"x"}, {"unexpected_file": 1},
     ": found 'readme.csv', expected only <video>.txt files"),
    ("two-places", lambda f: {(("VA/" + k) if k == "105.txt" else k): v
                              for k, v in f.items()}, {"layout": 1},
     ": found files spread over 2 places (VA, top level), expected one place"),
]


@pytest.mark.parametrize("case", PV_CASES, ids=[c[0] for c in PV_CASES])
def test_corrupted_per_video_folder(case, per_video, tmp_path):
    _, edit, expected, message = case
    root = write_folder(tmp_path, edit(dict(per_video[("VA", 3)])))
    report = validate(root, "VA", 3, test_list=list(VIDEOS), lengths=dict(VIDEOS))
    assert dict(report.counts) == expected, report.text_lines()
    # problems of the folder name it; problems inside a file name the file, as in the folder
    where = f"{root}" if message.startswith(":") else ""
    assert str(report.examples[next(iter(expected))][0]) == where + message


def test_per_video_header_of_another_edition(per_video, tmp_path):
    files = dict(per_video[("EXPR", 3)])
    files["105.txt"] = files["105.txt"].replace(b",Other\n", b"\n", 1)   # the 7-class header
    report = validate(write_folder(tmp_path, files), "EXPR", 3, lengths=dict(VIDEOS))
    assert dict(report.counts) == {"header": 1}
    assert "Other" in str(report.examples["header"][0])


def test_edition1_au_with_twelve_columns_is_rejected(per_video, tmp_path):
    files = dict(per_video[("AU", 1)])
    rows = files["105.txt"].split(b"\n")
    files["105.txt"] = b"\n".join(rows[:1] + [r + b",0,0,0,0" for r in rows[1:-1]]) + b"\n"
    report = validate(write_folder(tmp_path, files), "AU", 1, lengths=dict(VIDEOS))
    assert dict(report.counts) == {"field_count": 17}


@pytest.mark.parametrize("layout", ["track", "annotation", "none"])
def test_per_video_layouts_and_zip_are_valid(layout, tmp_path):
    w = write_submission(make_preds("EXPR", 2), tmp_path / "out", test_list=list(VIDEOS),
                         lengths=dict(VIDEOS), layout=layout)
    assert validate(w.path, "EXPR", 2, lengths=dict(VIDEOS)).valid
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in w.files:
            z.write(p, p.relative_to(w.path).as_posix())
    (tmp_path / "s.zip").write_bytes(buf.getvalue())
    report = validate(tmp_path / "s.zip", "EXPR", 2, lengths=dict(VIDEOS))
    assert report.valid, report.text_lines()
    assert report.checked["videos"] == len(VIDEOS)


def test_without_lengths_the_report_says_what_was_not_checked(per_video, tmp_path):
    report = validate(write_folder(tmp_path, dict(per_video[("VA", 3)])), "VA", 3)
    assert not report.valid and report.verdict == "not checked" and report.errors == 0
    assert report.unchecked == ["the test videos and their lengths (pass --root: the dataset with "
                                "the test videos)"]
    report = validate(write_folder(tmp_path, dict(per_video[("VA", 3)])), "VA", 3,
                      test_list=list(VIDEOS))
    assert report.verdict == "not checked"
    assert report.unchecked == ["the per-video lengths (pass --root: the dataset with the test "
                                "videos)"]
