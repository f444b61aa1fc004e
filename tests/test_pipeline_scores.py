"""The reference scores printed beside a run's own, against independent computations: the best
constant prediction by brute force with scikit-learn, the out-of-fold validation set of a k-fold
run from hand-made folds, and CE's compounds scored at their own (video, frame) rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from post_cases import case
from sklearn.metrics import f1_score

from abaw import protocol
from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.pipeline import constant_baseline, fold_predictions
from abaw.post.folds import out_of_fold
from abaw.post.tune import ValTruth, evaluate
from tracks import get_track
from tracks.ce.compound import PAIRS, derive


def best_constant(track, edition, labels) -> float:
    """Brute force: every constant decision the metric can be given, scored with scikit-learn
    (MTL: its expression block, 8 classes)."""
    if track == "VA":
        return 0.0                                   # a constant has no covariance: CCC 0
    if track == "AU":        # editions 1-2: 0.5 F1 + 0.5 accuracy, both averaged over the AUs
        y = labels[~(labels == -1).any(1)].astype(int)

        def term(col, c):
            f1 = f1_score(col, np.full(len(col), c), zero_division=0)
            return f1 if edition > 2 else 0.5 * f1 + 0.5 * np.mean(col == c)
        return float(np.mean([max(term(y[:, j], c) for c in (0, 1)) for j in range(y.shape[1])]))
    y = labels[:, 0][labels[:, 0] != -1].astype(int)
    k = len(protocol.EXPR_CLASSES_8) if track == "MTL" else len(protocol.rules(track, edition).names)

    def value(c):                # editions 1-2 (EXPR): 0.67 macro F1 + 0.33 accuracy
        f1 = float(np.mean(f1_score(y, np.full(len(y), c), labels=range(k), average=None,
                                    zero_division=0)))
        return 0.67 * f1 + 0.33 * np.mean(y == c) if track == "EXPR" and edition <= 2 else f1
    return max(value(c) for c in range(k))


@pytest.mark.parametrize("track,edition", [("VA", 8), ("EXPR", 8), ("EXPR", 2), ("AU", 8),
                                           ("AU", 2), ("CE", 8), ("LSD", 4)])
@pytest.mark.parametrize("seed", range(2))
def test_constant_baseline_is_the_best_constant(track, edition, seed):
    ps, truth = case(track, np.random.default_rng(seed), n_videos=3, mean_len=150, edition=edition)
    labels = np.concatenate([y for _, y in truth.per_video.values()])
    want = best_constant(track, ps.edition, labels)
    assert constant_baseline(ps, truth) == pytest.approx(want, abs=1e-12)


def test_mtl_constant_baseline_adds_the_best_constant_of_each_task():
    ps, truth = case("MTL", np.random.default_rng(3), n_videos=3, mean_len=150)
    labels = np.concatenate([y for _, y in truth.per_video.values()])
    want = best_constant("MTL", 7, labels[:, 2:3]) + best_constant("AU", 7, labels[:, 3:15])
    assert constant_baseline(ps, truth) == pytest.approx(want, abs=1e-12)


# --- k-fold: each validation video from the fold that held it out ------------------------------

def fold_run(tmp_path, held):
    """A k-fold run folder as training leaves it: fold<i>/run.json naming the held-out videos
    and fold<i>/predictions/val.npz over every validation video, fold i's outputs all i + 1."""
    videos = {"9-15-1280x720": 5, "120": 3, "3_left": 4}           # unsorted
    for i, ids in enumerate(held):
        fold = tmp_path / f"fold{i}"
        (fold / "predictions").mkdir(parents=True)
        (fold / "run.json").write_text(json.dumps({"val_ids": ids}))
        per = {v: (np.arange(1, n + 1), np.full((n, 2), i + 1.0)) for v, n in videos.items()}
        PredictionSet.from_videos("VA", 8, per, provenance={"run": f"fold{i}"}).save(
            fold / "predictions" / "val.npz")
    return videos


