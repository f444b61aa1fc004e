"""`run_track`: the steps of one run chained, from a recipe to a validated zip."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from abaw.atomic import new_folder, write_bytes
from abaw.core.decisions import Decision
from abaw.core.track import Track
from abaw.errors import AbawError
from abaw.pipeline.features import crop_sources, ensure_features
from abaw.pipeline.folds import fold_predictions, save_val
from abaw.pipeline.outcome import Outcome, say
from abaw.pipeline.scores import constant_baseline, hidden_truth, interval, validation_scores
from abaw.pipeline.stages import prepare as prepare_stages
from abaw.progress import Steps

STEPS = ("index", "features", "train", "submit")


def run_track(track: Track, root, *, edition: int | None = None, recipe=None, overrides=(),
              template=None, test_list=None, work="runs", out="submissions", until="submit",
              quiet: bool = False, crops=(), features=None) -> Outcome:
    """Run the whole path for `track` on the dataset at `root`; returns the scores and the zip.
    crops: crop sources outside the tree (default: the face step's under `work`, if made).
    `features`: feature store folders to train on instead of the recipe's extracted ones."""
    from abaw.data import load_index
    from abaw.formats.package import submit
    from abaw.pipeline.preflight import preflight
    from abaw.post.tune import ValTruth, tune
    from abaw.recipe import load_recipe
    from abaw.train.run_files import to_toml
    from abaw.train.trainer import train
    from tracks import get_track, recipe_path

    t0 = time.perf_counter()
    crops = crop_sources(root, crops, work)
    preflight(track, root, edition=edition, recipe=recipe, overrides=overrides, template=template,
              test_list=test_list, work=work, out=out, until=until,
              crops=crops, features=features)   # every problem, in seconds
    if until not in STEPS:
        raise AbawError(f"--until: found {until!r}, expected one of {', '.join(STEPS)}")
    recipe_file = Path(recipe) if recipe and Path(recipe).is_file() else recipe_path(
        track, recipe or "default")
    if recipe_file is None:
        raise AbawError(f"--recipe: found {recipe!r}, expected a TOML file or a recipe name in "
                        f"tracks/{track.key}/recipes/")
    cfg = load_recipe(recipe_file, overrides, track=track.name)
    index = load_index(root, edition, crops=crops)
    ed = track.edition_for(index.edition)
    work = Path(work)
    # a new folder per run: earlier runs stay as they were (`--last` reads the newest)
    run_dir = new_folder(work / track.key, f"{recipe_file.stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    outcome = Outcome(track.name, ed, str(run_dir))
    say(quiet, f"[{track.name}] edition {ed}, recipe {recipe_file}, data {index.root}"
        + "".join(f", crops {c}" for c in index.crop_sources))
    if until == "index":
        return outcome

    # the track the model learns: this one, or the one a derived track is computed from
    derived = bool(cfg.pipeline.derive_from)
    if derived and track.derive is None:
        raise AbawError(f"{recipe_file}: field pipeline.derive_from: found "
                        f"{cfg.pipeline.derive_from!r}, expected \"\" ({track.name} derives from "
                        "no other track)")
    source = get_track(cfg.pipeline.derive_from) if derived else track
    cfg = prepare_stages(cfg, source, index, work, quiet)   # what the recipe asks made first
    tables = [source.index_name] + ([track.index_name] if derived else [])
    stores = ensure_features(index, cfg, work, tables, quiet, given=features)
    if until == "features":
        return outcome

    trained = train(source, dataclasses.replace(cfg.training(), track=source.name), index,
                    stores, run_dir, quiet=quiet)
    if until == "train":
        return outcome

    # the post-processing options, beside the training config, for reports and evaluation
    write_bytes(run_dir / "recipe.toml", to_toml(cfg).encode())
    options = cfg.post.options()
    val = fold_predictions(source, run_dir, "val", index, stores)
    truth = ValTruth.from_index(index, source.index_name, "val")
    params = tune(val, truth, **options, progress=Steps(len(val.layout.groups),
                                                        f"[{track.name}] tuning", quiet))
    params.save(run_dir / "post.json")
    save_val(run_dir, val, params)
    if not derived:
        kfold = isinstance(trained, list)
        validation_scores(outcome, val, truth, params, options, run_dir, cfg.run.seed,
                          [r.best_score for r in trained] if kfold else None, quiet)
        outcome.baseline = constant_baseline(val, truth)
        test = params.apply(fold_predictions(track, run_dir, "test", index, stores))
        hidden = hidden_truth(index, track.name)
        if hidden is not None:
            outcome.hidden_test, outcome.intervals["test"] = interval(test, hidden,
                                                                      cfg.run.seed)
    else:
        test = derived_test(track, source, params, run_dir, index, stores, ed, outcome,
                            cfg.run.seed)
    # the manifest records the scores under the names printed here
    test = test.replace(scores={name: value for name, value, _, _ in outcome.figures()
                                if value is not None})
    say(quiet, f"[{track.name}] scored; writing and validating the submission")
    sub = submit(test, out, template=template, test_list=test_list, root=index, edition=ed)
    outcome.zip_path = str(sub.zip_path)
    outcome.seconds = time.perf_counter() - t0
    outcome.save()
    return outcome


def derived_test(track: Track, source: Track, params, run_dir, index, stores, edition, outcome,
                 seed: int):
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
        outcome.scored_on = "test (hidden truth)"
        outcome.val_raw, outcome.intervals["raw"] = interval(raw, hidden, seed, Decision())
        outcome.val_post, outcome.intervals["post"] = interval(post, hidden, seed)
        outcome.hidden_test, outcome.intervals["test"] = outcome.val_post, outcome.intervals["post"]
        outcome.baseline = constant_baseline(raw, hidden)
    return post
