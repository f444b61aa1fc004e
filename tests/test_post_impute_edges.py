"""Imputation at the edges: frames out of order (where, in which video, said how), completing a
set video by video, and a video without a single real row."""

import numpy as np
import pytest

from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import impute as imp

NAN = np.nan


def va_set(per_video: dict) -> PredictionSet:
    """A VA set from video -> (frames, valence values); arousal = 2 x valence."""
    per = {v: (np.asarray(f), np.column_stack([np.asarray(x, float), 2 * np.asarray(x, float)]))
           for v, (f, x) in per_video.items()}
    return PredictionSet.from_videos("VA", 8, per, provenance={"run": "x"})


def message(ps) -> str:
    with pytest.raises(AbawError) as e:
        imp.check_sorted(ps)
    return str(e.value)


def test_frames_out_of_order_are_named_in_their_own_video():
    ps = va_set({"a": ([4, 2, 3], [1, 2, 3]), "b": ([1, 2], [4, 5])})
    assert message(ps) == ("prediction set: video a frame 2 follows frame 4, expected increasing "
                           "frames (run complete() to sort)")
    ps = va_set({"a": ([1, 2], [1, 2]), "b": ([1, 3, 3], [4, 5, 6]), "c": ([1], [7])})
    assert message(ps) == ("prediction set: video b frame 3 follows frame 3, expected increasing "
                           "frames (run complete() to sort)")


def test_a_new_video_may_start_below_where_the_last_one_ended():
    # one-row videos put a video boundary at the first step and at the last
    imp.check_sorted(va_set({"a": ([9], [1]), "b": ([1, 2], [2, 3]), "c": ([1], [4])}))


def test_complete_adds_one_frame_and_goes_on_to_the_next_video():
    ps = va_set({"a": ([1, 2], [0, 1]), "b": ([1, 3], [0, 4])})
    out = imp.complete(ps, {"a": [1, 2], "b": [1, 2, 3]})          # default: linear
    assert out.edition == 8 and out.columns == ps.columns
    f, o, im = out.video("b")
    assert f.tolist() == [1, 2, 3] and im.tolist() == [False, True, False]
    assert o[:, 0].tolist() == pytest.approx([0, 2, 4]) and o[:, 1].tolist() == pytest.approx([0, 4, 8])
    assert out.provenance["completed_rows"] == 1
    assert out.video("a")[0].tolist() == [1, 2]


def test_complete_sorts_a_video_that_needs_no_new_frame():
    ps = va_set({"a": ([3, 1, 2], [3, 1, 2])})
    out = imp.complete(ps, {"a": [1, 2, 3]}, method=None)
    f, o, im = out.video("a")
    assert f.tolist() == [1, 2, 3] and o[:, 0].tolist() == [1, 2, 3] and not im.any()
    assert out.provenance["completed_rows"] == 0


def test_complete_appends_a_video_the_set_lacks_as_missing_rows():
    ps = va_set({"a": ([1, 2], [1, 3])})
    out = imp.complete(ps, {"z": [5, 6, 7]}, method=None)
    f, o, im = out.video("z")
    assert f.tolist() == [5, 6, 7] and o.shape == (3, 2) and np.isnan(o).all() and im.all()


def test_a_video_without_real_rows_gets_the_mean_of_each_column():
    ps = va_set({"a": ([1, 2], [0.2, 0.4]), "b": ([1, 2], [NAN, NAN])})
    f, o, im = imp.impute(ps, "nearest").video("b")
    assert np.allclose(o, [[0.3, 0.6], [0.3, 0.6]]) and im.all()


def test_frames_out_of_order_are_found_beside_videos_without_rows():
    # A video with no rows puts its boundary at step -1 (first) or at the last step (last):
    # neither may hide a step of another video, nor reach past the steps.
    cols = ("valence", "arousal")

    def with_empty(videos, offsets, frames):
        n = len(frames)
        return PredictionSet("VA", 8, cols, videos, offsets, frames, np.zeros((n, 2)),
                             np.zeros(n, bool))
    assert message(with_empty(["e", "a"], [0, 0, 3], [1, 3, 2])).startswith(
        "prediction set: video a frame 2 follows frame 3")
    imp.check_sorted(with_empty(["a", "e"], [0, 3, 3], [1, 2, 3]))
    imp.check_sorted(with_empty(["e", "a", "f"], [0, 0, 2, 2], [5, 6]))


def test_complete_keeps_the_sets_columns_decision_and_provenance():
    # e.g. a post-processed set (thresholds, folded bias) completed before it is scored
    from abaw.core.decisions import Decision

    names = tuple(f"au{i}" for i in range(12))
    decision = Decision(thresholds=[0.3] * 12, folded=True)
    ps = PredictionSet.from_videos("AU", 8, {"a": ([1, 3], np.full((2, 12), 0.4))}, names,
                                   {"run": "x"}, decision)
    out = imp.complete(ps, {"a": [1, 2, 3]})
    assert out.columns == names and out.decision == decision
    assert out.provenance["run"] == "x" and out.provenance["completed_rows"] == 1


@pytest.mark.parametrize("method,want", [("nearest", [0, 0, 0, 6, 6]), ("ffill", [0, 0, 0, 0, 6]),
                                         ("linear", [0, 1.5, 3, 4.5, 6])])
def test_complete_fills_the_added_frames_by_the_method_asked(method, want):
    ps = va_set({"a": ([1, 5], [0, 6])})
    out = imp.complete(ps, {"a": [1, 2, 3, 4, 5]}, method)
    assert out.video("a")[1][:, 0].tolist() == pytest.approx(want)
    assert out.provenance["impute"] == method
