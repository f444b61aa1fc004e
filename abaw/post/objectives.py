"""Each output group's share of the official score, fast enough to try many choices.

- `group_value` / `decided_value`: CCC of a VA column, the class score of argmax decisions, the
  mean AU term at the best (or the 0.5) threshold, all through `abaw.metrics`.
- AU thresholds: one histogram of (AU, threshold level, truth) gives TP/FP/FN/TN at all 127
  candidate thresholds at once; thresholds are multiples of 1/128, exact in binary, so the
  histogram's decision and `p >= t` in `abaw.core.decisions.active` agree bit for bit.
- Class bias: coordinate ascent where one histogram per class covers every candidate offset.
- Window sweeps: `Sweep` + `decide` walk the smoothed columns block by block in reused
  buffers and keep only the decisions at the annotated rows.
"""

from __future__ import annotations

import numpy as np

from abaw import metrics
from abaw.core.decisions import FLOOR, clip_va
from abaw.post import smooth as sm
from abaw.post.truth import Target

BINS = 128
THRESHOLDS = np.arange(1, BINS) / BINS
BIAS_GRID = np.round(np.arange(-30, 31) / 10, 1)   # log-probability offsets: x e^-3 .. x e^3
_STRIDE = 2 * (BINS + 1)   # histogram bins per AU: levels 0..128 (128: p == 1) x truth 0/1


def group_value(kind: str, values, target: Target, track: str, edition: int,
                zero_division: float = 0.0, tune_thresholds: bool = True) -> float:
    """The group's share of the official score (CCC, class score, mean AU term) given its
    (k, M) values at the target's rows; `kind`: the group's (values, classes or binary)."""
    decided = {"values": lambda: values[0], "classes": lambda: np.argmax(values, axis=0),
               "binary": lambda: au_hist(values, target.au_truth())}[kind]()
    return decided_value(kind, decided, target, track, edition, values.shape[0], zero_division,
                         tune_thresholds)


