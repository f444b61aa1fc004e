"""Reference scores beside a run's own: the best constant prediction, and the synthetic twin's
hidden test truth (absent on real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw.core.decisions import Decision


def constant_baseline(ps, truth) -> float:
    """The best score of a constant prediction on `truth`: VA 0, each single class, each AU on or
    off. The score adds its tasks and averages its AUs (editions 1-2 too: F1 and the flattened
    accuracy both split per AU), so each AU is chosen on its own: on for F1 alone, off for a rare
    AU where accuracy counts."""
    from abaw.post.tune import evaluate

    lay = ps.layout
    plain = ps.replace(outputs=np.zeros_like(ps.outputs), decision=Decision())

    def value(out):
        return evaluate(plain.replace(outputs=out), truth).value

    out = np.zeros_like(ps.outputs)
    classes, aus = lay.block("classes"), lay.block("binary")
    if aus is not None:
        out[:, aus.columns] = 1.0
        best = value(out)
        for j in range(aus.columns.start, aus.columns.stop):
            off = out.copy()
            off[:, j] = 0.0
            v = value(off)
            if v > best:
                out, best = off, v
    if classes is None:
        return value(out)
    best = -np.inf
    for k in range(classes.size):
        o = out.copy()
        o[:, classes.columns.start + k] = 1.0
        best = max(best, value(o))
    return float(best)


def hidden_truth(index, track: str):
    """The synthetic twin's hidden test labels as a ValTruth, or None on real data."""
    from abaw.data.synth import TRUTH, read_truth
    from abaw.post.tune import ValTruth

    if not (Path(index.root) / TRUTH / track).exists():
        return None
    labels = read_truth(index.root, track)
    per_video = {}
    for vid in index.ids(track, "test"):
        if vid in labels:
            y = np.asarray(labels[vid], np.float32).reshape(len(labels[vid]), -1)
            per_video[vid] = (index.sequence(track, vid).frames[: len(y)], y)
    return ValTruth(track, per_video) if per_video else None