def test_out_of_fold_validation_takes_each_video_from_its_fold(tmp_path):
    held = [["120"], ["9-15-1280x720", "other"], ["3_left"]]
    videos = fold_run(tmp_path, held)
    val = fold_predictions(get_track("va"), tmp_path, "val", None, None)
    assert val.videos == sorted(videos)
    for i, ids in enumerate(held):
        for v in set(ids) & set(videos):
            frames, out, _ = val.video(v)
            assert frames.tolist() == list(range(1, videos[v] + 1))
            assert (out == i + 1).all(), (v, i)
    assert val.provenance["folds"] == 3 and val.provenance["val"] == "out-of-fold"
    sets = [PredictionSet.load(tmp_path / f"fold{i}/predictions/val.npz") for i in range(3)]
    same = out_of_fold(sets, held)
    assert same.videos == val.videos
    np.testing.assert_array_equal(same.outputs, val.outputs)


def test_a_video_no_fold_held_out_or_two_folds_did_is_refused(tmp_path):
    fold_run(tmp_path / "a", [["120"], ["9-15-1280x720"]])
    with pytest.raises(AbawError, match="validation video 3_left was held out by no fold"):
        fold_predictions(get_track("va"), tmp_path / "a", "val", None, None)
    sets = [PredictionSet.load(tmp_path / f"a/fold{i}/predictions/val.npz") for i in range(2)]
    with pytest.raises(AbawError, match="held out by no fold"):
        out_of_fold(sets, [["120"], ["9-15-1280x720"]])
    with pytest.raises(AbawError, match="fold 1: video 120 is held out by fold 0 too"):
        out_of_fold(sets, [["120", "3_left"], ["120", "9-15-1280x720"]])
    with pytest.raises(AbawError, match="found 2 sets and 1 held-out lists"):
        out_of_fold(sets, [["120"]])


# --- CE: compounds derived from EXPR outputs, scored at their own rows --------------------------

def reference_compounds(probs, names):
    """From the documented rule, one step at a time: each basic log-probability centred per
    frame, then standardised over all frames; each compound the geometric mean of its two
    parts; the seven renormalised."""
    logp = np.log(np.maximum(probs, 1e-12))
    logp = logp - logp.mean(axis=1, keepdims=True)
    z = (logp - logp.mean(axis=0)) / (logp.std(axis=0) + 1e-9)
    basic = np.exp(z)
    out = np.empty((len(probs), len(protocol.CE_CLASSES)))
    for k, c in enumerate(protocol.CE_CLASSES):
        a, b = PAIRS[c]
        out[:, k] = np.sqrt(basic[:, names.index(a)] * basic[:, names.index(b)])
    return out / out.sum(axis=1, keepdims=True)


def test_ce_compounds_are_scored_at_their_own_video_and_frame():
    rng = np.random.default_rng(0)
    names = list(protocol.EXPR_CLASSES_8)
    lengths = {"17": 40, "03": 25, "56": 33}                     # unsorted, as a template lists
    per, flat = {}, []
    for v, n in lengths.items():
        frames = np.sort(rng.choice(np.arange(1, n + 10), n, replace=False))   # with gaps
        probs = rng.dirichlet(np.ones(8) * 0.5, n)
        per[v] = (frames, probs)
        flat.append(probs)
    expr = PredictionSet.from_videos("EXPR", 8, per, provenance={"run": "r"})
    ce = derive(expr, 8)
    assert ce.track == "CE" and ce.videos == list(lengths) and ce.columns == protocol.CE_CLASSES
    np.testing.assert_array_equal(ce.frames, expr.frames)
    np.testing.assert_allclose(ce.outputs, reference_compounds(np.concatenate(flat), names),
                               rtol=1e-5, atol=1e-7)
    assert get_track("ce").derive(expr, 8).outputs.tobytes() == ce.outputs.tobytes()
    # hidden labels of some frames of each video (-1: not annotated), in frame order
    truth, pairs = {}, []
    for v, (frames, _) in per.items():
        keep = np.sort(rng.choice(len(frames), len(frames) // 2, replace=False))
        labels = rng.integers(-1, 7, len(keep)).astype(np.float32)[:, None]
        truth[v] = (frames[keep], labels)
        got = dict(zip(ce.video(v)[0].tolist(), ce.video(v)[1], strict=True))
        pairs += [(int(y), int(np.argmax(got[int(f)]))) for f, y in zip(frames[keep], labels[:, 0],
                                                                        strict=True) if y >= 0]
    y, p = np.array(pairs).T
    want = f1_score(y, p, labels=range(7), average="macro", zero_division=0)
    assert evaluate(ce, ValTruth("CE", truth), Decision()).value == pytest.approx(want, abs=1e-12)
    with pytest.raises(AbawError, match="found track CE, expected EXPR"):
        derive(ce, 8)
