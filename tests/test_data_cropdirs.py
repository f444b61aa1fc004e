"""Crop folders wherever real trees put them: nested, duplicated, test crops in a second download
folder; where each video's crops come from; copies that agree or differ; a track without crops."""

import os
import shutil

import data_trees as D
import pytest
from test_data_check import run_cli

from abaw.data import cropdirs, load_index
from abaw.data.check import check_dataset
from abaw.data.layout import discover

VIDEOS = {"train": [("1-30-1280x720", 7), ("5-60-1920x1080_left", 6)], "val": [("102", 5)]}


def tree(root):
    """An edition-10 tree whose crops are all in cropped_aligned/."""
    t = D.affwild(root, 10, VIDEOS)
    D.templates(t, {"7-25-1920x1080": 4})
    return t


def move(root, id_, to):
    (root / to).mkdir(parents=True, exist_ok=True)
    os.replace(root / "cropped_aligned" / id_, root / to / id_)


def test_nested_and_test_crop_folders_are_found_and_recorded(tmp_path):
    tree(tmp_path)
    move(tmp_path, "1-30-1280x720", "cropped_aligned/cropped_aligned_new_50_vids")
    move(tmp_path, "7-25-1920x1080", "cropped_aligned_image_test/batch1 (1)/cropped_aligned")
    D.write(tmp_path / "cropped_aligned_image_test" / "batch1 (1)" / "Thumbs.db", b"")
    for id_ in ("5-60-1920x1080_left", "102"):     # what is left: an archive unpacked inside itself
        move(tmp_path, id_, "cropped_aligned/cropped_aligned")
    idx = load_index(tmp_path)
    assert {i: m.crop_dir for i, m in idx.media.items()} == {
        "1-30-1280x720": "cropped_aligned/cropped_aligned_new_50_vids/1-30-1280x720",
        "5-60-1920x1080_left": "cropped_aligned/cropped_aligned/5-60-1920x1080_left",
        "102": "cropped_aligned/cropped_aligned/102",
        "7-25-1920x1080": "cropped_aligned_image_test/batch1 (1)/cropped_aligned/7-25-1920x1080"}
    assert idx.media["102"].crop_frames.tolist() == [1, 2, 4, 5]
    assert not [p for p in idx.problems if "crop" in p]      # no folder taken for a video id
    report = check_dataset(tmp_path)
    assert report.ok and report.crop_sources == {
        "cropped_aligned/cropped_aligned": ["102", "5-60-1920x1080_left"],
        "cropped_aligned/cropped_aligned_new_50_vids": ["1-30-1280x720"],
        "cropped_aligned_image_test/batch1 (1)/cropped_aligned": ["7-25-1920x1080"]}


def test_data_check_says_where_the_crops_come_from(tmp_path, capsys):
    tree(tmp_path)
    move(tmp_path, "7-25-1920x1080", "cropped_aligned_image_test/batch1 (1)/cropped_aligned")
    code, out, _ = run_cli(capsys, "data", "check", str(tmp_path))
    assert code == 0
    assert ("face crops from: cropped_aligned/ 3 videos, cropped_aligned_image_test/batch1 (1)/"
            "cropped_aligned/ 1 video") in out


def test_an_identical_copy_is_a_warning_naming_both(tmp_path):
    tree(tmp_path)
    shutil.copytree(tmp_path / "cropped_aligned" / "102",
                    tmp_path / "cropped_aligned" / "cropped_aligned" / "102")
    report = check_dataset(tmp_path)
    assert report.ok
    assert [str(p) for p in report.problems] == [
        "cropped_aligned/cropped_aligned/102: found a copy of the crops of '102', expected one "
        "crop folder per video; using cropped_aligned/102"]


