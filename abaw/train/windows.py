"""Fixed-length windows over each annotation id, assembled into batches from memory-mapped features.

A `VideoData` aligns everything to the sequence's frames (the rows the annotation or template
lists): per feature store the store row of each frame (-1: no row, or no input there), the labels
with their per-task masks, and optionally a teacher's outputs. A `WindowSet` cuts every video
into windows of `length` frames every `stride` frames; the last window is aligned to the end, so
every frame is covered, and a video shorter than a window gives one padded window.

Batches are NumPy arrays: features stay float16 (half the bytes to copy; the model casts on the
device), `mask` is True on real frames that have input in at least one store. When a store's rows
line up with the sequence (the usual case), a window is one slice of the memory map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw.errors import AbawError
from abaw.train.blocks import label_mask


@dataclass
class VideoData:
    id: str
    frames: np.ndarray                    # (N,) int64 frame numbers of the sequence
    feats: list[np.ndarray]               # per store: (R, D) float16 memory map
    rows: list[np.ndarray]                # per store: (N,) row of each frame in it, -1 if none
    first_row: list[int | None]           # per store: r0 when rows == r0 + arange(N), else None
    present: np.ndarray                   # (N,) True where some store has input for the frame
    labels: np.ndarray | None             # (N, L) float32 with sentinels; None for test
    label_mask: np.ndarray                # (N, M) bool, per output block
    teacher: np.ndarray | None = None     # (N, K) float32 teacher outputs, NaN where missing

    @property
    def n(self) -> int:
        return len(self.frames)


def align(seq_frames, store_frames, store_present):
    """Rows of a store for each sequence frame: (rows (N,) with -1 where missing, present (N,))."""
    seq_frames = np.asarray(seq_frames, np.int64)
    order = np.argsort(store_frames, kind="stable")
    sf = np.asarray(store_frames, np.int64)[order]
    if len(sf) == 0:
        return np.full(len(seq_frames), -1, np.int64), np.zeros(len(seq_frames), bool)
    pos = np.searchsorted(sf, seq_frames).clip(0, len(sf) - 1)
    hit = sf[pos] == seq_frames
    rows = np.where(hit, order[pos], -1)
    return rows, hit & np.asarray(store_present, bool)[rows.clip(0)]


def load_video(index, track, id: str, stores, edition: int, with_labels: bool = True) -> VideoData:
    seq = index.sequence(track.index_name, id)
    feats, rows, first, present = [], [], [], np.zeros(len(seq.frames), bool)
    for store in stores:
        s_frames, s_feats, s_present = store.load(id)
        r, p = align(seq.frames, s_frames, s_present)
        contiguous = len(r) > 0 and r[0] >= 0 and np.array_equal(r, r[0] + np.arange(len(r)))
        feats.append(s_feats)
        rows.append(r)
        first.append(int(r[0]) if contiguous else None)
        present |= p
    labels = seq.labels.astype(np.float32) if (with_labels and seq.labels is not None) else None
    if labels is not None and len(labels) != len(seq.frames):
        raise AbawError(f"index {seq.source or id}: found {len(labels)} label rows, expected "
                        f"{len(seq.frames)} (one per frame)")
    return VideoData(id, np.asarray(seq.frames, np.int64), feats, rows, first, present, labels,
                     label_mask(track.layout(edition), labels, len(seq.frames)))


def window_starts(n: int, length: int, stride: int) -> np.ndarray:
    if n <= length:
        return np.zeros(1, np.int64)
    starts = np.arange(0, n - length + 1, stride, dtype=np.int64)
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    return starts


class WindowSet:
    """`skip` > 1 (training only): each window reads every k-th frame from its start, k drawn
    in 1..skip from (seed, epoch, window), so consecutive near-identical frames are not all
    shown together; the trainer sets `epoch` before each epoch."""

    def __init__(self, videos: list[VideoData], length: int, stride: int,
                 labelled_only: bool = False, skip: int = 1, seed: int = 0):
        self.videos, self.length = videos, length
        self.skip, self.seed, self.epoch = skip, seed, 0
        idx = []
        for v, vd in enumerate(videos):
            starts = window_starts(vd.n, length, stride)
            if labelled_only:   # keep windows with at least one trainable frame
                useful = vd.label_mask.any(axis=1) & vd.present
                if vd.teacher is not None:
                    useful |= vd.present & np.isfinite(vd.teacher).all(axis=1)
                c = np.concatenate([[0], np.cumsum(useful)])
                ends = np.minimum(starts + length, vd.n)
                starts = starts[c[ends] > c[starts]]
            idx.append(np.stack([np.full(len(starts), v), starts], axis=1))
        self.index = np.concatenate(idx) if idx else np.zeros((0, 2), np.int64)
        self.dims = [f.shape[1] for f in videos[0].feats] if videos else []

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, which) -> dict:
        """Windows `which` (indices into this set) -> dict of arrays, (B, L, ...) each."""
        sel = self.index[np.asarray(which, np.int64)]
        b, length = len(sel), self.length
        v0 = self.videos[0]
        xs = [np.zeros((b, length, d), np.float16) for d in self.dims]
        mask = np.zeros((b, length), bool)
        n_lab = v0.labels.shape[1] if v0.labels is not None else 0
        labels = np.full((b, length, n_lab), np.nan, np.float32)
        label_mask = np.zeros((b, length, v0.label_mask.shape[1]), bool)
        teacher = None if v0.teacher is None else np.full((b, length, v0.teacher.shape[1]), np.nan,
                                                           np.float32)
        arrays = (xs, mask, labels, label_mask, teacher)
        if length == 1:
            self._single_frames(sel, *arrays)
        else:
            self._windows(sel, *arrays, np.asarray(which, np.int64))
        out = {"x": xs, "mask": mask, "labels": labels, "label_mask": label_mask & mask[..., None]}
        if teacher is not None:
            out["teacher"] = teacher
            out["teacher_mask"] = mask & np.isfinite(teacher).all(-1)
        return out

    def _single_frames(self, sel, xs, mask, labels, label_mask, teacher):
        """Image-level batches: one gather per video and store instead of one copy per window."""
        for v in np.unique(sel[:, 0]):
            pick = np.flatnonzero(sel[:, 0] == v)
            t = sel[pick, 1]
            vd = self.videos[v]
            for k, x in enumerate(xs):
                r = vd.rows[k][t]
                ok = np.flatnonzero(r >= 0)
                x[pick[ok], 0] = vd.feats[k][r[ok]]
            mask[pick, 0] = vd.present[t]
            label_mask[pick, 0] = vd.label_mask[t]
            if vd.labels is not None and labels.shape[-1]:
                labels[pick, 0] = vd.labels[t]
            if teacher is not None:
                teacher[pick, 0] = vd.teacher[t]

    def step(self, window: int) -> int:
        """The frame step of window `window` this epoch (1 unless `skip` > 1)."""
        if self.skip <= 1:
            return 1
        rng = np.random.default_rng([self.seed, self.epoch, int(window)])
        return int(rng.integers(1, self.skip + 1))

    def _windows(self, sel, xs, mask, labels, label_mask, teacher, which):
        length, n_lab = self.length, labels.shape[-1]
        for i, (v, s) in enumerate(sel):
            vd = self.videos[v]
            k_step = self.step(which[i])
            e = min(s + length * k_step, vd.n)
            n = len(range(s, e, k_step))
            for k, x in enumerate(xs):
                r0 = vd.first_row[k]
                if r0 is not None:
                    x[i, :n] = vd.feats[k][r0 + s:r0 + e:k_step]
                else:
                    r = vd.rows[k][s:e:k_step]
                    ok = np.flatnonzero(r >= 0)
                    x[i, ok] = vd.feats[k][r[ok]]
            mask[i, :n] = vd.present[s:e:k_step]
            label_mask[i, :n] = vd.label_mask[s:e:k_step]
            if vd.labels is not None and n_lab:
                labels[i, :n] = vd.labels[s:e:k_step]
            if teacher is not None:
                teacher[i, :n] = vd.teacher[s:e:k_step]

    def spans(self, which):
        """(video, start, n_real) of windows `which`, for averaging outputs back to frames."""
        for v, s in self.index[np.asarray(which, np.int64)]:
            yield int(v), int(s), int(min(s + self.length, self.videos[v].n) - s)


def average_to_frames(windows: WindowSet, outputs_per_batch, k: int) -> list[np.ndarray]:
    """Average overlapping window outputs back to frames.

    `outputs_per_batch` yields (which, outputs (B, L, K)); returns one (N, K) float32 per video."""
    sums = [np.zeros((vd.n, k), np.float64) for vd in windows.videos]
    counts = [np.zeros(vd.n, np.int64) for vd in windows.videos]
    for which, out in outputs_per_batch:
        for i, (v, s, n) in enumerate(windows.spans(which)):
            sums[v][s:s + n] += out[i, :n]
            counts[v][s:s + n] += 1
    return [(sm / np.maximum(c, 1)[:, None]).astype(np.float32) for sm, c in zip(sums, counts, strict=True)]


def prefetched(fn, items):
    """fn(item) for each item, the next one computed on a helper thread while the caller works on
    the current one: NumPy copies release the GIL, so batch assembly overlaps the model step."""
    from concurrent.futures import ThreadPoolExecutor
    items = list(items)
    if not items:
        return
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fn, items[0])
        for nxt in items[1:]:
            current = future.result()
            future = pool.submit(fn, nxt)
            yield current
        yield future.result()
