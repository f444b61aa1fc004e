"""Tuning on validation: planted optima are found, the fast objectives equal the official metric,
tuned parameters round-trip through JSON onto a test set, and decoding is what the metric takes."""

import json

import numpy as np
import pytest
from post_cases import case, slow

from abaw import metrics, protocol
from abaw.core import decisions as dec
from abaw.core.decisions import Decision
from abaw.core.layout import layout
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import impute as imp
from abaw.post import objectives as ob
from abaw.post import parallel
from abaw.post import smooth as sm
from abaw.post import tune as tn
from abaw.post.params import PostParams

# --- the fast objectives are the official metric ----------------------------------------------------


@pytest.mark.parametrize("track,edition", [("EXPR", 2), ("EXPR", 8), ("CE", 6), ("LSD", 4)])
@pytest.mark.parametrize("seed", range(5))
def test_class_values_from_confusion_equal_official_score(track, edition, seed):
    rng = np.random.default_rng(seed)
    c = len(protocol.rules(track, edition).names)
    true = rng.integers(0, c, 500)
    preds = [np.where(rng.random(500) < 0.5, true, rng.integers(0, c, 500)) for _ in range(3)]
    cms = np.stack([metrics.confusion(true, p, c) for p in preds])
    got = metrics.class_values_from_confusion(track, edition, cms)
    want = [metrics.score(track, edition, p, true).value for p in preds]
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("edition", [1, 2, 5, 10])
@pytest.mark.parametrize("seed", range(4))
def test_au_terms_at_every_threshold_equal_official_score(edition, seed):
    rng = np.random.default_rng(seed)
    a = len(protocol.au_names(edition))
    true = rng.random((800, a)) < np.linspace(0.05, 0.6, a)
    probs = np.clip(0.35 * true + rng.random((800, a)) * 0.7, 0, 1).astype(np.float32)
    probs[:5] = np.array([0, 1, 0.5, 63 / 128, 65 / 128], np.float32)[:, None]   # on the grid
    terms = ob.au_terms(probs.T, true, edition)
    for j in (0, 40, 63, 90, 126):
        t = ob.THRESHOLDS[j]
        official = metrics.score("AU", edition, dec.active(probs, np.full(a, t)),
                                 true.astype(int)).value
        assert terms[:, j].mean() == pytest.approx(official, abs=1e-12)


def test_au_histogram_counts_each_level_and_clips_to_the_grid():
    # Probabilities outside [0, 1] (rounding, or raw scores) count at level 0 or 128.
    rng = np.random.default_rng(3)
    values = rng.uniform(-0.3, 1.3, (4, 500)).astype(np.float32)
    values[:, :4] = np.array([0, 1, 63 / 128, 1 + 1e-6], np.float32)[:, None]
    truth = rng.random((4, 500)) < 0.4
    level = np.clip(np.floor(values.astype(np.float64) * 128), 0, 128).astype(int)
    want = np.bincount(((np.arange(4)[:, None] * 129 + level) * 2 + truth).ravel(),
                       minlength=4 * 258)
    np.testing.assert_array_equal(ob.au_hist(values, truth), want)


# --- planted optima --------------------------------------------------------------------------------

def test_planted_windows_per_output_are_found():
    # Truth = the raw signal smoothed by a moving mean of 25 frames (valence) and 75 (arousal):
    # only those windows give CCC = 1.
    rng = np.random.default_rng(0)
    per_video, truth = {}, {}
    for i, n in enumerate([900, 1300, 700]):
        raw = 0.4 * rng.normal(size=(n, 2))
        lab = np.column_stack([sm.smooth(raw[:, :1], [0, n], "mean", 25)[:, 0],
                               sm.smooth(raw[:, 1:], [0, n], "mean", 75)[:, 0]])
        per_video[f"v{i}"] = (np.arange(1, n + 1), raw)
        truth[f"v{i}"] = (np.arange(1, n + 1), lab)      # well inside [-1, 1]: clipping is moot
    ps = PredictionSet.from_videos("VA", 8, per_video)
    params = tn.tune(ps, tn.ValTruth("VA", truth), windows=(1, 5, 15, 25, 35, 51, 75, 101))
    assert params.smooth == {"valence": {"kind": "mean", "window": 25},
                             "arousal": {"kind": "mean", "window": 75}}
    assert params.scores["tuned"] == pytest.approx(1.0, abs=1e-5)


