"""The whole path for one track, from one recipe: what `abaw run` and `make track=X submit` do.

    index -> features (skipped when cached) -> train (k folds if the recipe says so)
          -> predict val and test -> tune post-processing on val -> ensemble the folds
          -> write -> validate -> zip

Every step is a library call of its own module; this file only chains them and keeps the
artifacts where the next run finds them:
    <work>/features/<dataset>/<backbone>/     feature stores (reused across runs and tracks)
    <work>/models/<dataset>/<backbone>/       encoders abaw trains itself (`weights = "pretrain"`)
    <work>/<track>/<recipe>-<time>/           the run: checkpoints, predictions, post.json,
                                              summary.json (what `--last` prints)
    <out>/<track>_ed<N>.zip (+ manifest)      the validated submission
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abaw.atomic import write_bytes
from abaw.errors import AbawError

STEPS = ("index", "features", "train", "submit")


@dataclass
class Outcome:
    track: str
    edition: int
    run_dir: str
    val_raw: float | None = None        # official validation score as predicted
    val_post: float | None = None       # after the post-processing tuned on validation
    baseline: float | None = None       # best constant prediction on validation
    scored_on: str = "val"              # "val", or "test (hidden truth)" for CE on the twin
    zip_path: str | None = None
    seconds: float = 0.0

    def save(self) -> Path:
        # written last and atomically: its presence marks a finished run (`last_outcome`)
        return write_bytes(Path(self.run_dir) / "summary.json",
                           (json.dumps(dataclasses.asdict(self), indent=2) + "\n").encode())


def dataset_key(root) -> str:
    """A folder name for one dataset root: its name plus a hash of its absolute path."""
    root = Path(root).resolve()
    return f"{root.name}-{hashlib.sha1(str(root).encode()).hexdigest()[:8]}"


def say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def ensure_features(index, cfg, work: Path, tracks, quiet: bool) -> list:
    """One feature store per recipe backbone, extracted where not cached (resumes per id)."""
    from abaw.features.extract import extract, resolve_device
    from abaw.features.registry import create_backbone
    from abaw.features.store import FeatureStore

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
        tags = [cfg.features.layers.get(name), cfg.features.pooling.get(name),
                cfg.features.weights.get(name) if cfg.features.weights.get(name) in (
                    "random", "pretrain") else None]
        out = work / "features" / key / "-".join([name] + [str(t) for t in tags if t])
        summary = extract(index, backbone, out, tracks=tracks, batch_size=cfg.features.batch_size,
                          workers=cfg.features.workers, quiet=quiet)
        say(quiet, f"features {name}: {summary['written']} sequences extracted, "
                   f"{summary['done_before']} cached ({out})")
        stores.append(FeatureStore(out))
    return stores


def ensure_pretrained(index, name: str, folder: Path, cfg, quiet: bool) -> Path:
    """The face encoder abaw trains on this dataset's training crops (once; then reused)."""
    from abaw.features.pretrain import pretrain

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


def fold_predictions(run_dir: Path, split: str, index, stores, cfg, on=None):
    """One prediction set for `split`: the run's, or the folds' combined (val: each video from
    the fold that held it out, so tuning never sees a model trained on it; test: fold mean)."""
    from abaw.post.ensemble import fold_average
    from abaw.train.inputs import split_ids
    from abaw.train.predict import predict_run
    from tracks import get_track

    sets = predict_run(run_dir, split, index, stores, quiet=True, on=on)
    if not isinstance(sets, list):
        return sets
    if split != "val":
        return fold_average(sets)
    track = get_track(cfg.track)
    per_video = {}
    for fold, ps in enumerate(sets):
        _, held = split_ids(index, track, cfg.run.folds, fold, cfg.run.seed)
        for v in set(held) & set(ps.videos):
            per_video[v] = ps.video(v)
    missing = [v for v in sets[0].videos if v not in per_video]
    if missing:
        raise AbawError(f"{run_dir}: validation video {missing[0]} was held out by no fold")
    from abaw.formats.prediction_set import PredictionSet

    first = sets[0]
    return PredictionSet.from_videos(first.track, first.edition,
                                     {v: per_video[v] for v in sorted(per_video)}, first.columns,
                                     {**first.provenance, "folds": len(sets), "val": "out-of-fold"})


def constant_baseline(ps, truth) -> float:
    """The best score of a constant prediction on `truth`: VA 0, each single class, all AUs on."""
    from abaw.post import decode as dec
    from abaw.post.tune import evaluate

    groups = dec.groups(ps.track, len(ps.columns))
    out = np.zeros_like(ps.outputs)
    classes = [s for g, s in groups.items() if dec.group_kind(g, ps.track) == "single_label"]
    for g, s in groups.items():
        if dec.group_kind(g, ps.track) == "multi_label":
            out[:, s] = 1.0
    plain = ps.replace(outputs=out, post=None, au_thresholds=None)
    if not classes:
        return evaluate(plain, truth, decision={}).value
    best = -np.inf
    for k in range(classes[0].stop - classes[0].start):
        o = out.copy()
        o[:, classes[0].start + k] = 1.0
        best = max(best, evaluate(plain.replace(outputs=o), truth, decision={}).value)
    return float(best)


