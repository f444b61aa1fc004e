"""The index's queries on a hand-built index: which frames have a crop, which rows are annotated
(per task for MTL), which image stands behind a row, and the one-line errors of a wrong lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from abaw.data.index import DatasetIndex, Media, Sequence
from abaw.errors import AbawError

ROOT = Path("/data/abaw")


def index() -> DatasetIndex:
    va = np.array([[0.1, 0.2], [-5, 0.3], [0.4, -5], [0.5, 0.6]], np.float32)
    mtl = np.full((3, 15), 0.0, np.float32)
    mtl[0, 0] = -5            # VA missing on row 1
    mtl[1, 2] = -1            # EXPR missing on row 2
    mtl[2, 14] = -1           # the 12th AU missing on row 3
    return DatasetIndex(ROOT, 8, "fp", sequences={
        "VA": {"v1": Sequence("v1", "VA", "train", np.arange(1, 5), va),
               "t1": Sequence("t1", "VA", "test", np.arange(1, 4), None)},
        "MTL": {"m1": Sequence("m1", "MTL", "train", np.array([3, 7, 9]), mtl),
                "mt": Sequence("mt", "MTL", "test", np.array([2, 4]), None)},
        "LSD": {"train": Sequence("train", "LSD", "train", np.arange(1, 3), None,
                                  images=["lsd/a.jpg", "lsd/b.jpg"])},
    }, media={
        "v1": Media("v1", "crops/v1", np.array([2, 3, 5], np.int64)),
        "one": Media("one", "crops/one", np.array([4], np.int64)),
        "none": Media("none", "crops/none"),
        "video": Media("video", raw_video="videos/video.mp4"),
    })


def test_has_crop_finds_every_crop_frame_first_last_and_only():
    ix = index()
    got = ix.has_crop("v1", [1, 2, 3, 4, 5, 6])
    assert got.dtype == bool and got.tolist() == [False, True, True, False, True, False]
    assert ix.has_crop("one", [3, 4, 5]).tolist() == [False, True, False]    # a single crop
    for vid in ("none", "no-such-id"):                   # no crops, no media at all
        got = ix.has_crop(vid, [1, 2])
        assert got.dtype == bool and got.tolist() == [False, False]


def test_valid_masks_sentinels_and_test_rows():
    ix = index()
    got = ix.valid("VA", "v1")
    assert got.dtype == bool and got.tolist() == [True, False, False, True]
    test = ix.valid("va", "t1")
    assert test.dtype == bool and test.tolist() == [False, False, False]
    with pytest.raises(AbawError, match=r"^MTL rows are masked per task: use mtl_valid\(\)$"):
        ix.valid("mtl", "m1")


def test_mtl_valid_masks_each_task_on_its_own_columns():
    ix = index()
    got = ix.mtl_valid("m1")
    assert {k: v.tolist() for k, v in got.items()} == {
        "VA": [False, True, True], "EXPR": [True, False, True], "AU": [True, True, False]}
    test = ix.mtl_valid("mt")
    assert sorted(test) == ["AU", "EXPR", "VA"]
    assert all(v.dtype == bool and v.tolist() == [False, False] for v in test.values())


def test_ids_of_a_track_the_index_does_not_hold_are_none():
    ix = index()
    assert ix.ids("va", "train") == ["v1"] and ix.ids("VA", "test") == ["t1"]
    assert ix.ids("EXPR", "train") == []


def test_image_path_of_a_crop_an_lsd_image_and_of_nothing():
    ix = index()
    assert ix.image_path("VA", "v1", 3) == ROOT / "crops/v1/00003.jpg"
    assert ix.image_path("lsd", "train", 2) == ROOT / "lsd/b.jpg"
    assert ix.image_path("EXPR", "v1", 5) == ROOT / "crops/v1/00005.jpg"   # a track not held
    for vid in ("video", "no-such-id"):
        with pytest.raises(AbawError, match=rf"^{vid}: no crop folder in {ROOT}$"):
            ix.image_path("VA", vid, 1)


def test_a_sequence_not_in_the_index_is_one_line_naming_it():
    with pytest.raises(AbawError, match=rf"^index of {ROOT}: no EXPR sequence 'v1'$"):
        index().sequence("EXPR", "v1")
