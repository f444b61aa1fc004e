"""Tuning post-processing on validation, against the official metric of the track.

What is tuned, per output group (`abaw.core.layout`): the smoothing kind and window (valence and
arousal each on their own: their CCCs are separate terms of the score; every value tried is kept
in `scores["sweep"]`, the group's share of the score per kind and window); then, at the chosen
window, each AU's decision threshold and the class bias (a prior adjustment of the argmax). The
score is separable over the groups (VA = mean of two CCCs, MTL = VA + EXPR + AU, the AU score =
mean of per-AU terms), so tuning each group alone finds the joint optimum of those choices.

Speed: `Smoother` builds the cumulative sums once per group and kind; each window is then two
slices, and the windows are scored on parallel threads; AU thresholds for all AUs and all 127
candidates come from one compiled histogram pass per window; the class bias from one histogram
per class over all candidate values (`tune_bias`).
"""

from __future__ import annotations

import numpy as np

from abaw import metrics
from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet
from abaw.post import adjust as adj
from abaw.post import impute as imp
from abaw.post import objectives as ob
from abaw.post import smooth as sm
from abaw.post.parallel import in_parallel
from abaw.post.params import PostParams
from abaw.post.truth import Target, Targets, ValTruth

__all__ = ["Target", "ValTruth", "evaluate", "tune"]


def tune(ps: PredictionSet, truth: ValTruth, *, kinds=sm.KINDS, windows=sm.DEFAULT_WINDOWS,
         impute: str | None = "linear", ignore_imputed: bool = True, thresholds: bool = True,
         bias: bool = True, logit_adjust: bool = False, gate: bool = False, progress=None,
         **choices) -> PostParams:
    """Choose the post-processing of `ps` that maximises its validation score against `truth`.

    `logit_adjust`: the class bias is a generalised logit adjustment (one strength) instead of
    a free offset per class; `gate`: tune a confidence gate on the smoothing (`abaw.post.adjust`).
    `choices`: metric options (zero_division, au_accuracy, va_combine). `progress`: an optional
    callable(str) told about each group's choice.
    """
    zd = float(choices.get("zero_division", 0.0))
    for kind in kinds:
        sm.check(kind, 1)
    windows = sorted({sm.check("mean", w) for w in windows} | {1})
    lay = ps.layout
    lay.check_width(len(ps.columns))
    if lay.image_level:
        windows = [1]                       # rows are images: nothing to smooth along
    if impute is not None and imp.missing_rows(ps).any():
        ps = imp.impute(ps, impute)
    imp.check_sorted(ps)
    targets = truth.align(ps)
    ignore = ps.imputed if ignore_imputed else None
    params = PostParams(ps.track, ps.edition, impute, ignore_imputed)
    at_rows = ps.outputs.copy()     # the chosen smoothing at the scored rows of each group
    curves = {}                     # group -> kind -> [[window, the group's value], ...]
    for group, g in lay.groups.items():
        cols, gkind, target = g.columns, g.kind, targets[group]
        x = ps.outputs[:, cols]
        best, choice = -np.inf, (kinds[0], 1)
        sweeps = {}
        for kind in kinds:
            sweeps[kind] = sweep = ob.Sweep(kind, x, ps.offsets, ignore)
            tried = [w for w in windows if w > 1 or kind == kinds[0]]  # 1: the input, any kind

            def value(w, sweep=sweep, gkind=gkind, target=target, k=x.shape[1]):
                return ob.decided_value(gkind, ob.decide(gkind, sweep, w, target), target,
                                        ps.track, ps.edition, k, zd, thresholds)
            for w, v in zip(tried, in_parallel(value, tried), strict=True):
                curves.setdefault(group, {}).setdefault(kind, []).append([int(w), float(v)])
                if v > best + 1e-12:
                    best, choice = v, (kind, w)
        params.smooth[group] = {"kind": choice[0], "window": int(choice[1])}
        chosen = sweeps[choice[0]].at(choice[1], target.rows)
        if gkind == "classes" and gate and choice[1] > 1:
            raw_rows = x[target.rows].T                                   # (C, M)
            g, best = adj.tune_gate(raw_rows, chosen, target.labels, ps.track, ps.edition, zd)
            if g <= 1:
                params.gate[group] = g
                chosen = adj.gate(raw_rows.T, chosen.T, g).T
        at_rows[target.rows, cols] = chosen.T
        if gkind == "binary" and thresholds:
            hist = ob.decide(gkind, sweeps[choice[0]], choice[1], target)
            params.thresholds = ob.best_thresholds(
                ob.au_terms_from_hist(hist, ps.edition, zd)).tolist()
        if gkind == "classes" and logit_adjust:
            pi = adj.prior(x)      # the model's mean prediction over every row of the set
            tau, best = adj.tune_gla(chosen, target.labels, pi, ps.track, ps.edition, zd)
            params.logit_adjust = tau
            params.bias = adj.gla_bias(pi, tau).tolist() if tau > 0 else None
        elif gkind == "classes" and bias:
            b, v = ob.tune_bias(chosen, target.labels, ps.track, ps.edition, zd)
            params.bias = b.tolist() if np.any(b) else None
        if progress:
            progress(f"{group}: {choice[0]} window {choice[1]} -> {best:.4f}")
    raw = evaluate(ps, truth, targets=targets, **choices)
    # The same values `params.apply` gives at these rows (tests/test_post_tune.py checks it),
    # without smoothing everything once more.
    tuned = evaluate(ps.replace(outputs=at_rows), truth, params.decision(), targets=targets,
                     **choices)
    params.scores = {"raw": raw.value, "tuned": tuned.value, "raw_parts": raw.parts,
                     "tuned_parts": tuned.parts, "frames": tuned.frames, "sweep": curves}
    return params


def evaluate(ps: PredictionSet, truth: ValTruth, decision: Decision | None = None,
             targets: Targets | None = None, **choices) -> metrics.Score:
    """Official `metrics.Score` of `ps` on the truth's annotated frames, decided by `decision`
    (default: the set's own)."""
    targets = targets if targets is not None else truth.align(ps)
    return metrics.score_outputs(ps.layout, ps.outputs[targets.rows], targets.labels,
                                 ps.decision if decision is None else decision, **choices)
