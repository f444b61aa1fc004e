"""Generalised logit adjustment and confidence gating, tuned on validation like the smoothing."""

import numpy as np
import pytest

from abaw import metrics
from abaw.post import adjust as adj
from abaw.post.crossfit import crossfit
from abaw.post.params import PostParams
from abaw.post.tune import evaluate, tune
from tests.post_cases import case, softmax


def test_gla_bias_is_minus_tau_log_prior():
    pi = np.array([0.5, 0.3, 0.2])
    assert np.allclose(adj.gla_bias(pi, 0.7), [-0.7 * np.log(0.5), -0.7 * np.log(0.3),
                                              -0.7 * np.log(0.2)])
    assert np.allclose(adj.prior([[0.2, 0.8], [0.6, 0.4]]), [0.4, 0.6])


def test_gla_undoes_a_planted_label_prior_for_macro_f1():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 4000)
    # a model that learnt a skewed prior: class 0 gets +1.5 in every frame's logits
    logits = 1.2 * np.eye(8)[y] + rng.normal(scale=1.0, size=(4000, 8))
    logits[:, 0] += 1.5
    p = softmax(logits)
    pi = adj.prior(p)
    tau, value = adj.tune_gla(p.T, y, pi, "EXPR", 8, taus=adj.TAUS)
    plain = metrics.score("EXPR", 8, p.argmax(1), y).value
    assert tau > 0 and value > plain + 0.05
    # independent check of the value at the chosen tau
    pred = np.argmax(np.log(p) + tau * -np.log(pi), axis=1)
    assert value == pytest.approx(metrics.score("EXPR", 8, pred, y).value, abs=1e-9)


def test_gate_keeps_confident_raw_rows_and_smooths_the_others():
    raw = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8]])
    smooth = np.array([[0.5, 0.5], [0.4, 0.6], [0.6, 0.4]])
    got = adj.gate(raw, smooth, 0.75)
    assert np.allclose(got, [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
    assert np.allclose(adj.gate(raw, smooth, 1.01), smooth)


@pytest.mark.parametrize("options", [{"gate": True}, {"logit_adjust": True},
                                     {"gate": True, "logit_adjust": True}])
def test_tuned_score_is_what_applying_the_parameters_scores(options, tmp_path):
    ps, truth = case("EXPR", np.random.default_rng(3), n_videos=5, noise=1.3)
    params = tune(ps, truth, kinds=("mean",), windows=(1, 9, 31), **options)
    applied = params.apply(ps)
    assert evaluate(applied, truth).value == pytest.approx(params.scores["tuned"], abs=1e-9)
    again = PostParams.load(params.save(tmp_path / "p.json"))
    assert again.gate == params.gate and again.logit_adjust == params.logit_adjust
    assert np.array_equal(again.apply(ps).outputs, applied.outputs)
    if "logit_adjust" in options:
        assert params.logit_adjust is not None
    plain = tune(ps, truth, kinds=("mean",), windows=(1, 9, 31), bias=False)
    assert params.scores["tuned"] >= plain.scores["tuned"] - 1e-9


def test_gated_smoothing_beats_plain_smoothing_where_confident_frames_change_fast():
    rng = np.random.default_rng(1)
    n = 3000
    y = np.repeat(rng.integers(0, 8, n // 6), 6)                  # classes change every 6 frames
    confident = rng.random(n) < 0.6
    logits = np.where(confident[:, None], 4.0, 0.3) * np.eye(8)[y] + rng.normal(size=(n, 8))
    p = softmax(logits).astype(np.float32)
    from abaw import protocol
    from abaw.core.prediction_set import PredictionSet
    from abaw.post.truth import ValTruth

    frames = np.arange(1, n + 1)
    ps = PredictionSet.from_videos("EXPR", 8, {"v": (frames, p, np.zeros(n, bool))},
                                   protocol.EXPR_CLASSES_8, {})
    truth = ValTruth("EXPR", {"v": (frames, y[:, None].astype(float))})
    plain = tune(ps, truth, kinds=("mean",), windows=(1, 5, 9), bias=False)
    gated = tune(ps, truth, kinds=("mean",), windows=(1, 5, 9), bias=False, gate=True)
    assert gated.gate and gated.scores["tuned"] > plain.scores["tuned"] + 0.01
    assert evaluate(gated.apply(ps), truth).value == pytest.approx(gated.scores["tuned"], abs=1e-9)


def test_crossfit_tunes_and_scores_the_new_options_out_of_sample():
    ps, truth = case("EXPR", np.random.default_rng(5), n_videos=6, noise=1.3)
    cf = crossfit(ps, truth, k=3, kinds=("mean",), windows=(1, 9), gate=True, logit_adjust=True)
    assert 0 < cf.estimate.value <= 1
    folds = [PostParams.from_dict(f["post"]) for f in cf.held_out.provenance["crossfit"]["folds"]]
    assert all(f.logit_adjust is not None for f in folds)


def test_a_gate_outside_zero_one_is_refused():
    from abaw.errors import AbawError

    with pytest.raises(AbawError, match="field gate"):
        PostParams.from_dict({"track": "EXPR", "edition": 8, "gate": {"EXPR": 3}})
