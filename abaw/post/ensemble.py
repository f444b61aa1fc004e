"""Ensembles of prediction sets: mean, weighted mean tuned on validation, majority vote, folds.

Members must be the same track, edition and columns and cover the same videos and frames (a
member in another video order is reordered); anything else is refused with one line naming the
member and the difference. Weights are per output group (valence and arousal may trust different
members), non-negative and summing to 1. An ensemble row is `imputed` only if every member's is.
"""

from __future__ import annotations

import numpy as np

from abaw.core.decisions import DEFAULT_THRESHOLD, Decision
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.post import objectives as ob
from abaw.post.truth import ValTruth

METHODS = ("mean", "weighted", "vote")
MIN_STEP = 0.001     # a finer weight grid costs time and only fits validation noise


def check_members(sets: list[PredictionSet], names=None) -> list[PredictionSet]:
    """The members, each in the first one's video order; AbawError if they do not match."""
    names = list(names) if names is not None else [f"member {i + 1}" for i in range(len(sets))]
    if len(sets) < 2:
        raise AbawError(f"ensemble: found {len(sets)} member, expected at least 2")
    first, out = sets[0], [sets[0]]
    for ps, name in zip(sets[1:], names[1:], strict=False):
        where = f"ensemble {name}:"
        for what in ("track", "edition", "columns"):
            if getattr(ps, what) != getattr(first, what):
                raise AbawError(f"{where} found {what} {_show(getattr(ps, what))}, expected "
                                f"{_show(getattr(first, what))} as in {names[0]}")
        if set(ps.videos) != set(first.videos):
            lack = sorted(set(first.videos) - set(ps.videos))
            extra = sorted(set(ps.videos) - set(first.videos))
            raise AbawError(f"{where} found {len(lack)} videos missing (e.g. {lack[:2]}) and "
                            f"{len(extra)} extra (e.g. {extra[:2]}), expected the videos of "
                            f"{names[0]}")
        if ps.videos != first.videos:
            ps = _reordered(ps, first.videos)
        if not np.array_equal(ps.offsets, first.offsets) or not np.array_equal(ps.frames,
                                                                               first.frames):
            v = next(v for v in first.videos
                     if not np.array_equal(ps.video(v)[0], first.video(v)[0]))
            raise AbawError(f"{where} video {v} has {len(ps.video(v)[0])} frames, expected the "
                            f"{len(first.video(v)[0])} frames of {names[0]} (complete both)")
        out.append(ps)
    for ps, name in zip(out, names, strict=False):
        bad = ~np.isfinite(ps.outputs).all(axis=1)
        if bad.any():
            raise AbawError(f"ensemble {name}: found {bad.sum()} rows with NaN outputs, expected "
                            "imputed sets (impute them first)")
    return out


def combine(sets, weights=None, names=None, method: str = "mean") -> PredictionSet:
    """Weighted mean per output group. `weights`: None (equal), one list for every group, or a
    dict group -> list; each list has one weight per member, >= 0, summing to 1."""
    sets = check_members(sets, names)
    cols = _groups(sets[0])
    per_group = {g: _check_weights(weights.get(g) if isinstance(weights, dict) else weights,
                                   len(sets), g) for g in cols}
    out = np.zeros(sets[0].outputs.shape, np.float64)
    for g, group in cols.items():
        c = group.columns
        for w, ps in zip(per_group[g], sets, strict=True):
            if w:
                out[:, c] += w * ps.outputs[:, c]
    return _result(sets, out, names, method, {g: w.tolist() for g, w in per_group.items()})


def fold_average(sets, names=None) -> PredictionSet:
    """The models of k folds, averaged with equal weights."""
    return combine(sets, None, names, method="fold_average")


def vote(sets, names=None) -> PredictionSet:
    """Majority vote: class groups vote by argmax, AU groups by p >= 0.5 per AU, value groups take
    the median. The output (votes + 0.5 * mean probability) / (members + 0.5) keeps probabilities
    summing to 1 and decodes (argmax, or >= 0.5 per AU) to the majority, ties going to the higher
    mean probability."""
    sets = check_members(sets, names)
    m = len(sets)
    out = np.zeros(sets[0].outputs.shape, np.float64)
    for group in _groups(sets[0]).values():
        c = group.columns
        stack = np.stack([ps.outputs[:, c] for ps in sets]).astype(np.float64)  # (M, N, k)
        if group.kind == "values":
            out[:, c] = np.median(stack, axis=0)
            continue
        if group.kind == "classes":
            picks = np.argmax(stack, axis=2)                                 # (M, N)
            votes = np.stack([(picks == j).sum(axis=0) for j in range(stack.shape[2])], axis=1)
        else:
            votes = (stack >= DEFAULT_THRESHOLD).sum(axis=0)                 # (N, A)
        out[:, c] = (votes + 0.5 * stack.mean(axis=0)) / (m + 0.5)
    return _result(sets, out, names, "vote", None)


