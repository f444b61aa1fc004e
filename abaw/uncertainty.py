"""How sure a score is: a bootstrap over videos, and the spread of a score across folds.

Videos, not frames, are resampled: the frames of one video are strongly correlated (the same
person, light and camera, labels that change every few seconds), so resampling frames would
pretend there are hundreds of thousands of independent samples where there are tens of people.
Each draw takes as many videos as there are, with replacement, and scores them pooled with the
official metric, exactly as `abaw.metrics.score` pools frames.

Speed: every video is reduced once to the sufficient statistics of its metric, and a draw is a
vector of multinomial counts over the videos, so its pooled statistics are `counts @ stats`
instead of re-concatenating frames:
- VA: per dimension the frame count, sums, sums of squares and of cross-products (CCC from
  population moments), plus each video's min and max (the metric's constant-series rule);
- classes: the confusion matrix (F1 per class, accuracy for editions 1-2);
- AUs: TP, FP, FN, TN per AU and the frames whose AUs all match (exact-match accuracy);
- MTL: the three, each masked on its own as `metrics.mtl_score` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw import metrics, protocol
from abaw.errors import AbawError

DRAWS = 1000
LEVEL = 0.90


@dataclass
class Interval:
    """A percentile bootstrap interval of an official score."""

    point: float          # the score of all videos, pooled (= metrics.score)
    low: float
    high: float
    level: float          # e.g. 0.9 for the 5th to the 95th percentile
    draws: np.ndarray     # (draws,) the score of each bootstrap draw
    units: int            # videos (images for image-level tracks) resampled

    def __str__(self) -> str:
        return f"{self.point:.4f} [{self.low:.4f}, {self.high:.4f}]"


@dataclass
class Spread:
    """Mean and sample standard deviation (n - 1) of per-fold scores, as papers report them."""

    mean: float
    sd: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.sd:.4f} ({self.n} folds)"


def fold_spread(scores) -> Spread:
    """Mean ± sd over k-fold scores (sd 0 for a single fold)."""
    s = np.asarray([float(v) for v in scores], np.float64)
    if not len(s):
        raise AbawError("fold scores: found none, expected one score per fold")
    return Spread(float(s.mean()), float(s.std(ddof=1)) if len(s) > 1 else 0.0, len(s))


def draw_counts(n_units: int, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """(draws, n_units) how often each unit is taken in each draw (each row sums to n_units)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=draws)


def bootstrap(track: str, edition: int, pairs: dict, draws: int = DRAWS, seed: int = 0,
              level: float = LEVEL, **choices) -> Interval:
    """Percentile interval of the pooled official score over resampled units.

    `pairs`: unit (a video) -> (pred, true) in the form `metrics.score` takes (decoded values;
    MTL a dict per task); sentinel frames of `true` are masked as the metric masks them.
    """
    if not 0 < level < 1:
        raise AbawError(f"interval level: found {level}, expected a fraction between 0 and 1")
    stats = UnitStats(track, edition, pairs, **choices)
    point = float(stats.values(np.ones((1, stats.n_units)))[0])
    counts = draw_counts(stats.n_units, draws, seed)
    values = stats.values(counts)
    tail = 50 * (1 - level)
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return Interval(point, float(low), float(high), level, values, stats.n_units)


