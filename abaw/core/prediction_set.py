"""The prediction set: raw model outputs per video, the one artifact between predict and write.

Stored flat so that per-video operations are slices, not dict look-ups over 600 arrays:
`videos[i]` owns rows `offsets[i]:offsets[i+1]` of `frames`, `outputs` and `imputed`.

- `frames`: 1-based frame numbers (image-level tracks: 1-based row of the release list).
- `outputs`: raw outputs, float32, in the track's layout (`abaw.core.layout`) — VA values (N, 2);
  class probabilities (N, C); AU probabilities (N, 12); MTL the three side by side
  (N, 2 + 8 + 12). Decisions (clip, argmax, thresholds) are taken by `abaw.core.decisions`.
- `imputed`: True where a frame had no model output (no face) and was filled by a policy.
- `decision`: what tuning chose for deciding these outputs (AU thresholds, class bias, whether
  post-processing was applied), see `Decision`.
- `provenance`: JSON-able dict (track, edition, run, config hash, post-processing record ...).

Saved as one `.npz` (no pickles), written atomically. A set saved before it had a `decision`
loads with the one its provenance implied (`au_thresholds`, `post.applied`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abaw.artifacts import Array, check_fields, load_npz
from abaw.atomic import atomic_file
from abaw.core.decisions import Decision
from abaw.core.layout import Layout, layout
from abaw.errors import AbawError


@dataclass
class PredictionSet:
    track: str
    edition: int
    columns: tuple[str, ...]          # names of the output columns, e.g. the class names
    videos: list[str]
    offsets: np.ndarray               # (V + 1,) int64
    frames: np.ndarray                # (N,) int64
    outputs: np.ndarray               # (N, K) float32
    imputed: np.ndarray               # (N,) bool
    provenance: dict = field(default_factory=dict)
    decision: Decision = field(default_factory=Decision)

    # where the set came from, for messages: its file once loaded (not part of its content)
    origin: str = field(default="prediction set", compare=False, repr=False)

    def __post_init__(self) -> None:
        self.track = self.track.upper()
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.frames = np.asarray(self.frames, dtype=np.int64)
        self.outputs = np.asarray(self.outputs, dtype=np.float32)
        if self.outputs.ndim == 1:
            self.outputs = self.outputs[:, None]
        self.imputed = np.asarray(self.imputed, dtype=bool)
        _check_parts(self.origin, self.columns, self.videos, self.offsets, self.frames,
                     self.outputs, self.imputed)

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_videos(cls, track: str, edition: int, per_video: dict[str, tuple],
                    columns: Sequence[str] | None = None, provenance: dict | None = None,
                    decision: Decision | None = None) -> PredictionSet:
        """`per_video`: id -> (frames, outputs[, imputed]); videos kept in the dict's order."""
        columns = tuple(columns or layout(track, edition).names)
        k = len(columns)
        videos = list(per_video)
        frames, outputs, imputed, offsets = [], [], [], [0]
        for vid in videos:
            item = per_video[vid]
            f = np.asarray(item[0], dtype=np.int64)
            o = np.asarray(item[1], dtype=np.float32)
            o = o.reshape(len(f), -1) if len(f) else o.reshape(0, k)    # a video without rows
            im = np.asarray(item[2], dtype=bool) if len(item) > 2 else np.zeros(len(f), bool)
            frames.append(f)
            outputs.append(o)
            imputed.append(im)
            offsets.append(offsets[-1] + len(f))
        return cls(track, edition, columns, videos, np.array(offsets),
                   np.concatenate(frames) if frames else np.zeros(0, np.int64),
                   np.concatenate(outputs) if outputs else np.zeros((0, k), np.float32),
                   np.concatenate(imputed) if imputed else np.zeros(0, bool),
                   dict(provenance or {}), decision or Decision())

    def replace(self, outputs: ArrayLike | None = None, imputed: ArrayLike | None = None,
                frames: ArrayLike | None = None, offsets: ArrayLike | None = None,
                videos: Sequence[str] | None = None, decision: Decision | None = None,
                **provenance_update: Any) -> PredictionSet:
        """A new set with some arrays (or its decision) replaced; `provenance_update` is merged
        into provenance."""
        return PredictionSet(
            self.track, self.edition, self.columns,
            list(self.videos if videos is None else videos),
            self.offsets if offsets is None else np.asarray(offsets),
            self.frames if frames is None else np.asarray(frames),
            self.outputs if outputs is None else np.asarray(outputs),
            self.imputed if imputed is None else np.asarray(imputed),
            {**self.provenance, **provenance_update},
            self.decision if decision is None else decision, self.origin)

    # --- access ---------------------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        """The track's output layout in this set's edition (blocks, groups)."""
        return layout(self.track, self.edition)

    def index_of(self, video: str) -> int:
        if not hasattr(self, "_pos"):
            self._pos = {v: i for i, v in enumerate(self.videos)}
        if video not in self._pos:
            raise AbawError(f"{self.origin}: video {video} is missing")
        return self._pos[video]

    def rows(self, video: str) -> slice:
        i = self.index_of(video)
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def video(self, video: str) -> tuple[NDArray, NDArray, NDArray]:
        """(frames, outputs, imputed) of one video, as views."""
        s = self.rows(video)
        return self.frames[s], self.outputs[s], self.imputed[s]

    def __len__(self) -> int:
        return len(self.frames)

    # --- disk -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        meta = {"track": self.track, "edition": self.edition, "columns": list(self.columns),
                "videos": self.videos, "provenance": self.provenance,
                "decision": self.decision.to_dict()}
        with atomic_file(path) as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), offsets=self.offsets,
                     frames=self.frames, outputs=self.outputs, imputed=self.imputed)
        return path

    @classmethod
    def load(cls, path: str | Path) -> PredictionSet:
        """The set saved at `path`; a file that is not one (damaged, another kind of .npz,
        inconsistent arrays or meta) is an AbawError naming it."""
        path = Path(path)
        arrays = load_npz(path, WHAT, ARRAYS)
        meta = _meta(path, arrays.pop("meta"))
        track, edition, prov = meta["track"].upper(), meta["edition"], meta["provenance"]
        try:
            lay = layout(track, edition)
        except AbawError as e:
            raise AbawError(f"{path}: field meta: {e}") from None
        if tuple(meta["columns"]) != lay.names:
            raise AbawError(f"{path}: field meta.columns: found {','.join(meta['columns'])[:80]}, "
                            f"expected {','.join(lay.names)} ({track} in edition {edition})")
        if "decision" in meta:
            decision = Decision.from_dict(meta["decision"], f"{path}: field decision")
        else:                     # saved before sets had a decision: what the keys implied
            decision = Decision.from_provenance(prov, lay if "au_thresholds" in prov else None)
            prov = {k: v for k, v in prov.items() if k != "au_thresholds"}
            if isinstance(prov.get("post"), dict):
                prov["post"] = {k: v for k, v in prov["post"].items() if k != "applied"}
        return cls(track, edition, tuple(meta["columns"]), meta["videos"], arrays["offsets"],
                   arrays["frames"], arrays["outputs"], arrays["imputed"], prov, decision,
                   str(path))