def tune_weights(val_sets, truth: ValTruth, names=None, step: float = 0.05, rounds: int = 4,
                 **choices) -> tuple[dict, dict]:
    """Weights per group maximising the validation score of the weighted mean.

    Coordinate ascent on the simplex from the best single member (so the result is never worse
    than any member): for each member, try every share t in 0, step, .., 1, the others scaled
    to 1 - t. AU groups are scored with their thresholds re-tuned, as `tune` would.
    Returns (weights: group -> list, scores: group -> {"members": [...], "ensemble": v}).
    """
    if not MIN_STEP <= step <= 1.0:
        raise AbawError(f"ensemble step: found {step!r}, expected {MIN_STEP} to 1")
    sets = check_members(val_sets, names)
    zd = float(choices.get("zero_division", 0.0))
    ps0 = sets[0]
    targets = truth.align(ps0)
    shares = np.round(np.arange(0.0, 1.0 + 1e-9, step), 10)
    weights, scores = {}, {}
    for g, group in _groups(ps0).items():
        c, target, kind = group.columns, targets[g], group.kind
        cols = [np.take(ps.outputs[:, c].T.astype(np.float64), target.rows, axis=1)
                for ps in sets]                                              # (k, M) each

        def value(w, cols=cols, kind=kind, target=target):
            mixed = sum(wi * x for wi, x in zip(w, cols, strict=True) if wi)
            return ob.group_value(kind, mixed.astype(np.float32), target, ps0.track,
                                  ps0.edition, zd)

        member = [value(np.eye(len(sets))[i]) for i in range(len(sets))]
        w = np.eye(len(sets))[int(np.argmax(member))]
        best = max(member)
        for _ in range(rounds):
            moved = False
            for i in range(len(sets)):
                for t in shares:
                    cand = _with_share(w, i, t)
                    v = value(cand)
                    if v > best + 1e-12:
                        best, w, moved = v, cand, True
            if not moved:
                break
        weights[g] = [float(x) for x in np.round(w, 10)]
        scores[g] = {"members": member, "ensemble": best}
    return weights, scores


# --- helpers -------------------------------------------------------------------------------------

def _groups(ps: PredictionSet) -> dict:
    lay = ps.layout
    lay.check_width(len(ps.columns))
    return lay.groups


def _with_share(w, i, t):
    rest = np.delete(w, i)
    rest = rest / rest.sum() if rest.sum() > 0 else np.full(len(rest), 1.0 / max(len(rest), 1))
    out = np.insert(rest * (1.0 - t), i, t)
    return out


def _check_weights(w, m, group) -> np.ndarray:
    if w is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(w, np.float64)
    if w.shape != (m,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-6):
        raise AbawError(f"ensemble weights of {group}: found {w.tolist()}, expected {m} "
                        "non-negative numbers summing to 1")
    return w


def _reordered(ps: PredictionSet, videos) -> PredictionSet:
    slices = [ps.rows(v) for v in videos]
    lengths = [s.stop - s.start for s in slices]
    take = np.concatenate([np.arange(s.start, s.stop) for s in slices]) if slices else \
        np.zeros(0, np.int64)
    return ps.replace(outputs=ps.outputs[take], imputed=ps.imputed[take], frames=ps.frames[take],
                      offsets=np.concatenate([[0], np.cumsum(lengths)]), videos=list(videos))


def _result(sets, outputs, names, method, weights) -> PredictionSet:
    first = sets[0]
    imputed = np.logical_and.reduce([ps.imputed for ps in sets])
    info = {"method": method, "members": [_member(ps) for ps in sets]}
    if names is not None:
        info["names"] = [str(n) for n in names]
    if weights is not None:
        info["weights"] = weights
    # Keep what every member agrees on (data fingerprint, split ...), but no decisions: those
    # were tuned for one member, not for the ensemble (which decides plainly until tuned).
    common = {k: v for k, v in first.provenance.items() if k not in _MEMBER_ONLY
              and all(ps.provenance.get(k) == v for ps in sets[1:])}
    return PredictionSet(first.track, first.edition, first.columns, list(first.videos),
                         first.offsets, first.frames, outputs, imputed,
                         {**common, "ensemble": info})


_MEMBER_ONLY = ("post", "ensemble")


def _member(ps: PredictionSet) -> dict:
    """A member's record: its provenance, and its decision when it had a tuned one."""
    if ps.decision == Decision():
        return dict(ps.provenance)
    return {**ps.provenance, "decision": ps.decision.to_dict()}


def _show(v) -> str:
    return ",".join(v) if isinstance(v, tuple) else str(v)
