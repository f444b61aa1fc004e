"""`check_dataset` summary figures and the `abaw data` commands, bad inputs end to end."""

import json
import sys
import types

import data_trees as D
import numpy as np
import pytest

from abaw import protocol
from abaw.cli import main
from abaw.data import load_index
from abaw.data.check import check_dataset


def run_cli(capsys, *args):
    """(exit code, stdout, stderr) of `abaw ...` run in-process."""
    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def clean_tree(root):
    t = D.affwild(root, 6)
    D.templates(t, {"7-25-1920x1080": 4})
    D.ce(root)
    D.crops(root, "01", range(1, 5)), D.crops(root, "02", range(1, 4))   # faces found in CE videos
    return t


def test_summary_figures_match_the_tree(tmp_path):
    t = clean_tree(tmp_path)
    report = check_dataset(tmp_path)
    assert report.ok and report.edition == 6 and report.problems == []
    rows = {(s.track, s.split): s for s in report.summary}
    assert set(rows) == {(tr, sp) for tr in ("VA", "EXPR", "AU") for sp in ("train", "val", "test")
                         } | {("CE", "test")}
    for track in ("VA", "EXPR", "AU"):
        train = {i: lab for i, lab in t.labels[track].items() if t.splits[track][i] == "train"}
        s = rows[(track, "train")]
        assert (s.videos, s.pairs) == (3, 1)  # 5-60-1920x1080_left/_right
        assert s.frames == sum(len(v) for v in train.values()) == 19
        sentinel = {"VA": -5, "EXPR": -1, "AU": -1}[track]
        assert s.valid == sum(int((~np.any(v == sentinel, axis=1)).sum()) for v in train.values())
        assert s.missing_crops == 3 and s.no_crop_folder == 0  # frame 3 of each video
        if track == "EXPR":
            lab = np.concatenate(list(train.values()))[:, 0]
            counts = np.bincount(lab[lab >= 0].astype(int), minlength=8)
            assert list(s.histogram.values()) == counts.tolist()
            assert list(s.histogram) == D.EXPR8.split(",")
        if track == "AU":
            lab = np.concatenate(list(train.values()))
            lab = lab[~np.any(lab == -1, axis=1)]
            assert list(s.histogram.values()) == (lab == 1).sum(axis=0).tolist()
    test = rows[("VA", "test")]
    assert (test.videos, test.frames, test.valid, test.missing_crops) == (1, 4, 0, 1)
    assert (rows[("CE", "test")].videos, rows[("CE", "test")].frames) == (2, 7)


BAD = {  # file (relative to the annotation root) -> content, and the line check must print
    "VA_Estimation_Challenge/Train_Set/h.txt": ("Valence,Arousal\n0,0\n",
                                                "h.txt:1: found header 'Valence,Arousal', expected "
                                                "'valence,arousal' byte for byte"),
    "VA_Estimation_Challenge/Train_Set/f.txt": ("valence,arousal\n0,0\n0.5\n",
                                                "f.txt:3: found 1 field ('0.5'), expected 2"),
    "VA_Estimation_Challenge/Train_Set/n.txt": ("valence,arousal\n0,0\n0,zero\n",
                                                "n.txt:3: field arousal: found 'zero', expected a "
                                                "number in [-1, 1] or -5"),
    "AU_Detection_Challenge/Train_Set/r.txt": (D.AU12 + "\n" + ",".join("0" * 11) + ",3\n",
                                               "r.txt:2: field AU26: found '3', expected 0, 1 or -1"),
    "EXPR_Recognition_Challenge/Train_Set/e.txt": ("", "e.txt: found an empty file, expected "
                                                   "header 'Neutral,Anger,"),
    "EXPR_Recognition_Challenge/Validation_Set/b.txt": (
        b"\xef\xbb\xbf" + D.EXPR8.encode() + b"\n1\n",
        "b.txt:1: found a UTF-8 byte-order mark (BOM), expected plain UTF-8 without BOM"),
    "EXPR_Recognition_Challenge/Validation_Set/c.txt": (
        D.EXPR8.encode() + b"\r\n1\r\n",
        "c.txt:1: found CRLF line ends (2 lines), expected LF line ends"),
    "EXPR_Recognition_Challenge/Validation_Set/1-30-1280x720.txt": (
        D.EXPR8 + "\n1\n", "1-30-1280x720.txt: found EXPR id '1-30-1280x720' again (val), "
        "expected each id in one split only"),
}


