"""Official ABAW metrics, pure NumPy (no torch), float64 throughout.

Conventions, the same in every track:
- Frames whose ground truth is the sentinel are excluded (`valid_mask`, the one masking function
  used by metrics, losses and loaders). Scores pool all valid frames of all videos (`UNSURE`
  "pooling"); `MetricCollector(pooling="per_video")` averages per-video scores instead.
- CCC uses population moments (divide by N). If its denominator is 0 (both series constant and
  equal) CCC is 0; a constant prediction against a varying truth gives 0 too, never NaN.
- F1 of a class is one-vs-rest binary F1 = 2TP / (2TP + FP + FN). A class with no true and no
  predicted positive gets `zero_division` (0 by default, as sklearn) and still counts in the mean:
  the denominator is the number of classes of the track (8 for EXPR from edition 3), as in Σ F1 / 8.
- Nothing left after masking is an error, not a silent 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abaw import protocol
from abaw.core.decisions import Decision, decide
from abaw.core.layout import Layout
from abaw.errors import AbawError

# --- masking ---------------------------------------------------------------------------------------


def valid_mask(track: str, labels) -> np.ndarray:
    """True where a frame's ground truth is annotated for `track` (VA/EXPR/AU/CE/LSD).

    VA: invalid if either value is -5. AU: invalid if any AU is -1. Classes: invalid if -1.
    NaN (an empty field) is invalid everywhere.
    """
    track = track.upper()
    y = np.asarray(labels)
    sentinel = protocol.SENTINELS[track]
    bad = y == sentinel
    if y.dtype.kind == "f":
        bad |= np.isnan(y)
    if track in ("VA", "AU"):
        if y.ndim != 2:
            raise AbawError(f"{track} labels: found shape {y.shape}, expected (frames, columns)")
        # One flat test first: real label files are mostly valid, and a row-wise any() is slow.
        return ~bad.any(axis=1) if bad.any() else np.ones(len(y), bool)
    return ~bad


def label_mask(lay: Layout, labels) -> np.ndarray:
    """(N, blocks) True where each output block's ground truth is annotated, for labels (N, L)
    in the index's label layout (a class block's index column, the AUs of an AU block ...)."""
    cols = []
    for b in lay.blocks:
        y = np.asarray(labels)[:, b.labels]
        cols.append(valid_mask(b.task, y if b.kind != "classes" else y[:, 0]))
    return np.stack(cols, axis=1)


def _masked(track: str, pred, true, sentinel_of: str | None = None):
    """(pred, true) on the frames whose truth is annotated; `sentinel_of`: the track whose
    sentinel marks the unannotated ones (default `track`), messages name `track`."""
    true = np.asarray(true)
    pred = np.asarray(pred)
    if len(pred) != len(true):
        raise AbawError(f"{track}: found {len(pred)} predicted frames, expected {len(true)} "
                        "(one per ground-truth frame)")
    keep = valid_mask(sentinel_of or track, true)
    if not keep.any():
        raise AbawError(f"{track}: no valid frames after masking sentinels ({len(true)} frames, "
                        "all unannotated)")
    if keep.all():
        return pred, true
    return pred[keep], true[keep]


# --- building blocks -----------------------------------------------------------------------------

def ccc(x, y) -> float:
    """Concordance correlation coefficient, population moments (÷N)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mx, my = x.mean(), y.mean()
    # A constant series has exactly zero spread; rounding in mean() must not turn it into 1e-33.
    dx = x - mx if x.min() != x.max() else np.zeros_like(x)
    dy = y - my if y.min() != y.max() else np.zeros_like(y)
    cov = np.dot(dx, dy) / len(x)
    denom = np.dot(dx, dx) / len(x) + np.dot(dy, dy) / len(y) + (mx - my) ** 2
    return float(2.0 * cov / denom) if denom > 0 else 0.0


