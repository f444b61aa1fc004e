"""From raw outputs to decisions: VA values, class indices, 0/1 AUs. The one place that says how.

Training validation, post-processing tuning, evaluation and the submission writers all decide
through `decide`, so a score seen anywhere is the score of what would be written:
- values: clipped to the annotated range;
- classes: argmax, optionally of log-probabilities plus a per-class bias (a prior adjustment:
  argmax(log p + b) = argmax(p * e^b), i.e. multiplying each class's probability by a factor);
- binary (AUs): active where the probability is >= its threshold (0.5 unless tuned).

A `Decision` carries what was tuned (thresholds, class bias) with the outputs it belongs to.
Post-processing folds the bias into the class probabilities (`folded`: a plain argmax then
decides as tuned, and the bias must not be added twice); thresholds cannot be folded without
bending the probabilities, so they always travel in the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from abaw import protocol
from abaw.core.layout import Layout, Scored
from abaw.errors import AbawError

# AU thresholds as a user gives them: one number, one per AU in order, or AU name -> threshold
Thresholds: TypeAlias = float | Sequence[float] | dict[str, float]

DEFAULT_THRESHOLD = 0.5
FLOOR = 1e-12  # probabilities below it count as it (the log of 0)


@dataclass(frozen=True)
class Decision:
    thresholds: tuple[float, ...] | None = None   # per binary column (AUs); None: 0.5 each
    bias: tuple[float, ...] | None = None         # per class, added to log-probabilities
    folded: bool = False     # post-processing applied: the bias is already in the probabilities

    def __post_init__(self) -> None:
        for name in ("thresholds", "bias"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, tuple(float(x) for x in v))

    @property
    def class_bias(self) -> tuple[float, ...] | None:
        """The bias still to add at decision time (none once folded into the outputs)."""
        return None if self.folded else self.bias

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": None if self.thresholds is None else list(self.thresholds),
                "bias": None if self.bias is None else list(self.bias), "folded": self.folded}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, source: str = "decision") -> Decision:
        if not d:
            return cls()
        if not isinstance(d, dict) or set(d) - {"thresholds", "bias", "folded"}:
            raise AbawError(f"{source}: found {d!r}, expected an object with thresholds, bias, "
                            "folded")
        for name in ("thresholds", "bias"):
            v = d.get(name)
            if v is not None and not (isinstance(v, list) and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)
                    for x in v)):
                raise AbawError(f"{source}: field {name}: found {v!r}, expected a list of "
                                "finite numbers or null")
        if not isinstance(d.get("folded", False), bool):
            raise AbawError(f"{source}: field folded: found {d['folded']!r}, expected true or "
                            "false")
        return cls(d.get("thresholds"), d.get("bias"), d.get("folded", False))

    @classmethod
    def from_provenance(cls, provenance: dict[str, Any], lay: Layout | None) -> Decision:
        """The decision of a set saved before it had one: its tuned `au_thresholds` (AU name ->
        threshold; `lay` names the AUs) and whether `post` parameters were applied (their bias
        then folded in)."""
        post = provenance.get("post") or {}
        au = provenance.get("au_thresholds")
        binary = lay.block("binary") if lay is not None else None
        thresholds = None
        if au is not None and binary is not None:
            thresholds = resolve_thresholds(au, binary.names)
        applied = bool(post.get("applied"))
        return cls(thresholds, post.get("bias") if applied else None, applied)


# --- the three rules ---------------------------------------------------------------------------

def clip_va(values: ArrayLike, dtype: DTypeLike | None = None) -> NDArray:
    """VA values clipped to the annotated range, in `dtype` (default: theirs if floating)."""
    v = np.asarray(values)
    if dtype is None:
        dtype = v.dtype if v.dtype.kind == "f" else np.float64
    lo, hi = protocol.VA_RANGE
    return np.clip(v.astype(dtype, copy=False), lo, hi)


def classes(probs: ArrayLike, bias: ArrayLike | None = None) -> NDArray:
    """(N, C) probabilities -> (N,) int64 class indices; `bias` (C,) is added to log-probabilities."""
    p = np.asarray(probs)
    if bias is None or not np.any(bias):
        return np.argmax(p, axis=1).astype(np.int64)
    bias = np.asarray(bias, np.float64)
    if bias.shape != (p.shape[1],):
        raise AbawError(f"class bias: found {bias.shape[0]} values, expected {p.shape[1]}")
    return np.argmax(np.log(np.maximum(p, FLOOR)) + bias, axis=1).astype(np.int64)


def active(probs: ArrayLike, thresholds: ArrayLike | None = None) -> NDArray:
    """(N, A) probabilities -> (N, A) bool, active where p >= the column's threshold."""
    p = np.asarray(probs)
    t = np.full(p.shape[1], DEFAULT_THRESHOLD) if thresholds is None else \
        np.asarray(thresholds, np.float64)
    if t.shape != (p.shape[1],):
        raise AbawError(f"AU thresholds: found {t.size} values, expected {p.shape[1]}")
    return p >= t


