"""Ensembles: means by hand, majority vote with ties, tuned weights against a grid search and
judged on videos they were not tuned on, mismatched members refused in one line."""

import itertools

import numpy as np
import pytest
from post_cases import case

from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import ensemble as ens
from abaw.post import impute as imp
from abaw.post import tune as tn


def members(track, seeds, noise=(1.0, 1.6), n_videos=5, truth_seed=0):
    """Sets for the same videos and truth whose outputs carry different noise (different heads)."""
    clean, truth = case(track, np.random.default_rng(truth_seed), n_videos=n_videos, noise=0,
                        face_missing=0)
    out = []
    for seed, level in zip(seeds, noise, strict=True):
        rng = np.random.default_rng(seed)
        noisy = clean.outputs + rng.normal(scale=0.25 * level, size=clean.outputs.shape)
        if track in ("EXPR", "AU"):
            noisy = np.clip(noisy, 0, 1)
        out.append(clean.replace(outputs=noisy.astype(np.float32)))
    return out, truth


def test_mean_and_fold_average_by_hand():
    a = PredictionSet.from_videos("VA", 8, {"x": ([1, 2], [[0.0, 1.0], [0.2, 0.2]])})
    b = a.replace(outputs=np.array([[1.0, 0.0], [0.4, 0.6]]))
    out = ens.combine([a, b], {"valence": [0.25, 0.75], "arousal": [1.0, 0.0]}, method="weighted")
    np.testing.assert_allclose(out.outputs, [[0.75, 1.0], [0.35, 0.2]], rtol=1e-6)
    np.testing.assert_allclose(ens.fold_average([a, b]).outputs, [[0.5, 0.5], [0.3, 0.4]])
    assert out.provenance["ensemble"]["weights"]["valence"] == [0.25, 0.75]


def test_vote_majority_and_ties():
    frames = [1, 2]
    p = [np.array([[0.6, 0.4, 0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0, 0]]),
         np.array([[0.6, 0.4, 0, 0, 0, 0, 0], [0.0, 0.9, 0.1, 0, 0, 0, 0]]),
         np.array([[0.1, 0.9, 0, 0, 0, 0, 0], [0.2, 0.0, 0.8, 0, 0, 0, 0]]),
         np.array([[0.1, 0.2, 0.7, 0, 0, 0, 0], [0.9, 0.1, 0.0, 0, 0, 0, 0]])]
    sets = [PredictionSet.from_videos("CE", 8, {"x": (frames, q)}) for q in p]
    out = ens.vote(sets)
    # frame 1: votes 0,0,1,2 -> class 0; frame 2: votes 0,1,2,0 -> class 0 (2 votes)
    assert out.outputs.argmax(axis=1).tolist() == [0, 0]
    np.testing.assert_allclose(out.outputs.sum(axis=1), 1.0, rtol=1e-6)
    # a 2-2 tie goes to the higher mean probability: class 1 (mean .45) over class 0 (.35)
    tie = ens.vote([sets[0], sets[1], sets[2].replace(outputs=sets[0].outputs),
                    sets[3].replace(outputs=sets[1].outputs)])
    assert tie.outputs.argmax(axis=1).tolist() == [0, 1]
    au = [PredictionSet.from_videos("AU", 8, {"x": ([1], np.full((1, 12), v))})
          for v in (0.9, 0.6, 0.2, 0.1)]
    # 2 of 4 vote active: tie broken by the mean probability 0.45 < 0.5 -> inactive
    assert ens.vote(au).outputs[0, 0] < 0.5
    assert ens.vote(au[:3]).outputs[0, 0] >= 0.5            # 2 of 3 vote active
    va = [PredictionSet.from_videos("VA", 8, {"x": ([1], [[v, -v]])}) for v in (0.1, 0.9, 0.3)]
    np.testing.assert_allclose(ens.vote(va).outputs, [[0.3, -0.3]])   # values: the median


def official(ps, truth, tuned_on=None):
    """The official score of `ps`; AU thresholds tuned (as `tune` would) on `tuned_on`, a
    (set, truth) pair, or on `ps` itself when none is given."""
    if ps.track != "AU":
        return tn.evaluate(ps, truth, Decision()).value
    on = tuned_on or (ps, truth)
    params = tn.tune(*on, kinds=("mean",), windows=(1,), bias=False)
    return tn.evaluate(params.apply(ps), truth).value


