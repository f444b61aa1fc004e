"""How good are the features of a face encoder trained by `abaw models pretrain`? Linear probes.

Pretrains on ROOT's training crops, extracts features of the train and validation frames, fits
per-frame linear probes on standardised train features (Ridge for VA, logistic regression for
EXPR / LSD / each AU / the MTL tasks) and prints the official validation scores
(`abaw.metrics.score`) and the time of each step. No temporal model and no smoothing: those add
on top. Frames without a crop are left out of the probe (the count is printed).

    python eval/probe_pretrain.py /tmp/twin8 --work /tmp/probe8                # VA, EXPR, AU
    python eval/probe_pretrain.py /tmp/twin4 --work /tmp/probe4                # MTL, LSD
    python eval/probe_pretrain.py ROOT --work DIR --weights DIR                # no pretraining
    python eval/probe_pretrain.py ROOT --work DIR --every 4                    # a quick look
AU thresholds: 0.5, and per AU tuned on the validation frames (as `abaw` tuning does).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abaw import metrics  # noqa: E402
from abaw.core.decisions import active  # noqa: E402
from abaw.data import load_index  # noqa: E402
from abaw.features.extract import extract  # noqa: E402
from abaw.features.registry import create_backbone  # noqa: E402
from abaw.features.store import FeatureStore  # noqa: E402
from abaw.post import objectives as ob  # noqa: E402
from abaw.train.pretrain import pretrain  # noqa: E402


def every_kth_frame(index, k: int):
    """The index with every k-th row of each sequence (quick looks: neighbouring frames are
    near-duplicates, so a probe on a k-th of them moves little)."""
    if k == 1:
        return index
    seqs = {t: {i: replace(s, frames=s.frames[::k], labels=None if s.labels is None
                           else s.labels[::k]) for i, s in by_id.items()}
            for t, by_id in index.sequences.items()}
    return replace(index, sequences=seqs)


def rows(index, store, track, split):
    """(features (N, D), labels (N, K)) of the split's frames that have a crop / image."""
    xs, ys, dropped = [], [], 0
    for id in index.ids(track, split):
        seq = index.sequence(track, id)
        frames, feats, present = store.load(id)
        pos = np.searchsorted(frames, seq.frames)  # store rows are sorted frame numbers
        keep = present[pos]
        dropped += int((~keep).sum())
        xs.append(np.asarray(feats[pos[keep]], np.float32))
        ys.append(seq.labels[keep])
    return np.concatenate(xs), np.concatenate(ys), dropped


def standardise(train, val):
    mean, std = train.mean(0), train.std(0) + 1e-6
    return (train - mean) / std, (val - mean) / std


def fit_classes(x, y, xv):
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300, class_weight="balanced", C=0.1)
    return clf.fit(x, y).predict(xv)


def fit_values(x, y, xv):
    from sklearn.linear_model import Ridge

    return Ridge(alpha=10.0).fit(x, y).predict(xv)


def fit_aus(x, y, xv, yv, edition):
    """(0/1 at 0.5, 0/1 at per-AU thresholds tuned on val) for every AU column; the thresholds
    are chosen the way `abaw` tuning chooses them (`abaw.post.objectives`)."""
    from sklearn.linear_model import LogisticRegression

    probs = np.zeros(yv.shape, np.float64)
    for k in range(y.shape[1]):
        if y[:, k].min() == y[:, k].max():
            probs[:, k] = y[0, k]
            continue
        clf = LogisticRegression(max_iter=300, class_weight="balanced", C=0.1)
        probs[:, k] = clf.fit(x, y[:, k]).predict_proba(xv)[:, 1]
    thresholds = ob.best_thresholds(ob.au_terms(probs.T, yv == 1, edition))
    return active(probs).astype(int), active(probs, thresholds).astype(int)