def fold_bias(probs: ArrayLike, bias: ArrayLike) -> NDArray:
    """softmax(log p + b): probabilities whose argmax is the biased decision. (N, C) float32."""
    logits = np.log(np.maximum(np.asarray(probs, np.float64), FLOOR)) + np.asarray(bias)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# --- a layout's outputs ------------------------------------------------------------------------

def decide_blocks(lay: Layout, outputs: ArrayLike,
                  decision: Decision | None = None) -> dict[str, NDArray]:
    """Raw outputs (N, K) of `lay` -> task -> its decisions: values (N, 2) clipped, classes (N,)
    int64, AUs (N, A) bool."""
    d = decision or Decision()
    o = np.asarray(outputs)
    out = {}
    for b in lay.blocks:
        x = o[:, b.columns]
        out[b.task] = (clip_va(x) if b.kind == "values" else
                       classes(x, d.class_bias) if b.kind == "classes" else
                       active(x, d.thresholds))
    return out


def decide(lay: Layout, outputs: ArrayLike, decision: Decision | None = None) -> Scored:
    """`decide_blocks` in the form `abaw.metrics.score` takes: one array for a track of one
    block, the dict by task for several (MTL)."""
    out = decide_blocks(lay, outputs, decision)
    return out if len(out) > 1 else next(iter(out.values()))


def check_outputs(lay: Layout, outputs: ArrayLike) -> NDArray:
    """The outputs as a float array of the layout's width with finite values, else AbawError."""
    o = np.asarray(outputs)
    if o.dtype.kind != "f":
        o = o.astype(np.float64)
    if o.ndim != 2 or o.shape[1] != lay.width:
        raise AbawError(f"{lay.track} outputs: found shape {o.shape}, expected (frames, "
                        f"{lay.width}) columns {','.join(lay.names)}")
    bad = ~np.isfinite(o)
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise AbawError(f"{lay.track} outputs: found {int(bad.any(axis=1).sum())} rows with "
                        f"NaN/inf (first at row {i}), expected finite raw outputs")
    return o


def resolve_thresholds(thresholds: Thresholds, names: Sequence[str]) -> tuple[float, ...]:
    """Per-AU thresholds from a number, a list in AU order, or a dict AU name -> threshold
    covering every AU of `names`."""
    if isinstance(thresholds, dict):
        unknown = sorted(set(thresholds) - set(names))
        missing = [n for n in names if n not in thresholds]
        if unknown or missing:
            raise AbawError(f"AU thresholds: found {unknown or 'no'} unknown and {missing or 'no'} "
                            f"missing names, expected one threshold per AU of {', '.join(names)}")
        thresholds = [thresholds[n] for n in names]
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(len(names), float(t))
    if t.shape != (len(names),) or not np.all(np.isfinite(t)):
        raise AbawError(f"AU thresholds: found {t.tolist()}, expected one finite number or "
                        f"{len(names)} (one per AU: {', '.join(names)})")
    return tuple(float(x) for x in t)


def with_thresholds(decision: Decision, thresholds: Thresholds | None, lay: Layout) -> Decision:
    """`decision` with the AU thresholds a user gave (number, list or dict); None keeps its own."""
    binary = lay.block("binary")
    if thresholds is None or binary is None:
        return decision
    return Decision(resolve_thresholds(thresholds, binary.names), decision.bias, decision.folded)