WHAT = "a prediction set written by abaw"
ARRAYS = {"meta": Array("U", 0), "offsets": Array("iu", 1), "frames": Array("iu", 1),
          "outputs": Array("f", (1, 2)), "imputed": Array("b", 1)}


def _meta(path: Path, text: np.ndarray) -> dict[str, Any]:
    """The set's JSON header, with the fields and types `load` relies on."""
    try:
        meta = json.loads(str(text))
    except (ValueError, RecursionError) as e:
        raise AbawError(f"{path}: array 'meta': found text that is not JSON ({e}), expected "
                        f"{WHAT}") from None
    if not isinstance(meta, dict):
        raise AbawError(f"{path}: array 'meta': found a JSON {type(meta).__name__}, expected an "
                        "object")
    meta.setdefault("provenance", {})
    check_fields(meta, f"{path}: meta", {"track": str, "edition": int, "columns": (list, str),
                                         "videos": (list, str), "provenance": dict})
    return meta


def _check_parts(origin: str, columns: Sequence[str], videos: Sequence[str],
                 offsets: NDArray, frames: NDArray, outputs: NDArray, imputed: NDArray) -> None:
    """The arrays of a set agree with each other: `videos[i]` owns rows
    `offsets[i]:offsets[i+1]`, one output row and one flag per frame, a column per name."""
    n = len(frames)
    if (len(offsets) != len(videos) + 1 or offsets[0] != 0 or offsets[-1] != n
            or (np.diff(offsets) < 0).any()):
        raise AbawError(f"{origin}: offsets: found {len(offsets)} offsets "
                        f"({_show(offsets)}), expected {len(videos) + 1} rising from 0 to {n} "
                        f"(one more than the {len(videos)} videos, ending at the rows)")
    if frames.ndim != 1 or imputed.ndim != 1 or outputs.ndim != 2:
        raise AbawError(f"{origin}: found frames {frames.shape}, outputs {outputs.shape}, "
                        f"imputed {imputed.shape}, expected (N,), (N, columns), (N,)")
    if len(outputs) != n or len(imputed) != n:
        raise AbawError(f"{origin}: found {len(outputs)} output rows and {len(imputed)} imputed "
                        f"flags, expected {n} (one per frame)")
    if outputs.shape[1] != len(columns):
        raise AbawError(f"{origin}: found {outputs.shape[1]} output columns, expected "
                        f"{len(columns)} ({','.join(columns)})")
    if len(set(videos)) != len(videos):
        twice = next(v for i, v in enumerate(videos) if v in videos[:i])
        raise AbawError(f"{origin}: video {twice} appears twice, expected each video once")


def _show(a: NDArray) -> str:
    return ", ".join(map(str, a[:4].tolist())) + (", ..." if len(a) > 4 else "")
