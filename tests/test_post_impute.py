"""Imputation on hand-computed cases; completing a set with the frames a metric needs."""

import numpy as np
import pytest

from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import impute as imp

NAN = np.nan


def one_video(frames, values):
    """A VA set with one video "a" whose valence and arousal are both `values`."""
    v = np.asarray(values, np.float64)
    return PredictionSet.from_videos("VA", 8, {"a": (frames, np.column_stack([v, v]))})


def valence(ps):
    return ps.outputs[:, 0].tolist()


def test_nearest_linear_ffill_by_frame_number():
    # frames 1 2 4 5 9, values 0 ? ? 4 ?   (frame 2 and 4 missing, frame 9 missing at the end)
    ps = one_video([1, 2, 4, 5, 9], [0.0, NAN, NAN, 4.0, NAN])
    assert valence(imp.impute(ps, "nearest")) == [0.0, 0.0, 4.0, 4.0, 4.0]
    # linear: frame 2 = 0 + (2-1)/(5-1) * 4 = 1, frame 4 = 3; after the last real frame: nearest
    assert valence(imp.impute(ps, "linear")) == pytest.approx([0.0, 1.0, 3.0, 4.0, 4.0])
    assert valence(imp.impute(ps, "ffill")) == [0.0, 0.0, 0.0, 4.0, 4.0]
    out = imp.impute(ps)                                    # linear unless told otherwise
    assert valence(out) == pytest.approx([0.0, 1.0, 3.0, 4.0, 4.0])
    assert out.imputed.tolist() == [False, True, True, False, True]
    assert out.provenance["impute"] == "linear"


def test_a_set_with_nothing_missing_records_the_method_too():
    ps = one_video([1, 2], [0.5, 0.25]).replace(impute="linear")
    out = imp.impute(ps, "ffill")
    assert valence(out) == [0.5, 0.25] and not out.imputed.any()
    assert out.provenance["impute"] == "ffill"


def test_tie_goes_to_the_earlier_frame_and_start_is_back_filled():
    ps = one_video([1, 2, 3, 4], [NAN, 2.0, NAN, 6.0])
    assert valence(imp.impute(ps, "nearest")) == [2.0, 2.0, 2.0, 6.0]
    assert valence(imp.impute(ps, "ffill")) == [2.0, 2.0, 2.0, 6.0]


def test_flagged_rows_are_refilled_and_videos_stay_apart():
    per = {"a": ([1, 2, 3], np.array([[1.0, 1], [9, 9], [3, 3]]), np.array([0, 1, 0], bool)),
           "b": ([1, 2], np.array([[NAN, NAN], [NAN, NAN]]), np.array([1, 1], bool)),
           "c": ([5, 6], np.array([[7.0, 7], [NAN, NAN]]), np.array([0, 0], bool))}
    ps = PredictionSet.from_videos("VA", 8, per)
    out = imp.impute(ps, "linear")
    # a: the flagged 9 is replaced by the interpolation 2; b has no real frame: the set's mean of
    # real rows (1, 3, 7) = 11/3; c: nearest past the end
    assert valence(out) == pytest.approx([1, 2, 3, 11 / 3, 11 / 3, 7, 7])
    assert out.imputed.tolist() == [False, True, False, True, True, False, True]


def test_probabilities_stay_probabilities():
    probs = np.array([[0.7, 0.2, 0.1], [NAN] * 3, [NAN] * 3, [0.1, 0.1, 0.8]])
    ps = PredictionSet.from_videos("CE", 8, {"x": ([1, 2, 3, 4], np.pad(probs, ((0, 0), (0, 4))))})
    out = imp.impute(ps, "linear").outputs
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out[1, :3], [0.5, 0.5 / 3, 1 / 3], rtol=1e-6)


def test_complete_adds_required_frames_and_videos():
    ps = one_video([3, 1], [3.0, 1.0])
    out = imp.complete(ps, {"a": [1, 2, 3, 4], "z": [1, 2]}, method="linear")
    assert out.videos == ["a", "z"]
    assert out.video("a")[0].tolist() == [1, 2, 3, 4]
    assert out.video("a")[1][:, 0].tolist() == pytest.approx([1.0, 2.0, 3.0, 3.0])
    assert out.video("a")[2].tolist() == [False, True, False, True]
    assert out.video("z")[1][:, 0].tolist() == pytest.approx([2.0, 2.0])   # the set's mean
    assert out.provenance["completed_rows"] == 4
    left = imp.complete(ps, {"a": [1, 2]}, method=None)
    assert np.isnan(left.video("a")[1][1]).all()


def test_bad_input_is_refused_in_one_line():
    ps = one_video([1, 2], [1.0, 2.0])
    with pytest.raises(AbawError, match="imputation method: found 'spline'"):
        imp.impute(ps, "spline")
    with pytest.raises(AbawError, match="every row is missing"):
        imp.impute(one_video([1, 2], [NAN, NAN]), "nearest")
    with pytest.raises(AbawError, match="video a frame 1 follows frame 2"):
        imp.impute(one_video([2, 1], [NAN, 1.0]), "nearest")
