"""The validation predictions of a k-fold run: each video from the fold that held it out.

A k-fold run trains fold i on every train + validation video except its held-out share, and
predicts the validation split with each fold's model. Taking each video from the one fold that
did not train on it gives a validation set no model has seen (out-of-fold), which is what
tuning and every validation score of the run read.
"""

from __future__ import annotations

from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError


def out_of_fold(sets: list[PredictionSet], held: list, names=None) -> PredictionSet:
    """One set from per-fold sets of the same videos; `held[i]`: the ids fold i held out."""
    names = list(names) if names is not None else [f"fold {i}" for i in range(len(sets))]
    if not sets or len(held) != len(sets):
        raise AbawError(f"k-fold predictions: found {len(sets)} sets and {len(held)} held-out "
                        "lists, expected one of each per fold")
    per_video, source = {}, {}
    for ps, ids, name in zip(sets, held, names, strict=True):
        for v in set(ids) & set(ps.videos):
            if v in per_video:
                raise AbawError(f"{name}: video {v} is held out by {source[v]} too, expected "
                                "each video held out by one fold")
            per_video[v], source[v] = ps.video(v), name
    first = sets[0]
    missing = [v for v in first.videos if v not in per_video]
    if missing:
        raise AbawError(f"k-fold predictions: validation video {missing[0]} was held out by no "
                        "fold, expected every video held out by one")
    return PredictionSet.from_videos(first.track, first.edition,
                                     {v: per_video[v] for v in sorted(per_video)}, first.columns,
                                     {**first.provenance, "folds": len(sets), "val": "out-of-fold"})