def test_every_bad_input_is_reported_with_file_line_found_expected(tmp_path, capsys):
    t = clean_tree(tmp_path)
    for rel, (content, _) in BAD.items():
        D.write(t.ann / rel, content)
    D.write(t.ann / "VA_Estimation_Challenge/Validation_Set/nocrop.txt", "valence,arousal\n0,0\n")
    D.crops(tmp_path, "no-annotation", [1])
    D.crops(tmp_path, "b", [1]), D.crops(tmp_path, "c", [1])
    code, out, err = run_cli(capsys, "data", "check", str(tmp_path))
    assert code == 1 and err == ""
    lines = out.splitlines()
    for _rel, (_, message) in BAD.items():
        assert any(message in line for line in lines), message
    assert any(line.startswith("warning cropped_aligned/no-annotation: found crops of "
                               "'no-annotation' that no annotation refers to") for line in lines)
    assert any("nocrop.txt: found no crop folder for 'nocrop', expected cropped_aligned*/nocrop/"
               in line for line in lines)
    assert "not usable as it is" in lines[-1]
    code, out, _ = run_cli(capsys, "data", "check", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["edition"] == 6
    messages = [p["message"] for p in report["problems"]]
    for _rel, (_, message) in BAD.items():
        assert any(message in m for m in messages), message
    first = report["problems"][0]
    assert {"severity", "file", "line", "found", "expected"} <= set(first)


def test_clean_tree_exits_zero(tmp_path, capsys):
    clean_tree(tmp_path)
    code, out, err = run_cli(capsys, "data", "check", str(tmp_path))
    assert code == 0 and "0 errors, 0 warnings: usable" in out
    assert "EXPR train (valid frames per class): Neutral" in out


@pytest.mark.parametrize("args,message", [
    (["--edition", "2"], "found none of VA_Set, EXPR_Set, AU_Set, expected the edition 2 layout; "
                         "it looks like edition 6"),
    (["--edition", "12"], "edition: found 12, expected one of 1-10"),
    (["--template", "VA"], "--template: found 'VA', expected TRACK=FILE"),
])
def test_unusable_input_is_one_line_without_traceback(tmp_path, capsys, args, message):
    clean_tree(tmp_path)
    code, out, err = run_cli(capsys, "data", "check", str(tmp_path), *args)
    assert code == 2 and err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_root(tmp_path, capsys):
    code, _, err = run_cli(capsys, "data", "check", str(tmp_path / "nowhere"))
    assert code == 2 and "found no such folder, expected a dataset root" in err


def test_index_command_builds_the_cache(tmp_path, capsys):
    clean_tree(tmp_path)
    code, out, _ = run_cli(capsys, "data", "index", str(tmp_path))
    assert code == 0 and "edition 6:" in out and "built in" in out and "from the cache in" in out
    assert len(list((tmp_path / ".abaw-index").glob("*.npz"))) == 1


def test_synth_command_calls_the_twin(tmp_path, capsys, monkeypatch):
    calls = []
    fake = types.ModuleType("abaw.data.synth")
    fake.synthesize = lambda out, **kw: calls.append((out, kw))
    monkeypatch.setitem(sys.modules, "abaw.data.synth", fake)
    code, out, _ = run_cli(capsys, "data", "synth", str(tmp_path / "t"), "--edition", "7",
                           "--size", "small", "--seed", "3")
    assert code == 0
    assert calls == [(str(tmp_path / "t"), {"edition": 7, "size": "small", "seed": 3,
                                            "images": None, "progress": False, "messy": False})]
    code, out, _ = run_cli(capsys, "data", "synth", str(tmp_path / "u"), "--size", "full",
                           "--images", "--progress")
    assert code == 0 and calls[-1][1]["images"] is True and calls[-1][1]["progress"] is True
    run_cli(capsys, "data", "synth", str(tmp_path / "v"), "--no-images")
    assert calls[-1][1]["images"] is False
    code, out, _ = run_cli(capsys, "data", "synth", str(tmp_path / "w"), "--messy")
    assert code == 0 and calls[-1][1]["messy"] is True and "tiny messy twin" in out


# --- the synthetic twin, through the loader and the check ---------------------------------------

@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    from abaw.data.synth import synthesize

    made = {}

    def make(edition, images=True):
        if (edition, images) not in made:
            out = tmp_path_factory.mktemp("twin") / f"ed{edition}"
            made[(edition, images)] = synthesize(out, edition=edition, size="tiny", seed=0,
                                                 images=images)
        return made[(edition, images)]
    return make


def _reference_rows(path):
    with open(path) as f:
        return [line.rstrip("\n").split(",") for line in f][1:]


@pytest.mark.parametrize("edition", [3, 4, 10])
def test_twin_is_clean_and_read_as_written(twins, edition):
    from abaw.data.synth import read_truth

    root = twins(edition)
    report = check_dataset(root)  # edition detected from the layout
    assert report.edition == edition and report.ok and report.problems == [], \
        [str(p) for p in report.problems]
    idx = load_index(root, probe_media=True)
    for track in idx.tracks():
        if track == "LSD":
            truth = read_truth(root, "LSD")
            test = idx.sequence("LSD", "test")
            assert sorted(i.rsplit("/", 1)[1] for i in test.images) == sorted(truth)
            continue
        truth = read_truth(root, track)
        if track == "MTL":
            rows = {f"{i}/{f:05d}.jpg" for i in idx.ids("MTL", "test")
                    for f in idx.sequence("MTL", i).frames}
            assert rows == set(truth)
            continue
        assert idx.ids(track, "test") == sorted(truth)
        for id_, lab in truth.items():  # test rows: as many as the hidden annotation has
            assert len(idx.sequence(track, id_).frames) == len(lab)
        for split in ("train", "val"):
            for id_ in idx.ids(track, split)[:2]:
                s = idx.sequence(track, id_)
                ref = np.array(_reference_rows(root / s.source), np.float32)
                np.testing.assert_allclose(s.labels, ref, atol=1e-6)
                m = idx.media[id_]
                assert m.raw_video is not None and m.timestamps is not None
                assert -1 <= len(s.frames) - len(m.timestamps) <= 2  # the organisers' +1 (-1..+2)
                assert len(m.crop_frames) and m.crop_frames[-1] <= len(m.timestamps)


@pytest.mark.parametrize("edition", [6, 7, 9])
def test_twin_without_images_lacks_only_its_crops(twins, edition):
    """Annotations, lists and templates in order; no track can be used without face crops."""
    report = check_dataset(twins(edition, images=False))
    assert report.edition == edition and not report.ok
    errors = {p.found for p in report.problems if p.severity == "error"}
    tracks = [t for t in protocol.tracks_of(edition) if t != "LSD"]
    videos = {t: sum(s.videos for s in report.summary if s.track == t) for t in tracks}
    assert errors == {f"no face crop for any of the {videos[t]} {t} videos" for t in tracks}, \
        [str(p) for p in report.problems]
    assert {p.found for p in report.problems if p.severity == "warning"} <= {
        "no cropped_aligned*/ folder"} | {f"no video for CE id '{i:02d}'" for i in range(1, 57)}
