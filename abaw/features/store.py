"""The feature store: per annotation id, one row per frame, loaded memory-mapped.

Layout of a store folder:
    meta.json         backbone, revision, layer, pooling, preprocessing, dim, code version
    <id>.rows.npz     frames (N,) int64 1-based, present (N,) bool (False: no crop / no input,
                      the row is zeros and must not be trusted), inputs: the fingerprint of the
                      files the rows were made from (crops' names, sizes and mtimes; the raw
                      video's for audio)
    <id>.npy          features (N, dim) float16, written last: its presence means "done"

Every file is written to a temporary name and renamed, so a killed extraction never leaves a file
that looks complete, and a restart skips exactly the ids whose `.npy` exists and whose inputs are
unchanged: a replaced crop (or video) makes its id's features stale, and they are made again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from abaw.artifacts import Array, check_fields, load_npy, load_npz, read_json
from abaw.atomic import atomic_file
from abaw.errors import AbawError

META = "meta.json"
# meta keys that must agree for two stores to be mixed (e.g. train and test features)
IDENTITY_KEYS = ("backbone", "source", "revision", "layer", "pooling", "preprocessing", "dim")
DTYPE = np.float16   # of the stored features: half the bytes of float32, ample for frozen features


class FeatureStore:
    def __init__(self, path):
        self.path = Path(path)
        meta_file = self.path / META
        if not meta_file.is_file():
            raise AbawError(f"{self.path}: no feature store here ({META} missing); run "
                            "`abaw features extract` first")
        self.meta = read_meta(meta_file)

    @classmethod
    def create(cls, path, meta: dict) -> FeatureStore:
        """Open a store for writing; an existing store must have the same identity (resume)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta_file = path / META
        if meta_file.is_file():
            old = read_meta(meta_file)
            diff = [k for k in IDENTITY_KEYS if old.get(k) != meta.get(k)]
            if diff:
                raise AbawError(f"{meta_file}: field {diff[0]}: found {old.get(diff[0])!r}, "
                                f"expected {meta.get(diff[0])!r}; use another --out folder")
        else:
            text = json.dumps(meta, indent=2, sort_keys=True).encode()
            with atomic_file(meta_file) as fh:
                fh.write(text)
        return cls(path)

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def name(self) -> str:
        return str(self.meta.get("backbone", self.path.name))

    def ids(self) -> list[str]:
        return sorted(p.name[:-4] for p in self.path.glob("*.npy"))

    def has(self, id: str) -> bool:
        return (self.path / f"{id}.npy").is_file()

    def inputs(self, id: str) -> str | None:
        """The fingerprint of the inputs `id` was made from (None: not recorded, or unreadable)."""
        try:
            rows = load_npz(self.path / f"{id}.rows.npz", ROWS_WHAT, ROWS, optional=("inputs",))
        except AbawError:                 # an unreadable record is a stale one: made again
            return None
        return str(rows["inputs"]) if "inputs" in rows else None

    def current(self, id: str, inputs: str) -> bool:
        """Done, readable, and made from exactly these inputs (damaged files are made again)."""
        if not self.has(id):
            return False
        try:
            self.load(id)                 # memory-mapped: reads the headers and the rows only
        except AbawError:
            return False
        return self.inputs(id) == inputs

    def write(self, id: str, frames, features, present, inputs: str = "") -> None:
        frames = np.asarray(frames, dtype=np.int64)
        present = np.asarray(present, dtype=bool)
        feats = np.asarray(features, dtype=DTYPE)
        if feats.shape != (len(frames), self.dim) or present.shape != frames.shape:
            raise AbawError(f"feature store {self.path}: {id}: found features {feats.shape}, "
                            f"expected ({len(frames)}, {self.dim})")
        (self.path / f"{id}.npy").unlink(missing_ok=True)   # stale features never outlive their rows
        with atomic_file(self.path / f"{id}.rows.npz") as fh:
            np.savez(fh, frames=frames, present=present, inputs=np.array(inputs))
        with atomic_file(self.path / f"{id}.npy") as fh:
            np.save(fh, feats)

    def load(self, id: str):
        """(frames (N,), features (N, dim) float16 memory-mapped, present (N,))."""
        if not self.has(id):
            raise AbawError(f"feature store {self.path}: no features for {id}; extract them first")
        rows_file, feats_file = self.path / f"{id}.rows.npz", self.path / f"{id}.npy"
        rows = load_npz(rows_file, ROWS_WHAT, ROWS, optional=("inputs",))
        frames, present = rows["frames"], rows["present"]
        if present.shape != frames.shape:
            raise AbawError(f"{rows_file}: array 'present': found {len(present)} flags, expected "
                            f"{len(frames)} (one per frame)")
        feats = load_npy(feats_file, "features written by `abaw features extract`",
                         Array("f", 2))
        if feats.shape != (len(frames), self.dim):
            raise AbawError(f"{feats_file}: found features {feats.shape}, expected "
                            f"({len(frames)}, {self.dim}): one row per frame of {rows_file.name}, "
                            f"the store's dim")
        return frames, feats, present


MAX_DIM = 1 << 20      # features per frame; the widest backbone read gives a few thousand
ROWS_WHAT = "the frame rows of a feature store written by abaw"
ROWS = {"frames": Array("iu", 1), "present": Array("b", 1), "inputs": Array("U", 0)}


def read_meta(path: Path) -> dict:
    """A store's meta.json: a JSON object with at least a positive integer `dim`."""
    meta = read_json(path, "a feature store's meta.json written by `abaw features extract`")
    check_fields(meta, path, {"dim": int})
    if not 0 < meta["dim"] <= MAX_DIM:
        raise AbawError(f"{path}: field dim: found {meta['dim']}, expected 1 to {MAX_DIM}")
    return meta


def require_same_identity(stores) -> None:
    """Refuse to mix stores whose backbone, layer, pooling, preprocessing or dim disagree."""
    stores = list(stores)
    for other in stores[1:]:
        for k in IDENTITY_KEYS:
            if stores[0].meta.get(k) != other.meta.get(k):
                raise AbawError(f"{other.path / META}: field {k}: found {other.meta.get(k)!r}, "
                                f"expected {stores[0].meta.get(k)!r} as in {stores[0].path}")
