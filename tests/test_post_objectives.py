"""The fast objectives of tuning against the score written out here: F1 from its counts, sklearn's
zero_division, the AU threshold rule, the class-bias ascent, and block-by-block gathering."""

import numpy as np
import pytest

from abaw import metrics
from abaw.core import decisions as dec
from abaw.post import objectives as ob
from abaw.post import smooth as sm
from abaw.post.truth import Target


def f1(tp, fp, fn, zero_division):
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else zero_division


def au_f1(p, y, t, zero_division=0.0):
    """F1 of one AU decided by p >= t."""
    on = p >= t
    return f1(np.sum(on & y), np.sum(on & ~y), np.sum(~on & y), zero_division)


def test_zero_division_defaults_to_sklearn_zero_and_is_passed_on():
    # Class 2 (and AU 1) is never true and never predicted: its F1 is 0/0 = zero_division.
    labels, pred = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])
    assert ob.class_value(pred, labels, "EXPR", 8, 3) == pytest.approx(2 / 3)
    assert ob.class_value(pred, labels, "EXPR", 8, 3, zero_division=1.0) == 1.0
    target = Target(np.arange(4), labels)
    onehot = np.eye(3)[pred].T
    assert ob.group_value("classes", onehot, target, "EXPR", 8, zero_division=1.0) == 1.0

    probs = np.array([[0.9, 0.8, 0.2, 0.1], [0.3, 0.3, 0.3, 0.3]])     # (AU, rows)
    truth = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool).T               # (rows, AU)
    above = ob.THRESHOLDS > 0.3                  # there AU 1 is predicted nowhere: 0/0
    hist = ob.au_hist(probs, truth.T)
    for terms in (ob.au_terms(probs, truth, 8), ob.au_terms_from_hist(hist, 8)):
        np.testing.assert_array_equal(terms[1], 0.0)
    terms = ob.au_terms(probs, truth, 8, zero_division=1.0)
    np.testing.assert_array_equal(terms[1], np.where(above, 1.0, 0.0))
    target = Target(np.arange(4), truth)
    # AU 0 reaches F1 = 1 (0.2 < t <= 0.8), AU 1 gets 1 above 0.3; at 0.5 both are 1 as well
    for tune in (True, False):
        assert ob.group_value("binary", probs, target, "AU", 8, zero_division=1.0,
                              tune_thresholds=tune) == 1.0

    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.eye(3)[y] * 0.9 + 0.05                    # separable; class 2 absent and never taken
    assert ob.tune_bias(p.T, y, "EXPR", 8)[1] == pytest.approx(2 / 3)
    bias, value = ob.tune_bias(p.T, y, "EXPR", 8, zero_division=1.0)
    assert value == 1.0 and not np.any(bias)
    # Two class-0 rows lean to the absent class 2; an offset of class 0 in (log 2, log 6) rights
    # them, which with zero_division 1 also makes class 2's F1 a 1.
    p = np.array([[0.6, 0.1, 0.3]] * 4 + [[0.1, 0.6, 0.3]] * 4 + [[0.3, 0.1, 0.6]] * 2)
    y = np.repeat([0, 1, 0], [4, 4, 2])
    bias, value = ob.tune_bias(p.T, y, "EXPR", 8, zero_division=1.0)
    assert value == 1.0
    np.testing.assert_array_equal(dec.classes(p, bias), y)


@pytest.mark.parametrize("edition", [3, 8])
def test_au_group_value_is_the_mean_f1_at_the_best_and_at_the_half_threshold(edition):
    rng = np.random.default_rng(4)
    n, a = 300, 4
    truth = rng.random((n, a)) < [0.1, 0.3, 0.5, 0.7]
    probs = np.clip(0.3 * truth + rng.random((n, a)) * 0.75, 0, 1).astype(np.float32)
    # Rows on the grid next to 0.5 tell 0.5 from its neighbours: 63/128 is below 0.5, 0.5 is not
    probs[:40] = np.where(truth[:40], 0.5, 63 / 128)
    target = Target(np.arange(n), truth)
    candidates = np.arange(1, 128) / 128
    best = [max(au_f1(probs[:, j], truth[:, j], t) for t in candidates) for j in range(a)]
    half = [au_f1(probs[:, j], truth[:, j], 0.5) for j in range(a)]
    assert len(set(np.round(best, 9))) > 1                    # the AUs' best values differ
    assert ob.group_value("binary", probs.T, target, "AU", edition) == pytest.approx(np.mean(best))
    assert ob.group_value("binary", probs.T, target, "AU", edition, tune_thresholds=False) == \
        pytest.approx(np.mean(half))
    assert np.mean(half) < np.mean(best) - 0.01


def test_among_equally_good_thresholds_the_one_closest_to_half_is_taken():
    terms = np.zeros((3, 127))
    terms[0, 10:41] = 1.0      # thresholds 11/128 .. 41/128, all below 0.5
    terms[1, 80:121] = 1.0     # 81/128 .. 121/128, all above
    terms[2, :] = 0.5          # every threshold
    np.testing.assert_array_equal(ob.best_thresholds(terms), [41 / 128, 81 / 128, 0.5])


def test_class_bias_moves_only_for_a_better_score():
    # Separable with wide margins: no offset can do better, so none is taken (many do as well).
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 400)
    p = np.where(np.eye(8, dtype=bool)[y], 0.93, 0.01)
    bias, value = ob.tune_bias(p.T, y, "EXPR", 8)
    assert value == 1.0 and not np.any(bias)


