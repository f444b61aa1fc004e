"""What tuning records and why: every window tried with the value it gave the group, the choice
the best of them (a tie keeps the input); AU thresholds, class bias, logit adjustment and
confidence gate each the best under the metric options; the imputation it ran with."""

import json

import numpy as np
import pytest
from post_cases import case, softmax

from abaw import metrics
from abaw.core.prediction_set import PredictionSet
from abaw.post import impute as imp
from abaw.post.params import PostParams
from abaw.post.tune import ValTruth, evaluate, tune


def test_the_sweep_holds_each_windows_score_and_the_choice_is_its_best(tmp_path):
    ps, truth = case("VA", np.random.default_rng(4), n_videos=4)
    told = []
    params = tune(ps, truth, kinds=("mean", "median"), windows=(1, 2, 5, 15), progress=told.append)
    sweep = params.scores["sweep"]
    assert set(sweep) == {"valence", "arousal"}
    assert [w for w, _ in sweep["valence"]["mean"]] == [1, 2, 5, 15]
    assert [w for w, _ in sweep["valence"]["median"]] == [2, 5, 15]   # window 1 once: the input
    for group, part in (("valence", "CCC_V"), ("arousal", "CCC_A")):
        for kind, curve in sweep[group].items():
            for w, value in curve:
                one = PostParams("VA", ps.edition, smooth={group: {"kind": kind, "window": w}})
                assert value == pytest.approx(evaluate(one.apply(ps), truth).parts[part],
                                              abs=1e-6)
        best = max((v, k, w) for k, c in sweep[group].items() for w, v in c)
        assert params.smooth[group] == {"kind": best[1], "window": best[2]}
        assert f"{group}: {best[1]} window {best[2]} -> {best[0]:.4f}" in told
    assert len(told) == 2
    # the whole score and its parts, before and after
    for key, scored in (("raw", imp.impute(ps)), ("tuned", params.apply(ps))):
        assert params.scores[key] == pytest.approx(evaluate(scored, truth).value, abs=1e-6)
        assert params.scores[f"{key}_parts"] == pytest.approx(evaluate(scored, truth).parts,
                                                               abs=1e-6)
    # the record survives the JSON round trip, and an older file without it still loads
    again = PostParams.load(params.save(tmp_path / "post.json"))
    assert again.scores["sweep"] == json.loads(json.dumps(sweep))
    old = params.to_dict()
    del old["scores"]["sweep"]
    assert PostParams.from_dict(old).scores.get("sweep") is None


def test_the_input_is_always_in_the_sweep_also_when_the_windows_asked_leave_it_out():
    ps, truth = case("VA", np.random.default_rng(5), n_videos=3)
    params = tune(ps, truth, kinds=("mean",), windows=(5, 9))
    assert [w for w, _ in params.scores["sweep"]["valence"]["mean"]] == [1, 5, 9]


def f1_terms(values, truth, thresholds, zero_division):
    """(A, T) per-AU F1 = 2TP / (2TP + FP + FN) of `values` (M, A) >= each threshold (T,), with
    `zero_division` where nothing is predicted nor true."""
    decided = values[:, :, None] >= np.asarray(thresholds)[None, None, :]
    y = truth[:, :, None]
    tp, fp, fn = (decided & y).sum(0), (decided & ~y).sum(0), (~decided & y).sum(0)
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.maximum(den, 1), zero_division)