def run_track(track: str, root, *, edition: int | None = None, recipe=None, overrides=(),
              template=None, test_list=None, work="runs", out="submissions", until="submit",
              quiet: bool = False) -> Outcome:
    """Run the whole path for `track` on the dataset at `root`; returns the scores and the zip."""
    from abaw.data import load_index
    from abaw.formats.package import submit
    from abaw.post.tune import ValTruth, evaluate, tune
    from abaw.train.config import load_config
    from abaw.train.trainer import train
    from tracks import get_track, recipe_path

    t0 = time.perf_counter()
    if until not in STEPS:
        raise AbawError(f"--until: found {until!r}, expected one of {', '.join(STEPS)}")
    name = track.lower()
    recipe_file = Path(recipe) if recipe and Path(recipe).is_file() else recipe_path(
        name, recipe or "default")
    if recipe_file is None:
        raise AbawError(f"--recipe: found {recipe!r}, expected a TOML file or a recipe name in "
                        f"tracks/{name}/recipes/")
    cfg = load_config(recipe_file, overrides, track=track)
    index = load_index(root, edition)
    spec = get_track(cfg.track)
    ed = spec.edition_for(index.edition)
    work = Path(work)
    # a new folder per run: earlier runs stay as they were (`--last` reads the newest)
    run_dir = work / name / f"{recipe_file.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    outcome = Outcome(cfg.track, ed, str(run_dir))
    say(quiet, f"[{cfg.track}] edition {ed}, recipe {recipe_file}, data {index.root}")
    if until == "index":
        return outcome

    source = cfg.pipeline.derive_from or cfg.track       # the track the model learns
    model_cfg = dataclasses.replace(cfg, track=source) if source != cfg.track else cfg
    source_spec = get_track(source)
    tables = [source_spec.index_name] + ([spec.index_name] if source != cfg.track else [])
    stores = ensure_features(index, cfg, work, tables, quiet)
    if until == "features":
        return outcome

    train(model_cfg, index, stores, run_dir, quiet=quiet)
    if until == "train":
        return outcome

    val = fold_predictions(run_dir, "val", index, stores, model_cfg)
    truth = ValTruth.from_index(index, source_spec.index_name, "val")
    params = tune(val, truth, kinds=tuple(cfg.post.kinds), windows=tuple(cfg.post.windows),
                  impute=cfg.post.impute, thresholds=cfg.post.thresholds, bias=cfg.post.bias)
    params.save(run_dir / "post.json")
    if source == cfg.track:
        outcome.val_raw = evaluate(val, truth, decision={}).value
        outcome.val_post = params.scores["tuned"]     # = evaluate(params.apply(val), truth)
        outcome.baseline = constant_baseline(val, truth)
        test = params.apply(fold_predictions(run_dir, "test", index, stores, model_cfg))
    else:
        test = derived_test(cfg, model_cfg, params, run_dir, index, stores, ed, outcome)
    say(quiet, f"[{cfg.track}] {outcome.scored_on} score {fmt(outcome.val_raw)} -> "
               f"{fmt(outcome.val_post)} after post-processing (constant baseline "
               f"{fmt(outcome.baseline)})")
    sub = submit(test, out, template=template, test_list=test_list, root=index, edition=ed)
    outcome.zip_path = str(sub.zip_path)
    outcome.seconds = time.perf_counter() - t0
    outcome.save()
    say(quiet, f"[{cfg.track}] validated submission: {sub.zip_path}")
    return outcome


def derived_test(cfg, model_cfg, params, run_dir, index, stores, edition, outcome):
    """CE from a basic-expression model: its probabilities over the CE videos, smoothed as tuned
    on the EXPR validation set, mapped to compounds. Scored only where a hidden truth exists."""
    import importlib

    from abaw.post.params import PostParams

    derive = importlib.import_module(f"tracks.{cfg.track.lower()}.compound").derive
    expr = fold_predictions(run_dir, "test", index, stores, model_cfg, on=cfg.track)
    smooth_only = PostParams(params.track, params.edition, params.impute, params.ignore_imputed,
                             params.smooth)
    raw = derive(expr, edition)
    post = derive(smooth_only.apply(expr), edition)
    hidden = hidden_truth(index, cfg.track)
    if hidden is not None:
        from abaw.post.tune import evaluate

        outcome.scored_on = "test (hidden truth)"
        outcome.val_raw = evaluate(raw, hidden, decision={}).value
        outcome.val_post = evaluate(post, hidden, decision={}).value
        outcome.baseline = constant_baseline(raw, hidden)
    return post


def hidden_truth(index, track: str):
    """The synthetic twin's hidden test labels as a ValTruth, or None on real data."""
    from abaw.data.synth import TRUTH, read_truth
    from abaw.post.tune import ValTruth

    if not (Path(index.root) / TRUTH / track).exists():
        return None
    labels = read_truth(index.root, track)
    per_video = {}
    for vid in index.ids(track, "test"):
        if vid in labels:
            y = np.asarray(labels[vid], np.float32).reshape(len(labels[vid]), -1)
            per_video[vid] = (index.sequence(track, vid).frames[: len(y)], y)
    return ValTruth(track, per_video) if per_video else None


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def last_outcome(track: str, work="runs") -> Outcome:
    """The summary of the most recent complete run of `track` under `work`."""
    found = sorted((Path(work) / track.lower()).glob("*/summary.json"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise AbawError(f"{Path(work) / track.lower()}: found no finished run, expected one from "
                        f"`make track={track.lower()} submit`")
    return Outcome(**json.loads(found[-1].read_text()))