@pytest.mark.parametrize("change, found", [
    (lambda d: (d / "00004.jpg").unlink(), "3 crops against 4, e.g. 00004.jpg in one only"),
    (lambda d: (d / "00002.jpg").write_bytes(D.JPEG_STUB * 2), "00002.jpg of 8 bytes against 4"),
])
def test_copies_that_differ_are_an_error_naming_both(tmp_path, capsys, change, found):
    tree(tmp_path)
    copy = tmp_path / "cropped_aligned_new_50_vids" / "102"
    shutil.copytree(tmp_path / "cropped_aligned" / "102", copy)
    change(copy)
    report = check_dataset(tmp_path)
    assert not report.ok
    assert [str(p) for p in report.problems if p.severity == "error"] == [
        f"cropped_aligned_new_50_vids/102: found crops of '102' that differ from those in "
        f"cropped_aligned/102 ({found}), expected one crop folder per video, or identical "
        "copies; cropped_aligned/102 is used until the wrong one is removed"]
    code, out, _ = run_cli(capsys, "data", "check", str(tmp_path))
    assert code == 1 and "not usable as it is" in out


def test_the_shallowest_copy_is_used_then_one_named_cropped_aligned(tmp_path):
    tree(tmp_path)
    shutil.copytree(tmp_path / "cropped_aligned", tmp_path / "old" / "copy" / "cropped_aligned")
    move(tmp_path, "102", "cropped_aligned/cropped_aligned")
    D.crops(tmp_path, "new", [1], folder="cropped_aligned_x/abc")
    D.crops(tmp_path, "new", [1], folder="cropped_aligned_x/cropped_aligned")
    lay = discover(tmp_path)
    assert [lay.rel(p) for p in lay.crop_dirs["102"]] == ["cropped_aligned/cropped_aligned/102",
                                                          "old/copy/cropped_aligned/102"]
    assert [lay.rel(p) for p in lay.crop_dirs["new"]] == ["cropped_aligned_x/cropped_aligned/new",
                                                          "cropped_aligned_x/abc/new"]


def test_a_video_folder_is_never_listed_whole(tmp_path, monkeypatch):
    """Telling a video folder from a folder of folders reads one entry, not thousands."""
    tree(tmp_path)
    D.crops(tmp_path, "102", range(1, 2001), folder="cropped_aligned/cropped_aligned")
    read = {}
    real = os.scandir

    class Counting:
        def __init__(self, path):
            self.path, self.it = os.fspath(path), real(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            for e in self.it:
                read[self.path] = read.get(self.path, 0) + 1
                yield e

    monkeypatch.setattr(cropdirs.os, "scandir", Counting)
    found = cropdirs.find_crop_folders([tmp_path / "cropped_aligned"])
    assert [p.name for p in found.videos["102"]] == ["102", "102"]
    video = str(tmp_path / "cropped_aligned" / "cropped_aligned" / "102")
    assert read[video] <= 2                       # its first file (a hidden entry may come first)


def test_moving_crops_to_a_nested_folder_refreshes_the_cached_index(tmp_path):
    tree(tmp_path)
    assert load_index(tmp_path).media["102"].crop_dir == "cropped_aligned/102"
    move(tmp_path, "102", "cropped_aligned/cropped_aligned")     # os.replace keeps its mtime
    assert load_index(tmp_path).media["102"].crop_dir == "cropped_aligned/cropped_aligned/102"


def test_a_track_without_any_crop_is_unusable(tmp_path, capsys):
    t = D.affwild(tmp_path, 6, VIDEOS)
    D.templates(t, {"7-25-1920x1080": 4})
    D.ce(tmp_path)                                   # CE as released: raw videos, no crops
    report = check_dataset(tmp_path)
    errors = [str(p) for p in report.problems if p.severity == "error"]
    assert errors == [f"{tmp_path.resolve()}: found no face crop for any of the 2 CE videos, "
                      "expected cropped_aligned*/<id>/<NNNNN>.jpg; detect the faces of the raw "
                      f"videos: `abaw faces extract {tmp_path.resolve()}` (then found under the "
                      "work folder, or give its --out as --crops)"]
    shutil.rmtree(tmp_path / "cropped_aligned")
    code, out, _ = run_cli(capsys, "data", "check", str(tmp_path))
    assert code == 1 and "not usable as it is" in out
    for track, n in (("VA", 4), ("EXPR", 4), ("AU", 4), ("CE", 2)):
        assert f"found no face crop for any of the {n} {track} videos" in out
