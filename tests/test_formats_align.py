"""align: the raw outputs of the required rows, row for row as a per-row reference loop says,
for prediction sets in any order: videos not in the template's order, frames shuffled within a
video, sets of one or two rows, videos with a single prediction at either end of the set."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_formats_writers import reference_row

from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.formats.align import align

COLUMNS = ("valence", "arousal")


def prediction_set(per_video: dict) -> PredictionSet:
    """A VA set from video -> (frames, outputs), frames kept in the order given, and videos
    with no rows kept (as a loaded .npz can hold them)."""
    frames = [np.asarray(f, np.int64) for f, _ in per_video.values()]
    outputs = [np.asarray(o, np.float32).reshape(len(f), 2) for f, o in per_video.values()]
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in frames])])
    n = int(offsets[-1])
    return PredictionSet("VA", 8, COLUMNS, list(per_video), offsets,
                         np.concatenate(frames) if n else np.zeros(0, np.int64),
                         np.concatenate(outputs) if n else np.zeros((0, 2)), np.zeros(n, bool))


def required(rows: dict):
    """(videos, video_of_row, frames) of the rows video -> frames, in that order."""
    videos = list(rows)
    video_of_row = np.concatenate([[k] * len(f) for k, f in enumerate(rows.values())])
    return videos, video_of_row.astype(np.int64), np.concatenate(list(rows.values()))


def check_against_reference(preds, rows: dict, policy: str):
    videos, video_of_row, frames = required(rows)
    a = align(preds, videos, video_of_row, frames, policy, allow_missing_videos=True)
    filled: dict[str, int] = {}
    for i, (k, f) in enumerate(zip(video_of_row, frames, strict=True)):
        video = videos[k]
        have = video in preds.videos and len(preds.video(video)[0])
        if not have:                               # wholly missing: NaN, never filled
            assert np.isnan(a.outputs[i]).all() and not a.filled[i], (video, f)
            continue
        pf, po, _ = preds.video(video)
        want = reference_row(pf, po.astype(np.float64), int(f), policy)
        assert np.allclose(a.outputs[i], want, atol=1e-6), (video, f, a.outputs[i], want)
        assert a.filled[i] == (f not in set(pf.tolist())), (video, f)
        filled[video] = filled.get(video, 0) + int(a.filled[i])
    assert a.filled_per_video == {v: n for v, n in filled.items() if n}
    # the set's float32 rows, widened only when a wholly missing video leaves NaN rows
    assert a.outputs.dtype == (np.float64 if np.isnan(a.outputs).any() else np.float32)


def random_case(seed: int):
    """A set over some of the videos a..e in shuffled order, each with 1-6 predicted frames of
    1..12 (often shuffled); the required rows: every video a..e, frames 1..12."""
    rng = np.random.default_rng(seed)
    names = list("abcde")
    per = {}
    for v in rng.permutation(names)[:rng.integers(1, 6)]:
        n = int(rng.choice([1, 1, 2, 3, 6]))
        f = rng.choice(np.arange(1, 13), n, replace=False)
        f = f if rng.random() < 0.5 else np.sort(f)
        per[str(v)] = (f, rng.uniform(-1, 1, (n, 2)))
    rows = {v: np.arange(1, 13) for v in rng.permutation(names)}
    return prediction_set(per), rows


# hand-picked shapes a writer meets, each a reason of its own
CASES = {
    "one row, frames before and after it": (
        {"a": ([3], [[0.1, 0.2]])}, {"a": [1, 2, 3, 4, 5]}),
    "two rows in reverse order": (
        {"a": ([5, 2], [[0.5, 0.5], [0.2, -0.2]])}, {"a": [1, 2, 3, 4, 5, 6]}),
    "shuffled, the first frame the smallest": (
        {"a": ([1, 6, 3], [[0.1, 0.1], [0.6, -0.6], [0.3, 0.3]])}, {"a": list(range(1, 8))}),
    "first video of the set with one prediction, frames after it": (
        {"a": ([2], [[0.9, 0.9]]), "b": ([1, 4], [[-0.5, 0.5], [-0.4, 0.4]])},
        {"b": [1, 2, 3, 4, 5], "a": [1, 2, 3, 4]}),
    "last video of the set with one prediction, frames before it": (
        {"a": ([1, 2], [[0.1, 0.1], [0.2, 0.2]]), "b": ([4], [[-0.7, 0.7]])},
        {"b": [1, 2, 3, 4, 5], "a": [1, 2, 3, 4]}),
    "a video present with no rows, between two others": (
        {"a": ([1, 3], [[0.1, 0.1], [0.3, 0.3]]), "b": ([], []), "c": ([2], [[0.8, -0.8]])},
        {"c": [1, 2, 3], "b": [1, 2], "a": [1, 2, 3, 4]}),
    "a required video absent from the set": (
        {"b": ([2, 1], [[0.2, 0.2], [0.1, 0.1]])}, {"a": [1, 2], "b": [1, 2, 3], "c": [1]}),
}


@pytest.mark.parametrize("policy", ["nearest", "linear", "ffill"])
@pytest.mark.parametrize("case", list(CASES))
def test_hand_picked_shapes_match_reference(case, policy):
    per, rows = CASES[case]
    check_against_reference(prediction_set(per), {v: np.array(f) for v, f in rows.items()},
                            policy)


@pytest.mark.parametrize("policy", ["nearest", "linear", "ffill"])
def test_random_sets_match_reference(policy):
    for seed in range(60):
        preds, rows = random_case(seed)
        check_against_reference(preds, rows, policy)


def test_a_wholly_missing_video_is_an_error_naming_the_set(tmp_path):
    preds = prediction_set({"a": ([1], [[0.1, 0.1]]), "b": ([], []), "c": ([2], [[0.2, 0.2]])})
    path = preds.save(tmp_path / "test.npz")
    videos, video_of_row, frames = required({v: np.array([1, 2]) for v in "xbcayz"})
    with pytest.raises(AbawError, match=re.escape(f"{path}: found no predictions for 4 required "
                                                  "video(s), e.g. x, b, y;")):
        align(PredictionSet.load(path), videos, video_of_row, frames)


def test_no_rows_at_all_leave_every_row_missing():
    empty = prediction_set({"a": ([], [])})
    videos, video_of_row, frames = required({"a": np.array([1, 2, 3])})
    with pytest.raises(AbawError, match="found no predictions for 1 required"):
        align(empty, videos, video_of_row, frames)
    a = align(empty, videos, video_of_row, frames, allow_missing_videos=True)
    assert a.outputs.shape == (3, 2) and np.isnan(a.outputs).all()
    assert not a.filled.any() and a.filled_per_video == {}


def test_a_frame_predicted_twice_is_an_error_naming_it(tmp_path):
    preds = prediction_set({"a": ([1, 2], [[0.1, 0.1], [0.2, 0.2]]),
                            "b": ([5, 4, 5], [[0.5, 0.5], [0.4, 0.4], [0.6, 0.6]])})
    path = preds.save(tmp_path / "test.npz")
    videos, video_of_row, frames = required({"a": np.array([1, 2]), "b": np.array([4, 5])})
    with pytest.raises(AbawError, match=re.escape(f"{path}: found b frame 5 twice (1 duplicates)")):
        align(PredictionSet.load(path), videos, video_of_row, frames)


def test_unknown_fill_policy_names_the_choices():
    preds = prediction_set({"a": ([1], [[0.1, 0.1]])})
    with pytest.raises(AbawError, match="found 'nearst', expected one of nearest, linear, "
                                        "ffill, error"):
        align(preds, ["a"], np.zeros(1, np.int64), np.array([1]), "nearst")
