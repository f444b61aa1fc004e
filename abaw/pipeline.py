"""The whole path for one track, from one recipe: what `abaw run` and `make track=X submit` do.

    index -> features (skipped when cached) -> train (k folds if the recipe says so; each fold
          predicts its validation videos) -> predict test -> tune post-processing on val
          -> ensemble the folds -> write -> validate -> zip

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
from abaw.core.decisions import Decision
from abaw.core.track import Track
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


def fold_predictions(track: Track, run_dir: Path, split: str, index, stores):
    """One prediction set for `split`: the run's, or the folds' combined (val: each video from
    the fold that held it out, so tuning never sees a model trained on it; test: fold mean).
    The validation sets are the ones training wrote (`predictions/val.npz` of the run or of
    each fold), and the videos a fold held out are those its `run.json` lists."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.post.ensemble import fold_average
    from abaw.train.predict import fold_dirs, predict_run

    if split != "val":
        sets = predict_run(track, run_dir, split, index, stores, quiet=True)
        return fold_average(sets) if isinstance(sets, list) else sets
    folds = fold_dirs(run_dir) if not (run_dir / "run.json").is_file() else []
    sets = [_val_set(track, d, index, stores) for d in folds or [run_dir]]
    if not folds:
        return sets[0]
    per_video = {}
    for fold, ps in zip(folds, sets, strict=True):
        held = json.loads((fold / "run.json").read_text())["val_ids"]
        for v in set(held) & set(ps.videos):
            per_video[v] = ps.video(v)
    missing = [v for v in sets[0].videos if v not in per_video]
    if missing:
        raise AbawError(f"{run_dir}: validation video {missing[0]} was held out by no fold")
    first = sets[0]
    return PredictionSet.from_videos(first.track, first.edition,
                                     {v: per_video[v] for v in sorted(per_video)}, first.columns,
                                     {**first.provenance, "folds": len(sets), "val": "out-of-fold"})


