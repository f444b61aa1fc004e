"""The dataset index: what every later step reads instead of walking the dataset tree again.

Two tables:
- `sequences[track][id]`: one annotation id in one track — its split, the frame numbers its rows
  refer to, and its labels (sentinels kept; `valid()` masks them). Aff-Wild2 tracks: frames
  1..N, one per annotation line (test: one per template row / list length). MTL: the listed
  static frames of a video (not contiguous). LSD: one sequence per split, rows = images
  (`images` holds their paths). CE: the 56 test videos, frames from the template.
- `media[id]`: what is on disk for an annotation id, shared by all tracks — its crop folder and
  the frame numbers that have a crop image, its raw video (suffix `_left/_right` stripped),
  per-frame timestamps when the video was probed, and its face table when its crops come from
  the face step (`abaw.data.cropsource`).

Paths are relative to `root`, so an index stays valid when the tree moves; those in a crop source
outside the tree are absolute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from abaw import metrics, protocol
from abaw.errors import AbawError


@dataclass
class Sequence:
    id: str
    track: str
    split: str                               # "train" | "val" | "test"
    frames: np.ndarray                       # (N,) int64, 1-based
    labels: np.ndarray | None                # (N, K) float32 with sentinels; None for test.
    # K: VA 2, EXPR/CE/LSD 1 (the class index), AU 12 (8 in ed. 1), MTL 15 (v, a, expr, 12 AUs)
    source: str = ""                         # annotation / list / template file, relative to root
    images: list[str] | None = None          # image-level rows (LSD): path of each row


@dataclass
class Media:
    id: str
    crop_dir: str | None = None              # relative to root
    crop_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted
    raw_video: str | None = None             # relative to root
    timestamps: np.ndarray | None = None     # (n_decoded,) seconds of decoded frames 1..n
    fps: float | None = None                 # average rate, for reports only
    face_table: str | None = None            # the face table of its video when the face step
    #                                          looked at it (`abaw faces extract`): frames of the
    #                                          video without a crop are frames without a face


@dataclass
class DatasetIndex:
    root: Path
    edition: int
    fingerprint: str
    sequences: dict[str, dict[str, Sequence]] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # warnings found while indexing (one line each)
    crop_sources: list[str] = field(default_factory=list)  # crop folders outside the tree (absolute)

    def tracks(self) -> list[str]:
        return [t for t, seqs in self.sequences.items() if seqs]

    def ids(self, track: str, split: str) -> list[str]:
        """Annotation ids of a track's split, sorted (the order every later step uses)."""
        seqs = self.sequences.get(track.upper(), {})
        return sorted(i for i, s in seqs.items() if s.split == split)

    def sequence(self, track: str, id: str) -> Sequence:
        try:
            return self.sequences[track.upper()][id]
        except KeyError:
            raise AbawError(f"index of {self.root}: no {track} sequence {id!r}") from None

    def valid(self, track: str, id: str) -> np.ndarray:
        """(N,) True where the frame's ground truth is annotated (all False for test)."""
        seq = self.sequence(track, id)
        if seq.labels is None:
            return np.zeros(len(seq.frames), bool)
        if track.upper() == "MTL":
            raise AbawError("MTL rows are masked per task: use mtl_valid()")
        return metrics.valid_mask(track, seq.labels if seq.labels.shape[1] > 1
                                  else seq.labels[:, 0])

    def mtl_valid(self, id: str) -> dict[str, np.ndarray]:
        """MTL rows are masked per task: {"VA": (N,), "EXPR": (N,), "AU": (N,)}."""
        lab = self.sequence("MTL", id).labels
        if lab is None:
            n = len(self.sequence("MTL", id).frames)
            return {t: np.zeros(n, bool) for t in ("VA", "EXPR", "AU")}
        return {"VA": metrics.valid_mask("VA", lab[:, 0:2]),
                "EXPR": metrics.valid_mask("EXPR", lab[:, 2]),
                "AU": metrics.valid_mask("AU", lab[:, 3:15])}

    def has_crop(self, id: str, frames) -> np.ndarray:
        """(len(frames),) True where a crop image exists for that frame of `id`."""
        m = self.media.get(id)
        frames = np.asarray(frames, dtype=np.int64)
        if m is None or len(m.crop_frames) == 0:
            return np.zeros(len(frames), bool)
        pos = np.searchsorted(m.crop_frames, frames).clip(0, len(m.crop_frames) - 1)
        return m.crop_frames[pos] == frames

    def image_path(self, track: str, id: str, frame: int) -> Path:
        """Absolute path of the image behind one row: a crop, or an LSD image."""
        seq = self.sequences.get(track.upper(), {}).get(id)
        if seq is not None and seq.images is not None:
            return self.root / seq.images[int(frame) - 1]
        m = self.media.get(id)
        if m is None or m.crop_dir is None:
            raise AbawError(f"{id}: no crop folder in {self.root}")
        return self.root / m.crop_dir / protocol.frame_name(int(frame))
