"""A run folder as `abaw run` / `abaw train` write it, read for reports and evaluation.

    <run>/config.toml  run.json  log.json  post.json  summary.json  predictions/<split>.npz
    <run>/recipe.toml  (written by `abaw run`: the whole recipe, its post-processing options too)
    <run>/predictions/val.npz  val.post.npz  val.crossfit.npz   (written by `abaw run`: the
          validation set as predicted (k-fold: out-of-fold), post-processed as the submission
          is, and cross-fitted)
    <run>/fold<i>/...  (k-fold runs: one trained run per fold, each with run.json and log.json)

The submission's manifest sits beside its zip (`summary.json` names the zip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from abaw.artifacts import check_fields, read_json, read_toml
from abaw.errors import AbawError
from abaw.train.run_files import read_run_info


@dataclass
class FoldLog:
    """One trained model's history: per epoch its training terms and validation score."""

    name: str                   # "run" or "fold<i>"
    history: list               # log.json entries: {"epoch", "train": {term: value}, "val", ...}
    held_out: list = field(default_factory=list)    # the ids it was validated on

    @property
    def chosen(self) -> int | None:
        """The epoch kept (`best.safetensors`): the first with the highest validation score."""
        best, at = -math.inf, None
        for e in self.history:
            v = e.get("val")
            if v is not None and not math.isnan(v) and v > best:
                best, at = v, e["epoch"]
        return at

    @property
    def best(self) -> float | None:
        at = self.chosen
        return None if at is None else next(e["val"] for e in self.history if e["epoch"] == at)


@dataclass
class RunFolder:
    path: Path
    config: dict                # config.toml as a dict
    folds: list                 # [FoldLog]: one for a plain run, k for a k-fold run
    info: dict                  # run.json (the first fold's for a k-fold run)
    summary: dict | None = None
    manifest: dict | None = None

    @property
    def track(self) -> str:
        """The track the run's model predicts (CE runs: the expression model's EXPR)."""
        return str(self.config.get("track", self.info.get("track", ""))).upper()

    @property
    def kfold(self) -> bool:
        return len(self.folds) > 1

    def tune_options(self) -> dict:
        """The recipe's post-processing options, as `tune` and `crossfit` take them (from the
        recipe `abaw run` keeps beside the training config; earlier runs kept it in config.toml)."""
        recipe = self.path / "recipe.toml"
        post = (_toml(recipe) if recipe.is_file() else self.config).get("post", {})
        return {k: tuple(post[k]) if isinstance(post[k], list) else post[k]
                for k in POST_OPTIONS if k in post}

    @property
    def seed(self) -> int:
        """The run's seed (`run.seed` of its config)."""
        return int(self.config.get("run", {}).get("seed", 0))

    def saved(self, name: str):
        """A prediction set the run saved as `predictions/<name>.npz` (e.g. "val.post",
        "val.crossfit"), or None."""
        from abaw.core.prediction_set import PredictionSet

        p = self.path / "predictions" / f"{name}.npz"
        return PredictionSet.load(p) if p.is_file() else None

    def post(self):
        """The post-processing tuned on validation (post.json), or None."""
        from abaw.post.params import PostParams

        p = self.path / "post.json"
        return PostParams.load(p) if p.is_file() else None

    def predictions(self, split: str = "val"):
        """The run's raw predictions of `split`; a k-fold run's validation set out-of-fold, its
        other splits the folds' mean."""
        from abaw.core.prediction_set import PredictionSet

        own = self.path / "predictions" / f"{split}.npz"
        if own.is_file():
            return PredictionSet.load(own)
        if not self.kfold:
            raise AbawError(f"{own}: not found, expected the run's {split} predictions "
                            "(abaw predict)")
        sets = []
        for f in self.folds:
            p = self.path / f.name / "predictions" / f"{split}.npz"
            if not p.is_file():
                raise AbawError(f"{p}: not found, expected every fold's {split} predictions")
            sets.append(PredictionSet.load(p))
        if split == "val":
            from abaw.post.folds import out_of_fold

            return out_of_fold(sets, [f.held_out for f in self.folds],
                               [f.name for f in self.folds])
        from abaw.post.ensemble import fold_average

        return fold_average(sets)


def is_run(path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / "config.toml").is_file() and (
        (path / "run.json").is_file() or any(path.glob("fold*/run.json")))


def open_run(path) -> RunFolder:
    """Read a run folder (plain or k-fold); AbawError naming what is missing."""
    path = Path(path)
    if not is_run(path):
        raise AbawError(f"{path}: found no config.toml with run.json (or fold*/run.json), "
                        "expected a run folder written by `abaw run` or `abaw train`")
    config = _toml(path / "config.toml")
    fold_dirs = sorted((p for p in path.glob("fold*") if (p / "run.json").is_file()),
                       key=lambda p: int(p.name[4:]) if p.name[4:].isdigit() else 0)
    if (path / "run.json").is_file() or not fold_dirs:
        dirs = [(path, "run")]
    else:
        dirs = [(d, d.name) for d in fold_dirs]
    folds, infos = [], []
    for d, name in dirs:
        info = read_run_info(d)
        log = _log(d / "log.json") if (d / "log.json").is_file() else []
        folds.append(FoldLog(name, log, list(info.get("val_ids", []))))
        infos.append(info)
    summary = _json(path / "summary.json") if (path / "summary.json").is_file() else None
    manifest = None
    if summary and summary.get("zip_path") is not None:
        check_fields(summary, path / "summary.json", {"zip_path": str})
        z = Path(summary["zip_path"])
        m = z.with_name(z.name[: -len(z.suffix)] + ".manifest.json") if z.suffix else None
        if m is not None and m.is_file():
            manifest = _json(m)
    return RunFolder(path, config, folds, infos[0], summary, manifest)


def _json(path: Path):
    return read_json(path, "a JSON file written by abaw")


def _toml(path: Path) -> dict:
    config = read_toml(path, "the config.toml abaw wrote into the run folder")
    check_fields(config, path, {"track": str, "post": dict}, optional=("track", "post"))
    post = config.get("post", {})
    check_fields(post, f"{path}: post", POST_OPTIONS, optional=tuple(POST_OPTIONS))
    return config


# the recipe's post-processing options a report re-tunes with, and their types
POST_OPTIONS = {"kinds": (list, str), "windows": (list, int), "impute": str,
                "thresholds": bool, "bias": bool}


def _log(path: Path) -> list:
    """A training log: one object per epoch with its number, training terms and score."""
    log = read_json(path, "a training log.json written by `abaw train`", kind=list)
    for i, entry in enumerate(log):
        where = f"{path}: entry {i}"
        if not isinstance(entry, dict):
            raise AbawError(f"{where}: found {entry!r:.40}, expected an object per epoch")
        check_fields(entry, where, {"epoch": int, "train": dict})
        if entry.get("val") is not None and not isinstance(entry["val"], (int, float)):
            raise AbawError(f"{where}: field val: found {entry['val']!r:.40}, expected a number "
                            "or null")
        bad = [k for k, v in entry["train"].items()
               if not isinstance(v, (int, float)) or isinstance(v, bool)]
        if bad:
            raise AbawError(f"{where}: field train.{bad[0]}: found {entry['train'][bad[0]]!r:.40}, "
                            "expected a number")
    return log
