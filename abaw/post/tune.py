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

from dataclasses import dataclass

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


@dataclass
class Target:
    """The truth of one output group at the rows of a prediction set that it annotates."""

    rows: np.ndarray     # (M,) rows of the prediction set (valid ground truth only)
    labels: np.ndarray   # VA: (M,) float64; classes: (M,) int64; AUs: (M, A) bool


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
            targets[group] = Target(rows[valid], lab[valid])
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
    """The group's share of the official score (CCC, class score, mean AU term)."""
    if kind == "regression":
        return metrics.ccc(dec.clip_va(values[0]), target.labels)
    if kind == "single_label":
        return class_value(np.argmax(values, axis=0), target.labels, track, edition,
                           values.shape[0], zero_division)
    terms = au_terms(values, target.labels, edition, zero_division)
    return float(terms.max(axis=1).mean() if tune_thresholds else terms[:, BINS // 2 - 1].mean())


def class_value(pred, labels, track, edition, n_classes, zero_division=0.0) -> float:
    cm = np.bincount(labels * n_classes + pred, minlength=n_classes * n_classes)
    return float(metrics.class_values_from_confusion(
        track, edition, cm.reshape(n_classes, n_classes), zero_division))


def au_terms(values, labels, edition, zero_division=0.0) -> np.ndarray:
    """(A, 127) per-AU score terms at every candidate threshold in THRESHOLDS."""
    a, m = values.shape
    # Thresholds reached by each value: floor(p * 128) is exact for a power of two.
    level = np.clip(values * BINS, 0, BINS - 1).astype(np.int32)           # (A, M)
    code = (np.arange(a, dtype=np.int32)[:, None] * BINS + level) * 2 + labels.T
    hist = np.bincount(code.reshape(-1), minlength=a * BINS * 2).reshape(a, BINS, 2)
    reached = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]            # (A, 127, 2): level >= b
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

def columns_for(kind: str, x, offsets, ignore):
    """window -> (k, N) smoothed columns; the moving mean reuses its cumulative sums."""
    if kind == "mean":
        return sm.Smoother(x, offsets, ignore).columns
    return lambda w: sm.smooth_columns(x, offsets, kind, w, ignore)


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
            columns = columns_for(kind, x, ps.offsets, ignore)
            for w in windows:
                if w == 1 and kind != kinds[0]:
                    continue                # window 1 is the input whatever the kind
                v = group_value(gkind, np.take(columns(w), target.rows, axis=1), target,
                                ps.track, ps.edition, zd, thresholds)
                if v > best + 1e-12:
                    best, choice = v, (kind, w)
        params.smooth[group] = {"kind": choice[0], "window": int(choice[1])}
        chosen = np.take(columns_for(choice[0], x, ps.offsets, ignore)(choice[1]), target.rows,
                         axis=1)
        if gkind == "multi_label" and thresholds:
            params.thresholds = best_thresholds(
                au_terms(chosen, target.labels, ps.edition, zd)).tolist()
        if gkind == "single_label" and bias:
            b, v = tune_bias(chosen, target.labels, ps.track, ps.edition, zd)
            params.bias = b.tolist() if np.any(b) else None
        if progress:
            progress(f"{group}: {choice[0]} window {choice[1]} -> {best:.4f}")
    raw = evaluate(ps, truth, targets=targets, **choices)
    tuned = evaluate(params.apply(ps), truth, **choices)
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
            true = t.labels.astype(np.int64)
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
            "EXPR": targets["EXPR"].labels, "AU": targets["AU"].labels.astype(np.int64)}
    return metrics.score("MTL", ps.edition, pred, true, **choices)