def pearson(x, y) -> float:
    """Pearson r; 0 when either series is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.min() == x.max() or y.min() == y.max():
        return 0.0
    dx, dy = x - x.mean(), y - y.mean()
    # r does not depend on the units: deviations scaled to a largest of 1 keep the sums of
    # squares clear of underflow and overflow (a non-constant series has a non-zero deviation)
    dx, dy = dx / np.abs(dx).max(), dy / np.abs(dy).max()
    return float(np.dot(dx, dy) / np.sqrt(np.dot(dx, dx) * np.dot(dy, dy)))


def _as_classes(values, n_classes: int, what: str) -> np.ndarray:
    v = np.asarray(values)
    if v.ndim != 1:
        raise AbawError(f"{what}: found shape {v.shape}, expected one class index per frame")
    if v.dtype.kind == "f":
        if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
            raise AbawError(f"{what}: found non-integer values, expected class indices")
    elif v.dtype.kind not in "iub":
        raise AbawError(f"{what}: found {v.dtype} values, expected class indices")
    v = v.astype(np.int64, copy=False)
    if len(v):
        lo, hi = v.min(), v.max()
        if lo < 0 or hi >= n_classes:
            raise AbawError(f"{what}: found class {int(lo if lo < 0 else hi)}, "
                            f"expected 0..{n_classes - 1}")
    return v


def confusion(true, pred, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts, rows = truth, columns = prediction."""
    t = _as_classes(true, n_classes, "truth")
    p = _as_classes(pred, n_classes, "prediction")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)


def _f1_from_counts(tp, fp, fn, zero_division: float) -> np.ndarray:
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    denom = 2 * tp + fp + fn
    out = np.full(tp.shape, float(zero_division))
    np.divide(2 * tp, denom, out=out, where=denom > 0)
    return out


def _f1_from_confusion(cm: np.ndarray, zero_division: float) -> np.ndarray:
    tp = np.diag(cm)
    return _f1_from_counts(tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp, zero_division)


def f1_per_class(true, pred, n_classes: int, zero_division: float = 0.0) -> np.ndarray:
    """One-vs-rest F1 of each class 0..n_classes-1."""
    return _f1_from_confusion(confusion(true, pred, n_classes), zero_division)


def _columns_as_bool(values, what: str) -> np.ndarray:
    """(frames, AUs) of 0/1 -> (AUs, frames) contiguous bool, so per-AU counts are fast scans."""
    v = np.asarray(values)
    if v.ndim != 2:
        raise AbawError(f"AU {what}: found shape {v.shape}, expected (frames, AUs)")
    if v.dtype == bool:
        return np.ascontiguousarray(v.T)
    if v.dtype.kind in "iu":
        ok = v.size == 0 or (v.min() >= 0 and v.max() <= 1)
    else:
        ok = bool(np.all((v == 0) | (v == 1)))
    if not ok:
        raise AbawError(f"AU {what}: found values other than 0/1 (probabilities?), expected 0/1")
    if v.dtype.itemsize == 1:  # int8/uint8 holding 0/1 is a bool array already
        return np.ascontiguousarray(v.T).view(bool)
    return np.ascontiguousarray(v.T) != 0


def _au_counts(true, pred):
    """Per AU: true positives, positives in truth, positives predicted."""
    t = _columns_as_bool(true, "truth")
    p = _columns_as_bool(pred, "prediction")
    if t.shape != p.shape:
        raise AbawError(f"AU prediction: found shape {p.T.shape}, expected {t.T.shape}")
    tp = np.array([np.count_nonzero(t[j] & p[j]) for j in range(len(t))])
    pos_true = np.array([np.count_nonzero(row) for row in t])
    pos_pred = np.array([np.count_nonzero(row) for row in p])
    return tp, pos_true, pos_pred, t, p


def f1_per_column(true, pred, zero_division: float = 0.0) -> np.ndarray:
    """Binary F1 of each column of 0/1 matrices (AUs)."""
    tp, pos_true, pos_pred, _, _ = _au_counts(true, pred)
    return _f1_from_counts(tp, pos_pred - tp, pos_true - tp, zero_division)