@pytest.mark.parametrize("thresholds", [True, False])
@pytest.mark.parametrize("choices", [{}, {"zero_division": 1.0}])
def test_au_sweep_values_are_f1_at_the_best_or_the_default_thresholds(thresholds, choices):
    # AUs 0 and 1 are never active; the model gives AU 0 below 0.5 everywhere, so that even the
    # raw outputs leave it undecided (a term of zero_division); AU 1's best threshold predicts it
    # nowhere with zero_division 1 (and is 0.5, the tie-break, with 0).
    ps, truth = case("AU", np.random.default_rng(6), n_videos=3, mean_len=300)
    ps = ps.replace(outputs=ps.outputs * np.where(np.arange(12) == 0, 0.45, 1.0).astype(np.float32))
    never = {v: (f, np.where(np.arange(y.shape[1]) < 2, np.minimum(y, 0), y))
             for v, (f, y) in truth.per_video.items()}
    truth = ValTruth("AU", never)
    params = tune(ps, truth, kinds=("mean", "median"), windows=(1, 9), thresholds=thresholds,
                  **choices)
    zd = choices.get("zero_division", 0.0)
    candidates = np.arange(1, 128) / 128
    for kind, curve in params.scores["sweep"]["AU"].items():
        for w, value in curve:
            smoothed = PostParams("AU", 8, smooth={"AU": {"kind": kind, "window": w}}).apply(ps)
            target = truth.align(smoothed)["AU"]
            x, y = smoothed.outputs[target.rows].astype(np.float64), target.labels.astype(bool)
            terms = (f1_terms(x, y, candidates, zd).max(1) if thresholds
                     else f1_terms(x, y, [0.5], zd)[:, 0])
            assert value == pytest.approx(terms.mean(), abs=1e-9), (kind, w)
    raw = imp.impute(ps)
    target = truth.align(raw)["AU"]
    x, y = raw.outputs[target.rows].astype(np.float64), target.labels.astype(bool)
    assert params.scores["raw"] == pytest.approx(f1_terms(x, y, [0.5], zd).mean(), abs=1e-9)
    if not thresholds:
        assert params.thresholds is None
        return
    smoothed = params.apply(ps)
    target = truth.align(smoothed)["AU"]
    x, y = smoothed.outputs[target.rows].astype(np.float64), target.labels.astype(bool)
    chosen = f1_terms(x, y, candidates, zd)
    picked = np.diag(f1_terms(x, y, params.thresholds, zd))
    np.testing.assert_allclose(picked, chosen.max(1), atol=1e-12)
    assert (params.thresholds[1] > x[:, 1].max()) == (zd == 1.0)
    assert params.scores["tuned"] == pytest.approx(picked.mean(), abs=1e-9)


@pytest.mark.parametrize("options", [{}, {"logit_adjust": True}])
def test_a_set_that_nothing_improves_keeps_the_input_and_records_no_bias(options):
    # Each video's outputs are constant and already right: every kind and window scores the
    # same, so the input (the first kind, window 1) is kept, and no class bias is recorded.
    probs = np.full((3, 8), 0.3 / 7)
    probs[np.arange(3), [0, 1, 2]] = 0.7
    per_video = {f"v{i}": (np.arange(1, 41), np.tile(probs[i], (40, 1))) for i in range(3)}
    ps = PredictionSet.from_videos("EXPR", 8, per_video)
    truth = ValTruth("EXPR", {v: (f, np.full(40, i, float))
                              for i, (v, (f, _)) in enumerate(per_video.items())})
    params = tune(ps, truth, kinds=("mean", "median"), windows=(1, 5, 9), **options)
    assert params.smooth == {"EXPR": {"kind": "mean", "window": 1}}
    assert params.bias is None and params.logit_adjust in (None, 0.0)
    assert params.scores["tuned"] == params.scores["raw"] == pytest.approx(3 / 8)


@pytest.mark.parametrize("impute,ignore_imputed", [("nearest", False), ("ffill", True),
                                                   (None, True)])
def test_the_imputation_tuned_with_is_the_one_recorded_and_applied(impute, ignore_imputed):
    # None: rows without an output stay so; windows that skip them fill them when smoothing
    ps, truth = case("EXPR", np.random.default_rng(8), n_videos=3, mean_len=200, noise=1.3)
    params = tune(ps, truth, kinds=("mean",), windows=(1, 9), impute=impute,
                  ignore_imputed=ignore_imputed, bias=False)
    assert (params.impute, params.ignore_imputed) == (impute, ignore_imputed)
    filled = imp.impute(ps, impute) if impute else ps
    assert params.scores["raw"] == pytest.approx(evaluate(filled, truth).value, abs=1e-12)
    assert params.scores["tuned"] == pytest.approx(evaluate(params.apply(ps), truth).value,
                                                   abs=1e-12)
    for w, value in params.scores["sweep"]["EXPR"]["mean"]:
        one = PostParams("EXPR", 8, impute, ignore_imputed,
                         smooth={"EXPR": {"kind": "mean", "window": w}})
        assert value == pytest.approx(evaluate(one.apply(ps), truth).value, abs=1e-12)


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
def test_logit_adjustment_is_the_best_strength_and_its_bias_is_recorded(zero_division):
    # A model that over-predicts class 0 and under-predicts class 7, which never occurs: the
    # strength tau trades class 0's recall for the rarer classes', and predicting 7 anywhere
    # costs its whole term when zero_division is 1. Brute force over the strengths on the
    # official score of argmax(log p - tau log pi), pi the mean prediction over every row.
    rng = np.random.default_rng(0)
    n = 1500
    y = rng.integers(0, 7, n)
    logits = np.eye(8)[y] + rng.normal(size=(n, 8))
    logits[:, 0] += 1.0
    logits[:, 7] -= 3.0
    probs = softmax(logits)
    frames = np.arange(1, n + 1)
    ps = PredictionSet.from_videos("EXPR", 8, {"v": (frames, probs)})
    truth = ValTruth("EXPR", {"v": (frames, y.astype(float))})
    params = tune(ps, truth, windows=(1,), logit_adjust=True, zero_division=zero_division)
    p = ps.outputs.astype(np.float64)
    pi = p.mean(0) / p.mean(0).sum()
    taus = np.arange(21) / 10
    values = [metrics.score("EXPR", 8, np.argmax(np.log(p) - t * np.log(pi), 1), y,
                            zero_division=zero_division).value for t in taus]
    tau = taus[int(np.argmax(values))]                      # the first (smallest) of the best
    assert 0 < tau <= 1 and params.logit_adjust == pytest.approx(tau)
    np.testing.assert_allclose(params.bias, -tau * np.log(pi), rtol=1e-9)
    assert params.scores["tuned"] == pytest.approx(max(values), abs=1e-12)


