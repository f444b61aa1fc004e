"""Validation truth aligned to a prediction set by (video, frame), sentinels masked per group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw import metrics, protocol
from abaw.core.layout import Layout, layout
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError


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


class Targets(dict):
    """group -> Target, plus every row any group annotates (`rows`, sorted) with its labels in
    the index's label layout, sentinels kept (`labels`): what scoring the whole set reads."""

    rows: np.ndarray
    labels: np.ndarray


class ValTruth:
    """Ground truth per video, aligned to a prediction set by (video, frame), sentinels masked.

    `per_video`: id -> (frames (n,), labels (n, K) or (n,)) with the track's sentinels (as in a
    DatasetIndex sequence). MTL labels are the 15 columns v, a, expression, 12 AUs.
    """

    def __init__(self, track: str, per_video: dict):
        self.track = track.upper()
        runs = [n for n, ed in protocol.EDITIONS.items() if self.track in ed.tracks + ed.extensions]
        if not runs:
            raise AbawError(f"track: found {track!r}, expected one of the protocol's tracks")
        layout(self.track, runs[0])       # per-frame values, classes or AUs, else AbawError
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

    def align(self, ps: PredictionSet) -> Targets:
        """group -> Target; every annotated frame must have a row in `ps` (impute.complete)."""
        if ps.track != self.track:
            raise AbawError(f"{ps.origin}: found track {ps.track}, expected {self.track} "
                            "(the track of the validation truth)")
        rows, labels = [], []
        for v, (f, y) in self.per_video.items():
            if v not in set(ps.videos):
                raise AbawError(f"{ps.origin}: found no rows for validation video {v}, "
                                "expected every annotated video")
            s = ps.rows(v)
            have = ps.frames[s]
            pos = np.minimum(np.searchsorted(have, f), max(len(have) - 1, 0))
            found = (have[pos] == f) if len(have) else np.zeros(len(f), bool)
            rows.append(np.where(found, s.start + pos, -1))
            labels.append(y)
        rows, labels = np.concatenate(rows), np.concatenate(labels)
        targets = Targets()
        scored = np.zeros(len(rows), bool)
        for group, (valid, lab) in self._group_labels(labels, ps.layout).items():
            lost = valid & (rows < 0)
            if lost.any():
                raise AbawError(f"{ps.origin}: found no row for {lost.sum()} annotated "
                                f"{group} frames, expected one per frame (complete it first)")
            order = np.argsort(rows[valid], kind="stable")     # row order: sweeps go by blocks
            targets[group] = Target(rows[valid][order], lab[valid][order])
            scored |= valid
        order = np.argsort(rows[scored], kind="stable")
        targets.rows, targets.labels = rows[scored][order], labels[scored][order]
        return targets

    @staticmethod
    def _group_labels(y, lay: Layout):
        """group -> (valid mask, labels) over the concatenated label rows."""
        out = {}
        for name, g in lay.groups.items():
            b = g.block
            if b.kind == "values":            # a value group is valid where its block is
                at = b.labels.start + (g.columns.start - b.columns.start)
                out[name] = (metrics.valid_mask(b.task, y[:, b.labels]), y[:, at])
            elif b.kind == "classes":
                task = b.task if b.task in protocol.SENTINELS else "EXPR"
                col = y[:, b.labels.start]
                out[name] = (metrics.valid_mask(task, col), np.nan_to_num(col).astype(np.int64))
            else:
                out[name] = (metrics.valid_mask(b.task, y[:, b.labels]), y[:, b.labels] == 1)
        return out
