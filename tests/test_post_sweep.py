"""Tuning records its sweep: every window tried, with the value it gave the group, and the chosen
one is the best of them."""

import json

import numpy as np
import pytest
from post_cases import case

from abaw.post.params import PostParams
from abaw.post.tune import evaluate, tune


def test_the_sweep_holds_each_windows_score_and_the_choice_is_its_best(tmp_path):
    ps, truth = case("VA", np.random.default_rng(4), n_videos=4)
    params = tune(ps, truth, kinds=("mean", "median"), windows=(1, 5, 15))
    sweep = params.scores["sweep"]
    assert set(sweep) == {"valence", "arousal"}
    assert [w for w, _ in sweep["valence"]["mean"]] == [1, 5, 15]
    assert [w for w, _ in sweep["valence"]["median"]] == [5, 15]   # window 1 once: the input
    for group, part in (("valence", "CCC_V"), ("arousal", "CCC_A")):
        for kind, curve in sweep[group].items():
            for w, value in curve:
                one = PostParams("VA", ps.edition, smooth={group: {"kind": kind, "window": w}})
                assert value == pytest.approx(evaluate(one.apply(ps), truth).parts[part],
                                              abs=1e-6)
        best = max((v, k, w) for k, c in sweep[group].items() for w, v in c)
        assert params.smooth[group] == {"kind": best[1], "window": best[2]}
    # the record survives the JSON round trip, and an older file without it still loads
    again = PostParams.load(params.save(tmp_path / "post.json"))
    assert again.scores["sweep"] == json.loads(json.dumps(sweep))
    old = params.to_dict()
    del old["scores"]["sweep"]
    assert PostParams.from_dict(old).scores.get("sweep") is None