def test_with_zero_division_one_the_class_bias_stops_predicting_a_class_that_never_occurs():
    # Predicting class 7 (never true) on any row costs its whole term (1 of 8) when
    # zero_division is 1; the raw argmax predicts it on ~130 rows.
    rng = np.random.default_rng(0)
    n = 1500
    y = rng.integers(0, 7, n)
    logits = np.eye(8)[y] + rng.normal(size=(n, 8))
    probs = softmax(logits)
    frames = np.arange(1, n + 1)
    ps = PredictionSet.from_videos("EXPR", 8, {"v": (frames, probs)})
    truth = ValTruth("EXPR", {"v": (frames, y.astype(float))})
    assert (probs.argmax(1) == 7).sum() > 100
    params = tune(ps, truth, windows=(1,), zero_division=1.0)
    decided = np.argmax(np.log(ps.outputs.astype(np.float64)) + params.bias, 1)
    assert not (decided == 7).any()
    assert params.scores["tuned"] == pytest.approx(
        metrics.score("EXPR", 8, decided, y, zero_division=1.0).value, abs=1e-12)


@pytest.mark.parametrize("windows,zero_division", [((1, 2), 0.0), ((1, 5), 0.0), ((1, 5), 1.0)])
def test_the_confidence_gate_is_the_best_one_for_the_smoothing_chosen(windows, zero_division):
    # Classes change every 6 frames and 60% of frames are confident: keeping those raw beats
    # smoothing them. A few confident one-frame spikes of class 7 (never true) are smoothed
    # away, unless the gate keeps them: that costs class 7's whole term with zero_division 1.
    rng = np.random.default_rng(0)
    n = 3000
    y = np.repeat(rng.integers(0, 7, n // 6), 6)
    confident = rng.random(n) < 0.6
    logits = np.where(confident[:, None], 4.0, 0.3) * np.eye(8)[y] + rng.normal(size=(n, 8))
    calm = np.convolve(confident, np.ones(5), "same") == 5
    spikes = calm & (rng.random(n) < 0.1)
    logits[:, 7] += np.where(spikes, 4.0, -3.0)
    probs = softmax(logits)
    frames = np.arange(1, n + 1)
    ps = PredictionSet.from_videos("EXPR", 8, {"v": (frames, probs)})
    truth = ValTruth("EXPR", {"v": (frames, y.astype(float))})
    params = tune(ps, truth, kinds=("mean",), windows=windows, bias=False, gate=True,
                  zero_division=zero_division)
    smooth = {"EXPR": {"kind": "mean", "window": windows[1]}}
    assert params.smooth == smooth

    def value(g):                                   # 1.01: every row smoothed, no gate
        gate = {"EXPR": g} if g <= 1 else {}
        return evaluate(PostParams("EXPR", 8, smooth=smooth, gate=gate).apply(ps), truth,
                        zero_division=zero_division).value
    values = {g: value(g) for g in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)}
    best = max(g for g, v in values.items() if v == max(values.values()))   # ties: the larger
    assert best < 1.01 and params.gate == {"EXPR": best}
    assert params.scores["tuned"] == pytest.approx(values[best], abs=1e-12)