def _val_set(track: Track, run_dir: Path, index, stores):
    """The validation set training wrote into `run_dir` (predicted now if it is not there)."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.train.predict import predict_run

    path = run_dir / "predictions" / "val.npz"
    if path.is_file():
        return PredictionSet.load(path)
    return predict_run(track, run_dir, "val", index, stores, quiet=True)


def constant_baseline(ps, truth) -> float:
    """The best score of a constant prediction on `truth`: VA 0, each single class, all AUs on."""
    from abaw.post.tune import evaluate

    lay = ps.layout
    out = np.zeros_like(ps.outputs)
    classes, aus = lay.block("classes"), lay.block("binary")
    if aus is not None:
        out[:, aus.columns] = 1.0
    plain = ps.replace(outputs=out, decision=Decision())
    if classes is None:
        return evaluate(plain, truth).value
    best = -np.inf
    for k in range(classes.size):
        o = out.copy()
        o[:, classes.columns.start + k] = 1.0
        best = max(best, evaluate(plain.replace(outputs=o), truth).value)
    return float(best)


def run_track(track: Track, root, *, edition: int | None = None, recipe=None, overrides=(),
              template=None, test_list=None, work="runs", out="submissions", until="submit",
              quiet: bool = False) -> Outcome:
    """Run the whole path for `track` on the dataset at `root`; returns the scores and the zip."""
    from abaw.data import load_index
    from abaw.formats.package import submit
    from abaw.post.tune import ValTruth, evaluate, tune
    from abaw.recipe import load_recipe
    from abaw.train.trainer import train
    from tracks import get_track, recipe_path

    t0 = time.perf_counter()
    if until not in STEPS:
        raise AbawError(f"--until: found {until!r}, expected one of {', '.join(STEPS)}")
    recipe_file = Path(recipe) if recipe and Path(recipe).is_file() else recipe_path(
        track, recipe or "default")
    if recipe_file is None:
        raise AbawError(f"--recipe: found {recipe!r}, expected a TOML file or a recipe name in "
                        f"tracks/{track.key}/recipes/")
    cfg = load_recipe(recipe_file, overrides, track=track.name)
    index = load_index(root, edition)
    ed = track.edition_for(index.edition)
    work = Path(work)
    # a new folder per run: earlier runs stay as they were (`--last` reads the newest)
    run_dir = work / track.key / f"{recipe_file.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    outcome = Outcome(track.name, ed, str(run_dir))
    say(quiet, f"[{track.name}] edition {ed}, recipe {recipe_file}, data {index.root}")
    if until == "index":
        return outcome

    # the track the model learns: this one, or the one a derived track is computed from
    derived = bool(cfg.pipeline.derive_from)
    if derived and track.derive is None:
        raise AbawError(f"{recipe_file}: field pipeline.derive_from: found "
                        f"{cfg.pipeline.derive_from!r}, expected \"\" ({track.name} derives from "
                        "no other track)")
    source = get_track(cfg.pipeline.derive_from) if derived else track
    tables = [source.index_name] + ([track.index_name] if derived else [])
    stores = ensure_features(index, cfg, work, tables, quiet)
    if until == "features":
        return outcome

    train(source, dataclasses.replace(cfg.training(), track=source.name), index, stores, run_dir,
          quiet=quiet)
    if until == "train":
        return outcome

    val = fold_predictions(source, run_dir, "val", index, stores)
    truth = ValTruth.from_index(index, source.index_name, "val")
    params = tune(val, truth, kinds=tuple(cfg.post.kinds), windows=tuple(cfg.post.windows),
                  impute=cfg.post.impute, thresholds=cfg.post.thresholds, bias=cfg.post.bias)
    params.save(run_dir / "post.json")
    if not derived:
        outcome.val_raw = evaluate(val, truth, Decision()).value
        outcome.val_post = params.scores["tuned"]     # = evaluate(params.apply(val), truth)
        outcome.baseline = constant_baseline(val, truth)
        test = params.apply(fold_predictions(track, run_dir, "test", index, stores))
    else:
        test = derived_test(track, source, params, run_dir, index, stores, ed, outcome)
    say(quiet, f"[{track.name}] {outcome.scored_on} score {fmt(outcome.val_raw)} -> "
               f"{fmt(outcome.val_post)} after post-processing (constant baseline "
               f"{fmt(outcome.baseline)})")
    sub = submit(test, out, template=template, test_list=test_list, root=index, edition=ed)
    outcome.zip_path = str(sub.zip_path)
    outcome.seconds = time.perf_counter() - t0
    outcome.save()
    say(quiet, f"[{track.name}] validated submission: {sub.zip_path}")
    return outcome


def derived_test(track: Track, source: Track, params, run_dir, index, stores, edition, outcome):
    """CE from a basic-expression model: its probabilities over the CE videos, smoothed as tuned
    on the EXPR validation set, mapped to compounds. Scored only where a hidden truth exists."""
    from abaw.post.params import PostParams

    over = dataclasses.replace(source, index_track=track.index_name)   # the model, CE's videos
    basic = fold_predictions(over, run_dir, "test", index, stores)
    smooth_only = PostParams(params.track, params.edition, params.impute, params.ignore_imputed,
                             params.smooth)
    raw = track.derive(basic, edition)
    post = track.derive(smooth_only.apply(basic), edition)
    hidden = hidden_truth(index, track.name)
    if hidden is not None:
        from abaw.post.tune import evaluate

        outcome.scored_on = "test (hidden truth)"
        outcome.val_raw = evaluate(raw, hidden, Decision()).value
        outcome.val_post = evaluate(post, hidden, Decision()).value
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


def last_outcome(track: Track, work="runs") -> Outcome:
    """The summary of the most recent complete run of `track` under `work`."""
    found = sorted((Path(work) / track.key).glob("*/summary.json"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise AbawError(f"{Path(work) / track.key}: found no finished run, expected one from "
                        f"`make track={track.key} submit`")
    return Outcome(**json.loads(found[-1].read_text()))
