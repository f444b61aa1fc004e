"""Tuning post-processing on validation, against the official metric of the track.

What is tuned, per output group (`decode.groups`): the smoothing kind and window (valence and
arousal each on their own: their CCCs are separate terms of the score); then, at the chosen
window, each AU's decision threshold and the class bias (a prior adjustment of the argmax). The
score is separable over the groups (VA = mean of two CCCs, MTL = VA + EXPR + AU, the AU score =
mean of per-AU terms), so tuning each group alone finds the joint optimum of those choices.

Speed: `Smoother` builds the cumulative sums once per group and kind; each window is then two
slices; AU thresholds for all AUs and all 127 candidates come from one histogram (`bincount`);
the class bias from one histogram per class over all candidate values (`tune_bias`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from abaw import metrics, protocol
from abaw.errors import AbawError
from abaw.formats.prediction_set import PredictionSet
from abaw.post import decode as dec
from abaw.post import impute as imp
from abaw.post import smooth as sm
from abaw.post.params import PostParams

DEFAULT_WINDOWS = (1, 3, 5, 9, 15, 25, 35, 51, 75, 101, 151, 201, 301)
# AU thresholds are multiples of 1/128: exact in binary, so the histogram's decision and
# `p >= t` in `decode.active` agree bit for bit.
BINS = 128
THRESHOLDS = np.arange(1, BINS) / BINS
BIAS_GRID = np.round(np.arange(-30, 31) / 10, 1)   # log-probability offsets: x e^-3 .. x e^3
_STRIDE = 2 * (BINS + 1)   # histogram bins per AU: levels 0..128 (128: p == 1) x truth 0/1


@dataclass
class Target:
    """The truth of one output group at the rows of a prediction set that it annotates."""

    rows: np.ndarray     # (M,) rows of the prediction set (valid ground truth only)
    labels: np.ndarray   # VA: (M,) float64; classes: (M,) int64; AUs: (M, A) bool

    def au_truth(self) -> np.ndarray:
        """(A, M) uint8 AU truth, AU-major: the histogram reads it block by block."""
        if getattr(self, "_au_truth", None) is None:
            self._au_truth = np.ascontiguousarray(self.labels.T, dtype=np.uint8)
        return self._au_truth


class ValTruth:
    """Ground truth per video, aligned to a prediction set by (video, frame), sentinels masked.

    `per_video`: id -> (frames (n,), labels (n, K) or (n,)) with the track's sentinels (as in a
    DatasetIndex sequence). MTL labels are the 15 columns v, a, expression, 12 AUs.
    """

    def __init__(self, track: str, per_video: dict):
        self.track = track.upper()
        self.kind = dec.kind_of(self.track)
        self.per_video = {}
        for v, (frames, labels) in per_video.items():
            f = np.asarray(frames, np.int64)
            y = np.asarray(labels, np.float64)
            y = y[:, None] if y.ndim == 1 else y
            if len(y) != len(f):
                raise AbawError(f"truth of {v}: found {len(y)} label rows, expected {len(f)} "
                                "(one per frame)")
            self.per_video[v] = (f, y)
        if not self.per_video:
            raise AbawError(f"{self.track} truth: found no annotated video, expected at least one")

    @classmethod
    def from_index(cls, index, track: str, split: str = "val") -> ValTruth:
        per_video = {}
        for i in index.ids(track, split):
            seq = index.sequence(track, i)
            if seq.labels is not None:
                per_video[i] = (seq.frames, seq.labels)
        if not per_video:
            raise AbawError(f"index of {index.root}: found no annotated {track} {split} "
                            "sequence, expected the validation annotations")
        return cls(track, per_video)

    def frames(self) -> dict:
        """video -> annotated frames (for `impute.complete`)."""
        return {v: f for v, (f, _) in self.per_video.items()}

    def align(self, ps: PredictionSet) -> dict[str, Target]:
        """group -> Target; every annotated frame must have a row in `ps` (impute.complete)."""
        if ps.track != self.track:
            raise AbawError(f"prediction set: found track {ps.track}, expected {self.track} "
                            "(the track of the validation truth)")
        rows, labels = [], []
        for v, (f, y) in self.per_video.items():
            if v not in set(ps.videos):
                raise AbawError(f"prediction set: found no rows for validation video {v}, "
                                "expected every annotated video")
            s = ps.rows(v)
            have = ps.frames[s]
            pos = np.minimum(np.searchsorted(have, f), max(len(have) - 1, 0))
            found = (have[pos] == f) if len(have) else np.zeros(len(f), bool)
            rows.append(np.where(found, s.start + pos, -1))
            labels.append(y)
        rows, labels = np.concatenate(rows), np.concatenate(labels)
        targets = {}
        for group, (valid, lab) in self._group_labels(labels).items():
            lost = valid & (rows < 0)
            if lost.any():
                raise AbawError(f"prediction set: found no row for {lost.sum()} annotated "
                                f"{group} frames, expected one per frame (complete it first)")
            order = np.argsort(rows[valid], kind="stable")     # row order: sweeps go by blocks
            targets[group] = Target(rows[valid][order], lab[valid][order])
        return targets

    def _group_labels(self, y):
        """group -> (valid mask, labels) over the concatenated label rows."""
        if self.kind == "regression":
            ok = metrics.valid_mask("VA", y[:, :2])
            return {name: (ok, y[:, i]) for i, name in enumerate(protocol.VA_NAMES)}
        if self.kind == "single_label":
            mask_track = self.track if self.track in protocol.SENTINELS else "EXPR"
            return {self.track: (metrics.valid_mask(mask_track, y[:, 0]),
                                 np.nan_to_num(y[:, 0]).astype(np.int64))}
        if self.kind == "multi_label":
            return {"AU": (metrics.valid_mask("AU", y), y == 1)}
        n_va = len(protocol.VA_NAMES)
        va_ok = metrics.valid_mask("VA", y[:, :n_va])
        out = {name: (va_ok, y[:, i]) for i, name in enumerate(protocol.VA_NAMES)}
        out["EXPR"] = (metrics.valid_mask("EXPR", y[:, n_va]),
                       np.nan_to_num(y[:, n_va]).astype(np.int64))
        out["AU"] = (metrics.valid_mask("AU", y[:, n_va + 1:]), y[:, n_va + 1:] == 1)
        return out


# --- group objectives on (k, M) column-major values at a target's rows ---------------------------

def group_value(kind: str, values, target: Target, track: str, edition: int,
                zero_division: float = 0.0, tune_thresholds: bool = True) -> float:
    """The group's share of the official score (CCC, class score, mean AU term) given its
    (k, M) values at the target's rows."""
    decided = {"regression": lambda: values[0], "single_label": lambda: np.argmax(values, axis=0),
               "multi_label": lambda: au_hist(levels(values), target.au_truth())}[kind]()
    return decided_value(kind, decided, target, track, edition, values.shape[0], zero_division,
                         tune_thresholds)