# --- track scores ----------------------------------------------------------------------------------

@dataclass
class Score:
    """A headline score with its breakdown (what `abaw eval` shows)."""

    track: str
    edition: int
    value: float
    parts: dict = field(default_factory=dict)   # e.g. {"CCC_V": .., "CCC_A": ..} or per-class F1
    frames: int = 0                             # valid frames scored
    masked: int = 0                             # frames dropped by the sentinel mask


def va_score(pred, true, edition: int = protocol.LATEST_EDITION,
             va_combine: str = protocol.UNSURE["va_combine"].default) -> Score:
    p, t = _masked("VA", pred, true)
    cv, ca = ccc(p[:, 0], t[:, 0]), ccc(p[:, 1], t[:, 1])
    value = cv + ca if (edition <= 2 and va_combine == "sum") else (cv + ca) / 2
    return Score("VA", edition, value, {"CCC_V": cv, "CCC_A": ca}, len(t), len(true) - len(t))


def expr_score(pred, true, edition: int = protocol.LATEST_EDITION,
               zero_division: float = 0.0) -> Score:
    names = protocol.expr_classes(edition)
    p, t = _masked("EXPR", pred, true)
    cm = confusion(t, p, len(names))
    f1 = _f1_from_confusion(cm, zero_division)
    acc = float(np.trace(cm) / len(t))
    macro = float(f1.mean())
    # Editions 1-2: 0.67 * F1 + 0.33 * accuracy over 7 classes; from edition 3: macro F1 over 8.
    value = 0.67 * macro + 0.33 * acc if edition <= 2 else macro
    parts = {"F1": macro, "accuracy": acc,
             **{f"F1_{n}": float(v) for n, v in zip(names, f1, strict=True)}}
    return Score("EXPR", edition, value, parts, len(t), len(true) - len(t))


def au_score(pred, true, edition: int = protocol.LATEST_EDITION, zero_division: float = 0.0,
             au_accuracy: str = protocol.UNSURE["au_accuracy"].default) -> Score:
    names = protocol.au_names(edition)
    p, t = _masked("AU", pred, true)
    if t.shape[1] != len(names):
        raise AbawError(f"AU labels: found {t.shape[1]} AUs, expected {len(names)} for edition "
                        f"{edition}")
    tp, pos_true, pos_pred, tb, pb = _au_counts(t, p)
    f1 = _f1_from_counts(tp, pos_pred - tp, pos_true - tp, zero_division)
    if au_accuracy == "exact_match":
        acc = float(np.mean(np.all(pb == tb, axis=0)))
    elif au_accuracy == "flattened":
        # correct cells = all cells - false positives - false negatives
        wrong = (pos_pred - tp).sum() + (pos_true - tp).sum()
        acc = float(1.0 - wrong / tb.size)
    else:
        raise AbawError(f"au_accuracy: found {au_accuracy!r}, expected flattened or exact_match")
    mean_f1 = float(f1.mean())
    # Editions 1-2: 0.5 * mean F1 + 0.5 * accuracy; from edition 3: mean F1 over the 12 AUs.
    value = 0.5 * mean_f1 + 0.5 * acc if edition <= 2 else mean_f1
    parts = {"F1": mean_f1, "accuracy": acc,
             **{f"F1_{n}": float(v) for n, v in zip(names, f1, strict=True)}}
    return Score("AU", edition, value, parts, len(t), len(true) - len(t))


