"""The on-disk index cache: one `.npz` (no pickles) named by the fingerprint of its inputs.

The fingerprint hashes the path, size and mtime of every input file (annotation files, lists,
templates, MTL files, raw videos) and the path and mtime of every crop and image folder (a
folder's mtime changes when a file is added to or removed from it), plus the edition and the
options. Changing, adding or removing any of them gives a new fingerprint, so a stale cache is
never read. Paths are relative to the root, so a moved tree keeps its cache.

Layout of the file: per track one array of all labels and one of the frames of sequences whose
frames are not simply 1..N, per-sequence facts in a JSON `meta` array, LSD image paths as one
newline-joined byte string. Loading it is a handful of reads, whatever the number of videos.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from abaw.data.index import DatasetIndex, Media, Sequence
from abaw.data.layout import CACHE_DIR, Layout

VERSION = 2
SMALL_INT_TRACKS = ("EXPR", "AU", "LSD", "CE")  # labels stored as int8 (read back as float32)


def fingerprint(lay: Layout, **options) -> str:
    h = hashlib.sha1()
    h.update(json.dumps({"version": VERSION, "edition": lay.edition, **options},
                        sort_keys=True, default=str).encode())
    files = [p for splits in lay.track_files.values() for ps in splits.values() for p in ps]
    files += list(lay.mtl_files.values()) + list(lay.test_lists.values())
    files += list(lay.templates.values()) + list(lay.ce_videos.values())
    files += [p for ps in lay.videos.values() for p in ps]
    files += [lay.lsd_list] if lay.lsd_list else []
    folders = [p for ps in lay.crop_dirs.values() for p in ps]
    folders += [p for cls in lay.lsd_dirs.values() for ps in cls.values() for p in ps]
    folders += [lay.lsd_test_dir] if lay.lsd_test_dir else []
    lines = []
    for p in files:
        st = os.stat(p)
        lines.append(f"f\t{lay.rel(p)}\t{st.st_size}\t{st.st_mtime_ns}")
    for p in folders:
        lines.append(f"d\t{lay.rel(p)}\t{os.stat(p).st_mtime_ns}")
    lines += [f"p\t{p}" for p in lay.problems]  # the layout's own findings
    h.update("\n".join(sorted(lines)).encode())
    return h.hexdigest()[:20]


def cache_dirs(root: Path) -> list[Path]:
    """Where a cache may live: inside the root, else (a read-only release) in the user cache."""
    user = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "abaw" / "index"
    key = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:12]
    return [Path(root) / CACHE_DIR, user / key]


def read(root: Path, fp: str) -> DatasetIndex | None:
    for d in cache_dirs(root):
        path = d / f"{fp}.npz"
        if path.is_file():
            try:
                return _load(path, root)
            except (OSError, ValueError, KeyError):
                continue  # a damaged cache is rebuilt, never trusted
    return None


def write(idx: DatasetIndex) -> Path | None:
    """Save atomically (temp file, then rename) in the first writable cache folder; old ones go."""
    arrays = _pack(idx)
    for d in cache_dirs(idx.root):
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            path = d / f"{idx.fingerprint}.npz"
            os.replace(tmp, path)
        except OSError:
            continue
        for old in d.glob("*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
        return path
    return None


def _pack(idx: DatasetIndex) -> dict:
    meta = {"version": VERSION, "edition": idx.edition, "fingerprint": idx.fingerprint,
            "problems": idx.problems, "tracks": {}, "media": []}
    arrays = {}
    for track, seqs in idx.sequences.items():
        rows, frames, labels, images = [], [], [], []
        for s in seqs.values():
            n = len(s.frames)
            plain = bool(n and s.frames[0] == 1 and s.frames[-1] == n
                         and np.array_equal(s.frames, np.arange(1, n + 1)))
            if not plain:
                frames.append(s.frames)
            if s.labels is not None:
                labels.append(s.labels)
            if s.images is not None:
                images.extend(s.images)
            rows.append([s.id, s.split, s.source, n, plain, s.labels is not None,
                         s.images is not None])
        width = labels[0].shape[1] if labels else 1
        meta["tracks"][track] = {"rows": rows, "width": width}
        arrays[f"{track}.frames"] = np.concatenate(frames) if frames else np.zeros(0, np.int64)
        lab = np.concatenate(labels) if labels else np.zeros((0, width), np.float32)
        # class indices and 0/1/-1 AUs were checked to be small integers: a quarter of the bytes
        arrays[f"{track}.labels"] = lab.astype(np.int8) if track in SMALL_INT_TRACKS else lab
        arrays[f"{track}.images"] = np.frombuffer("\n".join(images).encode(), np.uint8)
    crops, stamps = [], []
    for m in idx.media.values():
        crops.append(m.crop_frames.astype(np.int32))
        n_ts = -1 if m.timestamps is None else len(m.timestamps)
        if m.timestamps is not None:
            stamps.append(m.timestamps)
        meta["media"].append([m.id, m.crop_dir, m.raw_video, len(m.crop_frames), n_ts, m.fps])
    arrays["media.crop_frames"] = np.concatenate(crops) if crops else np.zeros(0, np.int32)
    arrays["media.timestamps"] = np.concatenate(stamps) if stamps else np.zeros(0)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return arrays


def _load(path: Path, root: Path) -> DatasetIndex:
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(data["meta"].tobytes().decode())
    if meta["version"] != VERSION:
        raise ValueError("old cache format")
    idx = DatasetIndex(Path(root), meta["edition"], meta["fingerprint"], problems=meta["problems"])
    for track, info in meta["tracks"].items():
        frames, labels = data[f"{track}.frames"], data[f"{track}.labels"].astype(np.float32)
        blob = data[f"{track}.images"].tobytes().decode()
        images = blob.split("\n") if blob else []
        seqs, fo, lo, io = {}, 0, 0, 0
        for id_, split, source, n, plain, has_labels, has_images in info["rows"]:
            if plain:
                fr = np.arange(1, n + 1, dtype=np.int64)
            else:
                fr, fo = frames[fo:fo + n], fo + n
            lab = None
            if has_labels:
                lab, lo = labels[lo:lo + n], lo + n
            img = None
            if has_images:
                img, io = images[io:io + n], io + n
            seqs[id_] = Sequence(id_, track, split, fr, lab, source, img)
        idx.sequences[track] = seqs
    crops = data["media.crop_frames"].astype(np.int64)
    stamps = data["media.timestamps"]
    co = to = 0
    for id_, crop_dir, raw, n_crop, n_ts, fps in meta["media"]:
        ts = None
        if n_ts >= 0:
            ts, to = stamps[to:to + n_ts], to + n_ts
        idx.media[id_] = Media(id_, crop_dir, crops[co:co + n_crop], raw, ts, fps)
        co += n_crop
    return idx
