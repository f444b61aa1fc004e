"""The index's sentinel masks against a per-row reference, on labels shaped as real files are:
sentinels on part of a row (one of valence / arousal, one AU of twelve, the last AU column), empty
fields, videos of ragged lengths (one frame, eleven frames) written in an unsorted order.

Reference (protocol §2): a VA frame is annotated unless a value is -5, an AU frame unless an AU
is -1, a class frame unless it is -1; an empty field (NaN) is never annotated. MTL masks each
task on its own columns: valence, arousal | expression | 12 AUs.
"""

from __future__ import annotations

import data_trees as D
import numpy as np
import pytest

from abaw import metrics
from abaw.data import load_index
from abaw.data.index import DatasetIndex, Sequence

SENTINEL = {"VA": -5.0, "EXPR": -1.0, "AU": -1.0}


def reference_valid(track: str, labels) -> list[bool]:
    out = []
    for row in np.asarray(labels, np.float64).reshape(len(labels), -1):
        out.append(all(v == v and v != SENTINEL[track] for v in row))   # v == v: not NaN
    return out


def partial_labels(track: str, n: int, rng) -> np.ndarray:
    """Labels of n frames with sentinels on part of some rows (never the whole row)."""
    if track == "VA":
        lab = rng.uniform(-1, 1, (n, 2)).round(3)
        lab[rng.random(n) < 0.3, 0] = -5              # valence only
        lab[rng.random(n) < 0.3, 1] = -5              # arousal only
        return lab.astype(np.float32)
    if track == "EXPR":
        lab = rng.integers(0, 8, (n, 1)).astype(np.float32)
        lab[rng.random(n) < 0.3] = -1
        return lab
    lab = rng.integers(0, 2, (n, 12)).astype(np.float32)
    for i in np.flatnonzero(rng.random(n) < 0.4):
        lab[i, rng.integers(0, 12)] = -1              # one AU of twelve
    lab[n - 1, 11] = -1                               # the last AU column
    return lab


# videos in the order written (unsorted), with ragged lengths; one has a single frame
VIDEOS = [("9-15-1280x720_right", 11), ("121", 1), ("10-60-1280x720", 7), ("3", 4)]


@pytest.mark.parametrize("seed", range(3))
def test_affwild_masks_follow_each_frame_of_each_video(tmp_path, seed):
    rng = np.random.default_rng(seed)
    ann_name, tasks, train = D.TASKS[8]
    written = {}
    for track, folder in tasks.items():
        for split, part in (("train", VIDEOS[:2]), ("val", VIDEOS[2:])):
            for vid, n in part:
                lab = partial_labels(track, n, rng)
                sname = train if split == "train" else "Validation_Set"
                D.write(tmp_path / ann_name / folder / sname / f"{vid}.txt",
                        D.annotation(track, lab, 8))
                written[track, vid] = lab
    for vid, n in VIDEOS:
        D.crops(tmp_path, vid, range(1, n + 1))
    idx = load_index(tmp_path, 8, cache=False)
    partial = 0
    for (track, vid), lab in written.items():
        np.testing.assert_array_equal(idx.sequence(track, vid).labels, lab)
        got = idx.valid(track, vid).tolist()
        assert got == reference_valid(track, lab), (track, vid)
        partial += sum(0 < (row == SENTINEL[track]).sum() < len(row) for row in lab)
    assert partial > 0                                # the fixture does hold partial rows


def test_mtl_masks_each_task_on_its_own_columns(tmp_path):
    D.mtl(tmp_path, 7)
    folder = tmp_path / "s-Aff-Wild2"
    aus = ["0"] * 12
    last_au = aus[:11] + ["-1"]
    rows = [("7-25-1920x1080", 3, ["0.5", "-5", "2", *aus]),       # arousal only: VA masked
            ("7-25-1920x1080", 4, ["-5", "0.1", "-1", *aus]),       # valence only, expression
            ("7-25-1920x1080", 9, ["0.2", "0.3", "5", *last_au]),   # the 12th AU only
            ("88", 1, ["0.2", "0.3", "", *aus]),                    # an empty expression
            ("88", 2, ["0.2", "", "1", *["1"] * 12]),               # an empty arousal
            ("88", 5, ["0.9", "-0.9", "7", *(["-1"] + aus[1:])])]   # the 1st AU only
    body = "\n".join(f"{v}/{f:05d}.jpg," + ",".join(vals) for v, f, vals in rows)
    D.write(folder / "training_set_annotations.txt", D.MTL_HEADER + "\n" + body + "\n")
    for v, f, _ in rows:
        D.crops(tmp_path, v, [f])
    idx = load_index(tmp_path, 7, cache=False)
    for vid in ("7-25-1920x1080", "88"):
        mine = [r for r in rows if r[0] == vid]
        lab = np.array([[float(x) if x else np.nan for x in vals] for _, _, vals in mine])
        got = idx.mtl_valid(vid)
        assert got["VA"].tolist() == reference_valid("VA", lab[:, 0:2])
        assert got["EXPR"].tolist() == reference_valid("EXPR", lab[:, 2])
        assert got["AU"].tolist() == reference_valid("AU", lab[:, 3:15])
    assert idx.mtl_valid("7-25-1920x1080")["AU"].tolist() == [True, True, False]
    assert idx.mtl_valid("88")["VA"].tolist() == [True, False, True]


@pytest.mark.parametrize("seed", range(5))
def test_index_and_metric_masks_agree_with_the_reference(seed):
    # Hand-built sequences (no files): many random partial rows, every track, MTL included.
    rng = np.random.default_rng(100 + seed)
    seqs = {t: {} for t in ("VA", "EXPR", "AU", "MTL")}
    for vid, n in VIDEOS:
        frames = np.arange(1, n + 1)
        for track in ("VA", "EXPR", "AU"):
            seqs[track][vid] = Sequence(vid, track, "val", frames, partial_labels(track, n, rng))
        mtl = np.concatenate([partial_labels(t, n, rng) for t in ("VA", "EXPR", "AU")], axis=1)
        mtl[rng.random(n) < 0.2, rng.integers(0, 15)] = np.nan              # empty fields
        seqs["MTL"][vid] = Sequence(vid, "MTL", "val", frames, mtl)
    idx = DatasetIndex(None, 8, "hand-built", seqs)
    for vid, _ in VIDEOS:
        for track in ("VA", "EXPR", "AU"):
            lab = seqs[track][vid].labels
            assert idx.valid(track, vid).tolist() == reference_valid(track, lab)
            flat = lab if track != "EXPR" else lab[:, 0]
            assert metrics.valid_mask(track, flat).tolist() == reference_valid(track, lab)
        lab = seqs["MTL"][vid].labels
        got = idx.mtl_valid(vid)
        for task, cols in (("VA", slice(0, 2)), ("EXPR", slice(2, 3)), ("AU", slice(3, 15))):
            assert got[task].tolist() == reference_valid(task, lab[:, cols]), (vid, task)
