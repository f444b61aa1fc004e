"""A run's prediction set of one split: the run's own, or its folds' combined."""

from __future__ import annotations

from pathlib import Path

from abaw.core.track import Track
from abaw.errors import AbawError


def fold_predictions(track: Track, run_dir: Path, split: str, index, stores):
    """One prediction set for `split`: the run's, or the folds' combined (val: each video from
    the fold that held it out, so tuning never sees a model trained on it; test: fold mean).
    The validation sets are the ones training wrote (`predictions/val.npz` of the run or of
    each fold), and the videos a fold held out are those its `run.json` lists."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.post.ensemble import fold_average
    from abaw.train.config import read_run_info
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
        held = read_run_info(fold)["val_ids"]
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