def macro_f1_score(track: str, pred, true, edition: int = protocol.LATEST_EDITION,
                   zero_division: float = 0.0) -> Score:
    """Mean F1 over the track's classes: LSD (6), CE (7), AH/VD (2)."""
    names = protocol.rules(track, edition).names
    # AH and VD have no sentinel of their own: a class index of -1 is unannotated, as in EXPR
    p, t = _masked(track, pred, true, track if track in protocol.SENTINELS else "EXPR")
    cm = confusion(t, p, len(names))
    f1 = _f1_from_confusion(cm, zero_division)
    acc = float(np.trace(cm) / len(t))
    parts = {"F1": float(f1.mean()), "accuracy": acc,
             **{f"F1_{n}": float(v) for n, v in zip(names, f1, strict=True)}}
    return Score(track, edition, float(f1.mean()), parts, len(t), len(true) - len(t))


def mtl_score(pred: dict, true: dict, edition: int = 7, zero_division: float = 0.0) -> Score:
    """P_MTL = P_VA + P_EXPR (8 classes) + P_AU (12 AUs); each task masked on its own."""
    va = va_score(pred["VA"], true["VA"], edition)
    ex = expr_score(pred["EXPR"], true["EXPR"], edition, zero_division)
    au = au_score(pred["AU"], true["AU"], edition, zero_division)
    parts = {"VA": va.value, "EXPR": ex.value, "AU": au.value,
             **{f"VA_{k}": v for k, v in va.parts.items()},
             **{f"EXPR_{k}": v for k, v in ex.parts.items()},
             **{f"AU_{k}": v for k, v in au.parts.items()}}
    return Score("MTL", edition, va.value + ex.value + au.value, parts,
                 max(va.frames, ex.frames, au.frames), 0)


def pearson_mean_score(track: str, pred, true, edition: int) -> Score:
    """ERI / EMI: mean over intensity columns of Pearson r across videos."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 2:
        raise AbawError(f"{track}: found shapes {p.shape} and {t.shape}, expected equal "
                        "(videos, intensities)")
    rs = [pearson(p[:, k], t[:, k]) for k in range(t.shape[1])]
    return Score(track, edition, float(np.mean(rs)), {f"r_{k}": r for k, r in enumerate(rs)},
                 len(t), 0)


def class_values_from_confusion(track: str, edition: int, cm,
                                zero_division: float = 0.0) -> np.ndarray:
    """The official single-label score (EXPR, CE, LSD, ...) of each confusion matrix in `cm`.

    `cm` (..., C, C), rows = truth: the same value as `score` on the frames counted, vectorised
    so that a tuning sweep scores many candidate decisions at once. Returns shape (...).
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    f1 = _f1_from_counts(tp, cm.sum(axis=-2) - tp, cm.sum(axis=-1) - tp, zero_division)
    macro = f1.mean(axis=-1)
    if protocol.rules(track, edition).metric == "expr_f1_acc":
        acc = tp.sum(axis=-1) / np.maximum(cm.sum(axis=(-2, -1)), 1)
        return 0.67 * macro + 0.33 * acc
    return macro


def au_terms_from_counts(edition: int, tp, fp, fn, tn, zero_division: float = 0.0) -> np.ndarray:
    """Per-AU terms whose mean over the AUs is the official AU score (shape of the counts).

    From edition 3 the term is the AU's F1; in editions 1-2 it is 0.5 * F1 + 0.5 * the AU's
    accuracy, whose mean is the score with the default flattened accuracy (an exact-match accuracy
    does not split per AU). Lets a tuning sweep pick each AU's threshold on its own.
    """
    tp, fp, fn, tn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn, tn))
    f1 = _f1_from_counts(tp, fp, fn, zero_division)
    if edition <= 2:
        return 0.5 * f1 + 0.5 * (tp + tn) / np.maximum(tp + fp + fn + tn, 1)
    return f1


CHOICES = ("zero_division", "au_accuracy", "va_combine")  # the UNSURE defaults a caller may override

