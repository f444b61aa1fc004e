"""The whole path per track on the tiny twin: index -> features -> train -> post -> validated zip.

A tiny random EfficientNet (the real timm class) stands in for the face encoder so the test runs
in seconds. The scores are checked against what the kept prediction sets give, not against a
learning bar: the tiny twin is too small to learn anything that carries over to held-out people
(4 training people; its test split is one video of two). Measured with this file's recipe: the
hidden-test scores of the trained model, of its predictions shuffled and of noise are VA 0.38 /
0.39 / 0.29 (seed 1), LSD 0.09-0.26 / 0.04-0.16 / 0.06-0.22 and MTL -0.21-0.57 / -0.24-0.54 /
0.24-0.65 (seeds 1-3): no bar separates them. Held-out learning is judged in
`test_learning_held_out.py` (planted-signal videos, seconds) and `test_learning_bars.py` (the
demo recipes on the small twin, slow).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from abaw import pipeline, protocol
from abaw.formats.validator import validate
from tracks import get_track
from tracks.ce.compound import PAIRS, compound_probabilities

FAST = ["optim.epochs=1", "post.kinds=[\"mean\"]", "post.windows=[1, 5]",
        "features.backbones=[\"efficientnet-b0\"]", "features.workers=0"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import torch

    from abaw.data.synth import synthesize
    from abaw.features.tiny import write_tiny

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("pipeline")
    weights = write_tiny("efficientnet-b0", base / "tiny-effnet")
    roots = {8: synthesize(base / "ed8", edition=8, size="tiny", seed=1),
             4: synthesize(base / "ed4", edition=4, size="tiny", seed=1)}
    return base, roots, [*FAST, f'features.weights={{"efficientnet-b0" = "{weights}"}}']


@pytest.mark.parametrize("track,edition", [("va", 8), ("expr", 8), ("au", 8), ("ce", 8),
                                           ("mtl", 4), ("lsd", 4)])
def test_run_track_writes_a_validated_zip(env, track, edition):
    base, roots, overrides = env
    out = pipeline.run_track(get_track(track), roots[edition], recipe="demo", overrides=overrides,
                             work=base / "runs", out=base / "subs", quiet=True)
    report = validate(out.zip_path, track.upper(), out.edition, root=roots[edition])
    assert report.valid, report.problems()[:3]
    summary = json.loads((Path(out.run_dir) / "summary.json").read_text())
    assert summary["zip_path"] == out.zip_path
    assert pipeline.Outcome.from_dict(summary) == out
    # every score has its interval, and the interval holds the score
    keys = {"raw": out.val_raw, "post": out.val_post, "test": out.hidden_test}
    if track == "ce":  # no CE training data: scored on the twin's hidden test labels
        assert out.scored_on.startswith("test") and out.val_crossfit is None
        assert out.hidden_test == out.val_post
        assert (Path(out.run_dir) / "post.json").is_file()
    else:
        keys["crossfit"] = out.val_crossfit
    assert set(out.intervals) == set(keys)
    for key, value in keys.items():
        low, high = out.intervals[key]
        assert low - 1e-9 <= value <= high + 1e-9, (key, value, low, high)
    # the manifest records the scores under the names printed, each saying what it is
    zip_path = Path(out.zip_path)
    manifest = json.loads(zip_path.with_name(zip_path.stem + ".manifest.json").read_text())
    assert manifest["scores"] == {name: value for name, value, _, _ in out.figures()
                                  if value is not None}
    assert ("validation post-processed, cross-fitted" in manifest["scores"]) == (track != "ce")


def test_a_run_keeps_its_validation_sets_and_scores_them_as_it_prints(env):
    """predictions/val.npz (as predicted), val.post.npz (as the submission decides) and
    val.crossfit.npz (each video by parameters tuned without it) score what summary.json says."""
    from abaw.core.decisions import Decision
    from abaw.core.prediction_set import PredictionSet
    from abaw.data import load_index
    from abaw.post.crossfit import video_pairs
    from abaw.post.params import PostParams
    from abaw.post.tune import ValTruth, evaluate

    base, roots, overrides = env
    out = pipeline.run_track(get_track("va"), roots[8], recipe="demo", overrides=overrides,
                             work=base / "runs-kept", out=base / "subs-kept", quiet=True)
    folder = Path(out.run_dir) / "predictions"
    val = PredictionSet.load(folder / "val.npz")
    truth = ValTruth.from_index(load_index(roots[8]), "VA", "val")
    post = PostParams.load(Path(out.run_dir) / "post.json")
    kept = PredictionSet.load(folder / "val.post.npz")
    np.testing.assert_array_equal(kept.outputs, post.apply(val).outputs)
    assert evaluate(val, truth, Decision()).value == pytest.approx(out.val_raw, abs=1e-9)
    assert evaluate(kept, truth).value == pytest.approx(out.val_post, abs=1e-9)
    held = PredictionSet.load(folder / "val.crossfit.npz")
    record = held.provenance["crossfit"]
    scored = [v for f in record["folds"] for v in f["scored"]]
    assert sorted(scored) == sorted(truth.per_video)
    for f in record["folds"]:           # no video is scored by parameters tuned on it
        assert not set(f["scored"]) & set(f["tuned_on"])
    from abaw import metrics
    pairs = video_pairs(held, truth)
    pooled = [np.concatenate([p for p, _ in pairs.values()]),
              np.concatenate([t for _, t in pairs.values()])]
    assert metrics.score("VA", 8, *pooled).value == pytest.approx(out.val_crossfit, abs=1e-9)
    # the report reads the kept cross-fitted set: the same figure, not a new draw of groups
    from abaw.report import write_report

    _, analysis = write_report(out.run_dir, base / "report-kept", draws=50)
    got = {f.name: f.value for f in analysis.scores}
    assert got["post-processed, cross-fitted"] == pytest.approx(out.val_crossfit, abs=1e-9)


@pytest.mark.parametrize("head", ["mlp", "tcn", "gru", "transformer"])
def test_every_head_runs_the_whole_path(env, head):
    base, roots, overrides = env
    out = pipeline.run_track(get_track("expr"), roots[8], recipe="demo",
                             overrides=[*overrides, f'model.head="{head}"'],
                             work=base / f"runs-{head}", out=base / f"subs-{head}", quiet=True)
    assert validate(out.zip_path, "EXPR", out.edition, root=roots[8]).valid


def test_folds_predict_validation_once_each_and_hold_out_what_their_run_says(env, monkeypatch):
    from abaw.core.prediction_set import PredictionSet
    from abaw.data import load_index
    from abaw.train import predict

    base, roots, overrides = env
    calls, real = [], predict.predict_run

    def counted(track, run_dir, split, *args, **kw):
        calls.append((Path(run_dir).name, split))
        return real(track, run_dir, split, *args, **kw)
    monkeypatch.setattr(predict, "predict_run", counted)
    out = pipeline.run_track(get_track("expr"), roots[8], recipe="demo",
                             overrides=[*overrides, "run.folds=2"], work=base / "runs-folds",
                             out=base / "subs-folds", quiet=True)
    run = Path(out.run_dir)
    assert sorted(c for c in calls if c[1] == "val") == [("fold0", "val"), ("fold1", "val")]
    assert sorted(c for c in calls if c[0] != run.name) == [
        ("fold0", "test"), ("fold0", "val"), ("fold1", "test"), ("fold1", "val")]
    # each validation video comes from the fold whose run.json held it out
    val = pipeline.fold_predictions(get_track("expr"), run, "val", load_index(roots[8]), None)
    seen = []
    for fold in ("fold0", "fold1"):
        own = PredictionSet.load(run / fold / "predictions" / "val.npz")
        held = set(json.loads((run / fold / "run.json").read_text())["val_ids"]) & set(val.videos)
        for v in held:
            np.testing.assert_array_equal(val.video(v)[1], own.video(v)[1])
        seen += held
    assert sorted(seen) == sorted(val.videos)
    # the run keeps that out-of-fold set, and says its raw score is out-of-fold
    kept = PredictionSet.load(run / "predictions" / "val.npz")
    assert kept.videos == val.videos and np.array_equal(kept.outputs, val.outputs)
    mean, sd, n = out.folds
    best = [json.loads((run / f / "log.json").read_text()) for f in ("fold0", "fold1")]
    best = [max(e["val"] for e in log) for log in best]
    assert n == 2 and mean == pytest.approx(np.mean(best)) and sd == pytest.approx(
        np.std(best, ddof=1))
    text = "\n".join(out.lines())
    assert "validation raw, out-of-fold" in text and "epoch chosen on it" not in text
    assert "± " in text


def test_last_prints_every_score_with_what_it_is(env):
    base, roots, overrides = env
    out = pipeline.run_track(get_track("expr"), roots[8], recipe="demo", overrides=overrides,
                             work=base / "runs-last", out=base / "subs-last", quiet=True)
    res = subprocess.run([sys.executable, "-m", "abaw", "run", "--track", "expr", "--last",
                          "--work", str(base / "runs-last")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("EXPR (edition 8)") and "expr_ed8_demo-" in lines[-1]
    for name, value, interval, note in out.figures():
        line = next(x for x in lines if x.strip().startswith(name))
        assert f"{value:.4f}" in line and interval in line and note in line
    text = res.stdout
    assert "epoch chosen on it" in text and "in-sample" in text and "cross-fitted" in text
    assert "hidden test of the submission" in text


def test_last_reads_a_summary_written_before_the_honest_figures(env, tmp_path):
    run = tmp_path / "expr" / "demo-20250101-000000"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({
        "track": "EXPR", "edition": 8, "run_dir": str(run), "val_raw": 0.4, "val_post": 0.7,
        "baseline": 0.06, "scored_on": "val", "zip_path": "x.zip", "seconds": 1.0}))
    res = subprocess.run([sys.executable, "-m", "abaw", "run", "--track", "expr", "--last",
                          "--work", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "0.7000" in res.stdout and "cross-fitted" in res.stdout and "n/a" in res.stdout


def test_last_without_a_run_is_a_one_line_error(tmp_path):
    res = subprocess.run([sys.executable, "-m", "abaw", "run", "--track", "va", "--last",
                          "--work", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "found no finished run" in res.stderr


def test_unknown_recipe_is_a_one_line_error(env):
    base, roots, _ = env
    res = subprocess.run([sys.executable, "-m", "abaw", "run", "--track", "va", "--root",
                          str(roots[8]), "--recipe", "nope"], capture_output=True, text=True)
    # found by the checks a run starts with: exit 1, nothing run
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith("error: VA, before any step ran: --recipe: found 'nope'")


def test_standardised_compounds_ignore_a_basic_class_scored_high_everywhere():
    names = protocol.EXPR_CLASSES_8
    basic = np.random.default_rng(0).dirichlet(np.ones(8), 200)
    biased = basic.copy()
    biased[:, names.index("Anger")] *= 20          # the model's bias on every compound face
    biased /= biased.sum(axis=1, keepdims=True)
    plain = compound_probabilities(basic, names, standardize=True)
    assert np.allclose(compound_probabilities(biased, names, standardize=True), plain, atol=1e-5)
    # without standardising, the bias moves many frames to the Anger compounds
    moved = compound_probabilities(biased, names).argmax(1) != compound_probabilities(
        basic, names).argmax(1)
    assert moved.mean() > 0.2


def test_compound_probabilities_pair_basic_expressions():
    names = protocol.EXPR_CLASSES_8
    basic = np.full((2, 8), 0.01)
    basic[0, names.index("Fear")] = basic[0, names.index("Surprise")] = 0.45
    basic[1, names.index("Sadness")] = basic[1, names.index("Anger")] = 0.45
    p = compound_probabilities(basic, names)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert protocol.CE_CLASSES[p[0].argmax()] == "Fearfully_Surprised"
    assert protocol.CE_CLASSES[p[1].argmax()] == "Sadly_Angry"
    # geometric mean of the two parts, renormalised over the 7 compounds (hand-computed)
    row = np.zeros((1, 8))
    row[0, names.index("Happiness")], row[0, names.index("Surprise")] = 0.5, 0.3
    row[0, names.index("Fear")] = 0.2
    raw = {c: np.sqrt(row[0, names.index(a)] * row[0, names.index(b)]) for c, (a, b) in PAIRS.items()}
    total = sum(raw.values())  # sqrt(.15) + sqrt(.06): only two compounds are non-zero
    got = compound_probabilities(row, names)[0]
    for k, c in enumerate(protocol.CE_CLASSES):
        assert got[k] == pytest.approx(raw[c] / total, abs=1e-6)
    assert got[protocol.CE_CLASSES.index("Happily_Surprised")] == pytest.approx(
        np.sqrt(0.15) / (np.sqrt(0.15) + np.sqrt(0.06)), abs=1e-6)