@pytest.mark.parametrize("track", ["VA", "EXPR", "AU"])
def test_tuned_weights_match_a_grid_search_and_gain_on_held_out_videos(track):
    val, val_truth = members(track, [1, 2], noise=(1.0, 1.3))
    test, test_truth = members(track, [3, 4], noise=(1.0, 1.3), truth_seed=7)   # other videos
    weights, _ = ens.tune_weights(val, val_truth, step=0.1)
    for w in weights.values():
        assert abs(sum(w) - 1) < 1e-9 and min(w) >= 0
    # On validation: as good as every split of the weights on the same grid, each group's
    # shares t and 1 - t tried together, scored officially.
    groups = list(weights)
    grid = np.round(np.arange(0, 1.0001, 0.1), 10)
    best = max(official(ens.combine(val, {g: [t, 1 - t] for g, t in zip(groups, ts, strict=True)},
                                    method="weighted"), val_truth)
               for ts in itertools.product(grid, repeat=len(groups)))
    assert official(ens.combine(val, weights, method="weighted"), val_truth) == pytest.approx(
        best, abs=1e-9)
    # On held-out videos, with the weights (and AU thresholds) from validation: two heads with
    # independent noise, averaged, beat both.
    held_out = official(ens.combine(test, weights, method="weighted"), test_truth,
                        (ens.combine(val, weights, method="weighted"), val_truth))
    alone = [official(t, test_truth, (v, val_truth)) for v, t in zip(val, test, strict=True)]
    assert held_out > max(alone) + 0.005, (held_out, alone)


def test_members_must_match():
    a = PredictionSet.from_videos("VA", 8, {"x": ([1, 2, 3], np.zeros((3, 2))),
                                            "y": ([1], np.zeros((1, 2)))})
    b = PredictionSet.from_videos("VA", 8, {"y": ([1], np.ones((1, 2))),
                                            "x": ([1, 2, 3], np.ones((3, 2)))})
    # another video order is fine: reordered to the first member's
    out = ens.combine([a, b])
    assert out.videos == ["x", "y"] and np.allclose(out.outputs, 0.5)
    cases = [
        (PredictionSet.from_videos("VA", 5, {"x": ([1, 2, 3], np.zeros((3, 2))),
                                             "y": ([1], np.zeros((1, 2)))}),
         "found edition 5, expected 8 as in a.npz"),
        (PredictionSet.from_videos("AU", 8, {"x": ([1], np.zeros((1, 12)))}),
         "found track AU, expected VA"),
        (PredictionSet.from_videos("VA", 8, {"x": ([1, 2, 3], np.zeros((3, 2)))}),
         r"found 1 videos missing \(e.g. \['y'\]\)"),
        (PredictionSet.from_videos("VA", 8, {"x": ([1, 2], np.zeros((2, 2))),
                                             "y": ([1], np.zeros((1, 2)))}),
         "video x has 2 frames, expected the 3 frames of a.npz"),
        (PredictionSet.from_videos("VA", 8, {"x": ([1, 2, 4], np.zeros((3, 2))),
                                             "y": ([1], np.zeros((1, 2)))}),
         "video x has 3 frames, expected the 3 frames"),
        (a.replace(outputs=np.full((4, 2), np.nan)), "found 4 rows with NaN outputs"),
    ]
    for other, message in cases:
        with pytest.raises(AbawError, match=message) as e:
            ens.combine([a, other], names=["a.npz", "b.npz"])
        assert "\n" not in str(e.value)
    with pytest.raises(AbawError, match="found 1 member, expected at least 2"):
        ens.combine([a])
    with pytest.raises(AbawError, match="weights of valence: found"):
        ens.combine([a, b], [0.7, 0.7])


def test_ensemble_of_imputed_members_keeps_flags_only_where_all_were_imputed():
    a = PredictionSet.from_videos("VA", 8, {"x": ([1, 2, 3], np.zeros((3, 2)),
                                                  np.array([1, 1, 0], bool))})
    b = a.replace(imputed=np.array([1, 0, 0], bool))
    assert ens.combine([imp.impute(a), imp.impute(b)]).imputed.tolist() == [True, False, False]
