"""Official metrics against sklearn and an independent float64 reference, and hand-computed cases."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from abaw import metrics
from abaw.core.layout import layout
from abaw.errors import AbawError

SEEDS = range(25)


def reference_ccc(x, y):
    # Independent formulation: Lin's CCC from Pearson r and the moments (population, ÷N).
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    sx, sy = x.std(), y.std()
    r = np.corrcoef(x, y)[0, 1]
    return 2 * r * sx * sy / (sx**2 + sy**2 + (x.mean() - y.mean()) ** 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_ccc_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5000))
    y = rng.normal(size=n)
    x = 0.6 * y + rng.normal(scale=rng.uniform(0.1, 2), size=n) + rng.normal()
    assert abs(metrics.ccc(x, y) - reference_ccc(x, y)) <= 1e-12


def test_ccc_hand_computed():
    # x = [1, 2, 3], y = [2, 4, 6]: mx 2, my 4, var_x 2/3, var_y 8/3, cov 4/3
    # CCC = 2 * 4/3 / (2/3 + 8/3 + 4) = (8/3) / (22/3) = 8/22
    assert metrics.ccc([1, 2, 3], [2, 4, 6]) == pytest.approx(8 / 22, abs=1e-15)
    assert metrics.ccc([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0, abs=1e-15)


def test_ccc_constant_prediction_is_zero_not_nan():
    assert metrics.ccc(np.full(10, 0.3), np.linspace(-1, 1, 10)) == 0.0
    assert metrics.ccc(np.full(10, 0.3), np.full(10, 0.3)) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_classes", [7, 8])
def test_f1_per_class_matches_sklearn(seed, n_classes):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    true = rng.integers(0, n_classes, n)
    pred = np.where(rng.random(n) < 0.5, true, rng.integers(0, n_classes, n))
    if seed % 3 == 0:  # a class absent from both truth and prediction
        true[true == 2] = 0
        pred[pred == 2] = 0
    expected = f1_score(true, pred, labels=list(range(n_classes)), average=None, zero_division=0)
    got = metrics.f1_per_class(true, pred, n_classes)
    assert np.max(np.abs(got - expected)) <= 1e-12


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("edition", [1, 2, 3, 10])
def test_expr_score_every_edition(seed, edition):
    rng = np.random.default_rng(seed)
    k = 7 if edition <= 2 else 8
    n = 2000
    true = rng.integers(0, k, n)
    true[rng.random(n) < 0.1] = -1  # unannotated frames
    pred = np.where(rng.random(n) < 0.4, np.maximum(true, 0), rng.integers(0, k, n))
    s = metrics.score("EXPR", edition, pred, true)
    keep = true != -1
    f1 = f1_score(true[keep], pred[keep], labels=list(range(k)), average="macro", zero_division=0)
    acc = accuracy_score(true[keep], pred[keep])
    expected = 0.67 * f1 + 0.33 * acc if edition <= 2 else f1
    assert abs(s.value - expected) <= 1e-12
    assert s.frames == keep.sum() and s.masked == (~keep).sum()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("edition", [1, 2, 3, 8])
@pytest.mark.parametrize("variant", ["flattened", "exact_match"])
def test_au_score_every_edition(seed, edition, variant):
    rng = np.random.default_rng(seed)
    k = 8 if edition == 1 else 12
    n = 1500
    true = (rng.random((n, k)) < 0.3).astype(int)
    true[rng.random(n) < 0.1, int(rng.integers(k))] = -1
    pred = np.where(rng.random((n, k)) < 0.7, np.maximum(true, 0), rng.integers(0, 2, (n, k)))
    s = metrics.score("AU", edition, pred, true, au_accuracy=variant)
    keep = ~np.any(true == -1, axis=1)
    t, p = true[keep], pred[keep]
    mean_f1 = np.mean([f1_score(t[:, j], p[:, j], zero_division=0) for j in range(k)])
    acc = np.mean(t == p) if variant == "flattened" else np.mean(np.all(t == p, axis=1))
    expected = 0.5 * mean_f1 + 0.5 * acc if edition <= 2 else mean_f1
    assert abs(s.value - expected) <= 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_va_score(seed):
    rng = np.random.default_rng(seed)
    true = rng.uniform(-1, 1, (3000, 2))
    true[rng.random(3000) < 0.05, 0] = -5  # invalid if either value is -5
    true[rng.random(3000) < 0.05, 1] = -5
    pred = np.clip(true * 0.7 + rng.normal(scale=0.3, size=true.shape), -1, 1)
    keep = ~np.any(true == -5, axis=1)
    cv = reference_ccc(pred[keep, 0], true[keep, 0])
    ca = reference_ccc(pred[keep, 1], true[keep, 1])
    s = metrics.score("VA", 10, pred, true)
    assert abs(s.value - (cv + ca) / 2) <= 1e-12
    assert abs(metrics.score("VA", 1, pred, true, va_combine="sum").value - (cv + ca)) <= 1e-12


def test_mtl_is_sum_of_tasks():
    rng = np.random.default_rng(0)
    n = 1000
    true = {"VA": rng.uniform(-1, 1, (n, 2)), "EXPR": rng.integers(0, 8, n),
            "AU": rng.integers(0, 2, (n, 12))}
    true["EXPR"][:100] = -1  # a row may miss some tasks only
    pred = {"VA": true["VA"] * 0.5, "EXPR": np.maximum(true["EXPR"], 0),
            "AU": 1 - true["AU"]}
    s = metrics.score("MTL", 7, pred, true)
    keep = true["EXPR"] != -1
    parts = [(reference_ccc(pred["VA"][:, 0], true["VA"][:, 0])
              + reference_ccc(pred["VA"][:, 1], true["VA"][:, 1])) / 2,
             f1_score(true["EXPR"][keep], pred["EXPR"][keep], labels=list(range(8)),
                      average="macro", zero_division=0),
             np.mean([f1_score(true["AU"][:, j], pred["AU"][:, j], zero_division=0)
                      for j in range(12)])]
    assert abs(s.value - sum(parts)) <= 1e-12
    assert s.parts["EXPR"] == pytest.approx(1.0)  # perfect on the annotated rows


@pytest.mark.parametrize("track,edition,k", [("LSD", 4, 6), ("CE", 6, 7), ("AH", 8, 2),
                                             ("VD", 10, 2)])
def test_macro_f1_tracks(track, edition, k):
    rng = np.random.default_rng(k)
    true = rng.integers(0, k, 800)
    pred = np.where(rng.random(800) < 0.5, true, rng.integers(0, k, 800))
    expected = f1_score(true, pred, labels=list(range(k)), average="macro", zero_division=0)
    assert abs(metrics.score(track, edition, pred, true).value - expected) <= 1e-12


def test_pearson_mean_for_intensity_tracks():
    rng = np.random.default_rng(1)
    true = rng.random((40, 6))
    pred = true + rng.normal(scale=0.2, size=true.shape)
    expected = np.mean([np.corrcoef(pred[:, k], true[:, k])[0, 1] for k in range(6)])
    assert abs(metrics.score("EMI", 6, pred, true).value - expected) <= 1e-12


def test_absent_class_counts_in_the_mean_with_zero():
    # 8 classes, only classes 0 and 1 present and predicted perfectly: F1 = (1 + 1 + 6 * 0) / 8
    true = np.array([0, 1, 0, 1])
    assert metrics.score("EXPR", 3, true, true).value == pytest.approx(2 / 8)
    assert metrics.score("EXPR", 3, true, true, zero_division=1).value == pytest.approx(1.0)


def test_empty_after_masking_is_an_error():
    with pytest.raises(AbawError, match="no valid frames"):
        metrics.score("EXPR", 10, np.zeros(3), np.full(3, -1))


@pytest.mark.parametrize("pred,msg", [(np.array([0.2, 0.9, 0.1]), "non-integer"),
                                       (np.array([0, 8, 1]), "expected 0..7"),
                                       (np.array([0, 1]), "expected 3")])
def test_bad_expr_predictions(pred, msg):
    with pytest.raises(AbawError, match=msg):
        metrics.score("EXPR", 10, pred, np.array([0, 1, 2]))


def test_au_probabilities_rejected():
    with pytest.raises(AbawError, match="0/1"):
        metrics.score("AU", 10, np.full((2, 12), 0.7), np.zeros((2, 12)))


def message(f, *args) -> str:
    with pytest.raises(AbawError) as e:
        f(*args)
    return str(e.value)


@pytest.mark.parametrize("track,edition,width", [("VA", 10, 2), ("EXPR", 10, 0), ("AU", 10, 12),
                                                 ("LSD", 4, 0), ("AH", 8, 0)])
def test_a_frame_count_mismatch_names_the_track(track, edition, width):
    pred, true = (np.zeros((3, width), int), np.zeros((4, width), int)) if width else \
        (np.zeros(3, int), np.zeros(4, int))
    assert message(metrics.score, track, edition, pred, true) == (
        f"{track}: found 3 predicted frames, expected 4 (one per ground-truth frame)")


def test_bad_classes_name_the_side_they_are_on():
    t, p = np.array([0, 1, 2]), np.array([0, 1, 1])
    assert message(metrics.score, "EXPR", 10, np.array([0, 8, 1]), t) == (
        "prediction: found class 8, expected 0..7")
    assert message(metrics.score, "EXPR", 10, p, np.array([0, 9, 1])) == (
        "truth: found class 9, expected 0..7")


# (-1 in the truth is the sentinel: its row is masked, never refused)
@pytest.mark.parametrize("side,bad", [("prediction", 2), ("prediction", -1), ("truth", 2)])
def test_au_values_other_than_0_1_are_refused_naming_the_side(side, bad):
    ok = (np.arange(24).reshape(2, 12) % 2).astype(np.int64)   # both 0 and 1 present
    wrong = ok.copy()
    wrong[1, 3] = bad
    pred, true = (wrong, ok) if side == "prediction" else (ok, wrong)
    assert message(metrics.score, "AU", 10, pred, true) == (
        f"AU {side}: found values other than 0/1 (probabilities?), expected 0/1")
    assert message(metrics.score, "AU", 10, ok.astype(float) * 0.7, ok) == (
        "AU prediction: found values other than 0/1 (probabilities?), expected 0/1")
    assert "AU truth: found values other than 0/1" in message(metrics.f1_per_column, [[2]], [[1]])


def test_unknown_choice_rejected():
    with pytest.raises(AbawError, match="metric option"):
        metrics.score("EXPR", 10, [0], [0], au_acuracy="flattened")


def test_valid_mask_rules():
    va = np.array([[0.1, 0.2], [-5, 0.3], [0.2, -5], [np.nan, 0.1]])
    assert metrics.valid_mask("VA", va).tolist() == [True, False, False, False]
    au = np.array([[0] * 12, [1] * 11 + [-1]])
    assert metrics.valid_mask("AU", au).tolist() == [True, False]
    assert metrics.valid_mask("EXPR", [3, -1, 0]).tolist() == [True, False, True]


@pytest.mark.parametrize("pooling", ["pooled", "per_video"])
def test_collector(pooling):
    rng = np.random.default_rng(3)
    col = metrics.MetricCollector("VA", 10, pooling=pooling)
    videos = []
    for v in range(5):
        t = rng.uniform(-1, 1, (200, 2))
        p = t + rng.normal(scale=0.5, size=t.shape)
        col.add(f"v{v}", p, t)
        videos.append((p, t))
    got = col.compute().value
    if pooling == "pooled":
        p = np.concatenate([a for a, _ in videos])
        t = np.concatenate([b for _, b in videos])
        expected = (reference_ccc(p[:, 0], t[:, 0]) + reference_ccc(p[:, 1], t[:, 1])) / 2
    else:
        expected = np.mean([(reference_ccc(p[:, 0], t[:, 0]) + reference_ccc(p[:, 1], t[:, 1])) / 2
                            for p, t in videos])
    assert abs(got - expected) <= 1e-12


@pytest.mark.parametrize("variant", ["flattened", "exact_match"])
def test_au_score_is_the_same_for_every_integer_or_bool_dtype(variant):
    rng = np.random.default_rng(8)
    t = (rng.random((50, 12)) < 0.3).astype(np.int64)
    p = np.where(rng.random(t.shape) < 0.8, t, 1 - t)
    mean_f1 = np.mean([f1_score(t[:, j], p[:, j], zero_division=0) for j in range(12)])
    acc = np.mean(t == p) if variant == "flattened" else np.mean(np.all(t == p, axis=1))
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64, bool, np.float32):
        for other in (dtype, np.int64):
            s = metrics.score("AU", 2, p.astype(dtype), t.astype(other), au_accuracy=variant)
            assert s.value == pytest.approx(0.5 * mean_f1 + 0.5 * acc, abs=1e-12)


def test_score_outputs_decides_by_argmax_and_scores_with_the_options():
    rng = np.random.default_rng(9)
    probs = rng.dirichlet(np.ones(8), 40)
    probs[:, 7] = 0                                       # Other never predicted ...
    labels = rng.integers(0, 7, (40, 1))                  # ... nor true
    labels[:3] = -1
    ok = labels[:, 0] >= 0
    for zd in (0.0, 1.0):
        want = f1_score(labels[ok, 0], probs[ok].argmax(1), labels=list(range(8)),
                        average="macro", zero_division=zd)
        s = metrics.score_outputs(layout("EXPR", 8), probs, labels, zero_division=zd)
        assert s.value == pytest.approx(want, abs=1e-12) and (s.frames, s.masked) == (37, 3)
