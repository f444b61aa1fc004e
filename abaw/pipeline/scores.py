"""A run's scores, each saying what it is: the validation score as predicted, post-processed
in-sample and cross-fitted, with 90% bootstrap intervals over videos; beside them the best
constant prediction and, on the synthetic twin, the hidden test truth (absent on real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw.core.decisions import Decision


def validation_scores(outcome, val, truth, params, options: dict, run_dir, seed: int,
                      fold_scores=None, quiet: bool = False) -> None:
    """Fill `outcome`'s validation figures and keep the cross-fitted set as
    `predictions/val.crossfit.npz` (`fold_scores`: a k-fold run's per-fold scores)."""
    from abaw.post.crossfit import K
    from abaw.progress import Steps
    from abaw.report.analysis import CROSS_FITTED, FOLDS, IN_SAMPLE, RAW, score_figures

    steps = Steps(K + 1, f"[{outcome.track}] cross-fitting", quiet)
    try:
        figures, _, fit = score_figures(val, truth, params, options, fold_scores, seed=seed,
                                        progress=steps)
    finally:
        steps.close()
    by = {f.name: f for f in figures}
    for key, name in (("raw", RAW), ("post", IN_SAMPLE), ("crossfit", CROSS_FITTED)):
        if name in by:
            outcome.intervals[key] = [by[name].low, by[name].high]
    outcome.val_raw = by[RAW].value
    outcome.val_post = by[IN_SAMPLE].value
    outcome.val_crossfit = by[CROSS_FITTED].value if CROSS_FITTED in by else None
    if FOLDS in by:
        outcome.folds = [by[FOLDS].value, by[FOLDS].sd, len(fold_scores)]
    if fit is not None:
        fit.held_out.save(Path(run_dir) / "predictions" / "val.crossfit.npz")


def interval(ps, truth, seed: int, decision: Decision | None = None) -> tuple[float, list]:
    """(score, [low, high]): `ps` scored against `truth` (decided by `decision`, default the
    set's own), with its 90% bootstrap interval over videos."""
    from abaw.post.crossfit import video_pairs
    from abaw.uncertainty import bootstrap

    iv = bootstrap(ps.track, ps.edition, video_pairs(ps, truth, decision), seed=seed)
    return iv.point, [iv.low, iv.high]


def constant_baseline(ps, truth) -> float:
    """The best score of a constant prediction on `truth`: VA 0, each single class, each AU on or
    off. The score adds its tasks and averages its AUs (editions 1-2 too: F1 and the flattened
    accuracy both split per AU), so each AU is chosen on its own: on for F1 alone, off for a rare
    AU where accuracy counts."""
    from abaw.post.tune import evaluate

    lay = ps.layout
    plain = ps.replace(outputs=np.zeros_like(ps.outputs), decision=Decision())

    def value(out):
        return evaluate(plain.replace(outputs=out), truth).value

    out = np.zeros_like(ps.outputs)
    classes, aus = lay.block("classes"), lay.block("binary")
    if aus is not None:
        out[:, aus.columns] = 1.0
        best = value(out)
        for j in range(aus.columns.start, aus.columns.stop):
            off = out.copy()
            off[:, j] = 0.0
            v = value(off)
            if v > best:
                out, best = off, v
    if classes is None:
        return value(out)
    best = -np.inf
    for k in range(classes.size):
        o = out.copy()
        o[:, classes.columns.start + k] = 1.0
        best = max(best, value(o))
    return float(best)


def hidden_truth(index, track: str):
    """The synthetic twin's hidden test labels as a ValTruth, or None on real data. VA, EXPR,
    AU and CE are kept per id (row i = frame i + 1); MTL and LSD per image name."""
    from abaw.data.synth import TRUTH, read_truth
    from abaw.post.tune import ValTruth

    track = track.upper()
    base = Path(index.root) / TRUTH
    if not ((base / track).is_dir() or (base / f"{track}.txt").is_file()):
        return None
    labels = read_truth(index.root, track)
    per_video = {}
    for vid in index.ids(track, "test"):
        seq = index.sequence(track, vid)
        if track == "LSD":
            y = np.array([labels.get(Path(p).name, -1) for p in seq.images], np.float64)
            per_video[vid] = (seq.frames, y)
        elif track == "MTL":
            empty = np.full(15, np.nan)     # a listed image without labels: masked by every task
            y = np.array([labels.get(f"{vid}/{int(f):05d}.jpg", empty) for f in seq.frames],
                         np.float64)
            per_video[vid] = (seq.frames, y)
        elif vid in labels:
            y = np.asarray(labels[vid], np.float32).reshape(len(labels[vid]), -1)
            per_video[vid] = (seq.frames[: len(y)], y)
    return ValTruth(track, per_video) if per_video else None
