"""Bulk parsing of annotation files, MTL files, test lists and templates, and every bad input."""

import csv

import numpy as np
import pytest
from data_trees import AU8, AU12, CE_HEADER, EXPR7, EXPR8, MTL_HEADER, VA_HEADER, write

from abaw.data import annotations, lists
from abaw.data.problems import errors

HEADERS = {"VA": VA_HEADER, "EXPR": EXPR8, "AU": AU12}


def reference_parse(path):
    """Independent reader: the csv module and float() per field."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return np.array([[float(x) for x in r] for r in rows], np.float32)


def read(tmp_path, track, texts, edition=6):
    files = []
    for i, text in enumerate(texts):
        p = write(tmp_path / f"vid{i}.txt", text)
        files.append((p, p.name))
    problems = []
    out = annotations.read_annotation_files(files, track, edition, problems)
    return out, problems


def only_error(problems):
    errs = errors(problems)
    assert len(errs) == 1, [str(p) for p in problems]
    return errs[0]


@pytest.mark.parametrize("seed", range(4))
def test_random_files_match_reference_parser(tmp_path, seed):
    rng = np.random.default_rng(seed)
    texts, expected = {}, {}
    for track in ("VA", "EXPR", "AU"):
        texts[track] = []
        for _ in range(5):
            n = int(rng.integers(1, 300))
            if track == "VA":
                lab = rng.uniform(-1, 1, (n, 2))
                lab[rng.random(n) < 0.1, int(rng.integers(0, 2))] = -5
                fmt = ["%.6f", "%g", "%.3e", "%.1f"][int(rng.integers(0, 4))]
                body = "\n".join(f"{fmt % a},{fmt % b}" for a, b in lab)
            elif track == "EXPR":
                lab = rng.integers(-1, 8, (n, 1))
                body = "\n".join(str(v) for v in lab[:, 0])
            else:
                lab = rng.integers(0, 2, (n, 12))
                lab[rng.random(n) < 0.1] = -1
                body = "\n".join(",".join(map(str, r)) for r in lab)
            end = "\n" if rng.random() < 0.7 else ""  # with and without a final LF
            texts[track].append(HEADERS[track] + "\n" + body + end)
        out, problems = read(tmp_path / track, track, texts[track])
        assert problems == []
        for i in range(5):
            ref = reference_parse(tmp_path / track / f"vid{i}.txt")
            np.testing.assert_allclose(out[f"vid{i}"], ref, rtol=0, atol=1e-6)
            expected[track] = ref


@pytest.mark.parametrize("seed", range(6))
def test_a_bad_token_anywhere_is_found_on_its_line(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    track = ("VA", "EXPR", "AU")[seed % 3]
    good = {"VA": "0.25,-0.5", "EXPR": "3", "AU": ",".join("0" * 12)}[track]
    bad_tok = ["x", "1.5.2", "9", "", "--1", "1e400"][seed]
    n = int(rng.integers(5, 400))
    line = int(rng.integers(0, n))
    rows = [good] * n
    fields = rows[line].split(",")
    col = int(rng.integers(0, len(fields)))
    fields[col] = bad_tok
    rows[line] = ",".join(fields)
    out, problems = read(tmp_path, track, [HEADERS[track] + "\n" + "\n".join(rows) + "\n",
                                           HEADERS[track] + "\n" + good + "\n"])
    p = only_error(problems)
    assert p.file == "vid0.txt" and p.line == line + 2  # line 1 is the header
    assert f"found {bad_tok!r}" in str(p) and "expected" in str(p)
    assert "vid0" not in out and len(out["vid1"]) == 1  # the good file is still read


def test_sentinels_kept_in_labels(tmp_path):
    out, problems = read(tmp_path, "VA", [VA_HEADER + "\n0.5,-5\n-5,-5\n-1,1\n"])
    np.testing.assert_array_equal(out["vid0"], [[0.5, -5], [-5, -5], [-1, 1]])
    out, _ = read(tmp_path / "e", "EXPR", [EXPR8 + "\n-1\n7\n0\n"])
    np.testing.assert_array_equal(out["vid0"][:, 0], [-1, 7, 0])
    assert out["vid0"].shape == (3, 1) and out["vid0"].dtype == np.float32
    out, _ = read(tmp_path / "a", "AU", [AU12 + "\n" + ",".join(["-1"] * 12) + "\n"])
    assert out["vid0"].shape == (1, 12) and (out["vid0"] == -1).all()


def test_old_editions_vocabularies(tmp_path):
    out, problems = read(tmp_path, "EXPR", [EXPR7 + "\n6\n0\n"], edition=2)
    assert problems == [] and out["vid0"][:, 0].tolist() == [6, 0]
    out, problems = read(tmp_path / "x", "EXPR", [EXPR7 + "\n7\n"], edition=1)
    assert "found '7'" in str(only_error(problems)) and "0..6" in str(only_error(problems))
    out, problems = read(tmp_path / "a", "AU", [AU8 + "\n" + "1,0,1,0,1,0,1,0\n"], edition=1)
    assert problems == [] and out["vid0"].shape == (1, 8)


def test_header_mismatch_names_the_other_edition(tmp_path):
    _, problems = read(tmp_path, "EXPR", [EXPR7 + "\n1\n"], edition=6)
    p = only_error(problems)
    assert p.line == 1 and repr(EXPR7) in str(p) and repr(EXPR8) in str(p)
    assert "edition(s) [1, 2]" in str(p)
    _, problems = read(tmp_path / "b", "VA", ["Valence,Arousal\n0,0\n"])
    assert "found header 'Valence,Arousal', expected 'valence,arousal'" in str(only_error(problems))
    _, problems = read(tmp_path / "c", "VA", ["valence,arousal \n0,0\n"])  # trailing space
    assert only_error(problems).line == 1


def test_wrong_field_count(tmp_path):
    _, problems = read(tmp_path, "AU", [AU12 + "\n" + ",".join("0" * 12) + "\n"
                                        + ",".join("0" * 11) + "\n"])
    p = only_error(problems)
    assert (p.file, p.line) == ("vid0.txt", 3)
    assert "found 11 fields" in str(p) and "expected 12" in str(p)
    _, problems = read(tmp_path / "b", "EXPR", [EXPR8 + "\n1\n\n2\n"])  # blank line inside
    assert only_error(problems).line == 3
    _, problems = read(tmp_path / "c", "VA", [VA_HEADER + "\n0.1,0.2,0.3\n"])
    assert "found 3 fields ('0.1,0.2,0.3'), expected 2" in str(only_error(problems))


def test_non_numbers_and_out_of_range(tmp_path):
    cases = [("VA", "0.5,abc", "field arousal: found 'abc'"),
             ("VA", "1.01,0", "field valence: found '1.01'"),
             ("VA", "nan,0", "found 'nan'"),
             ("VA", "-4,0", "found '-4'"),
             ("EXPR", "8", "found '8', expected an integer 0..7"),
             ("EXPR", "-2", "found '-2'"),
             ("EXPR", "Happiness", "found 'Happiness'"),
             ("AU", "0,0,0,0,0,0,0,0,0,0,0,2", "field AU26: found '2', expected 0, 1 or -1"),
             ("AU", "0,0,0.5,0,0,0,0,0,0,0,0,0", "field AU4: found '0.5'")]
    for k, (track, row, message) in enumerate(cases):
        header = HEADERS[track]
        good = {"VA": "0,0", "EXPR": "1", "AU": ",".join("1" * 12)}[track]
        _, problems = read(tmp_path / str(k), track, [f"{header}\n{good}\n{row}\n{good}\n"])
        p = only_error(problems)
        assert (p.file, p.line) == ("vid0.txt", 3), str(p)
        assert message in str(p), str(p)


def test_empty_and_header_only_files(tmp_path):
    out, problems = read(tmp_path, "VA", ["", VA_HEADER + "\n", VA_HEADER + "\n0,0\n"])
    assert sorted(out) == ["vid2"]
    msgs = sorted(str(p) for p in errors(problems))
    assert msgs[0] == "vid0.txt: found an empty file, expected header 'valence,arousal'"
    assert msgs[1] == "vid1.txt: found no rows after the header, expected at least one row"


def test_bom_and_crlf_are_read_with_a_warning(tmp_path):
    out, problems = read(tmp_path, "VA", [b"\xef\xbb\xbf" + b"valence,arousal\r\n0.5,0.25\r\n-5,-5\r\n"])
    np.testing.assert_array_equal(out["vid0"], [[0.5, 0.25], [-5, -5]])
    assert errors(problems) == []
    text = " | ".join(str(p) for p in problems)
    assert "vid0.txt:1: found a UTF-8 byte-order mark (BOM), expected plain UTF-8" in text
    assert "vid0.txt:1: found CRLF line ends (3 lines), expected LF line ends" in text


def test_trailing_blank_lines_do_not_add_frames(tmp_path):
    out, problems = read(tmp_path, "EXPR", [EXPR8 + "\n1\n2\n\n\n"])
    assert problems == [] and out["vid0"][:, 0].tolist() == [1, 2]


def test_mtl_file_with_missing_tasks(tmp_path):
    rows = ["a/00003.jpg,0.5,-0.25,3," + ",".join("010000000010"),
            "b/00001.jpg,,,4," + ",".join("0" * 12),
            "a/00010.jpg,-5,-5,-1," + ",".join(["-1"] * 12),
            "a/00007.jpg,0.1,0.2,,,,,,,,,,,,,"]
    p = write(tmp_path / "train.txt", MTL_HEADER + "\n" + "\n".join(rows) + "\n")
    problems = []
    col, labels, groups = annotations.read_mtl_file(p, "train.txt", problems)
    assert problems == []
    assert col.videos == ["a", "b"] and col.frames.tolist() == [3, 1, 10, 7]
    assert groups["a"].tolist() == [0, 2, 3] and groups["b"].tolist() == [1]
    ref = np.array([[float(x) if x else np.nan for x in r.split(",")[1:]] for r in rows], np.float32)
    np.testing.assert_array_equal(labels, ref)


@pytest.mark.parametrize("row,message", [
    ("a/00003.jpg,0.5,0.5,9" + ",0" * 12, "field expression: found '9'"),
    ("a/00003.jpg,0.5,0.5,1" + ",0" * 11, "found 15 fields"),
    ("a/3.jpg,0.5,0.5,1" + ",0" * 12, "field image: found 'a/3.jpg', expected '<video>/<NNNNN>.jpg'"),
    ("a/00003.jpg,0.5,x,1" + ",0" * 12, "field arousal: found 'x'"),
    ("a/00001.jpg,0.5,0.5,1" + ",0" * 12, "found row a/00001.jpg again, expected each image once "
     "(first on line 2)"),
])
def test_mtl_bad_rows(tmp_path, row, message):
    first = "a/00001.jpg,0,0,0" + ",0" * 12
    p = write(tmp_path / "train.txt", f"{MTL_HEADER}\n{first}\n{row}\n")
    problems = []
    assert annotations.read_mtl_file(p, "train.txt", problems) is None
    err = only_error(problems)
    assert err.file == "train.txt" and err.line == 3 and message in str(err), str(err)


def test_mtl_test_list_rows_may_be_bare(tmp_path):
    p = write(tmp_path / "test.txt", MTL_HEADER + "\nv/00002.jpg,\nv/00001.jpg\nw_left/00005.jpg,,,\n")
    problems = []
    col, labels, groups = annotations.read_mtl_file(p, "test.txt", problems, labelled=False)
    assert problems == [] and labels is None
    assert col.videos == ["v", "w_left"] and col.frames.tolist() == [2, 1, 5]


def test_template_rows_grouped_in_order(tmp_path):
    rows = ["x/00001.jpg,", "x/00002.jpg,", "y_left/00001.jpg,", "x/00003.jpg,"]
    header = "image_location,valence,arousal"
    p = write(tmp_path / "t.txt", header + "\n" + "\n".join(rows) + "\n")
    problems = []
    got = lists.read_template(p, "t.txt", "VA", 8, problems)
    assert problems == []
    assert {k: v.tolist() for k, v in got.items()} == {"x": [1, 2, 3], "y_left": [1]}
    p = write(tmp_path / "ce.txt", CE_HEADER + "\n01/00001.jpg,0\n01/00002.jpg,6\n")
    assert lists.read_template(p, "ce.txt", "CE", 7, problems)["01"].tolist() == [1, 2]


def test_template_bad_inputs(tmp_path):
    problems = []
    p = write(tmp_path / "t.txt", "image_location,Neutral\nx/00001.jpg,\n")
    assert lists.read_template(p, "t.txt", "EXPR", 8, problems) is None
    assert "t.txt:1: found header 'image_location,Neutral'" in str(only_error(problems))
    problems = []
    p = write(tmp_path / "u.txt", "image_location,valence,arousal\nx/00001.jpg,\nx/00001.jpg,\n")
    assert lists.read_template(p, "u.txt", "VA", 8, problems) is None
    assert "u.txt:3: found row x/00001.jpg again" in str(only_error(problems))
    problems = []
    p = write(tmp_path / "w.txt", "image_location,valence,arousal\nx/00001.jpg,0,0,0\n")
    assert lists.read_template(p, "w.txt", "VA", 8, problems) is None
    assert "w.txt:2: found 'x/00001.jpg,0,0,0', expected at most 3 fields" in str(only_error(problems))


def test_id_list_and_lsd_list(tmp_path):
    problems = []
    p = write(tmp_path / "ids.txt", "1-30-1280x720\n5_left\n5_right\n")
    assert lists.read_id_list(p, "ids.txt", problems) == ["1-30-1280x720", "5_left", "5_right"]
    p = write(tmp_path / "dup.txt", "a\nb\na\n")
    assert lists.read_id_list(p, "dup.txt", problems) is None
    assert str(only_error(problems)) == ("dup.txt:3: found id 'a' again, expected each id once "
                                         "(first on line 1)")
    problems = []
    p = write(tmp_path / "lsd.txt", "image,expression\n3.jpg\n1.jpg,\n10.jpg\n")
    assert lists.read_image_list(p, "lsd.txt", "image,expression", problems) == ["3.jpg", "1.jpg",
                                                                                 "10.jpg"]
    assert problems == []


@pytest.mark.parametrize("seed", range(3))
def test_image_column_matches_a_regex_reference(seed):
    import re

    from abaw.data import textfile as T

    rng = np.random.default_rng(seed)
    alphabet = list("abcxyz0123456789-_")
    names = ["".join(rng.choice(alphabet, int(rng.integers(1, 25)))) for _ in range(12)]
    rows = []
    for _ in range(500):
        name = names[int(rng.integers(0, len(names)))]
        frame = int(rng.integers(0, 100000))
        tail = ["", ",", ",0.5,-0.5", ",3"][int(rng.integers(0, 4))]
        kind = rng.random()
        if kind < 0.05:
            rows.append(f"{name}/{frame:04d}.jpg{tail}")   # 4 digits: bad
        elif kind < 0.08:
            rows.append(f"{name}{frame:05d}.jpg{tail}")    # no slash: bad
        elif kind < 0.1:
            rows.append(f"{name}/{frame:05d}.png{tail}")   # not .jpg: bad
        else:
            rows.append(f"{name}/{frame:05d}.jpg{tail}")
    body = ("\n".join(rows) + "\n").encode()
    col = T.image_column(*T.lines(body))
    pattern = re.compile(r"(.+)/(\d{5})\.jpg\Z")
    for i, row in enumerate(rows):
        m = pattern.match(row.split(",")[0])
        ok = m is not None and int(m.group(2)) >= 1
        assert col.bad[i] == (not ok), row
        if ok:
            assert col.videos[col.code[i]] == m.group(1) and col.frames[i] == int(m.group(2))