class UnitStats:
    """The metric's sufficient statistics of every unit; `values(weights)` scores weighted pools."""

    def __init__(self, track: str, edition: int, pairs: dict, **choices):
        unknown = set(choices) - set(metrics.CHOICES)
        if unknown:
            raise AbawError(f"metric option: found {sorted(unknown)}, expected any of "
                            f"{list(metrics.CHOICES)}")
        if not pairs:
            raise AbawError(f"{track}: found no videos to resample, expected at least one")
        self.rules = protocol.rules(track, edition)
        self.edition, self.choices = edition, choices
        self.zd = float(choices.get("zero_division", 0.0))
        metric = self.rules.metric
        if metric == "mtl":
            self.tasks = [("VA", "VA", 0), ("EXPR", "EXPR", len(protocol.EXPR_CLASSES_8)),
                          ("AU", "AU", len(protocol.AUS_12))]
        elif metric == "va":
            self.tasks = [(None, "VA", 0)]
        elif metric.startswith("au"):
            self.tasks = [(None, "AU", len(self.rules.names))]
        elif metric in ("expr_f1", "expr_f1_acc", "macro_f1"):
            mask = self.rules.track if self.rules.track in protocol.SENTINELS else "EXPR"
            self.tasks = [(None, mask, len(self.rules.names))]
        else:
            raise AbawError(f"{track}: found metric {metric}, expected a per-frame metric "
                            "(VA, classes, AUs or MTL) to bootstrap")
        self.units = list(pairs)
        self.n_units = len(self.units)
        self.stats, self.low, self.high = [], [], []
        for key, kind, width in self.tasks:
            rows = [_task_stats(kind, width, *(_part(pairs[u], key))) for u in self.units]
            self.stats.append(np.stack([r[0] for r in rows]))       # (U, S) additive
            self.low.append(np.stack([r[1] for r in rows]))         # (U, 4) VA minima
            self.high.append(np.stack([r[2] for r in rows]))        # (U, 4) VA maxima

    def values(self, weights) -> np.ndarray:
        """(D,) pooled official scores of D weightings (D, U) of the units (counts or 0/1)."""
        w = np.asarray(weights, np.float64)
        parts = []
        for (key, kind, width), s, lo, hi in zip(self.tasks, self.stats, self.low, self.high,
                                                  strict=True):
            total = w @ s                                            # (D, S)
            if kind == "VA":
                taken = w > 0                                        # (D, U)
                mins = np.where(taken[:, :, None], lo[None], np.inf).min(axis=1)    # (D, 4)
                maxs = np.where(taken[:, :, None], hi[None], -np.inf).max(axis=1)
                parts.append(self._va(total, mins == maxs, key))
            elif kind == "AU":
                parts.append(self._au(total, width, key))
            else:
                parts.append(self._classes(total, width, key))
        return np.sum(parts, axis=0) if len(parts) > 1 else parts[0]

    def _va(self, total, constant, key) -> np.ndarray:
        n = total[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            cccs = []
            for d in range(2):
                sx, sy, sxx, syy, sxy = total[:, 1 + 5 * d: 6 + 5 * d].T
                mx, my = sx / n, sy / n
                cx, cy = constant[:, 2 * d], constant[:, 2 * d + 1]
                vx = np.where(cx, 0.0, np.maximum(sxx / n - mx * mx, 0.0))
                vy = np.where(cy, 0.0, np.maximum(syy / n - my * my, 0.0))
                cov = np.where(cx | cy, 0.0, sxy / n - mx * my)
                denom = vx + vy + (mx - my) ** 2
                cccs.append(np.where(denom > 0, 2 * cov / np.where(denom > 0, denom, 1), 0.0))
        cccs = np.where(n > 0, cccs, np.nan)
        combine = self.choices.get("va_combine", "mean")
        if key is None and self.edition <= 2 and combine == "sum":
            return cccs[0] + cccs[1]
        return (cccs[0] + cccs[1]) / 2

    def _classes(self, total, c, key) -> np.ndarray:
        cm = total.reshape(-1, c, c)
        # MTL's expression term is the macro F1 over 8 classes (its editions have no 0.67/0.33
        # mix), which is what the MTL rules give here
        track = "MTL" if key else self.rules.track
        values = metrics.class_values_from_confusion(track, self.edition, cm, self.zd)
        return np.where(cm.sum(axis=(1, 2)) > 0, values, np.nan)

    def _au(self, total, a, key) -> np.ndarray:
        tp, fp, fn, tn = (total[:, i * a:(i + 1) * a] for i in range(4))
        exact, n = total[:, 4 * a], total[:, 4 * a + 1]
        terms = metrics.au_terms_from_counts(self.edition, tp, fp, fn, tn, self.zd)
        value = terms.mean(axis=1)
        if key is None and self.edition <= 2 and \
                self.choices.get("au_accuracy", "flattened") == "exact_match":
            f1 = metrics.au_terms_from_counts(3, tp, fp, fn, tn, self.zd).mean(axis=1)
            value = 0.5 * f1 + 0.5 * exact / np.maximum(n, 1)
        return np.where(n > 0, value, np.nan)


def _part(pair, key):
    pred, true = pair
    return (pred, true) if key is None else (pred[key], true[key])


def _task_stats(kind: str, width: int, pred, true):
    """(additive stats (S,), VA minima (4,), VA maxima (4,)) of one unit's valid frames."""
    true = np.asarray(true)
    pred = np.asarray(pred)
    if len(pred) != len(true):
        raise AbawError(f"{kind}: found {len(pred)} predicted frames, expected {len(true)} "
                        "(one per ground-truth frame)")
    keep = metrics.valid_mask(kind, true) if len(true) else np.zeros(0, bool)
    p, t = pred[keep], true[keep]
    none = np.zeros(4), np.zeros(4)
    if kind == "VA":
        p, t = p.astype(np.float64), t.astype(np.float64)
        s = [len(t)]
        lo, hi = np.full(4, np.inf), np.full(4, -np.inf)
        for d in range(2):
            x, y = p[:, d], t[:, d]
            s += [x.sum(), y.sum(), x @ x, y @ y, x @ y]
            if len(t):
                lo[2 * d:2 * d + 2] = x.min(), y.min()
                hi[2 * d:2 * d + 2] = x.max(), y.max()
        return np.array(s, np.float64), lo, hi
    if kind == "AU":
        pb, tb = p.astype(bool), t.astype(bool)
        if pb.shape[1:] != (width,) or tb.shape[1:] != (width,):
            raise AbawError(f"AU: found {tb.shape[1:]} truth and {pb.shape[1:]} predicted "
                            f"columns, expected {width}")
        tp = (pb & tb).sum(axis=0)
        fp = (pb & ~tb).sum(axis=0)
        fn = (~pb & tb).sum(axis=0)
        tn = (~pb & ~tb).sum(axis=0)
        exact = np.all(pb == tb, axis=1).sum()
        return np.concatenate([tp, fp, fn, tn, [exact, len(t)]]).astype(np.float64), *none
    cm = np.bincount(t.astype(np.int64) * width + p.astype(np.int64), minlength=width * width)
    if len(cm) != width * width:
        raise AbawError(f"classes: found a class index above {width - 1}, expected 0..{width - 1}")
    return cm.astype(np.float64), *none