def test_planted_au_thresholds_are_found():
    rng = np.random.default_rng(1)
    planted = np.array([20, 40, 64, 90, 110, 30, 50, 70, 80, 100, 60, 45]) / 128
    n = 4000
    probs = rng.random((n, 12)).astype(np.float32)
    truth = (probs >= planted).astype(float)
    ps = PredictionSet.from_videos("AU", 8, {"v": (np.arange(1, n + 1), probs)})
    params = tn.tune(ps, tn.ValTruth("AU", {"v": (np.arange(1, n + 1), truth)}))
    assert params.smooth["AU"]["window"] == 1             # per-frame truth: smoothing only hurts
    np.testing.assert_array_equal(params.thresholds, planted)
    assert params.scores["tuned"] == 1.0 and params.scores["raw"] < 0.9


@pytest.mark.parametrize("track", ["AU", "MTL"])
def test_au_thresholds_are_the_best_for_the_smoothed_outputs_they_decide(track):
    # The thresholds decide the SMOOTHED outputs (what `apply` gives), so they must be the best
    # per-AU thresholds for those, found here by brute force over the 127 candidates k / 128 with
    # F1 = 2TP / (2TP + FP + FN) written out; thresholds tuned on the raw outputs are not.
    ps, truth = case(track, np.random.default_rng(12), n_videos=4, noise=1.6)
    params = tn.tune(ps, truth, kinds=("mean",), windows=(1, 9, 25), bias=False)
    au = "AU"
    assert params.smooth[au]["window"] > 1               # smoothing matters here
    smoothed = params.apply(ps)
    target = truth.align(smoothed)[au]
    cols = layout(ps.track, ps.edition).groups[au].columns
    values = smoothed.outputs[target.rows, cols].astype(np.float64)      # (M, 12)
    labels = np.asarray(target.labels, bool)                              # (M, 12)
    candidates = np.arange(1, 128) / 128

    def f1(y, decided):                                 # (M,), (M, T) -> (T,)
        tp = (decided & y[:, None]).sum(0)
        fp = (decided & ~y[:, None]).sum(0)
        fn = (~decided & y[:, None]).sum(0)
        return np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)

    for j, t in enumerate(params.thresholds):
        best = f1(labels[:, j], values[:, j:j + 1] >= candidates).max()
        chosen = f1(labels[:, j], values[:, j:j + 1] >= np.array([t]))[0]
        assert chosen == pytest.approx(best, abs=1e-12), (j, t, chosen, best)


def test_planted_class_bias_is_recovered_in_its_decisions():
    rng = np.random.default_rng(2)
    n, c = 6000, 8
    probs = rng.dirichlet(np.ones(c), n).astype(np.float32)
    planted = np.array([0.0, 0.8, 1.2, 0.0, -0.5, 0.3, 0.6, -0.2])
    truth = dec.classes(probs, planted).astype(float)
    ps = PredictionSet.from_videos("EXPR", 10, {"v": (np.arange(1, n + 1), probs)})
    params = tn.tune(ps, tn.ValTruth("EXPR", {"v": (np.arange(1, n + 1), truth)}), windows=(1,))
    assert params.scores["raw"] < 0.9
    assert params.scores["tuned"] > 0.995
    agree = np.mean(dec.classes(probs, params.bias) == truth)
    assert agree > 0.995


def test_bias_sweep_matches_official_decisions():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(7) * 0.7, 3000)
    labels = rng.integers(0, 7, 3000)
    bias, value = ob.tune_bias(probs.T, labels, "EXPR", 2)
    official = metrics.score("EXPR", 2, dec.classes(probs, bias), labels).value
    assert value == pytest.approx(official, abs=1e-9)
    assert value >= metrics.score("EXPR", 2, dec.classes(probs), labels).value


# --- realistic: noisy per-frame outputs of a slowly changing truth --------------------------------