def probe_aff(index, store, ed):
    out = {}
    for track in [t for t in ("VA", "EXPR", "AU") if t in index.tracks()]:
        x, y, _ = rows(index, store, track, "train")
        xv, yv, dropped = rows(index, store, track, "val")
        ok, okv = metrics.valid_mask(track, y if y.shape[1] > 1 else y[:, 0]), \
            metrics.valid_mask(track, yv if yv.shape[1] > 1 else yv[:, 0])
        x, xv = standardise(x[ok], xv[okv])
        y, yv = y[ok], yv[okv]
        if track == "VA":
            out["VA"] = metrics.score("VA", ed, fit_values(x, y, xv), yv)
        elif track == "EXPR":
            out["EXPR"] = metrics.score("EXPR", ed, fit_classes(x, y[:, 0], xv), yv[:, 0])
        else:
            at_half, tuned = fit_aus(x, y, xv, yv, ed)
            out["AU (0.5)"] = metrics.score("AU", ed, at_half, yv)
            out["AU (tuned)"] = metrics.score("AU", ed, tuned, yv)
        print(f"  {track}: {len(y)} train / {len(yv)} val frames ({dropped} val without a crop)")
    return out


def probe_mtl(index, store, ed):
    x, y, _ = rows(index, store, "MTL", "train")
    xv, yv, _ = rows(index, store, "MTL", "val")
    x, xv = standardise(x, xv)
    tasks = {"VA": slice(0, 2), "EXPR": slice(2, 3), "AU": slice(3, y.shape[1])}
    pred = {}
    for task, cols in tasks.items():
        t = y[:, cols] if task != "EXPR" else y[:, 2]
        ok = metrics.valid_mask(task, t)
        if task == "VA":
            pred[task] = fit_values(x[ok], t[ok], xv)
        elif task == "EXPR":
            pred[task] = fit_classes(x[ok], t[ok], xv)
        else:
            tv = yv[:, cols]
            okv = metrics.valid_mask("AU", tv)
            _, tuned_valid = fit_aus(x[ok], t[ok], xv[okv], tv[okv], ed)
            au = np.zeros((len(xv), t.shape[1]), int)
            au[okv] = tuned_valid  # AU rows without labels are masked by the metric
            pred[task] = au
    true = {task: (yv[:, cols] if task != "EXPR" else yv[:, 2]) for task, cols in tasks.items()}
    return {"MTL": metrics.score("MTL", ed, pred, true)}


def probe_lsd(index, store, ed):
    x, y, _ = rows(index, store, "LSD", "train")
    xv, yv, _ = rows(index, store, "LSD", "val")
    x, xv = standardise(x, xv)
    return {"LSD": metrics.score("LSD", ed, fit_classes(x, y[:, 0], xv), yv[:, 0])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--work", required=True, help="Folder for the weights and the features.")
    ap.add_argument("--edition", type=int)
    ap.add_argument("--weights", help="Use these weights instead of pretraining.")
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--max-frames", type=int, default=4000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="Decoding workers for extraction.")
    ap.add_argument("--every", type=int, default=1,
                    help="Probe every k-th frame only (quick looks; pretraining sees all).")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    index = load_index(a.root, a.edition) if a.edition else load_index(a.root)
    work = Path(a.work)
    t0 = time.perf_counter()
    weights = a.weights
    if weights is None:
        weights = pretrain(index, work / "weights", arch=a.arch, image_size=a.size,
                           epochs=a.epochs, max_frames=a.max_frames, lr=a.lr, seed=a.seed)
    t1 = time.perf_counter()
    backbone = create_backbone("face-resnet18", weights=weights)
    index = every_kth_frame(index, a.every)
    tracks = [t for t in ("VA", "EXPR", "AU", "MTL", "LSD") if t in index.tracks()]
    summary = extract(index, backbone, work / "features", tracks=tracks, splits=["train", "val"],
                      workers=a.workers, quiet=True)
    t2 = time.perf_counter()
    store = FeatureStore(work / "features")
    ed = index.edition
    scores = probe_aff(index, store, ed)
    if "MTL" in tracks:
        scores.update(probe_mtl(index, store, ed))
    if "LSD" in tracks:
        scores.update(probe_lsd(index, store, ed))
    t3 = time.perf_counter()
    print(f"{a.root} edition {ed}: {a.arch} {a.size}px, {a.epochs} epochs, "
          f"max {a.max_frames} frames, seed {a.seed}, probe on every {a.every} frame(s)")
    for name, s in scores.items():
        parts = ", ".join(f"{k} {v:.3f}" for k, v in s.parts.items())
        print(f"  {name:11s} {s.value:.3f}   ({parts})")
    print(f"  time: pretrain {t1 - t0:.0f} s, extract {t2 - t1:.0f} s "
          f"({summary['frames']} frames), probes {t3 - t2:.0f} s")


if __name__ == "__main__":
    main()
