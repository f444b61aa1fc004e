"""A tiny hand-built dataset for the training engine's tests: a DatasetIndex made from its
dataclasses and a FeatureStore of synthetic features that carry a planted signal.

Each video has a latent state per frame: an expression class held for 12-20 frames, smooth
valence/arousal curves, and 12 AU bits tied to the class. Features are a fixed random embedding
of that state plus noise, so a head can learn it, and more easily with temporal context.
Some frames have no input (all-zero rows, present=False), some labels carry the sentinels, and
one video's store lacks a few frames entirely (non-contiguous rows). Test videos are unlabelled
in the index; their labels are kept aside (`index.hidden`) to judge a model on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw.data.index import DatasetIndex, Sequence
from abaw.features.store import FeatureStore

DIM = 16


def _latent(rng, n):
    cls = np.zeros(n, np.int64)
    i = 0
    while i < n:
        k = int(rng.integers(12, 21))
        cls[i:i + k] = rng.integers(0, 8)
        i += k
    t = np.arange(n) / n
    va = np.stack([np.sin(2 * np.pi * (t * rng.uniform(1, 3) + rng.uniform())),
                   np.cos(2 * np.pi * (t * rng.uniform(1, 3) + rng.uniform()))], 1) * 0.8
    au_of_class = np.random.default_rng(123).random((8, 12)) < 0.3
    au = au_of_class[cls].astype(np.float32)
    return cls, va.astype(np.float32), au


def make_dataset(root, n_videos=6, n_frames=120, n_val=2, seed=0, noise=0.8, edition=8,
                 store_name="feats", n_test=0) -> tuple[DatasetIndex, FeatureStore]:
    """Videos 0..n_videos-1 (the last n_val in "val"), then n_test unlabelled "test" videos."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    emb = np.random.default_rng(7)
    e_cls, e_va, e_au = emb.normal(size=(8, DIM)), emb.normal(size=(2, DIM)), emb.normal(size=(12, DIM)) * 0.3
    store = FeatureStore.create(root / store_name, {"backbone": "synthetic", "source": "test",
                                                    "revision": "0", "layer": "", "pooling": "",
                                                    "preprocessing": "", "dim": DIM})
    seqs = {t: {} for t in ("VA", "EXPR", "AU", "MTL", "CE")}
    latents, hidden = {}, {}
    lsd_rows = {"train": [], "val": []}
    for v in range(n_videos + n_test):
        vid = f"{v:03d}-video"
        split = "test" if v >= n_videos else "val" if v >= n_videos - n_val else "train"
        cls, va, au = _latent(rng, n_frames)
        x = e_cls[cls] + va @ e_va + au @ e_au + noise * rng.normal(size=(n_frames, DIM))
        present = rng.random(n_frames) > 0.05
        x[~present] = 0.0
        frames = np.arange(1, n_frames + 1)
        keep = np.ones(n_frames, bool)
        if v == 1:
            keep[40:46] = False                 # these frames have no row in the store at all
        store.write(vid, frames[keep], x[keep], present[keep])
        va_l, ex_l, au_l = va.copy(), cls.astype(np.float32)[:, None], au.copy()
        va_l[rng.random(n_frames) < 0.05] = -5.0
        ex_l[rng.random(n_frames) < 0.05] = -1.0
        au_l[rng.random(n_frames) < 0.05, 3] = -1.0
        test = split == "test"
        seqs["VA"][vid] = Sequence(vid, "VA", split, frames, None if test else va_l)
        seqs["EXPR"][vid] = Sequence(vid, "EXPR", split, frames, None if test else ex_l)
        seqs["AU"][vid] = Sequence(vid, "AU", split, frames, None if test else au_l)
        ce = np.minimum(ex_l, 6)
        seqs["CE"][vid] = Sequence(vid, "CE", split, frames, None if test else ce)
        sparse = np.sort(rng.choice(n_frames, n_frames // 3, replace=False))
        mtl = np.concatenate([va_l, ex_l, au_l], 1)[sparse]
        mtl[rng.random(len(sparse)) < 0.2, 2] = -1.0          # some rows miss the expression
        seqs["MTL"][vid] = Sequence(vid, "MTL", split, frames[sparse], None if test else mtl)
        if not test:
            lsd_rows[split].append((x[present], np.minimum(cls[present], 5)))
        latents[vid] = (cls, va, present)
        if test:                    # what the organisers keep: the test labels
            hidden[vid] = {"VA": va_l, "EXPR": ex_l, "AU": au_l}
    for split, parts in lsd_rows.items():    # LSD: one image-level sequence per split
        feats = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts]).astype(np.float32)[:, None]
        n = len(labels)
        store.write(split, np.arange(1, n + 1), feats, np.ones(n, bool))
        seqs.setdefault("LSD", {})[split] = Sequence(split, "LSD", split, np.arange(1, n + 1), labels,
                                                     images=[f"{split}/{i}.jpg" for i in range(n)])
    index = DatasetIndex(root, edition, f"synthetic-{seed}", seqs, {})
    index.latents = latents        # for tests that build a second, correlated stream
    index.hidden = hidden          # test videos: their labels, never in the index
    return index, store


def second_store(root, index, dim=8, name="audio", seed=1) -> FeatureStore:
    """A second stream ("audio") carrying the valence and the class, silent (zeros) on a third
    of the frames, for the fusion modules."""
    rng = np.random.default_rng(seed)
    e = np.random.default_rng(11).normal(size=(10, dim))
    store = FeatureStore.create(Path(root) / name, {"backbone": "synthetic-audio", "source": "test",
                                                   "revision": "0", "layer": "", "pooling": "",
                                                   "preprocessing": "", "dim": dim})
    for vid, (cls, va, _) in index.latents.items():
        n = len(cls)
        x = e[cls] + va[:, :1] * e[8] + va[:, 1:] * e[9] + 0.8 * rng.normal(size=(n, dim))
        heard = rng.random(n) > 0.33
        x[~heard] = 0.0
        store.write(vid, np.arange(1, n + 1), x, heard)
    for split in ("train", "val"):
        n = len(index.sequence("LSD", split).frames)
        store.write(split, np.arange(1, n + 1), rng.normal(size=(n, dim)), np.ones(n, bool))
    return store


def tiny_config(track, **overrides):
    """A fast config: tiny heads, a few epochs."""
    from abaw.train.config import load_config
    sets = {"model.head": "gru", "model.hidden": 16, "model.layers": 1, "model.dropout": 0.0,
            "optim.epochs": 6, "optim.batch_size": 8, "optim.lr": 1e-2, "optim.warmup": 0.0,
            "data.window": 16, "optim.patience": 0}
    sets.update(overrides)
    return load_config(None, [f"{k}={v!r}" if isinstance(v, str) else f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                              for k, v in sets.items()], track=track)