@pytest.mark.parametrize("track", ["VA", "EXPR", "AU", "MTL"])
def test_smoothing_tuned_on_val_improves_val_and_test(track, tmp_path):
    val, val_truth = case(track, np.random.default_rng(10), noise=1.6)
    test, test_truth = case(track, np.random.default_rng(11), noise=1.6, names="t{:03d}")
    params = tn.tune(val, val_truth, kinds=("mean", "gaussian", "median"),
                     windows=(1, 5, 15, 35, 75))
    assert params.scores["tuned"] > params.scores["raw"] + 0.05
    assert any(s["window"] > 1 for s in params.smooth.values())
    # The JSON beside the set, loaded back, applied unchanged to the test predictions.
    loaded = PostParams.load(params.save(tmp_path / "val.post.json"))
    assert loaded == params
    applied = loaded.apply(test)
    before = tn.evaluate(imp.impute(test, "linear"), test_truth).value
    after = tn.evaluate(applied, test_truth).value
    assert after > before + 0.05
    assert applied.decision.folded is True
    if track in ("AU", "MTL"):
        assert list(applied.decision.thresholds) == params.thresholds
    # On val, re-scoring the applied set gives exactly what tuning recorded.
    assert tn.evaluate(loaded.apply(val), val_truth).value == pytest.approx(
        params.scores["tuned"], abs=1e-12)


def test_image_tracks_are_not_smoothed():
    ps, truth = case("LSD", np.random.default_rng(4), n_videos=1)
    params = tn.tune(ps, truth)
    assert all(s["window"] == 1 for s in params.smooth.values())


# --- alignment, decoding, parameter files -------------------------------------------------------------

def test_truth_alignment_masks_sentinels_and_needs_every_annotated_frame():
    frames = np.arange(1, 7)
    lab = np.array([0, 1, -1, 2, -1, 3], float)
    probs = np.eye(8)[[0, 1, 1, 2, 2, 3]]
    ps = PredictionSet.from_videos("EXPR", 8, {"a": (frames, probs), "extra": ([1], probs[:1])})
    t = tn.ValTruth("EXPR", {"a": (frames, lab)}).align(ps)["EXPR"]
    assert t.rows.tolist() == [0, 1, 3, 5] and t.labels.tolist() == [0, 1, 2, 3]
    # unannotated frames may be absent; an annotated one may not
    short = PredictionSet.from_videos("EXPR", 8, {"a": (frames[[0, 1, 3, 5]], probs[[0, 1, 3, 5]])})
    assert tn.ValTruth("EXPR", {"a": (frames, lab)}).align(short)["EXPR"].rows.tolist() == \
        [0, 1, 2, 3]
    gap = PredictionSet.from_videos("EXPR", 8, {"a": (frames[:3], probs[:3])})
    with pytest.raises(AbawError, match="no row for 2 annotated EXPR frames"):
        tn.ValTruth("EXPR", {"a": (frames, lab)}).align(gap)
    with pytest.raises(AbawError, match="no rows for validation video b"):
        tn.ValTruth("EXPR", {"b": (frames, lab)}).align(ps)
    with pytest.raises(AbawError, match="found track EXPR, expected AU"):
        tn.ValTruth("AU", {"a": (frames, np.zeros((6, 12)))}).align(ps)


def test_decode_gives_what_the_metric_takes():
    o = np.array([[1.5, -0.25], [-3.0, 0.5]], np.float32)
    np.testing.assert_array_equal(dec.decide(layout("VA", 8), o), [[1.0, -0.25], [-1.0, 0.5]])
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45]])
    assert dec.classes(p).tolist() == [0, 1]
    assert dec.classes(p, [0.0, 0.0, np.log(2)]).tolist() == [0, 2]    # 0.2*2 < 0.5; 0.9 > 0.45
    a = np.array([[0.5, 0.49], [0.2, 0.9]])
    assert dec.active(a).tolist() == [[1, 0], [0, 1]]
    assert dec.active(a, [0.6, 0.1]).tolist() == [[0, 1], [0, 1]]
    mtl = dec.decide(layout("MTL", 7), np.full((2, 22), 0.5), Decision(thresholds=[0.6] * 12))
    assert set(mtl) == {"VA", "EXPR", "AU"} and mtl["AU"].sum() == 0
    # an applied set has its bias inside the probabilities: decide does not add it again
    assert dec.decide(layout("EXPR", 8), np.eye(8)[:2],
                      Decision(bias=[5.0] + [0] * 7, folded=True)).tolist() == [0, 1]
    assert {g: s.columns for g, s in layout("MTL", 7).groups.items()} == {
        "valence": slice(0, 1), "arousal": slice(1, 2), "EXPR": slice(2, 10), "AU": slice(10, 22)}
    with pytest.raises(AbawError, match="found 20 output columns, expected 22"):
        layout("MTL", 7).check_width(20)