def test_class_bias_reaches_the_end_of_its_grid():
    # Class-1 rows trail class 0 by 2.95 in log-probability and class-0 rows lead class 1 by 3.5:
    # only b_1 - b_0 in (2.95, 3.5) gets both right. Lowering b_0 instead loses the class-0 rows
    # to class 2 (1 behind), so from zero offsets the way up is b_1 = 3.0, the grid's last point.
    logits = {0: [0.0, -3.5, -1.0], 1: [0.0, -2.95, -5.0], 2: [-1.0, -5.0, 0.0]}
    y = np.repeat([0, 1, 2], [50, 20, 50])
    logp = np.array([logits[c] for c in y])
    p = np.exp(logp) / np.exp(logp).sum(axis=1, keepdims=True)
    bias, value = ob.tune_bias(p.T, y, "EXPR", 8)
    assert bias.tolist() == [0.0, 3.0, 0.0] and value == 1.0
    np.testing.assert_array_equal(dec.classes(p, bias), y)
    # Mirrored at the grid's first point: class-1 rows trail class 0 by 2.95 and class-0 rows lead
    # it by 3.05, so b_0 - b_1 in (-3.05, -2.95); raising b_1 instead loses the class-2 rows (class
    # 1 is 2 behind there), so the way down is b_0 = -3.0.
    logits = {0: [0.0, -3.05, -5.0], 1: [0.0, -2.95, -5.0], 2: [-5.0, -2.0, 0.0]}
    logp = np.array([logits[c] for c in y])
    p = np.exp(logp) / np.exp(logp).sum(axis=1, keepdims=True)
    bias, value = ob.tune_bias(p.T, y, "EXPR", 8)
    assert bias.tolist() == [-3.0, 0.0, 0.0] and value == 1.0
    np.testing.assert_array_equal(dec.classes(p, bias), y)


def test_class_bias_search_settles_a_grid_offset_that_rounding_puts_on_the_edge():
    # Row A: log p_0 - 3 rounds to exactly log p_1 (a tie at offset -3 for class 0, which comes
    # first and keeps the row), although log p_1 - log p_0 rounds to just above -3. Row B (truth 1)
    # only turns to class 1 at -3. The decision at -3 gets both rows right: the search must too.
    rng = np.random.default_rng(0)
    for _ in range(5000):
        p0 = rng.uniform(0.3, 0.9)
        p1 = np.exp(np.log(p0) - 3.0)
        for _ in range(8):              # the float whose log is exactly log p0 - 3, if any
            probs = np.array([[p0, 0.6], [p1, 0.4]])
            logp = np.log(np.maximum(probs, dec.FLOOR))
            if logp[1, 0] == logp[0, 0] - 3.0:
                break
            p1 = np.nextafter(p1, np.inf if logp[1, 0] < logp[0, 0] - 3.0 else 0.0)
        if logp[1, 0] == logp[0, 0] - 3.0 and logp[1, 0] - logp[0, 0] > -3.0:
            break
    else:
        pytest.fail("no such probabilities found")
    bias, value = ob.tune_bias(probs, np.array([0, 1]), "EXPR", 8, grid=[-3.0])
    assert bias.tolist() == [-3.0, 0.0] and value == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_bias_value_is_the_score_of_its_decisions_also_where_probabilities_tie(dtype):
    # Probabilities from a few levels tie often; the decision keeps the first of tied classes.
    for seed in range(40):
        rng = np.random.default_rng(seed)
        p = rng.choice([1.0, 2.0, 4.0, 8.0], (80, 8))
        p = (p / p.sum(axis=1, keepdims=True)).astype(dtype)
        y = rng.integers(0, 8, 80)
        bias, value = ob.tune_bias(p.T, y, "EXPR", 8)
        assert value == pytest.approx(metrics.score("EXPR", 8, dec.classes(p, bias), y).value,
                                      abs=1e-12), seed


@pytest.mark.parametrize("kind", sm.KINDS)
def test_block_by_block_decisions_are_those_of_the_whole_smoothed_columns(kind, monkeypatch):
    # Blocks of 8 rows; annotated rows: two in block 0, four in block 1, none in block 2, all of
    # block 3, two in block 4 (and a video boundary and ignored rows on the way).
    monkeypatch.setattr(sm, "BLOCK", 8)
    rng = np.random.default_rng(1)
    x = rng.random((40, 3)).astype(np.float32)
    x /= x.sum(axis=1, keepdims=True)
    offsets, ignore = [0, 19, 40], rng.random(40) < 0.2
    rows = np.array([1, 5, 9, 10, 12, 14, 24, 25, 26, 27, 28, 29, 30, 31, 33, 39])
    window = 5
    whole = sm.smooth(x, offsets, kind, window, ignore)                 # (N, 3), tested apart
    sweep = ob.Sweep(kind, x, offsets, ignore)
    np.testing.assert_array_equal(sweep.columns(window), whole.T)
    np.testing.assert_array_equal(sweep.at(window, rows), whole[rows].T)
    np.testing.assert_array_equal(ob.decide("values", sweep, window, Target(rows, None)),
                                  whole[rows, 0])
    np.testing.assert_array_equal(ob.decide("classes", sweep, window, Target(rows, None)),
                                  np.argmax(whole[rows], axis=1))
    truth = rng.random((len(rows), 3)) < 0.5
    level = np.clip(np.floor(whole[rows] * np.float32(128)), 0, 128).astype(int)   # (M, 3)
    want = np.bincount(((np.arange(3) * 129 + level) * 2 + truth).ravel(), minlength=3 * 258)
    np.testing.assert_array_equal(ob.decide("binary", sweep, window, Target(rows, truth)), want)
