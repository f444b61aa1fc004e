"""Constructed prediction sets with known truth, for the post-processing tests and benchmark.

Realistic in the way that matters here: the truth changes slowly (segments of expressions and
AUs lasting seconds, smoothly drifting valence/arousal) while a per-frame model's outputs carry
independent noise on every frame, some frames have no face (imputed) and some truth is unannotated.
"""

from __future__ import annotations

import numpy as np

from abaw import protocol
from abaw.core.prediction_set import PredictionSet
from abaw.post.tune import ValTruth


def lengths(rng, n_videos, mean):
    return np.maximum(rng.normal(mean, mean / 4, n_videos).astype(int), 20)


def segments(rng, n, mean_len, n_values, p=None):
    """(n,) piecewise-constant values: runs of ~mean_len frames."""
    out = np.empty(n, np.int64)
    at = 0
    while at < n:
        run = max(1, int(rng.exponential(mean_len)))
        out[at:at + run] = rng.choice(n_values, p=p)
        at += run
    return out


def slow(rng, n, cols, width):
    """Smooth random curves in about [-1, 1]."""
    noise = rng.normal(size=(n + 2 * width, cols))
    k = np.hanning(2 * width + 1)
    k /= k.sum()
    out = np.stack([np.convolve(noise[:, j], k, mode="same") for j in range(cols)], axis=1)
    out = out[width:width + n]
    return out / (np.abs(out).max() + 1e-9)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def case(track, rng, n_videos=6, mean_len=400, noise=1.0, edition=None, face_missing=0.05,
         unannotated=0.05, names=None):
    """(prediction set, truth) for `track`: noisy per-frame outputs of a slowly changing truth."""
    track = track.upper()
    edition = edition or {"MTL": 7, "LSD": 4}.get(track, 8)
    cols = protocol.rules(track, edition).names
    per_video, truth = {}, {}
    for i, n in enumerate(lengths(rng, n_videos, mean_len)):
        vid = (names or "v{:03d}").format(i)
        frames = np.arange(1, n + 1)
        parts_out, parts_lab = [], []
        if track in ("VA", "MTL"):
            va = slow(rng, n, 2, 40) * 0.8
            parts_out.append(va + rng.normal(scale=0.35 * noise, size=va.shape))
            lab = va.copy()
            lab[rng.random(n) < unannotated] = -5
            parts_lab.append(lab)
        if track in ("EXPR", "MTL", "CE", "LSD"):
            c = len(protocol.EXPR_CLASSES_8) if track == "MTL" else len(cols)
            y = segments(rng, n, 60, c)
            logits = 2.0 * np.eye(c)[y] + rng.normal(scale=1.6 * noise, size=(n, c))
            parts_out.append(softmax(logits))
            lab = y.astype(np.float64)[:, None]
            lab[rng.random(n) < unannotated] = -1
            parts_lab.append(lab)
        if track in ("AU", "MTL"):
            a = len(protocol.AUS_12) if track == "MTL" else len(cols)
            rate = np.linspace(0.08, 0.5, a)
            y = np.stack([segments(rng, n, 40, 2, [1 - r, r]) for r in rate], axis=1)
            bias = np.linspace(-1.2, 0.8, a)         # some AUs under-, some over-confident
            z = 2.5 * (y - 0.5) + bias + rng.normal(scale=1.5 * noise, size=(n, a))
            parts_out.append(1 / (1 + np.exp(-z)))
            lab = y.astype(np.float64)
            lab[rng.random(n) < unannotated] = -1
            parts_lab.append(lab)
        out = np.concatenate(parts_out, axis=1)
        imputed = rng.random(n) < face_missing
        out[imputed] = np.nan
        per_video[vid] = (frames, out, imputed)
        truth[vid] = (frames, np.concatenate(parts_lab, axis=1))
    ps = PredictionSet.from_videos(track, edition, per_video, cols, {"split": "val"})
    return ps, ValTruth(track, truth)
