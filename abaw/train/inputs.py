"""What a run reads: the feature stores, the split (or k-fold) of ids, feature statistics for
normalisation, and a teacher's outputs for distillation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.features.store import FeatureStore
from abaw.train.windows import VideoData, align, load_video


def open_stores(paths) -> list[FeatureStore]:
    if isinstance(paths, (str, Path)):
        paths = [p for p in str(paths).split(",") if p]
    if not paths:
        raise AbawError("--features: found nothing, expected one or more feature store folders")
    return [p if isinstance(p, FeatureStore) else FeatureStore(p) for p in paths]


def split_ids(index, track, folds: int, fold: int, seed: int) -> tuple[list[str], list[str]]:
    """(train ids, validation ids): the official split, or fold `fold` of a k-fold split of the
    train + val ids by video (ids shuffled with `seed`, then cut into k near-equal parts)."""
    name = track.index_name
    train, val = index.ids(name, "train"), index.ids(name, "val")
    if folds <= 1:
        if not train:
            raise AbawError(f"index of {index.root}: no {name} training sequences, expected "
                            f"annotations for track {name}")
        if not val:
            raise AbawError(f"index of {index.root}: no {name} validation sequences, expected "
                            "some (or set run.folds > 1)")
        return train, val
    pool = sorted(train + val)
    if len(pool) < folds:
        raise AbawError(f"run.folds: found {folds}, expected at most {len(pool)} (the number of "
                        f"{name} sequences; folds split by video)")
    parts = np.array_split(np.random.default_rng(seed).permutation(len(pool)), folds)
    held = set(parts[fold].tolist())
    return ([pool[i] for i in range(len(pool)) if i not in held],
            [pool[i] for i in sorted(held)])


def load_videos(index, track, ids, stores, edition, with_labels=True) -> list[VideoData]:
    return [load_video(index, track, i, stores, edition, with_labels) for i in ids]


def feature_stats(videos: list[VideoData], max_rows: int):
    """Per store: (mean (D,), std (D,)) float32 over the present rows of the training videos,
    from at most `max_rows` rows taken evenly (deterministic). A store with no present row (a
    text stream with no file, audio of a dataset without videos) gets 0 and 1: it stays absent."""
    means, stds = [], []
    for k in range(len(videos[0].feats)):
        rows = [(v, np.flatnonzero(vd.rows[k] >= 0) if vd.present.any() else np.zeros(0, int))
                for v, vd in enumerate(videos)]
        total = sum(len(r) for _, r in rows)
        step = max(1, int(np.ceil(total / max_rows)))
        acc = np.zeros(videos[0].feats[k].shape[1], np.float64)
        acc2 = np.zeros_like(acc)
        n = 0
        for v, r in rows:
            vd = videos[v]
            keep = r[::step]
            keep = keep[vd.present[keep]]
            if not len(keep):
                continue
            x = np.asarray(vd.feats[k][vd.rows[k][keep]], np.float64)
            x = x[np.abs(x).max(axis=1) > 0]          # rows with no input are zeros: skip them
            acc += x.sum(0)
            acc2 += (x * x).sum(0)
            n += len(x)
        if n == 0 and len(videos[0].feats) > 1:      # the other streams carry the model
            means.append(np.zeros_like(acc, np.float32))
            stds.append(np.ones_like(acc, np.float32))
            continue
        if n == 0:
            raise AbawError("feature store: no present feature rows in the training videos")
        mean = acc / n
        std = np.sqrt(np.maximum(acc2 / n - mean ** 2, 0.0))
        means.append(mean.astype(np.float32))
        stds.append(np.where(std > 1e-6, std, 1.0).astype(np.float32))
    return means, stds


def attach_teacher(path, videos: list[VideoData], n_outputs: int) -> None:
    """Align a teacher's prediction set to each video's frames (NaN where the teacher has none)."""
    ps = PredictionSet.load(path)
    if ps.outputs.shape[1] != n_outputs:
        raise AbawError(f"{path}: found {ps.outputs.shape[1]} teacher output columns, expected "
                        f"{n_outputs} (a prediction set of the same track)")
    have = set(ps.videos)
    for vd in videos:
        t = np.full((vd.n, n_outputs), np.nan, np.float32)
        if vd.id in have:
            frames, out, _ = ps.video(vd.id)
            rows, hit = align(vd.frames, frames, np.ones(len(frames), bool))
            t[hit] = out[rows[hit]]
        vd.teacher = t
    if not any(vd.id in have for vd in videos):
        raise AbawError(f"{path}: found no training video of this run, expected the teacher's "
                        "predictions on the training split")
