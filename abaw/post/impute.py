"""Filling frames that have no model output (no face found), per video, keeping them flagged.

A row needs filling when it is flagged `imputed` or holds a NaN / infinite output; it is filled
from the other rows of its video by frame number:
- `nearest`: the closest real frame (the earlier one on a tie);
- `linear`: linear interpolation between the real frames before and after, the nearest one past
  either end (class and AU probabilities stay probabilities);
- `ffill`: the last real frame before, or the first one after at the start of a video.
A video without a single real frame gets the mean output of all real rows of the set (for class
probabilities: the set's average distribution). Every filled row ends up flagged `imputed`.

`complete(ps, frames_per_video)` first adds the rows a submission or a metric needs (e.g. every
frame of the template, every annotated frame) as missing rows.
"""

from __future__ import annotations

import numpy as np

from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError

METHODS = ("nearest", "linear", "ffill")


def missing_rows(ps: PredictionSet) -> np.ndarray:
    """(N,) True where a row is flagged imputed or holds a non-finite output."""
    return ps.imputed | ~np.all(np.isfinite(ps.outputs), axis=1)


def impute(ps: PredictionSet, method: str = "linear") -> PredictionSet:
    """A new set whose missing rows are filled by `method` and flagged imputed."""
    if method not in METHODS:
        raise AbawError(f"imputation method: found {method!r}, expected one of {', '.join(METHODS)}")
    check_sorted(ps)
    missing = missing_rows(ps)
    if not missing.any():   # (an empty set too)
        return ps.replace(imputed=missing, impute=method)
    if missing.all():
        raise AbawError(f"{ps.origin}: every row is missing, expected at least one real output "
                        "to impute from")
    filled = fill(ps.outputs, ps.frames, ps.offsets, missing, method)
    return ps.replace(outputs=filled, imputed=missing, impute=method)


def fill(outputs, frames, offsets, missing, method: str) -> np.ndarray:
    """Fill the `missing` rows of the flat arrays (see the module docstring); returns float32."""
    x = np.asarray(outputs)
    frames = np.asarray(frames, np.int64)
    missing = np.asarray(missing, bool)
    n = len(x)
    rows = np.arange(n)
    lengths = np.diff(offsets)
    video = np.repeat(np.arange(len(lengths)), lengths)
    # Only the missing rows are worked on: real rows are copied as they are.
    todo = np.flatnonzero(missing)
    start, end = np.asarray(offsets)[:-1][video[todo]], np.asarray(offsets)[1:][video[todo]]
    real = ~missing
    # Last real row at or before each row, first real row at or after it, within the video.
    prev = np.maximum.accumulate(np.where(real, rows, -1))[todo]
    nxt = np.minimum.accumulate(np.where(real, rows, n)[::-1])[::-1][todo]
    has_prev, has_next = prev >= start, nxt < end
    prev, nxt = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
    far = np.iinfo(np.int64).max
    gap_before = np.where(has_prev, frames[todo] - frames[prev], far)
    gap_after = np.where(has_next, frames[nxt] - frames[todo], far)
    if method == "ffill":
        src = np.where(has_prev, prev, nxt)
    else:   # nearest, and linear past either end: the closer side, the earlier one on a tie
        src = np.where(gap_before <= gap_after, prev, nxt)
    filled = x[src].astype(np.float64)
    if method == "linear":
        both = has_prev & has_next
        t = (gap_before[both] / (gap_after[both] + gap_before[both]))[:, None]
        filled[both] = (1 - t) * x[prev[both]] + t * x[nxt[both]]
    orphans = ~(has_prev | has_next)
    if orphans.any():
        filled[orphans] = x[real].astype(np.float64).mean(axis=0)
    out = x.astype(np.float32, copy=True)
    out[todo] = filled
    return out


def complete(ps: PredictionSet, frames_per_video: dict, method: str | None = "linear"
             ) -> PredictionSet:
    """Add a missing row for every required frame the set lacks, then impute (unless None).

    `frames_per_video`: video -> the frames it must have (1-based). Rows the set already has are
    kept, also those outside the required frames; videos it lacks are appended with all rows
    missing; frames end up sorted within each video. Columns, provenance and decision are kept.
    """
    per_video = {}
    for v in ps.videos:
        f, o, im = ps.video(v)
        per_video[v] = (f, o, im)
    added = 0
    for v, need in frames_per_video.items():
        need = np.unique(np.asarray(need, np.int64))
        f, o, im = per_video.get(v, (np.zeros(0, np.int64), np.zeros((0, len(ps.columns))),
                                     np.zeros(0, bool)))
        new = np.setdiff1d(need, f, assume_unique=True)
        if len(new) == 0 and np.all(np.diff(f) > 0):
            continue
        added += len(new)
        frames = np.concatenate([f, new])
        order = np.argsort(frames, kind="stable")
        outputs = np.concatenate([o, np.full((len(new), o.shape[1]), np.nan)])[order]
        flags = np.concatenate([im, np.ones(len(new), bool)])[order]
        per_video[v] = (frames[order], outputs, flags)
    out = PredictionSet.from_videos(ps.track, ps.edition, per_video, ps.columns,
                                    {**ps.provenance, "completed_rows": int(added)}, ps.decision)
    return impute(out, method) if method is not None else out


def check_sorted(ps: PredictionSet) -> None:
    step = np.diff(ps.frames)
    inner = np.ones(len(step), bool)
    cross = ps.offsets[1:-1] - 1             # steps that cross into the next video
    inner[cross[(cross >= 0) & (cross < len(step))]] = False
    bad = np.flatnonzero(inner & (step <= 0))
    if len(bad):
        v = int(np.searchsorted(ps.offsets, bad[0], side="right") - 1)
        raise AbawError(f"{ps.origin}: video {ps.videos[v]} frame {int(ps.frames[bad[0] + 1])} "
                        f"follows frame {int(ps.frames[bad[0]])}, expected increasing frames "
                        "(run complete() to sort)")
