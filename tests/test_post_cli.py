"""`abaw smooth` and `abaw ensemble` end to end on a hand-built dataset index."""

import json

import numpy as np
import pytest
from post_cases import case

from abaw.cli import main
from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet
from abaw.data.index import DatasetIndex, Sequence
from abaw.post import tune as tn
from abaw.post.impute import complete


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    """Val and test EXPR sets of a noisy per-frame model, and the index holding their truth."""
    val, val_truth = case("EXPR", np.random.default_rng(0), n_videos=4, noise=1.6)
    test, test_truth = case("EXPR", np.random.default_rng(1), n_videos=4, noise=1.6,
                            names="t{:03d}")
    seqs = {}
    for split, truth in (("val", val_truth), ("test", test_truth)):
        for v, (frames, labels) in truth.per_video.items():
            seqs[v] = Sequence(v, "EXPR", split, frames, labels.astype(np.float32))
    index = DatasetIndex(tmp_path / "data", 8, "hand-built", {"EXPR": seqs})
    monkeypatch.setattr("abaw.data.load_index", lambda root, edition: index)
    # Sets as predict writes them: rows without a face are absent, not NaN.
    def drop_missing(ps):
        keep = ~ps.imputed
        per = {v: (ps.video(v)[0][keep[ps.rows(v)]], ps.video(v)[1][keep[ps.rows(v)]])
               for v in ps.videos}
        return PredictionSet.from_videos(ps.track, ps.edition, per, ps.columns)
    paths = {"val": drop_missing(val).save(tmp_path / "val.npz"),
             "test": drop_missing(test).save(tmp_path / "test.npz")}
    (tmp_path / "data").mkdir()
    return tmp_path, paths, test_truth


def run(argv, capsys):
    code = 0
    try:
        main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_smooth_tunes_on_val_and_applies_to_test(dataset, capsys):
    tmp, paths, test_truth = dataset
    code, out, err = run(["smooth", paths["test"], "--tune-on", paths["val"], "--root",
                          tmp / "data", "--kinds", "mean,gaussian", "--windows", "1,5,15,35"],
                         capsys)
    assert code == 0, err
    assert "validation EXPR:" in out
    result = PredictionSet.load(tmp / "test.smooth.npz")
    params = json.loads((tmp / "test.smooth.post.json").read_text())
    assert result.provenance["post"]["smooth"] == params["smooth"]
    assert params["smooth"]["EXPR"]["window"] > 1
    raw = PredictionSet.load(paths["test"])
    assert len(result) > len(raw)                   # completed to every template frame
    before = tn.evaluate(complete(raw, test_truth.frames()), test_truth).value
    assert tn.evaluate(result, test_truth).value > before + 0.05
    # The saved parameters, applied again, give the same set bit for bit.
    code, _, err = run(["smooth", paths["test"], "--params", tmp / "test.smooth.post.json",
                        "--root", tmp / "data", "--out", tmp / "again.npz", "--quiet"], capsys)
    assert code == 0, err
    np.testing.assert_array_equal(PredictionSet.load(tmp / "again.npz").outputs, result.outputs)


def test_smooth_without_tuning_input_is_one_line_error(dataset, capsys):
    tmp, paths, _ = dataset
    code, out, err = run(["smooth", paths["test"]], capsys)
    assert code == 2
    assert err.startswith("error: smooth: found no --tune-on/--root") and err.count("\n") == 1
    code, _, err = run(["smooth", tmp / "nope.npz", "--params", tmp / "p.json"], capsys)
    assert code == 2 and "nope.npz: not found, expected a prediction set" in err


def test_ensemble_weighted_writes_test_and_val_sets(dataset, capsys):
    tmp, paths, _ = dataset
    # a second member: the same sets with their probabilities sharpened (another head)
    for split in ("val", "test"):
        ps = PredictionSet.load(paths[split])
        sharp = ps.outputs ** 2
        ps.replace(outputs=sharp / sharp.sum(axis=1, keepdims=True)).save(tmp / f"{split}2.npz")
    code, out, err = run(["ensemble", paths["test"], tmp / "test2.npz", "--tune-on", paths["val"],
                          "--tune-on", tmp / "val2.npz", "--root", tmp / "data",
                          "--out", tmp / "ens.npz", "--val-out", tmp / "ens_val.npz",
                          "--step", "0.25"], capsys)
    assert code == 0, err
    assert "EXPR: weights" in out
    ens = PredictionSet.load(tmp / "ens.npz")
    info = ens.provenance["ensemble"]
    assert info["method"] == "weighted" and abs(sum(info["weights"]["EXPR"]) - 1) < 1e-9
    # the scores it reports are the official scores of the sets it wrote, recomputed here
    _, val_truth = case("EXPR", np.random.default_rng(0), n_videos=4, noise=1.6)
    ens_val = PredictionSet.load(tmp / "ens_val.npz")
    assert ens_val.videos == PredictionSet.load(paths["val"]).videos
    assert info["val_scores"]["EXPR"]["ensemble"] == pytest.approx(
        tn.evaluate(ens_val, val_truth, Decision()).value, abs=1e-9)
    code, _, err = run(["ensemble", paths["test"], tmp / "test2.npz", "--tune-on", paths["val"],
                        "--root", tmp / "data", "--out", tmp / "x.npz"], capsys)
    assert code == 2 and "--tune-on: found 1 validation sets, expected 2" in err
    code, _, err = run(["ensemble", paths["test"], paths["val"], "--out", tmp / "x.npz",
                        "--method", "vote"], capsys)
    assert code == 2 and "ensemble " in err and err.count("\n") == 1


def test_a_validation_set_missing_a_video_is_refused(dataset, capsys):
    tmp, paths, _ = dataset
    val = PredictionSet.load(paths["val"])
    keep = {v: val.video(v)[:2] for v in val.videos[1:]}
    PredictionSet.from_videos("EXPR", 8, keep, val.columns).save(tmp / "part.npz")
    code, _, err = run(["smooth", paths["test"], "--tune-on", tmp / "part.npz", "--root",
                        tmp / "data"], capsys)
    assert code == 2
    assert f"part.npz: found no predictions for 1 validation videos (e.g. {val.videos[0]})" in err
