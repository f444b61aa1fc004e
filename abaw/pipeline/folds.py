"""A run's prediction set of one split (the run's own, or its folds' combined), and the
validation sets a run keeps beside its checkpoints."""

from __future__ import annotations

from pathlib import Path

from abaw.artifacts import check_fields, read_json
from abaw.core.track import Track


def fold_predictions(track: Track, run_dir: Path, split: str, index, stores):
    """One prediction set for `split`: the run's, or the folds' combined (val: each video from
    the fold that held it out, so tuning never sees a model trained on it; test: fold mean).
    The validation sets are the ones training wrote (`predictions/val.npz` of the run or of
    each fold), and the videos a fold held out are those its `run.json` lists."""
    from abaw.post.ensemble import fold_average
    from abaw.post.folds import out_of_fold
    from abaw.train.predict import fold_dirs, predict_run

    if split != "val":
        sets = predict_run(track, run_dir, split, index, stores, quiet=True)
        return fold_average(sets) if isinstance(sets, list) else sets
    folds = fold_dirs(run_dir) if not (run_dir / "run.json").is_file() else []
    if not folds:
        return _val_set(track, run_dir, index, stores)
    return out_of_fold([_val_set(track, d, index, stores) for d in folds],
                       [_held_out(d) for d in folds],
                       [d.name for d in folds])


def _held_out(fold: Path) -> list[str]:
    """The validation videos a fold held out, as its run.json lists them."""
    path = fold / "run.json"
    return check_fields(read_json(path, "a run.json written by `abaw train`"), path,
                        {"val_ids": (list, str)})["val_ids"]


def save_val(run_dir: Path, val, params) -> None:
    """Keep the run's validation set as predicted (`predictions/val.npz`; a k-fold run's
    out-of-fold set) and post-processed as the submission is (`val.post.npz`), for `abaw eval`,
    `abaw ensemble` and `abaw report`."""
    folder = Path(run_dir) / "predictions"
    if not (folder / "val.npz").is_file():
        val.save(folder / "val.npz")
    params.apply(val).save(folder / "val.post.npz")


def _val_set(track: Track, run_dir: Path, index, stores):
    """The validation set training wrote into `run_dir` (predicted now if it is not there)."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.train.predict import predict_run

    path = run_dir / "predictions" / "val.npz"
    if path.is_file():
        return PredictionSet.load(path)
    return predict_run(track, run_dir, "val", index, stores, quiet=True)