def decided_value(kind, decided, target, track, edition, n_cols, zero_division=0.0,
                  tune_thresholds=True) -> float:
    """The group's share of the score from its decisions: VA values, classes, or the AU
    histogram of `au_hist`."""
    if kind == "values":
        return metrics.ccc(clip_va(decided), target.labels)
    if kind == "classes":
        return class_value(decided, target.labels, track, edition, n_cols, zero_division)
    terms = au_terms_from_hist(decided, edition, zero_division)
    return float(terms.max(axis=1).mean() if tune_thresholds else terms[:, BINS // 2 - 1].mean())


def class_value(pred, labels, track, edition, n_classes, zero_division=0.0) -> float:
    cm = np.bincount(labels * n_classes + pred, minlength=n_classes * n_classes)
    return float(metrics.class_values_from_confusion(
        track, edition, cm.reshape(n_classes, n_classes), zero_division))


def au_terms(values, labels, edition, zero_division=0.0) -> np.ndarray:
    """(A, 127) per-AU score terms at every candidate threshold in THRESHOLDS."""
    return au_terms_from_hist(au_hist(values, np.asarray(labels).T), edition, zero_division)


def au_hist(values, truth) -> np.ndarray:
    """(A * 258,) counts of (AU, threshold level, truth) for (A, M) probabilities and (A, M) 0/1
    truth: bin (AU * 129 + level) * 2 + truth, level = floor(p * 128) (exact: 128 is a power of
    two) = the number of thresholds in THRESHOLDS that p reaches."""
    from abaw.post import compiled  # here: importing numba takes ~0.3 s

    hist = np.zeros(values.shape[0] * _STRIDE, np.int64)
    compiled.au_histogram(np.asarray(values, np.float32) * np.float32(BINS),
                          np.asarray(truth, np.uint8), hist)
    return hist


def au_terms_from_hist(hist, edition, zero_division=0.0) -> np.ndarray:
    """(A, 127) per-AU score terms from the (AU, level, truth) histogram."""
    hist = hist.reshape(-1, BINS + 1, 2)
    reached = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:BINS]        # (A, 127, 2): level >= b
    tp, fp = reached[..., 1], reached[..., 0]
    pos = hist[..., 1].sum(axis=1, keepdims=True)
    neg = hist[..., 0].sum(axis=1, keepdims=True)
    return metrics.au_terms_from_counts(edition, tp, fp, pos - tp, neg - fp, zero_division)


def best_thresholds(terms) -> np.ndarray:
    """Per AU the best threshold; among equally good ones the closest to 0.5."""
    best = terms.max(axis=1, keepdims=True)
    dist = np.where(terms >= best - 1e-12, np.abs(THRESHOLDS - 0.5)[None, :], np.inf)
    return THRESHOLDS[np.argmin(dist, axis=1)]


def tune_bias(probs, labels, track: str, edition: int, zero_division: float = 0.0,
              grid=BIAS_GRID, rounds: int = 3) -> tuple[np.ndarray, float]:
    """Coordinate ascent on per-class log-probability offsets; `probs` (C, M). -> (bias, value).

    For class c with the others fixed, a row predicts c iff log p_c + b_c beats the best other
    class (or ties it and comes first: argmax keeps the first maximum), which happens from one
    grid point k on; one histogram of k per (truth, runner-up) gives the confusion matrix for every
    candidate b_c. The values are those `decisions.classes` compares, so ties are decided alike.
    """
    c_n, m = probs.shape
    probs = np.asarray(probs)
    logp = np.log(np.maximum(probs, FLOOR)).astype(np.float64)              # (C, M)
    grid = np.asarray(grid, np.float64)
    bias = np.zeros(c_n)
    value = class_value(np.argmax(probs, axis=0), labels, track, edition, c_n, zero_division)
    for _ in range(rounds):
        moved = False
        for c in range(c_n):
            other = logp + bias[:, None]
            other[c] = -np.inf
            runner = np.argmax(other, axis=0)                                 # (M,)
            k = _first_win(grid, logp[c], other[runner, np.arange(m)], c < runner)
            hist = np.bincount((k * c_n + labels) * c_n + runner,
                               minlength=(len(grid) + 1) * c_n * c_n)
            switched = np.cumsum(hist.reshape(len(grid) + 1, c_n, c_n), axis=0)[:-1]  # (G, C, C)
            cm = np.bincount(labels * c_n + runner, minlength=c_n * c_n).reshape(c_n, c_n)
            cms = cm[None] - switched
            cms[:, :, c] += switched.sum(axis=2)
            values = metrics.class_values_from_confusion(track, edition, cms, zero_division)
            j = int(np.argmax(values))
            if values[j] > value + 1e-12:
                bias[c], value, moved = grid[j], float(values[j]), True
        if not moved:
            break
    return bias, value


def _first_win(grid, logp_c, top, first) -> np.ndarray:
    """(M,) the first grid index j from which log p_c + grid[j] wins each row: beats `top` (the
    best other class) or ties it where c comes `first`. That is the first grid point >= top -
    log p_c, but for rounding, which may move it by one where a grid point (nearly) equals the
    difference: the sums themselves settle it (they only grow with j)."""
    def wins(j):
        s = logp_c + grid[np.clip(j, 0, len(grid) - 1)]
        return (s > top) | ((s == top) & first)

    k = np.searchsorted(grid, top - logp_c)
    k = np.where((k > 0) & wins(k - 1), k - 1, k)
    return np.where((k < len(grid)) & ~wins(k), k + 1, k)


class Sweep:
    """One group's smoothed columns for any window of one kind: `blocks(window, scale)` yields
    (start, stop, (k, rows) values * scale) blocks, `columns(window)` the whole (k, N) array.
    The moving mean keeps its cumulative sums; the other kinds are computed whole per window."""

    def __init__(self, kind: str, x, offsets, ignore):
        self.kind, self.x, self.offsets, self.ignore = kind, x, offsets, ignore
        self.smoother = sm.Smoother(x, offsets, ignore) if kind == "mean" else None

    def columns(self, window: int) -> np.ndarray:
        if self.smoother is not None:
            return self.smoother.columns(window)
        return sm.smooth_columns(self.x, self.offsets, self.kind, window, self.ignore)

    def at(self, window: int, rows) -> np.ndarray:
        """(k, len(rows)) smoothed values at the sorted `rows`, gathered block by block."""
        rows = np.asarray(rows)
        out = np.empty((self.x.shape[1], len(rows)), np.float32)
        cuts = np.searchsorted(rows, np.arange(0, len(self.x) + sm.BLOCK, sm.BLOCK))
        for start, _, vals in self.blocks(window):
            j, m = cuts[start // sm.BLOCK], cuts[start // sm.BLOCK + 1]
            out[:, j:m] = vals[:, rows[j:m] - start]
        return out

    def blocks(self, window: int, scale: float = 1.0):
        if self.smoother is not None:
            yield from self.smoother.blocks(window, scale=scale)
            return
        full = self.columns(window)
        if scale != 1.0:
            full *= np.float32(scale)
        for s in range(0, full.shape[1], sm.BLOCK):
            yield s, min(s + sm.BLOCK, full.shape[1]), full[:, s:s + sm.BLOCK]


def decide(kind: str, sweep: Sweep, window: int, target: Target) -> np.ndarray:
    """The group's decisions at the target's rows for one window, gathered block by block:
    values (M,) for VA, classes (M,) for class groups, the (AU, threshold level, truth)
    histogram for AUs."""
    n_rows, n_cols = sweep.x.shape
    blocks = sweep.blocks(window, BINS if kind == "binary" else 1.0)
    rows = target.rows
    cuts = np.searchsorted(rows, np.arange(0, n_rows + sm.BLOCK, sm.BLOCK))
    if kind == "binary":
        from abaw.post import compiled  # here: importing numba takes ~0.3 s

        out = np.zeros(n_cols * _STRIDE, np.int64)
        truth = target.au_truth()
    else:
        out = np.empty(len(rows), np.float32 if kind == "values" else np.int64)
    work = _Work(n_cols)
    for start, stop, vals in blocks:
        j, m = cuts[start // sm.BLOCK], cuts[start // sm.BLOCK + 1]
        if m == j:
            continue
        local = rows[j:m] - start
        if kind == "values":
            out[j:m] = vals[0, local]
        elif kind == "classes":
            out[j:m] = work.argmax(vals)[local]
        else:   # the values come scaled by BINS: their integer part is the threshold level
            dense = m - j == stop - start
            compiled.au_histogram(vals if dense else vals[:, local], truth[:, j:m], out)
    return out


class _Work:
    """Buffers reused from block to block: a fresh array per block would page-fault each time."""

    def __init__(self, n_cols):
        self.best = np.empty(sm.BLOCK, np.float32)
        self.idx = np.empty(sm.BLOCK, np.int64)
        self.better = np.empty(sm.BLOCK, bool)

    def argmax(self, vals) -> np.ndarray:
        """argmax over axis 0 of a (C, B) block (the first maximum wins, as np.argmax) by C - 1
        compare-and-select passes: faster than np.argmax's strided reduction on this layout."""
        b = vals.shape[1]
        best, idx, better = self.best[:b], self.idx[:b], self.better[:b]
        best[:] = vals[0]
        idx[:] = 0
        for c in range(1, vals.shape[0]):
            np.greater(vals[c], best, out=better)
            np.maximum(best, vals[c], out=best)
            np.copyto(idx, c, where=better)     # a ufunc-style copy: releases the GIL
        return idx
