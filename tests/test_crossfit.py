"""Cross-fitting: no validation video is scored by parameters tuned on it, people of one raw
video stay together, and on pure noise the cross-fitted gain is ~0 where the in-sample one is not."""

import numpy as np
import pytest
from post_cases import case

from abaw import metrics
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import crossfit as cf
from abaw.post import impute as imp
from abaw.post.params import PostParams
from abaw.post.tune import ValTruth, evaluate, tune

WINDOWS = (1, 5, 15)


def paired(track, seed, n_videos=9, **kw):
    """A case whose videos are named like Aff-Wild2's: some raw videos show two people."""
    ps, truth = case(track, np.random.default_rng(seed), n_videos=n_videos, **kw)
    names = {}
    for i, v in enumerate(ps.videos):
        raw = f"{10 + i // 2 if i < 4 else 20 + i}-30-256x144"
        names[v] = raw + ("_left" if i < 4 and i % 2 == 0 else "_right" if i < 4 else "")
    renamed = PredictionSet.from_videos(ps.track, ps.edition,
                                        {names[v]: ps.video(v) for v in ps.videos}, ps.columns)
    return renamed, ValTruth(truth.track, {names[v]: y for v, y in truth.per_video.items()})


@pytest.mark.parametrize("track", ["VA", "EXPR", "AU", "MTL", "LSD"])
def test_no_video_is_scored_by_parameters_tuned_on_it(monkeypatch, track):
    ps, truth = paired(track, 0)
    tuned_on, scored = {}, {}                      # id(params) -> units seen
    real_tune, real_apply = cf.tune, PostParams.apply

    def units_of(videos, frames_of):
        if track == "LSD":
            return {f"{v}:{int(f)}" for v in videos for f in frames_of(v)}
        return set(videos)

    def spy_tune(p, t, **kw):
        params = real_tune(p, t, **kw)
        tuned_on[id(params)] = units_of(t.per_video, lambda v: t.per_video[v][0]) | \
            units_of(p.videos, lambda v: p.video(v)[0])
        return params

    def spy_apply(self, p):
        scored.setdefault(id(self), set()).update(units_of(p.videos, lambda v: p.video(v)[0]))
        return real_apply(self, p)

    monkeypatch.setattr(cf, "tune", spy_tune)
    monkeypatch.setattr(PostParams, "apply", spy_apply)
    result = cf.crossfit(ps, truth, k=4, seed=3, windows=WINDOWS)
    assert len(tuned_on) == len(result.folds) >= 2
    everything = cf._units(ps, truth)
    for key, units in scored.items():
        assert units and not units & tuned_on[key]        # disjoint
    assert set().union(*scored.values()) == set(everything)     # covering
    assert set(result.pairs) <= set(everything)             # (units with a valid label)
    for fold in result.folds:                             # the record says the same
        assert not set(fold.tuned_on) & set(fold.scored)
        assert set(fold.tuned_on) | set(fold.scored) == set(everything)
    if track != "LSD":                                    # the people of a raw video together
        for fold in result.folds:
            assert ("10-30-256x144_left" in fold.scored) == ("10-30-256x144_right" in fold.scored)


@pytest.mark.parametrize("track", ["VA", "EXPR", "AU", "MTL", "LSD"])
def test_estimate_is_the_official_score_of_the_held_out_decisions(track):
    ps, truth = paired(track, 1)
    result = cf.crossfit(ps, truth, k=3, seed=0, windows=WINDOWS)
    # each held-out video decided by its fold's own parameters, scored pooled by the metric
    by_unit = {}
    # images are filled once over the whole set (their neighbours are other images)
    base = imp.impute(ps, "linear") if track == "LSD" else ps
    for fold in result.folds:
        applied = fold.params.apply(base)
        for u, pair in cf.video_pairs(applied, truth).items():
            if u in fold.scored:
                by_unit[u] = pair
    collector = metrics.MetricCollector(ps.track, ps.edition)
    for u in cf._units(ps, truth):
        if u in by_unit:                     # (an image without a valid label has no pair)
            collector.add(u, *by_unit[u])
    assert result.estimate.value == pytest.approx(collector.compute().value, abs=1e-9)
    # the saved held-out set decodes the same way on its own
    again = cf.video_pairs(result.held_out, truth)
    c2 = metrics.MetricCollector(ps.track, ps.edition)
    for u, pair in again.items():
        c2.add(u, *pair)
    assert c2.compute().value == pytest.approx(result.estimate.value, abs=1e-9)


@pytest.mark.parametrize("track", ["VA", "EXPR", "AU", "MTL", "LSD"])
def test_video_pairs_pool_to_the_tuning_score(track):
    ps, truth = case(track, np.random.default_rng(2), n_videos=5)
    params = tune(ps, truth, windows=WINDOWS)
    applied = params.apply(ps)
    collector = metrics.MetricCollector(ps.track, ps.edition)
    for u, pair in cf.video_pairs(applied, truth).items():
        collector.add(u, *pair)
    assert collector.compute().value == pytest.approx(params.scores["tuned"], abs=1e-9)
    assert collector.compute().value == pytest.approx(evaluate(applied, truth).value, abs=1e-9)


def test_groups_keep_raw_videos_together_and_are_seeded():
    ids = ["1-30-1x1_left", "1-30-1x1_right", "2", "3", "4", "5-1_left", "5-1_right", "6"]
    groups = cf.unit_groups(ids, 3, seed=7, edition=8)
    assert sorted(u for g in groups for u in g) == sorted(ids)
    assert len(groups) == 3
    where = {u: i for i, g in enumerate(groups) for u in g}
    assert where["1-30-1x1_left"] == where["1-30-1x1_right"]
    assert where["5-1_left"] == where["5-1_right"]
    assert groups == cf.unit_groups(ids, 3, seed=7, edition=8)
    assert len(cf.unit_groups(ids[:3], 5, seed=0, edition=8)) == 2   # at most one per raw video
    with pytest.raises(AbawError, match="at least 2"):
        cf.unit_groups(["1_left", "1_right"], 5, seed=0, edition=8)


def test_on_pure_noise_the_cross_fitted_gain_is_zero_and_the_in_sample_gain_is_not():
    # Outputs independent of the truth: nothing post-processing learns can carry over, so any
    # gain is what tuning fitted to these very videos (expression classes are balanced, so even
    # a class prior learnt by the bias cannot help).
    in_sample, crossed = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        ps, truth = case("EXPR", rng, n_videos=10, mean_len=300, face_missing=0)
        noise = rng.random(ps.outputs.shape).astype(np.float32)
        ps = ps.replace(outputs=noise / noise.sum(axis=1, keepdims=True))
        params = tune(ps, truth, windows=(1, 3, 5, 9))
        result = cf.crossfit(ps, truth, k=5, seed=seed, windows=(1, 3, 5, 9))
        in_sample.append(params.scores["tuned"] - params.scores["raw"])
        crossed.append(result.estimate.value - params.scores["raw"])
    assert np.mean(in_sample) > 0.01
    assert np.mean(crossed) < 0.005
