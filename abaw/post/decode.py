"""From raw outputs to what the metric and the writers take: VA values, class indices, 0/1 AUs.

The prediction set keeps raw outputs; this is the one place that says how they become decisions,
so tuning on validation and the submission writers (`abaw.formats.decode`) decide the same way:
- VA: clipped to the annotated range;
- classes: argmax, optionally of log-probabilities plus a per-class bias (a prior adjustment:
  argmax(log p + b) = argmax(p * e^b), i.e. multiplying each class's probability by a factor);
- AUs: active where the probability is >= its threshold (0.5 unless tuned).

Output groups (`groups`) name the columns that are smoothed, tuned and weighted together:
valence and arousal each on their own (their CCCs are separate terms of the score), the class
probabilities together (argmax couples them), the AUs together.
"""

from __future__ import annotations

import numpy as np

from abaw import protocol
from abaw.errors import AbawError

DEFAULT_THRESHOLD = 0.5
_FLOOR = 1e-12  # log of a zero probability


def kind_of(track: str) -> str:
    """regression | single_label | multi_label | multi_task (from the protocol table)."""
    track = track.upper()
    for number, ed in protocol.EDITIONS.items():
        if track in ed.tracks + ed.extensions:
            kind = protocol.rules(track, number).kind
            if kind not in ("regression", "single_label", "multi_label", "multi_task"):
                raise AbawError(f"track {track}: found {kind} outputs, expected per-frame values, "
                                "classes or AUs (post-processing works on frame predictions)")
            return kind
    raise AbawError(f"track: found {track!r}, expected one of the protocol's tracks")


def groups(track: str, n_columns: int) -> dict[str, slice]:
    """Output group name -> its columns, for a set of `track` with `n_columns` columns."""
    kind = kind_of(track)
    if kind == "regression":
        parts = {name: 1 for name in protocol.VA_NAMES}
    elif kind == "single_label":
        parts = {track.upper(): n_columns}
    elif kind == "multi_label":
        parts = {"AU": n_columns}
    else:  # MTL: valence, arousal, the 8 expressions, the 12 AUs, side by side
        parts = {**{name: 1 for name in protocol.VA_NAMES},
                 "EXPR": len(protocol.EXPR_CLASSES_8), "AU": len(protocol.AUS_12)}
    if sum(parts.values()) != n_columns:
        raise AbawError(f"{track} prediction set: found {n_columns} output columns, expected "
                        f"{sum(parts.values())}")
    out, at = {}, 0
    for name, width in parts.items():
        out[name] = slice(at, at + width)
        at += width
    return out


def group_kind(name: str, track: str) -> str:
    """How a group is decoded and scored: regression, single_label or multi_label."""
    if name in protocol.VA_NAMES:
        return "regression"
    if name == "AU":
        return "multi_label"
    return "single_label"


# --- the three decisions ---------------------------------------------------------------------------

def clip_va(values, dtype=np.float32) -> np.ndarray:
    """VA values clipped to the annotated range (the writers ask for float64)."""
    lo, hi = protocol.VA_RANGE
    return np.clip(np.asarray(values, dtype), lo, hi)


def classes(probs, bias=None) -> np.ndarray:
    """(N, C) probabilities -> (N,) int64 class indices; `bias` (C,) is added to log-probabilities."""
    p = np.asarray(probs)
    if bias is None or not np.any(bias):
        return np.argmax(p, axis=1).astype(np.int64)
    bias = np.asarray(bias, np.float64)
    if bias.shape != (p.shape[1],):
        raise AbawError(f"class bias: found {bias.shape[0]} values, expected {p.shape[1]}")
    return np.argmax(np.log(np.maximum(p, _FLOOR)) + bias, axis=1).astype(np.int64)


def active(probs, thresholds=None) -> np.ndarray:
    """(N, A) probabilities -> (N, A) bool (0/1), active where p >= the AU's threshold."""
    p = np.asarray(probs)
    t = np.full(p.shape[1], DEFAULT_THRESHOLD) if thresholds is None else \
        np.asarray(thresholds, np.float64)
    if t.shape != (p.shape[1],):
        raise AbawError(f"AU thresholds: found {t.size} values, expected {p.shape[1]}")
    return p >= t


def decode(track: str, outputs, params=None):
    """Raw outputs (N, K) of `track` -> what `abaw.metrics.score` and the writers take.

    VA: (N, 2) clipped values; class tracks: (N,) indices; AU: (N, A) 0/1; MTL: a dict
    {"VA", "EXPR", "AU"}. `params`: None, a PostParams, or its dict form (e.g. a set's
    `provenance["post"]`): its `thresholds` are used, and its `bias` unless the parameters say
    they were already applied to these outputs (the bias is then part of the probabilities).
    """
    outputs = np.asarray(outputs)
    bias, thresholds = _decision_params(params)
    kind = kind_of(track)
    if kind == "regression":
        return clip_va(outputs)
    if kind == "single_label":
        return classes(outputs, bias)
    if kind == "multi_label":
        return active(outputs, thresholds)
    g = groups(track, outputs.shape[1])
    return {"VA": clip_va(outputs[:, g["valence"].start:g["arousal"].stop]),
            "EXPR": classes(outputs[:, g["EXPR"]], bias),
            "AU": active(outputs[:, g["AU"]], thresholds)}


def _decision_params(params):
    if params is None:
        return None, None
    if not isinstance(params, dict):
        params = params.to_dict()
    # "applied": the set went through PostParams.apply, which folded the bias into its outputs.
    bias = None if params.get("applied") else params.get("bias")
    return bias, params.get("thresholds")
