"""Feature stores for the synthetic twin, without rendering a single image.

    write_twin_features(root, dim, out=None, noise=1.0) -> Path

A twin tree (`abaw data synth`) knows the clean state behind every frame it annotates: the
expression and its intensity, the 15 facial units and valence/arousal (`abaw.data.synth.labels`).
This writes, for every Aff-Wild2 id of the tree (VA, EXPR, AU), one row per frame that the index
lists for it:

    x_t = s_t @ W + o_person + noise * e_t         (dim,), stored float16

with s_t = [intensity * one-hot(expression) (8), units (15), valence, arousal] (25 values), W a
fixed random projection (25, dim) of the seed, o_person a per-person offset (appearance: who is in
the picture moves every feature) and e_t white noise. Frames without a face (the twin's no-face
stretches, and rows past the decoded video) are zeros with present=False, as extraction leaves
frames without a crop. So training, prediction, tuning and writing run on inputs of Aff-Wild2's
size and shape (`--size full`: ~2.8M frames) in minutes instead of the hours rendering and
encoding would take, and a head learns the twin's labels from them (they carry the labels' latent
state, not the labels: annotation lag, drift, flips and sentinels stay between the two).

The store is an ordinary `FeatureStore`: `meta.json` with the identity keys (backbone
"twin-signal", the twin's edition, size and seed as its revision, the noise as its
preprocessing, dim), per id its rows record (frames, present, and the fingerprint of those rows
as extraction records it) and its `.npy` written last. Ids already written from the same rows
are skipped, so an interrupted run resumes. Default place: `<root>/.features/twin-<dim>` (a dot
folder: no loader of the tree enters it); `abaw run --features STORE` trains on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.features.store import FeatureStore

BACKBONE = "twin-signal"
STREAM = 100          # random streams of the features: [seed, STREAM, ...], apart from the twin's
STATE_DIM = 8 + 15 + 2
TRACKS = ("VA", "EXPR", "AU")


def default_store(root, dim: int) -> Path:
    return Path(root) / ".features" / f"twin-{int(dim)}"


def twin_info(root) -> dict:
    """The edition, size and seed a twin tree was written with (its `.truth/info.json`)."""
    from abaw.data.synth.plan import TRUTH

    path = Path(root) / TRUTH / "info.json"
    if not path.is_file():
        raise AbawError(f"{path}: found no such file, expected a tree written by "
                        "`abaw data synth` (twin features need the twin's hidden state)")
    return json.loads(path.read_text())


def store_meta(info: dict, dim: int, noise: float) -> dict:
    return {"backbone": BACKBONE, "kind": "visual", "source": "abaw.data.synth",
            "revision": f"ed{info['edition']}-{info['size']}-seed{info['seed']}", "layer": "",
            "pooling": "", "preprocessing": f"latent projection, noise sd {float(noise):g}",
            "dim": int(dim), "weights": None, "precision": "fp32",
            "code_version": code_version()}


def latent_state(lat, frames: np.ndarray) -> np.ndarray:
    """(N, 25) float32 state of 1-based `frames` (clipped to the annotated length)."""
    k = np.clip(np.asarray(frames, np.int64) - 1, 0, len(lat.expr) - 1)
    onehot = np.zeros((len(k), 8), np.float32)
    onehot[np.arange(len(k)), lat.expr[k]] = lat.envelope[k]
    return np.concatenate([onehot, lat.units[k], lat.va[k]], axis=1).astype(np.float32)


def write_twin_features(root, dim: int, out=None, noise: float = 1.0, progress: bool = False,
                        ) -> Path:
    """Write (or finish) the twin-signal store of the tree at `root`; returns its folder."""
    from abaw.data import load_index
    from abaw.data.synth.people import PersonState
    from abaw.data.synth.plan import make_plan
    from abaw.features.extract import Job, input_fingerprint

    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise AbawError(f"--features: found {dim!r}, expected a positive feature width")
    if not np.isfinite(noise) or noise < 0:
        raise AbawError(f"noise: found {noise!r}, expected a non-negative number")
    info = twin_info(root)
    index = load_index(root, info["edition"])
    plan = make_plan(info["edition"], info["size"], info["seed"])
    persons = {p.id: p for p in plan.persons}
    rows: dict[str, list] = {}
    for track in TRACKS:
        for id, seq in index.sequences.get(track, {}).items():
            if id in persons:
                rows.setdefault(id, []).append(seq.frames)
    store = FeatureStore.create(out if out is not None else default_store(root, dim),
                                store_meta(info, dim, noise))
    # the projection depends on the seed and the width only: every person, every split shares it
    proj = np.random.default_rng([info["seed"], STREAM, int(dim)]).normal(
        size=(STATE_DIM, dim)).astype(np.float32)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(rows), desc=f"twin features d={dim}", unit="id")
    try:
        for id in sorted(rows):
            frames = np.unique(np.concatenate(rows[id]))
            state = PersonState(persons[id], info["seed"])
            face = state.face
            present = np.zeros(len(frames), bool)
            inside = frames <= len(face)
            present[inside] = face[frames[inside] - 1]
            inputs = input_fingerprint(Job(id, frames, present), index.root)
            if not store.current(id, inputs):
                rng = np.random.default_rng([info["seed"], STREAM, persons[id].index])
                x = rng.standard_normal((len(frames), dim), dtype=np.float32)   # (N, D)
                x *= np.float32(noise)
                x += rng.normal(0.0, 0.5, dim).astype(np.float32)              # the person
                x += latent_state(state.latent, frames) @ proj
                x[~present] = 0.0
                store.write(id, frames, x, present, inputs)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return store.path
