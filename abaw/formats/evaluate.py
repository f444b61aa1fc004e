"""Scoring predictions against a split's annotations with the edition's official metric.

`evaluate_predictions(index, predictions, ...)` takes a DatasetIndex (the CLI builds it with
`load_index(root, edition)`) and either a PredictionSet (raw outputs: decided exactly as the
writers decide them, `abaw.metrics.score_outputs`) or an `Official` (values read from a
submission-format file). Every annotated sequence of the split is scored, pooled over all its
frames (abaw.metrics); frames the annotations mark invalid are ignored, predictions for them
too. A sequence without predictions is an error unless `allow_missing`; frames a prediction set
lacks are filled by the fill policy and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from abaw import metrics, protocol
from abaw.core.decisions import check_outputs, with_thresholds
from abaw.core.layout import layout
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.formats import align as al
from abaw.formats.reader import Official


@dataclass
class Evaluation:
    score: metrics.Score
    split: str
    source: str
    videos: int                                         # sequences scored
    missing: list = field(default_factory=list)         # sequences without predictions (skipped)
    filled: int = 0          # annotated frames whose prediction came from the fill policy
    ignored: int = 0         # predictions on frames the annotations mark invalid

    def to_dict(self) -> dict:
        s = self.score
        return {"track": s.track, "edition": s.edition, "split": self.split,
                "metric": protocol.rules(s.track, s.edition).metric, "score": s.value,
                "parts": s.parts, "frames_used": s.frames, "frames_masked": s.masked,
                "videos": self.videos, "missing_videos": self.missing,
                "filled_frames": self.filled, "ignored_predictions": self.ignored,
                "source": self.source}


@dataclass
class _Table:
    """What `align.align` needs from a prediction set: flat rows per video, and where they came
    from (for messages)."""

    videos: list
    offsets: np.ndarray
    frames: np.ndarray
    outputs: np.ndarray
    origin: str


def evaluate_predictions(index, predictions, track: str | None = None, split: str = "val",
                         edition: int | None = None, allow_missing: bool = False,
                         fill: str = al.DEFAULT_FILL, thresholds=None, **choices) -> Evaluation:
    is_set = isinstance(predictions, PredictionSet)
    track = (track or predictions.track).upper()
    if track != predictions.track.upper():
        raise AbawError(f"predictions: found track {predictions.track}, expected {track}")
    if edition is None:              # 0 is an edition given (and refused), not "not given"
        edition = predictions.edition if predictions.edition is not None else index.edition
    lay = layout(track, edition)
    ids = index.ids(track, split)
    if not ids:
        raise AbawError(f"index of {index.root}: found no {track} {split} sequences, expected "
                        f"annotations of the {split} split")
    seqs = [index.sequence(track, i) for i in ids]
    if is_set:
        if tuple(predictions.columns) != lay.names:
            raise AbawError(f"{predictions.origin}: found columns {','.join(predictions.columns)}, "
                            f"expected {','.join(lay.names)} for {track} in edition {edition}")
        table = predictions
    else:
        table = _official_table(predictions, seqs)
        if fill == "linear" and any(b.kind != "values" for b in lay.blocks):
            fill = "nearest"              # decided classes / 0-1 AUs can't be interpolated
    if lay.image_level and is_set and len(table.videos) == 1 and len(ids) == 1:
        table = _Table([ids[0]], table.offsets, table.frames, table.outputs, table.origin)
    counts = np.array([len(s.frames) for s in seqs])
    video_of_row = np.repeat(np.arange(len(ids), dtype=np.int32), counts)
    frames = np.concatenate([s.frames for s in seqs])
    aligned = al.align(table, ids, video_of_row, frames, fill, allow_missing_videos=allow_missing)
    have = {v for v, n in zip(table.videos, np.diff(table.offsets), strict=True) if n}
    present = [i for i in ids if i in have]
    missing = [i for i in ids if i not in have]
    if not present:
        raise AbawError(f"predictions: found none of the {len(ids)} {track} {split} sequences, "
                        f"expected predictions for e.g. {ids[0]}")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    filled = ignored = 0
    keep = set(present)
    outputs, labels = [], []
    for k, (vid, seq) in enumerate(zip(ids, seqs, strict=True)):
        if vid not in keep:
            continue
        rows = slice(int(bounds[k]), int(bounds[k + 1]))
        outputs.append(check_outputs(lay, aligned.outputs[rows]) if is_set
                       else aligned.outputs[rows])
        labels.append(seq.labels)
        valid = metrics.label_mask(lay, seq.labels).any(axis=1)
        filled += int(np.sum(aligned.filled[rows] & valid))
        ignored += int(np.sum(~aligned.filled[rows] & ~valid))
    outputs, labels = np.concatenate(outputs), np.concatenate(labels)
    if is_set:            # pooled over every frame of every video, as the organisers score
        decision = with_thresholds(predictions.decision, thresholds, lay)
        score = metrics.score_outputs(lay, outputs, labels, decision, **choices)
    else:
        score = metrics.score(track, edition, lay.split(outputs, cast=True), lay.split(labels),
                              **choices)
    source = (str(predictions.provenance.get("run", "prediction set")) if is_set
              else predictions.source)
    return Evaluation(score, split, source, len(present), missing, filled, ignored)


def _official_table(official: Official, seqs) -> _Table:
    videos, frames, outputs = [], [], []
    if official.images is not None:                  # LSD: rows are matched by image name
        seq = seqs[0]
        names = {}
        for row, path in enumerate(seq.images or []):
            p = PurePosixPath(path)
            for key in {str(p), p.name, "/".join(p.parts[-2:])}:
                names.setdefault(key, row + 1)
        _, values = official.videos[""]
        rows = np.array([names.get(n, -1) for n in official.images])
        known = rows > 0
        videos, frames, outputs = [seq.id], [rows[known]], [values[known]]
    else:
        for v, (f, values) in official.videos.items():
            videos.append(v)
            frames.append(np.asarray(f, np.int64))
            outputs.append(values)
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in frames])]).astype(np.int64)
    return _Table(videos, offsets, np.concatenate(frames).astype(np.int64),
                  np.concatenate(outputs).astype(np.float64), official.source or "predictions")
