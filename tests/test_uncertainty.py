"""The bootstrap over videos: each draw's score from sufficient statistics equals the official
metric on the drawn videos' frames concatenated; intervals hold the point; folds' spread."""

import statistics

import numpy as np
import pytest

from abaw import metrics, protocol
from abaw.errors import AbawError
from abaw.uncertainty import UnitStats, bootstrap, draw_counts, fold_spread


def random_pairs(track, edition, rng, n_videos=7):
    """video -> (pred, true) as metrics.score takes them, sentinels in the truth."""
    pairs = {}
    for i in range(n_videos):
        n = int(rng.integers(5, 80))
        pairs[f"v{i}"] = one(track, edition, rng, n)
    return pairs


def one(track, edition, rng, n):
    if track == "MTL":
        parts = [one(t, 8, rng, int(rng.integers(0, n + 1))) for t in ("VA", "EXPR", "AU")]
        return ({k: p[0] for k, p in zip(("VA", "EXPR", "AU"), parts, strict=True)},
                {k: p[1] for k, p in zip(("VA", "EXPR", "AU"), parts, strict=True)})
    if track == "VA":
        true = np.clip(rng.normal(0.1, 0.4, (n, 2)), -1, 1)
        true[rng.random(n) < 0.1, rng.integers(0, 2)] = -5
        return np.clip(0.5 * true + rng.normal(0, 0.3, (n, 2)), -1, 1), true
    if track == "AU":
        a = len(protocol.au_names(edition))
        true = (rng.random((n, a)) < np.linspace(0.1, 0.6, a)).astype(np.int64)
        true[rng.random(n) < 0.1] = -1
        pred = np.where(rng.random((n, a)) < 0.7, true == 1, rng.random((n, a)) < 0.3)
        return pred.astype(np.int64), true
    c = len(protocol.rules(track, edition).names)
    true = rng.integers(0, c, n)
    true[rng.random(n) < 0.1] = -1
    pred = np.where(rng.random(n) < 0.5, np.maximum(true, 0), rng.integers(0, c, n))
    return pred, true


def pooled_by_hand(track, edition, pairs, counts, **choices):
    """The slow way: every drawn video's frames, repeated as often as drawn, concatenated."""
    names = list(pairs)
    out = []
    for row in counts:
        taken = [pairs[names[i]] for i in range(len(names)) for _ in range(row[i])]
        if track == "MTL":
            pred = {k: np.concatenate([np.asarray(p[0][k]) for p in taken]) for k in
                    ("VA", "EXPR", "AU")}
            true = {k: np.concatenate([np.asarray(p[1][k]) for p in taken]) for k in
                    ("VA", "EXPR", "AU")}
        else:
            pred = np.concatenate([p[0] for p in taken])
            true = np.concatenate([p[1] for p in taken])
        try:
            out.append(metrics.score(track, edition, pred, true, **choices).value)
        except AbawError:                       # nothing valid in this draw
            out.append(np.nan)
    return np.array(out)


CASES = [("VA", 8, {}), ("VA", 2, {"va_combine": "sum"}), ("EXPR", 8, {}), ("EXPR", 2, {}),
         ("AU", 8, {}), ("AU", 2, {}), ("AU", 1, {"au_accuracy": "exact_match"}),
         ("AU", 8, {"zero_division": 1.0}), ("CE", 8, {}), ("LSD", 4, {}), ("MTL", 4, {})]


@pytest.mark.parametrize("track,edition,choices", CASES)
@pytest.mark.parametrize("seed", range(3))
def test_each_draw_is_the_official_score_of_the_drawn_videos(track, edition, choices, seed):
    rng = np.random.default_rng(seed)
    pairs = random_pairs(track, edition, rng)
    counts = draw_counts(len(pairs), 15, seed)
    want = pooled_by_hand(track, edition, pairs, counts, **choices)
    got = bootstrap(track, edition, pairs, draws=15, seed=seed, **choices)
    np.testing.assert_allclose(got.draws, want, atol=1e-9)
    ones = np.ones((1, len(pairs)), np.int64)
    assert got.point == pytest.approx(pooled_by_hand(track, edition, pairs, ones, **choices)[0],
                                      abs=1e-9)


