"""The feature stores a recipe needs, extracted where not cached, and the encoders abaw makes
itself (a seeded random initialisation, or one trained on the dataset's training crops).

A store is named by what its rows depend on: the backbone, its layer, pooling and weights. A seed
sweep (`--set run.seed=N`) reuses the store of a recipe with pretrained weights; `weights =
"random"` is a seeded initialisation written per seed, so each seed has its own store beside it.
`weights = "pretrain"`: the encoder is trained once per dataset (with the seed of the first run)
and reused, store included, by every seed: a sweep varies the head, not the encoder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from abaw.pipeline.outcome import say


def dataset_key(root) -> str:
    """A folder name for one dataset root: its name plus a hash of its absolute path."""
    root = Path(root).resolve()
    return f"{root.name}-{hashlib.sha1(str(root).encode()).hexdigest()[:8]}"


def faces_folder(root, work) -> Path:
    """Where `abaw faces extract ROOT` writes the crops of a dataset's raw videos by default, and
    where a run on that dataset looks for them."""
    return Path(work) / "faces" / dataset_key(root)


def crop_sources(root, crops=(), work=None) -> list[Path]:
    """The crop sources of a dataset: those given (`--crops`), else the face step's folder under
    the work folder once a video in it is done."""
    from abaw.data.cropsource import SUMMARY_SUFFIX

    if crops:
        return [Path(c) for c in crops]
    if work is None or not Path(root).is_dir():   # (no dataset: the index step says so)
        return []
    folder = faces_folder(root, work)
    if folder.is_dir() and any(folder.glob("*" + SUMMARY_SUFFIX)):
        return [folder]
    return []


def ensure_features(index, cfg, work: Path, tracks, quiet: bool, given=None) -> list:
    """One feature store per recipe backbone, extracted where not cached (resumes per id); or
    the stores `given` (folders, e.g. the twin's signal store), used as they are."""
    from abaw.features.extract import extract, resolve_device
    from abaw.features.registry import create_backbone
    from abaw.features.store import FeatureStore

    if given:
        return given_stores(index, given, tracks, quiet)
    key = dataset_key(index.root)
    stores = []
    for name in cfg.features.backbones:
        weights = cfg.features.weights.get(name)
        if weights == "pretrain":
            weights = ensure_pretrained(index, name, work / "models" / key / name, cfg, quiet)
        elif weights == "random":
            weights = ensure_random(name, work / "models" / f"{name}-random-seed{cfg.run.seed}",
                                    cfg.run.seed)
        backbone = create_backbone(name, weights=weights, layer=cfg.features.layers.get(name),
                                   pooling=cfg.features.pooling.get(name),
                                   device=str(resolve_device(cfg.run.device)))
        inputs = cfg.features.inputs.get(name)
        out = store_folder(cfg, name, work, key)
        summary = extract(index, backbone, out, tracks=tracks, batch_size=cfg.features.batch_size,
                          workers=cfg.features.workers, quiet=quiet, inputs=inputs)
        say(quiet, f"features {name}: {summary['written']} sequences extracted, "
                   f"{summary['done_before']} cached ({out})")
        if summary["without_input"]:
            say(quiet, f"features {name}: no text file in {Path(index.root) / str(inputs)} for "
                       f"{len(summary['without_input'])} of {summary['ids']} ids: their text "
                       "stream is absent")
        stores.append(FeatureStore(out))
    return stores


def given_stores(index, paths, tracks, quiet: bool) -> list:
    """Stores passed with `--features`: one identity among them, and features for every id the
    run reads (a store of another dataset misses them), checked before anything trains."""
    from abaw.errors import AbawError
    from abaw.features.store import require_same_identity
    from abaw.train.inputs import open_stores

    stores = open_stores(paths)
    require_same_identity(stores)
    for store in stores:
        for track in tracks:
            missing = [i for i in sorted(index.sequences.get(track, {})) if not store.has(i)]
            if missing:
                raise AbawError(f"{store.path}: found no features for {missing[0]} "
                                f"({len(missing)} {track} sequences without), expected every "
                                f"sequence of {index.root}")
    say(quiet, f"features: {', '.join(str(s.path) for s in stores)} (given, not extracted)")
    return stores


def store_folder(cfg, name: str, work, key: str) -> Path:
    """Where the features of backbone `name` of recipe `cfg` are kept for dataset `key`."""
    weights = cfg.features.weights.get(name)
    tags = [cfg.features.layers.get(name), cfg.features.pooling.get(name)]
    if weights in ("random", "pretrain"):
        tags.append(weights)
    elif weights:   # a folder or hub id of its own: other rows than the registry's weights
        folder = Path(weights).expanduser()
        named = str(folder.resolve()) if folder.is_dir() else str(weights)
        tags.append("w" + hashlib.sha1(named.encode()).hexdigest()[:8])
    if weights == "random":
        tags.append(f"seed{cfg.run.seed}")   # the weights are this seed's (ensure_random)
    inputs = cfg.features.inputs.get(name)
    if inputs:   # a text stream read from its own folder: other rows again
        tags.append("text-" + hashlib.sha1(str(inputs).encode()).hexdigest()[:8])
    return Path(work) / "features" / key / "-".join([name] + [str(t) for t in tags if t])


def ensure_pretrained(index, name: str, folder: Path, cfg, quiet: bool) -> Path:
    """The face encoder abaw trains on this dataset's training crops (once; then reused)."""
    from abaw.train.pretrain import pretrain

    if not (folder / "pretrain.json").is_file():
        say(quiet, f"training the {name} face encoder on the training crops of {index.root}")
        pretrain(index, folder, seed=cfg.run.seed, quiet=quiet)
    return folder


def ensure_random(name: str, folder: Path, seed: int) -> Path:
    """A seeded random initialisation of `name`'s real architecture (once; then reused)."""
    from abaw.features.tiny import write_random

    if not (folder / "config.json").is_file():
        write_random(name, folder, seed)
    return folder
