"""The raw outputs of the rows a submission (or a metric) needs, from a prediction set.

`align` returns the outputs of the required (video, frame) rows, in the order asked. Frames the
prediction set lacks (no face, dropped frames) are filled by a named policy and counted per
video, only ever from frames of the same video; a video wholly missing (absent, or present with
no rows) is an error. `abaw.core.decisions` then decides them (clip,
argmax, thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from abaw.errors import AbawError

FILL_POLICIES = ("nearest", "linear", "ffill", "error")
# nearest: the closest predicted frame of the same video (ties: the earlier one).
# linear:  linear interpolation of the raw outputs between the two neighbours (probabilities too,
#          then argmax / threshold); at a video's ends, the nearest frame.
# ffill:   the last predicted frame before; frames before the first prediction take the first.
# error:   no filling: any missing frame is an error.
DEFAULT_FILL = "nearest"


@dataclass
class Aligned:
    outputs: np.ndarray                      # (M, K) in the set's dtype (NaN rows: float64)
    filled: np.ndarray                       # (M,) bool: the row was filled by the policy
    filled_per_video: dict = field(default_factory=dict)   # video -> frames filled (> 0 only)


def align(preds, videos: list[str], video_of_row: np.ndarray, frames: np.ndarray,
          policy: str = DEFAULT_FILL, allow_missing_videos: bool = False) -> Aligned:
    """Outputs of `preds` at rows (videos[video_of_row[i]], frames[i]).

    With `allow_missing_videos`, rows of a wholly missing video are NaN and flagged in `filled`
    as False; callers drop them (evaluation with --allow-missing).
    """
    if policy not in FILL_POLICIES:
        raise AbawError(f"fill policy: found {policy!r}, expected one of "
                        f"{', '.join(FILL_POLICIES)}")
    origin = preds.origin
    rows_per_video = np.diff(preds.offsets)
    where = {v: i for i, v in enumerate(preds.videos) if rows_per_video[i]}
    pos = np.array([where.get(v, -1) for v in videos], np.int64)
    missing = [v for v, p in zip(videos, pos, strict=True) if p < 0]
    if missing and not allow_missing_videos:
        raise AbawError(f"{origin}: found no predictions for {len(missing)} required "
                        f"video(s), e.g. {', '.join(missing[:3])}; expected every video of the "
                        "template / test list (a wholly missing video is never filled)")
    n_pred = len(preds.frames)
    if n_pred == 0:                                                   # every video missing
        nan = np.full((len(frames), preds.outputs.shape[1]), np.nan)
        return Aligned(nan, np.zeros(len(frames), bool))
    pred_video = np.repeat(np.arange(len(preds.videos)), rows_per_video)
    pred_code = (pred_video << 32) | preds.frames                     # (n_pred,) sortable keys
    if n_pred < 2 or np.all(pred_code[1:] > pred_code[:-1]):
        order = np.arange(n_pred)                                     # already in order
    else:
        order = np.argsort(pred_code, kind="stable")
    code_sorted = pred_code[order]
    dup = np.flatnonzero(code_sorted[1:] == code_sorted[:-1])
    if len(dup):
        k = order[dup[0]]
        raise AbawError(f"{origin}: found {preds.videos[pred_video[k]]} frame "
                        f"{int(preds.frames[k])} twice ({len(dup)} duplicates), expected each "
                        "frame once")
    row_pos = pos[video_of_row]
    frames = np.asarray(frames, np.int64)
    req_code = (row_pos << 32) | frames
    j = np.searchsorted(code_sorted, req_code)
    jc = np.minimum(j, n_pred - 1)
    exact = code_sorted[jc] == req_code                  # j == n_pred: every key is smaller
    src = np.where(exact, order[jc], -1)                              # source row of each row
    need = np.flatnonzero(~exact & (row_pos >= 0))
    if len(need) and policy == "error":
        i = need[0]
        raise AbawError(f"{origin}: found no prediction for {videos[video_of_row[i]]} frame "
                        f"{int(frames[i])} ({len(need)} frames missing), expected every required "
                        "frame (or choose a fill policy: nearest, linear, ffill)")
    blend = None
    if len(need):
        src[need], blend = _fill(order, code_sorted, pred_video, row_pos[need], frames[need],
                                 j[need], policy)
    out = preds.outputs[np.maximum(src, 0)]                           # (M, K), one gather
    if blend is not None:                                             # linear: between two rows
        rows, left, right, w = blend
        o = preds.outputs
        out[need[rows]] = (1 - w)[:, None] * o[left] + w[:, None] * o[right]
    if (src < 0).any():
        out = out.astype(np.float64)
        out[src < 0] = np.nan                                         # wholly missing videos
    filled = np.zeros(len(req_code), bool)
    filled[need] = True
    counts = np.bincount(np.asarray(video_of_row)[need], minlength=len(videos))
    per_video = {videos[k]: int(c) for k in np.flatnonzero(counts) for c in [counts[k]]}
    return Aligned(out, filled, per_video)


def _fill(order, code_sorted, pred_video, vid, frame, j, policy):
    """Source rows of missing frames (and, for linear, the rows to blend and their weights)."""
    n = len(code_sorted)
    sorted_video = pred_video[order]
    sorted_frame = code_sorted & 0xFFFFFFFF
    left = j - 1
    has_left = (left >= 0) & (sorted_video[np.maximum(left, 0)] == vid)
    has_right = (j < n) & (sorted_video[np.minimum(j, n - 1)] == vid)
    left, right = np.maximum(left, 0), np.minimum(j, n - 1)
    fl, fr = sorted_frame[left], sorted_frame[right]
    if policy == "ffill":
        use_left = has_left
    else:   # nearest (and the ends of linear): the closer side, the earlier one on a tie
        use_left = has_left & (~has_right | (frame - fl <= fr - frame))
    src = np.where(use_left, order[left], order[right])
    blend = None
    if policy == "linear":
        both = np.flatnonzero(has_left & has_right)
        w = (frame[both] - fl[both]) / (fr[both] - fl[both])       # fl < frame < fr
        blend = (both, order[left[both]], order[right[both]], w)
    return src, blend