def test_a_draw_of_only_constant_videos_follows_the_constant_series_rule():
    # CCC of two equal constants is 0 by the metric's rule; sums of squares minus squared sums
    # would leave rounding noise over rounding noise there, anything from -1 to 1
    rng = np.random.default_rng(2)
    c = np.full((40, 2), 1 / 3)
    pairs = {"still": (c, c.copy()), "moving": one("VA", 8, rng, 50)}
    counts = draw_counts(2, 40, seed=1)
    assert ((counts[:, 1] == 0) & (counts[:, 0] > 0)).any()
    got = bootstrap("VA", 8, pairs, draws=40, seed=1)
    np.testing.assert_allclose(got.draws, pooled_by_hand("VA", 8, pairs, counts), atol=1e-9)
    assert (got.draws[counts[:, 1] == 0] == 0).all()


def test_draws_resample_whole_videos_with_replacement():
    counts = draw_counts(9, 500, seed=4)
    assert counts.shape == (500, 9) and (counts.sum(axis=1) == 9).all()
    assert (counts == 0).any() and (counts >= 2).any()         # some left out, some repeated
    np.testing.assert_array_equal(counts, draw_counts(9, 500, seed=4))
    assert abs(counts.mean() - 1) < 0.05


@pytest.mark.parametrize("track,edition", [("VA", 8), ("EXPR", 8), ("AU", 8), ("MTL", 4)])
def test_the_interval_contains_the_point_estimate(track, edition):
    pairs = random_pairs(track, edition, np.random.default_rng(11), n_videos=25)
    iv = bootstrap(track, edition, pairs)
    assert len(iv.draws) == 1000 and iv.units == 25 and iv.level == 0.9
    assert iv.low <= iv.point <= iv.high
    assert iv.low < iv.high                                    # real data is not certain
    assert np.mean(iv.draws < iv.low) == pytest.approx(0.05, abs=0.01)


def test_a_constant_prediction_has_a_point_interval():
    rng = np.random.default_rng(5)
    va = random_pairs("VA", 8, rng)
    va = {v: (np.full_like(p, 0.1234567), t) for v, (p, t) in va.items()}
    iv = bootstrap("VA", 8, va)
    assert iv.point == iv.low == iv.high == 0.0               # CCC of a constant is 0, exactly
    au = random_pairs("AU", 8, rng)
    au = {v: (np.zeros_like(p), t) for v, (p, t) in au.items()}
    iv = bootstrap("AU", 8, au)
    assert iv.point == iv.low == iv.high == 0.0
    ex = random_pairs("EXPR", 8, rng)
    ex = {v: (np.maximum(t, 0), t) for v, (p, t) in ex.items()}   # always right: F1 = 1
    iv = bootstrap("EXPR", 8, ex)
    assert iv.point == iv.low == iv.high == 1.0


def test_fold_spread_is_mean_and_sample_sd():
    scores = [0.51, 0.48, 0.55, 0.53, 0.49]
    s = fold_spread(scores)
    assert s.mean == pytest.approx(statistics.mean(scores))
    assert s.sd == pytest.approx(statistics.stdev(scores))
    assert s.n == 5 and "±" in str(s)
    assert fold_spread([0.7]).sd == 0.0
    with pytest.raises(AbawError):
        fold_spread([])


def test_unit_stats_refuse_what_they_cannot_pool():
    with pytest.raises(AbawError, match="no videos"):
        UnitStats("VA", 8, {})
    with pytest.raises(AbawError, match="metric option"):
        UnitStats("VA", 8, random_pairs("VA", 8, np.random.default_rng(0)), pooling="x")
