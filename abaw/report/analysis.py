"""Every number of a run's report, computed once: the terminal, the JSON and the HTML page show
the same values.

- `scores`: the validation score as predicted, after the post-processing tuned on all of
  validation (in-sample: tuned and scored on the same videos) and cross-fitted (each video
  post-processed by parameters tuned on the other videos: the figure to trust), each with a 90%
  bootstrap interval over videos; k-fold runs add the spread of the folds' scores.
- the breakdowns (classes, AUs, VA per video) of the decisions the submission makes: the
  post-processing tuned on all of validation, so they are in-sample too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abaw import metrics, protocol, uncertainty
from abaw.core.decisions import DEFAULT_THRESHOLD, Decision
from abaw.errors import AbawError
from abaw.post import crossfit as cf
from abaw.post.tune import tune


@dataclass
class Figure:
    """One row of the scores table."""

    name: str
    value: float
    low: float | None = None
    high: float | None = None
    note: str = ""
    sd: float | None = None         # for a spread across folds instead of an interval


@dataclass
class Analysis:
    track: str
    edition: int
    scores: list = field(default_factory=list)          # [Figure]
    notes: list = field(default_factory=list)           # what the figures include, in words
    classes: dict | None = None     # names, confusion (rows truth), precision, recall, f1, support
    aus: dict | None = None         # names, f1, threshold, rate_true, rate_pred, frames
    va: dict | None = None          # videos, frames, CCC_V, CCC_A (per video)
    # for the figures; not written to JSON
    pairs: dict = field(default_factory=dict, repr=False)       # video -> (pred, true) decided
    decided: object = field(default=None, repr=False)           # the post-processed set
    truth: object = field(default=None, repr=False)
    crossfit: object = field(default=None, repr=False)          # the CrossFit computed here

    def to_dict(self) -> dict:
        return {"track": self.track, "edition": self.edition,
                "scores": [vars(f) for f in self.scores], "notes": self.notes,
                "classes": self.classes, "aus": self.aus, "va": self.va}


RAW, IN_SAMPLE, CROSS_FITTED, FOLDS = ("raw", "post-processed, in-sample",
                                      "post-processed, cross-fitted", "folds at their chosen epoch")


def analyse(val, truth, params=None, tune_options=None, folds=(), k: int = cf.K, seed: int = 0,
            draws: int = uncertainty.DRAWS, progress=None, held_out=None) -> Analysis:
    """The analysis of raw validation predictions `val` against `truth`. `params`: the
    post-processing tuned on all of validation (tuned here when None and `tune_options` given);
    `folds`: the run's FoldLogs (k-fold spread); `held_out`: the cross-fitted set a run saved
    (cross-fitted here when None)."""
    a = Analysis(val.track, val.edition, truth=truth)
    opts = dict(tune_options or {})
    if params is None and tune_options is not None:
        params = tune(val, truth, **opts)
    fold_scores = [f.best for f in folds if f.best is not None] if len(folds) > 1 else None
    a.scores, a.notes, a.crossfit = score_figures(val, truth, params, opts, fold_scores, k, seed,
                                                  draws, progress, held_out)
    a.decided, a.pairs = val, cf.video_pairs(val, truth, decision=None if val.decision.folded
                                             else Decision())
    if params is not None:
        a.decided = params.apply(val)
        a.pairs = cf.video_pairs(a.decided, truth)
    _breakdowns(a, params)
    return a


def score_figures(val, truth, params, tune_options: dict, fold_scores=None, k: int = cf.K,
                  seed: int = 0, draws: int = uncertainty.DRAWS, progress=None, held_out=None):
    """([Figure], notes, CrossFit or None): the validation score as predicted, post-processed
    in-sample and cross-fitted, each with its bootstrap interval over videos, and for k-fold runs
    (`fold_scores`: each fold's score at its chosen epoch) the spread across folds. The one
    source of these figures for `abaw run`, `abaw eval` and the report."""
    opts = dict(tune_options)
    choices = {c: opts[c] for c in metrics.CHOICES if c in opts}
    figures, notes, fit = [], [], None

    def row(name, pairs, note=""):
        iv = uncertainty.bootstrap(val.track, val.edition, pairs, draws=draws, seed=seed,
                                   **choices)
        figures.append(Figure(name, iv.point, iv.low, iv.high, note))

    if val.decision.folded:                                     # a post-processed set
        row("as given", cf.video_pairs(val, truth), "decided by the post-processing it carries")
    else:
        row(RAW, cf.video_pairs(val, truth, decision=Decision()),
            "as predicted (argmax, 0.5 thresholds)")
    if params is not None:
        row(IN_SAMPLE, cf.video_pairs(params.apply(val), truth),
            "tuned and scored on the same videos")
        if held_out is None:
            if progress:
                progress("cross-fitting the post-processing")
            try:
                fit = cf.crossfit(val, truth, k=k, seed=seed, progress=progress, **opts)
            except AbawError as e:      # e.g. one raw video only: say why, keep the rest
                notes.append(f"no cross-fitted figure: {e}")
            else:
                held_out = fit.held_out
        if held_out is not None:
            n = len(held_out.provenance["crossfit"]["folds"])
            row(CROSS_FITTED, cf.video_pairs(held_out, truth),
                f"tuned on {n - 1} of {n} video groups, scored on the held-out one")
    if fold_scores is not None:
        if fold_scores:
            s = uncertainty.fold_spread(fold_scores)
            figures.append(Figure(FOLDS, s.mean, note=f"mean ± sd over {s.n} folds, each on its "
                                  "own held-out videos", sd=s.sd))
        notes.append("raw: out-of-fold, each video predicted by the fold that did not train on "
                     "it; each fold chose its epoch on its own held-out videos")
    else:
        notes.append("raw: includes the epoch choice (the kept epoch is the best on these "
                     "validation videos)")
    notes.append(f"intervals: {int(uncertainty.LEVEL * 100)}% bootstrap over videos, "
                 f"{draws} draws, seed {seed}")
    return figures, notes, fit


def _breakdowns(a: Analysis, params) -> None:
    blocks = a.decided.layout.blocks
    tasks = {b.task: b.kind for b in blocks} if len(blocks) > 1 else {None: blocks[0].kind}
    for key, k in tasks.items():
        pairs = {v: (p if key is None else p[key], t if key is None else t[key])
                 for v, (p, t) in a.pairs.items()}
        pred = [np.asarray(p) for p, _ in pairs.values()]
        true = [np.asarray(t) for _, t in pairs.values()]
        if k == "classes":
            names = protocol.EXPR_CLASSES_8 if key else protocol.rules(a.track, a.edition).names
            a.classes = class_table(np.concatenate(true), np.concatenate(pred), names)
        elif k == "binary":
            names = protocol.AUS_12 if key else protocol.rules(a.track, a.edition).names
            thresholds = (params.thresholds if params is not None and params.thresholds
                          else [DEFAULT_THRESHOLD] * len(names))
            a.aus = au_table(np.concatenate(true), np.concatenate(pred), names, thresholds)
        else:
            a.va = va_table(pairs)


def class_table(true, pred, names) -> dict:
    """Confusion (rows truth, columns prediction) and per-class precision, recall, F1, support
    (a class never predicted, or never true, gets 0 for the undefined ratio)."""
    c = len(names)
    cm = metrics.confusion(np.asarray(true, np.int64), np.asarray(pred, np.int64), c)
    tp = np.diag(cm).astype(np.float64)
    col, rowsum = cm.sum(axis=0), cm.sum(axis=1)
    ratio = lambda a, b: np.divide(a, b, out=np.zeros(c), where=b > 0)   # noqa: E731
    return {"names": list(names), "confusion": cm.tolist(),
            "precision": ratio(tp, col).tolist(), "recall": ratio(tp, rowsum).tolist(),
            "f1": ratio(2 * tp, col + rowsum).tolist(), "support": rowsum.tolist()}


def au_table(true, pred, names, thresholds) -> dict:
    t, p = np.asarray(true, bool), np.asarray(pred, bool)
    tp = (t & p).sum(axis=0)
    return {"names": list(names), "f1": metrics.f1_per_column(t, p).tolist(),
            "threshold": [float(x) for x in thresholds],
            "rate_true": t.mean(axis=0).tolist(), "rate_pred": p.mean(axis=0).tolist(),
            "support": t.sum(axis=0).tolist(), "true_positives": tp.tolist(), "frames": len(t)}


def va_table(pairs: dict) -> dict:
    videos, frames, ccc_v, ccc_a = [], [], [], []
    for v, (p, t) in pairs.items():
        if len(t) == 0:
            continue
        videos.append(v)
        frames.append(len(t))
        ccc_v.append(metrics.ccc(p[:, 0], t[:, 0]))
        ccc_a.append(metrics.ccc(p[:, 1], t[:, 1]))
    return {"videos": videos, "frames": frames, "CCC_V": ccc_v, "CCC_A": ccc_a}

