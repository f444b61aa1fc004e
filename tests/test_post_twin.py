"""Post-processing on real model outputs: two EXPR heads trained on the `small` twin (slow:
`make test-slow`). Smoothing a per-frame model's outputs must raise its validation score, and the
ensemble of the two heads, weighted on validation, must be at least as good as the better head.
"""

from pathlib import Path

import pytest

from abaw import pipeline
from abaw.cli.demo import twin_for
from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet
from abaw.data import load_index
from abaw.post import ensemble as ens
from abaw.post.tune import ValTruth, evaluate, tune
from tracks import get_track


@pytest.mark.slow
def test_smoothing_and_ensembling_two_heads_on_the_twin(tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "learning-bars"   # shared with the learning bars
    root = twin_for("expr", base, quiet=True)
    val = {}
    for head in ("mlp", "tcn"):                 # per frame / temporal
        out = pipeline.run_track(get_track("expr"), root, recipe="demo", overrides=[f"model.head={head}"],
                                 work=base / "runs", out=base / f"submissions-{head}",
                                 quiet=True)
        val[head] = PredictionSet.load(Path(out.run_dir) / "predictions" / "val.npz")
    truth = ValTruth.from_index(load_index(root), "EXPR", "val")

    # Smoothing the per-frame head: tuned on validation, it must gain clearly.
    per_frame = tune(val["mlp"], truth)
    print(f"mlp: raw {per_frame.scores['raw']:.3f} -> smoothed {per_frame.scores['tuned']:.3f}")
    assert per_frame.scores["tuned"] > per_frame.scores["raw"] + 0.05

    # Each head smoothed as tuned, then the two weighted on validation.
    smoothed = [per_frame.apply(val["mlp"]), tune(val["tcn"], truth).apply(val["tcn"])]
    members = [evaluate(ps, truth).value for ps in smoothed]
    weights, _ = ens.tune_weights(smoothed, truth, names=["mlp", "tcn"])
    combined = ens.combine(smoothed, weights=weights, names=["mlp", "tcn"], method="weighted")
    value = evaluate(combined, truth, Decision()).value
    print(f"smoothed heads {members[0]:.3f} / {members[1]:.3f}, ensemble {value:.3f} "
          f"(weights {weights})")
    assert value >= max(members) - 1e-9