def test_parameter_files_are_checked(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"track": "VA", "edition": 8, "smooth": {"valence":
                                                                        {"kind": "box", "window": 3}}}))
    with pytest.raises(AbawError, match="smoothing kind: found 'box'"):
        PostParams.load(bad)
    bad.write_text(json.dumps({"track": "VA", "edition": 8, "window": 3}))
    with pytest.raises(AbawError, match=r"p.json: found keys \['edition', 'track', 'window'\]"):
        PostParams.load(bad)
    bad.write_text("{not json")
    with pytest.raises(AbawError, match="p.json: found text that is not valid JSON"):
        PostParams.load(bad)
    ps = PredictionSet.from_videos("AU", 8, {"v": ([1, 2], np.full((2, 12), 0.5))})
    with pytest.raises(AbawError, match="found AU edition 8, expected VA edition 8"):
        PostParams("VA", 8).apply(ps)
    with pytest.raises(AbawError, match="field thresholds: found 3 values, expected 12"):
        PostParams("AU", 8, thresholds=[0.5] * 3).apply(ps)


def test_slow_helper_is_smooth():
    # The constructed truth changes slowly: neighbouring frames differ far less than the range.
    x = slow(np.random.default_rng(0), 2000, 2, 40)
    assert np.abs(np.diff(x, axis=0)).max() < 0.1 * np.ptp(x)


@pytest.mark.parametrize("track", ["VA", "EXPR", "AU", "MTL"])
@pytest.mark.parametrize("kind", ["mean", "median"])
def test_block_sweep_equals_scoring_the_gathered_columns(track, kind, monkeypatch):
    # The sweep decides block by block; scoring the whole smoothed columns must agree.
    monkeypatch.setattr(sm, "BLOCK", 50)
    ps, truth = case(track, np.random.default_rng(5), n_videos=3, mean_len=120)
    ps = imp.impute(ps, "linear")
    targets = truth.align(ps)
    for group, g in ps.layout.groups.items():
        gkind, x = g.kind, ps.outputs[:, g.columns]
        sweep = ob.Sweep(kind, x, ps.offsets, ps.imputed)
        for w in (1, 6, 15):
            fast = ob.decided_value(gkind, ob.decide(gkind, sweep, w, targets[group]),
                                    targets[group], track, ps.edition, x.shape[1])
            whole = sm.smooth_columns(x, ps.offsets, kind, w, ps.imputed)[:, targets[group].rows]
            assert fast == ob.group_value(gkind, whole, targets[group], track, ps.edition)


# --- windows are scored on parallel threads ------------------------------------------------------

def test_parallel_window_sweep_equals_the_serial_one(monkeypatch):
    val, truth = case("MTL", np.random.default_rng(10), noise=1.6)
    kw = dict(kinds=("mean", "gaussian", "median"), windows=(1, 5, 15, 35, 75))
    monkeypatch.setattr(parallel, "MAX_THREADS", 1)
    serial = tn.tune(val, truth, **kw).to_dict()
    monkeypatch.setattr(parallel, "MAX_THREADS", 4)
    for _ in range(5):
        assert tn.tune(val, truth, **kw).to_dict() == serial


def test_moving_mean_blocks_walked_concurrently_are_unchanged():
    import threading

    ps, _ = case("AU", np.random.default_rng(2), n_videos=3, mean_len=40000)
    smoother = sm.Smoother(ps.outputs, ps.offsets, imp.missing_rows(ps) | ps.imputed)
    windows = (1, 5, 31)
    expected = {w: [v.copy() for _, _, v in smoother.blocks(w, scale=128.0)] for w in windows}
    wrong = []

    def walk(w):
        for _ in range(20):
            for got, want in zip((v for _, _, v in smoother.blocks(w, scale=128.0)),
                                 expected[w], strict=True):
                if not np.array_equal(got, want, equal_nan=True):
                    wrong.append(w)
                    return
    threads = [threading.Thread(target=walk, args=(w,)) for w in windows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
