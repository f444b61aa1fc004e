"""The on-disk index cache: one `.npz` (no pickles) named by the fingerprint of its inputs.

The fingerprint hashes the path, size and mtime of every input file (annotation files, lists,
templates, MTL files, raw videos) and the path and mtime of every crop folder found (however
nested, `abaw.data.cropdirs`), video crop folder and image folder (a folder's mtime changes when
a file is added to or removed from it), plus the edition and the options. Changing, adding or
removing any of them gives a new fingerprint, so a stale cache is never read. Paths are relative
to the root, so a moved tree keeps its cache.

Layout of the file: per track one array of all labels and one of the frames of sequences whose
frames are not simply 1..N, per-sequence facts in a JSON `meta` array, LSD image paths as one
newline-joined byte string. Loading it is a handful of reads, whatever the number of videos.

Safety: the cache is only an optimisation, so a cache file that can't be read whole and
consistent (truncated, bad CRC, empty, other arrays, another fingerprint) is rebuilt, never
trusted. A cache folder is never reached through a link, and the only files ever deleted are
`<fingerprint>.npz` files (and their temporary files) in a cache folder abaw made (it holds
`atomic.MARKER`): nothing else, wherever a link or a shared tree points.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from abaw.atomic import MARKER, atomic_file, made_by_abaw
from abaw.data.index import DatasetIndex, Media, Sequence
from abaw.data.layout import CACHE_DIR, Layout

VERSION = 3
FINGERPRINT_CHARS = 20
_CACHE_FILE = re.compile(rf"[0-9a-f]{{{FINGERPRINT_CHARS}}}\.npz\Z")
_LEFTOVER = re.compile(rf"\.[0-9a-f]{{{FINGERPRINT_CHARS}}}\.npz\.[a-z0-9_]{{8}}\.tmp\Z")
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
    files += list(lay.face_summaries)    # written after their table: a redone video changes it
    folders = list(lay.crop_folders) + [p for ps in lay.crop_dirs.values() for p in ps]
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
    return h.hexdigest()[:FINGERPRINT_CHARS]


def _places(root: Path) -> list[tuple[Path, int]]:
    """(cache folder, how many of its last path components are the cache's own)."""
    user = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "abaw" / "index"
    key = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:12]
    return [(Path(root) / CACHE_DIR, 1), (user / key, 3)]


def cache_dirs(root: Path) -> list[Path]:
    """Where a cache may live: inside the root, else (a read-only release) in the user cache."""
    return [d for d, _ in _places(root)]


def _linked(folder: Path, own: int) -> bool:
    """A link among the folder's own components: the cache would land wherever it points."""
    return any(p.is_symlink() for p in [folder, *folder.parents][:own])


def read(root: Path, fp: str) -> DatasetIndex | None:
    for d, own in _places(root):
        path = d / f"{fp}.npz"
        if _linked(d, own) or path.is_symlink() or not path.is_file():
            continue
        try:
            return _load(path, root, fp)
        except Exception:  # noqa: BLE001  a cache that can't be read whole is rebuilt, never trusted
            continue
    return None


def write(idx: DatasetIndex) -> Path | None:
    """Save atomically (temp file, then rename) in the first usable cache folder; the folder's
    older cache files go, if abaw made the folder."""
    arrays = _pack(idx)
    for d, own in _places(idx.root):
        if _linked(d, own):
            continue                            # never followed, never written through
        try:
            if not d.exists():
                d.mkdir(parents=True)
                (d / MARKER).write_bytes(b"made by abaw: its index cache\n")
            elif not made_by_abaw(d) and d.is_dir() and all(
                    _CACHE_FILE.match(e.name) and e.is_file(follow_symlinks=False)
                    for e in os.scandir(d)):
                (d / MARKER).write_bytes(b"made by abaw: its index cache\n")   # an older cache
            path = d / f"{idx.fingerprint}.npz"
            with atomic_file(path) as fh:
                np.savez(fh, **arrays)
        except OSError:
            continue
        if made_by_abaw(d):
            for e in os.scandir(d):             # only the names this cache writes
                if (e.name != path.name and (_CACHE_FILE.match(e.name) or _LEFTOVER.match(e.name))
                        and e.is_file(follow_symlinks=False)):
                    os.unlink(e.path)
        return path
    return None


