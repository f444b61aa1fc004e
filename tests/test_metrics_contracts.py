"""The metrics' full results, not only their headline value: every field of a Score (track,
edition, breakdown, frames scored and masked), per-video pooling, the Pearson tracks, and the
options a caller passes through. References: scikit-learn and numpy, written out here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from abaw import metrics, protocol


def sk_ccc(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    cov = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * cov / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


@pytest.mark.parametrize("seed", range(4))
def test_f1_per_column_matches_sklearn_with_either_zero_division(seed):
    rng = np.random.default_rng(seed)
    t = (rng.random((60, 5)) < 0.3).astype(int)
    p = (rng.random((60, 5)) < 0.4).astype(int)
    t[:, 4] = 0
    p[:, 4] = 0                                          # no positive anywhere: zero_division
    for zd in (0.0, 1.0):
        want = [f1_score(t[:, j], p[:, j], zero_division=zd) for j in range(5)]
        np.testing.assert_allclose(metrics.f1_per_column(t, p, zd), want, atol=1e-12)
    np.testing.assert_allclose(metrics.f1_per_column(t, p)[4], 0.0)


def test_a_constant_series_has_ccc_exactly_zero():
    x = np.full(7, 0.1)                                 # its mean is not exactly 0.1
    assert x.mean() != 0.1
    y = np.linspace(-1, 1, 7)
    assert metrics.ccc(x, y) == 0.0 and metrics.ccc(y, x) == 0.0
    assert metrics.ccc(x, x) == 0.0
    ints = np.array([1, 2, 4, 3])
    assert metrics.ccc(ints, ints[::-1]) == pytest.approx(sk_ccc(ints, ints[::-1]), abs=1e-12)


def test_pearson_against_numpy_and_zero_for_a_constant_side():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert metrics.pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert metrics.pearson(np.ones(5), np.arange(5)) == 0.0
    assert metrics.pearson(np.arange(5), np.ones(5)) == 0.0
    assert metrics.pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(
        np.corrcoef([1, 2, 3], [2, 4, 7])[0, 1], abs=1e-12)


def test_pearson_of_a_rounded_constant_is_zero_and_r_is_free_of_scale():
    x = np.full(7, 0.1)                        # deviations from its mean are rounding noise
    y = np.array([0.0, 1, 1, 2, 3, 5, 8])
    assert metrics.pearson(x, y) == 0.0 and metrics.pearson(y, x) == 0.0
    small = np.array([0.0, 0.01, 0.03, 0.02, 0.07])   # intensities of little spread
    other = np.array([0.2, 0.1, 0.4, 0.3, 0.5])
    want = np.corrcoef(small, other)[0, 1]
    for scale in (1.0, 1e-200, 1e200):         # squares that underflow or overflow alike
        assert metrics.pearson(small * scale, other) == pytest.approx(want, abs=1e-12)
        assert metrics.pearson(other, small * scale) == pytest.approx(want, abs=1e-12)


def test_pearson_mean_score_fields():
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    s = metrics.pearson_mean_score("ERI", p, t, 5)
    rs = [np.corrcoef(p[:, k], t[:, k])[0, 1] for k in range(3)]
    assert (s.track, s.edition, s.frames, s.masked) == ("ERI", 5, 9, 0)
    assert s.value == pytest.approx(np.mean(rs), abs=1e-12)
    assert list(s.parts) == ["r_0", "r_1", "r_2"]
    np.testing.assert_allclose(list(s.parts.values()), rs, atol=1e-12)
    for bad in (np.zeros((9, 2)), np.zeros(9)):
        with pytest.raises(metrics.AbawError, match=r"ERI: found shapes .* expected equal "
                                                    r"\(videos, intensities\)"):
            metrics.pearson_mean_score("ERI", bad, bad if bad.ndim == 1 else t, 5)


def test_va_score_fields_and_the_edition_1_2_sum():
    rng = np.random.default_rng(2)
    t = rng.uniform(-1, 1, (40, 2))
    t[[3, 7], 0] = -5                                     # masked frames (one value only)
    p = t + rng.normal(scale=0.3, size=t.shape)
    ok = ~(t == -5).any(1)
    cv, ca = sk_ccc(p[ok, 0], t[ok, 0]), sk_ccc(p[ok, 1], t[ok, 1])
    s = metrics.va_score(p, t, 8)
    assert (s.track, s.edition, s.frames, s.masked) == ("VA", 8, 38, 2)
    assert s.parts == pytest.approx({"CCC_V": cv, "CCC_A": ca}, abs=1e-12)
    assert s.value == pytest.approx((cv + ca) / 2, abs=1e-12)
    assert metrics.va_score(p, t, 2, "sum").value == pytest.approx(cv + ca, abs=1e-12)
    assert metrics.va_score(p, t, 2, "mean").value == pytest.approx((cv + ca) / 2, abs=1e-12)
    assert metrics.va_score(p, t, 3, "sum").value == pytest.approx((cv + ca) / 2, abs=1e-12)


@pytest.mark.parametrize("edition", [2, 8])
def test_expr_score_fields(edition):
    rng = np.random.default_rng(edition)
    names = protocol.expr_classes(edition)
    t = rng.integers(0, len(names), 80)
    t[:5] = -1
    p = np.where(rng.random(80) < 0.6, t, rng.integers(0, len(names), 80))
    p[:5] = 0
    ok = t >= 0
    f1 = f1_score(t[ok], p[ok], labels=range(len(names)), average=None, zero_division=0)
    acc = np.mean(t[ok] == p[ok])
    s = metrics.expr_score(p, t, edition)
    assert (s.track, s.edition, s.frames, s.masked) == ("EXPR", edition, 75, 5)
    assert s.parts["F1"] == pytest.approx(f1.mean()) and s.parts["accuracy"] == pytest.approx(acc)
    assert [k for k in s.parts if k.startswith("F1_")] == [f"F1_{n}" for n in names]
    np.testing.assert_allclose([s.parts[f"F1_{n}"] for n in names], f1, atol=1e-12)


@pytest.mark.parametrize("edition", [2, 8])
def test_au_score_fields(edition):
    names = protocol.au_names(edition)
    rng = np.random.default_rng(edition)
    t = (rng.random((60, len(names))) < 0.3).astype(int)
    p = np.where(rng.random(t.shape) < 0.8, t, 1 - t)
    t[[4, 9, 11], 2] = -1                                 # the AU sentinel masks these rows
    ok = (t >= 0).all(axis=1)
    f1 = [f1_score(t[ok, j], p[ok, j], zero_division=0) for j in range(len(names))]
    s = metrics.au_score(p, t, edition)
    assert (s.track, s.edition, s.frames, s.masked) == ("AU", edition, 57, 3)
    assert s.parts["F1"] == pytest.approx(np.mean(f1), abs=1e-12)
    assert s.parts["accuracy"] == pytest.approx(np.mean(t[ok] == p[ok]), abs=1e-12)
    assert [k for k in s.parts if k.startswith("F1_")] == [f"F1_{n}" for n in names]
    np.testing.assert_allclose([s.parts[f"F1_{n}"] for n in names], f1, atol=1e-12)


def test_by_default_a_class_absent_from_both_sides_has_f1_zero():
    t = np.array([1, 2, 1, 2])                            # class 0 neither true nor predicted
    assert metrics.f1_per_class(t, t, 3).tolist() == [0.0, 1.0, 1.0]
    assert metrics.expr_score(t, t, 8).value == pytest.approx(2 / 8)
    assert metrics.macro_f1_score("LSD", t, t, 4).value == pytest.approx(2 / 6)
    assert metrics.class_values_from_confusion("EXPR", 8, np.diag([0, 2, 2] + [0] * 5)) == \
        pytest.approx(2 / 8)
    a = np.ones((4, 12), int)
    a[:, 0] = a[0] = 0                                    # AU1 never active
    assert metrics.f1_per_column(a, a)[:2].tolist() == [0.0, 1.0]
    assert metrics.au_score(a, a, 8).value == pytest.approx(11 / 12)
    assert metrics.au_terms_from_counts(8, [0, 3], [0, 0], [0, 0], [4, 1]).tolist() == [0.0, 1.0]


def test_one_wrong_frame_alone_has_f1_zero_whatever_zero_division():
    t = np.zeros((5, 3), int)
    p = t.copy()
    p[0, 0] = 1                                           # AU 0: one false positive only
    t[1, 1] = 1                                           # AU 1: one false negative only
    assert metrics.f1_per_column(t, p, 1.0).tolist() == [0.0, 0.0, 1.0]
    # class 0: 1 right, 1 missed (2/3); class 1: one false positive; class 2: nothing
    assert metrics.f1_per_class([0, 0], [0, 1], 3, 1.0) == pytest.approx([2 / 3, 0.0, 1.0])


@pytest.mark.parametrize("n", [1, 2, 30])
def test_au_terms_are_each_aus_share_of_the_official_score(n):
    rng = np.random.default_rng(n)
    t = (rng.random((n, 12)) < 0.4).astype(int)
    p = (rng.random((n, 12)) < 0.4).astype(int)
    counts = [(t & p).sum(0), ((1 - t) & p).sum(0), (t & (1 - p)).sum(0),
              ((1 - t) & (1 - p)).sum(0)]
    f1 = np.array([f1_score(t[:, j], p[:, j], zero_division=0) for j in range(12)])
    for edition in (2, 8):                  # editions 1-2: 0.5 F1 + 0.5 the AU's accuracy
        want = 0.5 * f1 + 0.5 * (t == p).mean(0) if edition <= 2 else f1
        np.testing.assert_allclose(metrics.au_terms_from_counts(edition, *counts), want,
                                   atol=1e-12)


@pytest.mark.parametrize("track,edition", [("LSD", 4), ("CE", 8)])
def test_macro_f1_score_fields(track, edition):
    names = protocol.rules(track, edition).names
    rng = np.random.default_rng(3)
    t = rng.integers(0, len(names), 50).astype(float)
    t[-3:] = -1                                           # the class sentinel masks these
    p = np.where(rng.random(50) < 0.5, np.maximum(t, 0), rng.integers(0, len(names), 50))
    ok = t >= 0
    f1 = f1_score(t[ok], p[ok], labels=range(len(names)), average=None, zero_division=0)
    s = metrics.macro_f1_score(track, p, t, edition)
    assert (s.track, s.edition, s.frames, s.masked) == (track, edition, 47, 3)
    assert s.value == pytest.approx(f1.mean(), abs=1e-12) == s.parts["F1"]
    assert s.parts["accuracy"] == pytest.approx(np.mean(t[ok] == p[ok]), abs=1e-12)
    np.testing.assert_allclose([s.parts[f"F1_{n}"] for n in names], f1, atol=1e-12)
    one = metrics.macro_f1_score(track, [2], [2], edition, zero_division=1.0)
    assert one.value == 1.0 and one.parts["accuracy"] == 1.0


def test_mtl_score_fields_and_zero_division_reaches_each_task():
    rng = np.random.default_rng(4)
    n = 30
    true = {"VA": rng.uniform(-1, 1, (n, 2)), "EXPR": rng.integers(0, 7, n),  # never Other
            "AU": (rng.random((n, 12)) < 0.3).astype(int)}
    true["AU"][:, 0] = 0                                  # an AU never active
    true["VA"][:4] = -5
    pred = {"VA": true["VA"] + 0.2, "EXPR": true["EXPR"].copy(), "AU": true["AU"].copy()}
    for zd in (0.0, 1.0):
        s = metrics.mtl_score(pred, true, 7, zd)
        va = metrics.va_score(pred["VA"], true["VA"], 7)
        ex = metrics.expr_score(pred["EXPR"], true["EXPR"], 7, zd)
        au = metrics.au_score(pred["AU"], true["AU"], 7, zd)
        assert (s.track, s.edition, s.frames, s.masked) == ("MTL", 7, n, 0)
        assert s.value == pytest.approx(va.value + ex.value + au.value, abs=1e-12)
        assert s.parts["VA"] == va.value and s.parts["EXPR"] == ex.value
        assert s.parts["AU"] == au.value and s.parts["AU_F1_AU1"] == zd
        assert s.parts["EXPR_F1_Other"] == zd
    assert metrics.mtl_score(pred, true, 7, 1.0).value > metrics.mtl_score(pred, true).value
    assert metrics.mtl_score(pred, true).edition == max(protocol.editions_with("MTL"))


@pytest.mark.parametrize("most", ["VA", "EXPR", "AU"])
def test_mtl_frames_are_those_of_the_task_annotated_most(most):
    n = 20
    true = {"VA": np.linspace(-1, 1, 2 * n).reshape(n, 2), "EXPR": np.arange(n) % 8,
            "AU": (np.arange(n * 12).reshape(n, 12) % 3 == 0).astype(int)}
    pred = {"VA": np.zeros((n, 2)), "EXPR": np.zeros(n, int), "AU": np.zeros((n, 12), int)}
    unannotated = {k: 1 if k == most else 4 for k in true}
    true["VA"][:unannotated["VA"], 0] = -5
    true["EXPR"][:unannotated["EXPR"]] = -1
    true["AU"][:unannotated["AU"], 5] = -1
    assert metrics.mtl_score(pred, true, 7).frames == n - 1


def test_class_values_of_one_frame():
    cm = np.zeros((7, 7))
    cm[2, 2] = 1
    # editions 1-2: 0.67 F1 + 0.33 accuracy; one right frame has accuracy 1
    v = metrics.class_values_from_confusion("EXPR", 2, cm, zero_division=1.0)
    assert v == pytest.approx(0.67 * 1.0 + 0.33 * 1.0)


def decided_pair(track, n, rng):
    """(prediction, truth) of n frames, decoded as `score` takes them, two frames unannotated,
    a class / AU on neither side (zero_division counts); MTL: dicts by task."""
    if track == "VA":
        t = rng.uniform(-1, 1, (n, 2))
        p = t + rng.normal(scale=0.4, size=t.shape)
        t[:2, 1] = -5
        return p, t
    if track == "EXPR":
        t = rng.integers(0, 7, n)                         # never Other
        p = np.where(rng.random(n) < 0.6, t, 0)
        t[:2] = -1
        return p, t
    if track == "AU":
        t = (rng.random((n, 12)) < 0.3).astype(int)
        t[:, 0] = 0                                       # AU1 never active
        p = np.where(rng.random(t.shape) < 0.8, t, 1 - t)
        p[:, 0] = 0
        t[:2, 4] = -1
        return p, t
    tasks = {k: decided_pair(k, n, rng) for k in ("VA", "EXPR", "AU")}
    return {k: v[0] for k, v in tasks.items()}, {k: v[1] for k, v in tasks.items()}


@pytest.mark.parametrize("track,edition", [("VA", 8), ("EXPR", 8), ("AU", 8), ("MTL", 7)])
def test_per_video_pooling_averages_the_videos(track, edition):
    rng = np.random.default_rng(5)
    videos = {f"v{i}": decided_pair(track, n, rng) for i, n in enumerate((20, 35, 12))}
    per_video = metrics.MetricCollector(track, edition, pooling="per_video", zero_division=1.0)
    pooled = metrics.MetricCollector(track, edition, zero_division=1.0)
    for v, (p, t) in videos.items():
        per_video.add(v, p, t)
        pooled.add(v, p, t)
    each = [metrics.score(track, edition, p, t, zero_division=1.0) for p, t in videos.values()]
    s = per_video.compute()
    assert (s.track, s.edition) == (track, edition)
    assert track == "MTL" or all(e.masked == 2 for e in each)
    assert s.value == pytest.approx(np.mean([e.value for e in each]), abs=1e-12)
    assert s.frames == sum(e.frames for e in each) and s.masked == sum(e.masked for e in each)
    assert s.parts == pytest.approx({k: np.mean([e.parts[k] for e in each]) for k in each[0].parts})
    if track == "MTL":
        cat = {k: np.concatenate([p[k] for p, _ in videos.values()]) for k in ("VA", "EXPR", "AU")}
        tcat = {k: np.concatenate([t[k] for _, t in videos.values()]) for k in ("VA", "EXPR", "AU")}
    else:
        cat = np.concatenate([p for p, _ in videos.values()])
        tcat = np.concatenate([t for _, t in videos.values()])
    want = metrics.score(track, edition, cat, tcat, zero_division=1.0)
    got = pooled.compute()
    assert got.value == pytest.approx(want.value, abs=1e-12) and got.frames == want.frames
    with pytest.raises(metrics.AbawError, match="video v0: added twice"):
        pooled.add("v0", *videos["v0"])
    one = metrics.MetricCollector(track, edition, pooling="per_video", zero_division=1.0)
    one.add("v0", *videos["v0"])
    assert one.compute().value == pytest.approx(each[0].value, abs=1e-12)
