"""The whole path for one track, from one recipe: what `abaw run` and `make track=X submit` do.

    index -> features (skipped when cached) -> train (k folds if the recipe says so; each fold
          predicts its validation videos) -> predict test -> tune post-processing on val
          -> ensemble the folds -> write -> validate -> zip

Every step is a library call of its own module; this package chains them (`run`), finds or
makes the features (`features`), combines folds (`folds`), computes reference scores (`scores`)
and keeps the outcome (`outcome`), with the artifacts where the next run finds them:
    <work>/features/<dataset>/<backbone>/     feature stores (reused across runs and tracks)
    <work>/models/<dataset>/<backbone>/       encoders abaw trains itself (`weights = "pretrain"`)
    <work>/<track>/<recipe>-<time>/           the run: checkpoints, predictions, post.json,
                                              summary.json (what `--last` prints)
    <out>/<track>_ed<N>_<run>.zip (+ manifest) the validated submission
"""

from abaw.pipeline.features import dataset_key, ensure_features
from abaw.pipeline.folds import fold_predictions
from abaw.pipeline.outcome import Outcome, fmt, last_outcome
from abaw.pipeline.run import STEPS, run_track
from abaw.pipeline.scores import constant_baseline, hidden_truth

__all__ = ["STEPS", "Outcome", "constant_baseline", "dataset_key", "ensure_features", "fmt",
           "fold_predictions", "hidden_truth", "last_outcome", "run_track"]
