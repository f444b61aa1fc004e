"""Validation truth aligned to a prediction set by (video, frame), sentinels masked per group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw import metrics, protocol
from abaw.errors import AbawError
from abaw.formats.prediction_set import PredictionSet
from abaw.post import decode as dec


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