def _pack(idx: DatasetIndex) -> dict:
    meta = {"version": VERSION, "edition": idx.edition, "fingerprint": idx.fingerprint,
            "problems": idx.problems, "crop_sources": idx.crop_sources, "tracks": {}, "media": []}
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
        meta["media"].append([m.id, m.crop_dir, m.raw_video, len(m.crop_frames), n_ts, m.fps,
                              m.face_table])
    arrays["media.crop_frames"] = np.concatenate(crops) if crops else np.zeros(0, np.int32)
    arrays["media.timestamps"] = np.concatenate(stamps) if stamps else np.zeros(0)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return arrays


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"damaged cache: {what}")


def _check(data: dict, meta: dict, fp: str) -> None:
    """Every array the meta describes is there, with the sizes and kinds it says."""
    _expect(isinstance(meta, dict) and meta.get("version") == VERSION, "version")
    _expect(meta.get("fingerprint") == fp and isinstance(meta.get("edition"), int), "fingerprint")
    _expect(isinstance(meta.get("problems"), list) and isinstance(meta.get("tracks"), dict)
            and isinstance(meta.get("media"), list), "meta")
    want = {"meta", "media.crop_frames", "media.timestamps"} | {
        f"{t}.{k}" for t in meta["tracks"] for k in ("frames", "labels", "images")}
    _expect(set(data) == want, "arrays")
    for track, info in meta["tracks"].items():
        rows = info["rows"]
        _expect(all(isinstance(r, list) and len(r) == 7 and isinstance(r[3], int) and r[3] >= 0
                    for r in rows), f"{track} rows")
        frames, labels = data[f"{track}.frames"], data[f"{track}.labels"]
        _expect(frames.ndim == 1 and frames.dtype.kind in "iu"
                and len(frames) == sum(r[3] for r in rows if not r[4]), f"{track} frames")
        _expect(labels.ndim == 2 and labels.dtype.kind in "iuf" and labels.shape[1] == info["width"]
                and len(labels) == sum(r[3] for r in rows if r[5]), f"{track} labels")
        _expect(data[f"{track}.images"].dtype == np.uint8, f"{track} images")
    media = meta["media"]
    _expect(all(isinstance(m, list) and len(m) == 7 for m in media), "media")
    _expect(isinstance(meta.get("crop_sources"), list), "crop sources")
    crops, stamps = data["media.crop_frames"], data["media.timestamps"]
    _expect(crops.ndim == 1 and crops.dtype.kind in "iu"
            and len(crops) == sum(m[3] for m in media), "crop frames")
    _expect(stamps.ndim == 1 and len(stamps) == sum(m[4] for m in media if m[4] >= 0),
            "timestamps")


def _load(path: Path, root: Path, fp: str) -> DatasetIndex:
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(data["meta"].tobytes().decode())
    _check(data, meta, fp)
    idx = DatasetIndex(Path(root), meta["edition"], meta["fingerprint"], problems=meta["problems"],
                       crop_sources=meta["crop_sources"])
    for track, info in meta["tracks"].items():
        frames, labels = data[f"{track}.frames"], data[f"{track}.labels"].astype(np.float32)
        blob = data[f"{track}.images"].tobytes().decode()
        images = blob.split("\n") if blob else []
        _expect(len(images) == sum(r[3] for r in info["rows"] if r[6]), f"{track} images")
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
    for id_, crop_dir, raw, n_crop, n_ts, fps, table in meta["media"]:
        ts = None
        if n_ts >= 0:
            ts, to = stamps[to:to + n_ts], to + n_ts
        idx.media[id_] = Media(id_, crop_dir, crops[co:co + n_crop], raw, ts, fps, table)
        co += n_crop
    return idx