# formula name (protocol TrackRules.metric) -> scorer(track, pred, true, edition, choices)
FORMULAS = {
    "va": lambda tr, p, t, ed, c: va_score(p, t, ed, c.get("va_combine", "mean")),
    "expr_f1": lambda tr, p, t, ed, c: expr_score(p, t, ed, c.get("zero_division", 0.0)),
    "expr_f1_acc": lambda tr, p, t, ed, c: expr_score(p, t, ed, c.get("zero_division", 0.0)),
    "au_f1": lambda tr, p, t, ed, c: au_score(p, t, ed, c.get("zero_division", 0.0)),
    "au_f1_acc": lambda tr, p, t, ed, c: au_score(p, t, ed, c.get("zero_division", 0.0),
                                                  c.get("au_accuracy", "flattened")),
    "mtl": lambda tr, p, t, ed, c: mtl_score(p, t, ed, c.get("zero_division", 0.0)),
    "macro_f1": lambda tr, p, t, ed, c: macro_f1_score(tr, p, t, ed, c.get("zero_division", 0.0)),
    "pearson_mean": lambda tr, p, t, ed, c: pearson_mean_score(tr, p, t, ed),
}


def score(track: str, edition: int, pred, true, **choices) -> Score:
    """The official score of `track` in `edition` on decoded predictions (classes, 0/1 AUs, values).

    `choices` override the UNSURE defaults: zero_division, au_accuracy, va_combine. MTL takes dicts
    {"VA": (N, 2), "EXPR": (N,), "AU": (N, 12)} for both `pred` and `true`.
    """
    unknown = set(choices) - set(CHOICES)
    if unknown:
        raise AbawError(f"metric option: found {sorted(unknown)}, expected any of {list(CHOICES)}")
    r = protocol.rules(track, edition)
    return FORMULAS[r.metric](r.track, pred, true, edition, choices)


def score_outputs(lay: Layout, outputs, labels, decision: Decision | None = None,
                  **choices) -> Score:
    """The official score of raw outputs (N, K) in layout `lay` against labels (N, L) in the
    index's label layout (sentinels are masked), decided by `decision` (default: plain argmax,
    0.5, clip). What training validation, post-processing tuning and evaluation all report."""
    return score(lay.track, lay.edition, decide(lay, outputs, decision), lay.split(labels),
                 **choices)


class MetricCollector:
    """Gathers per-video arrays, then scores them pooled (default) or averaged per video."""

    def __init__(self, track: str, edition: int,
                 pooling: str = protocol.UNSURE["pooling"].default, **choices):
        if pooling not in protocol.UNSURE["pooling"].alternatives:
            raise AbawError(f"pooling: found {pooling!r}, expected pooled or per_video")
        self.track, self.edition, self.pooling, self.choices = track, edition, pooling, choices
        self.preds: dict[str, object] = {}
        self.trues: dict[str, object] = {}

    def add(self, video: str, pred, true) -> None:
        if video in self.preds:
            raise AbawError(f"video {video}: added twice to the metric collector")
        self.preds[video], self.trues[video] = pred, true

    def compute(self) -> Score:
        if not self.preds:
            raise AbawError(f"{self.track}: no videos to score")
        if self.pooling == "per_video":
            scores = [score(self.track, self.edition, self.preds[v], self.trues[v], **self.choices)
                      for v in self.preds]
            parts = {k: float(np.mean([s.parts[k] for s in scores])) for k in scores[0].parts}
            return Score(self.track, self.edition, float(np.mean([s.value for s in scores])), parts,
                         sum(s.frames for s in scores), sum(s.masked for s in scores))
        if self.track.upper() == "MTL":
            cat = {k: np.concatenate([np.asarray(d[k]) for d in self.preds.values()])
                   for k in ("VA", "EXPR", "AU")}
            tcat = {k: np.concatenate([np.asarray(d[k]) for d in self.trues.values()])
                    for k in ("VA", "EXPR", "AU")}
            return score("MTL", self.edition, cat, tcat, **self.choices)
        pred = np.concatenate([np.asarray(p) for p in self.preds.values()])
        true = np.concatenate([np.asarray(self.trues[v]) for v in self.preds])
        return score(self.track, self.edition, pred, true, **self.choices)