def decided_value(kind, decided, target, track, edition, n_cols, zero_division=0.0,
                  tune_thresholds=True) -> float:
    """The group's share of the score from its decisions: values, classes or AU levels."""
    if kind == "regression":
        return metrics.ccc(dec.clip_va(decided), target.labels)
    if kind == "single_label":
        return class_value(decided, target.labels, track, edition, n_cols, zero_division)
    terms = au_terms_from_hist(decided, edition, zero_division)
    return float(terms.max(axis=1).mean() if tune_thresholds else terms[:, BINS // 2 - 1].mean())


def class_value(pred, labels, track, edition, n_classes, zero_division=0.0) -> float:
    cm = np.bincount(labels * n_classes + pred, minlength=n_classes * n_classes)
    return float(metrics.class_values_from_confusion(
        track, edition, cm.reshape(n_classes, n_classes), zero_division))


def levels(values) -> np.ndarray:
    """(A, M) probabilities -> uint8 count of the thresholds in THRESHOLDS each one reaches
    (floor(p * 128) is exact: 128 is a power of two)."""
    return np.clip(values * np.float32(BINS), 0, BINS - 1).astype(np.uint8)


def au_terms(values, labels, edition, zero_division=0.0) -> np.ndarray:
    """(A, 127) per-AU score terms at every candidate threshold in THRESHOLDS."""
    return au_terms_from_hist(au_hist(levels(values), np.asarray(labels).T), edition,
                              zero_division)


def au_hist(level, truth, in_place: bool = False) -> np.ndarray:
    """(A * 258,) counts of (AU, threshold level, truth): bin (AU * 129 + level) * 2 + truth.
    `truth`: (A, M) 0/1 (`Target.au_truth`); `in_place`: `level` (int32, contiguous) may be
    overwritten by the bin index."""
    index = level if in_place else np.empty(level.shape, np.int32)
    np.left_shift(level, 1, out=index)
    index += truth
    index += (np.arange(level.shape[0], dtype=np.int32) * _STRIDE)[:, None]
    return np.bincount(index.reshape(-1), minlength=level.shape[0] * _STRIDE)


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

    For class c with the others fixed, a row predicts c iff b_c > d = max_other - log p_c, so one
    histogram of d per (truth, runner-up) gives the confusion matrix for every candidate b_c.
    """
    c_n, m = probs.shape
    logp = np.log(np.maximum(np.asarray(probs, np.float64), 1e-12))         # (C, M)
    grid = np.asarray(grid, np.float64)
    bias = np.zeros(c_n)
    value = class_value(np.argmax(logp, axis=0), labels, track, edition, c_n, zero_division)
    for _ in range(rounds):
        moved = False
        for c in range(c_n):
            other = logp + bias[:, None]
            other[c] = -np.inf
            runner = np.argmax(other, axis=0)                                 # (M,)
            d = other[runner, np.arange(m)] - logp[c]
            k = np.searchsorted(grid, d, side="right")                        # grid[j] > d iff j >= k
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


# --- the tuning run --------------------------------------------------------------------------------

def blocks_for(kind: str, x, offsets, ignore):
    """(window, scale) -> iterator of (start, stop, (k, rows) values * scale) blocks of the
    smoothed columns; the moving mean reuses its cumulative sums, the other kinds are computed
    whole and sliced."""
    if kind == "mean":
        smoother = sm.Smoother(x, offsets, ignore)
        return lambda window, scale=1.0: smoother.blocks(window, scale=scale)

    def blocks(window, scale=1.0):
        full = sm.smooth_columns(x, offsets, kind, window, ignore)
        if scale != 1.0:
            full *= np.float32(scale)
        for s in range(0, full.shape[1], sm.BLOCK):
            yield s, min(s + sm.BLOCK, full.shape[1]), full[:, s:s + sm.BLOCK]
    return blocks


def decide(kind: str, blocks, window: int, target: Target, n_rows: int, n_cols: int
           ) -> np.ndarray:
    """The group's decisions at the target's rows for one window, gathered block by block from
    `blocks_for(...)`: values (M,) for VA, classes (M,) for class groups, the (AU, threshold
    level, truth) histogram for AUs."""
    blocks = blocks(window, BINS if kind == "multi_label" else 1.0)
    rows = target.rows
    cuts = np.searchsorted(rows, np.arange(0, n_rows + sm.BLOCK, sm.BLOCK))
    if kind == "multi_label":
        out = np.zeros(n_cols * _STRIDE, np.int64)
        truth = target.au_truth()
    else:
        out = np.empty(len(rows), np.float32 if kind == "regression" else np.int64)
    work = _Work(n_cols)
    for start, stop, vals in blocks:
        j, m = cuts[start // sm.BLOCK], cuts[start // sm.BLOCK + 1]
        if m == j:
            continue
        local = rows[j:m] - start
        if kind == "regression":
            out[j:m] = vals[0, local]
        elif kind == "single_label":
            out[j:m] = work.argmax(vals)[local]
        else:   # the values come scaled by BINS: their integer part is the threshold level
            dense = m - j == stop - start
            out += au_hist(work.level(vals if dense else vals[:, local]), truth[:, j:m], True)
    return out


class _Work:
    """Buffers reused from block to block: a fresh array per block would page-fault each time."""

    def __init__(self, n_cols):
        self.best = np.empty(sm.BLOCK, np.float32)
        self.idx = np.empty(sm.BLOCK, np.int64)
        self.better = np.empty(sm.BLOCK, bool)
        self.levels_buf = np.empty(n_cols * sm.BLOCK, np.int32)

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
            idx[better] = c
        return idx

    def level(self, scaled) -> np.ndarray:
        """(A, b) values already times BINS -> int32 levels 0..BINS (truncation = floor)."""
        level = self.levels_buf[:scaled.size].reshape(scaled.shape)     # contiguous
        np.clip(scaled, 0, BINS, out=scaled)    # probabilities: only rounding goes past [0, 1]
        np.copyto(level, scaled, casting="unsafe")
        return level


def tune(ps: PredictionSet, truth: ValTruth, *, kinds=sm.KINDS, windows=DEFAULT_WINDOWS,
         impute: str | None = "linear", ignore_imputed: bool = True, thresholds: bool = True,
         bias: bool = True, progress=None, **choices) -> PostParams:
    """Choose the post-processing of `ps` that maximises its validation score against `truth`.

    `choices`: metric options (zero_division, au_accuracy, va_combine). `progress`: an optional
    callable(str) told about each group's choice.
    """
    zd = float(choices.get("zero_division", 0.0))
    for kind in kinds:
        sm.check(kind, 1)
    windows = sorted({sm.check("mean", w) for w in windows} | {1})
    if ps.track in protocol.IMAGE_TRACKS:
        windows = [1]                       # rows are images: nothing to smooth along
    if impute is not None and imp.missing_rows(ps).any():
        ps = imp.impute(ps, impute)
    imp.check_sorted(ps)
    targets = truth.align(ps)
    ignore = ps.imputed if ignore_imputed else None
    params = PostParams(ps.track, ps.edition, impute, ignore_imputed)
    for group, cols in dec.groups(ps.track, len(ps.columns)).items():
        gkind, target = dec.group_kind(group, ps.track), targets[group]
        x = ps.outputs[:, cols]
        best, choice = -np.inf, (kinds[0], 1)
        for kind in kinds:
            blocks = blocks_for(kind, x, ps.offsets, ignore)
            for w in windows:
                if w == 1 and kind != kinds[0]:
                    continue                # window 1 is the input whatever the kind
                decided = decide(gkind, blocks, w, target, len(ps), x.shape[1])
                v = decided_value(gkind, decided, target, ps.track, ps.edition, x.shape[1], zd,
                                  thresholds)
                if v > best + 1e-12:
                    best, choice = v, (kind, w)
        params.smooth[group] = {"kind": choice[0], "window": int(choice[1])}
        chosen = np.take(sm.smooth_columns(x, ps.offsets, choice[0], choice[1], ignore),
                         target.rows, axis=1)
        if gkind == "multi_label" and thresholds:
            params.thresholds = best_thresholds(
                au_terms(chosen, target.labels, ps.edition, zd)).tolist()
        if gkind == "single_label" and bias:
            b, v = tune_bias(chosen, target.labels, ps.track, ps.edition, zd)
            params.bias = b.tolist() if np.any(b) else None
        if progress:
            progress(f"{group}: {choice[0]} window {choice[1]} -> {best:.4f}")
    raw = evaluate(ps, truth, targets=targets, **choices)
    # `ps` is imputed already: apply the rest only (the recorded parameters keep `impute`).
    tuned = evaluate(replace(params, impute=None).apply(ps), truth, targets=targets, **choices)
    params.scores = {"raw": raw.value, "tuned": tuned.value, "raw_parts": raw.parts,
                     "tuned_parts": tuned.parts, "frames": tuned.frames}
    return params


def evaluate(ps: PredictionSet, truth: ValTruth, decision=None, targets=None, **choices):
    """Official `metrics.Score` of `ps` on the truth's valid frames, decoded with `decision`
    (a PostParams or its dict; default: the set's `provenance["post"]`, else plain decoding)."""
    targets = targets or truth.align(ps)
    decision = decision if decision is not None else ps.provenance.get("post")
    kind = dec.kind_of(ps.track)
    if kind != "multi_task":
        t = next(iter(targets.values()))
        pred = dec.decode(ps.track, ps.outputs[t.rows], decision)
        if kind == "regression":
            true = np.column_stack([targets[n].labels for n in protocol.VA_NAMES])
        else:
            true = t.labels if kind == "multi_label" else t.labels.astype(np.int64)
        return metrics.score(ps.track, ps.edition, pred, true, **choices)
    cols = dec.groups(ps.track, len(ps.columns))
    va = targets[protocol.VA_NAMES[0]]
    pred = {"VA": ps.outputs[va.rows][:, cols["valence"].start:cols["arousal"].stop],
            "EXPR": ps.outputs[targets["EXPR"].rows][:, cols["EXPR"]],
            "AU": ps.outputs[targets["AU"].rows][:, cols["AU"]]}
    bias, thresholds = dec._decision_params(decision)
    pred = {"VA": dec.clip_va(pred["VA"]), "EXPR": dec.classes(pred["EXPR"], bias),
            "AU": dec.active(pred["AU"], thresholds)}
    true = {"VA": np.column_stack([targets[n].labels for n in protocol.VA_NAMES]),
            "EXPR": targets["EXPR"].labels, "AU": targets["AU"].labels}
    return metrics.score("MTL", ps.edition, pred, true, **choices)
