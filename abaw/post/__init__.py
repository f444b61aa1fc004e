"""Post-processing of prediction sets: imputation, smoothing, tuning on validation, ensembling.
Every operation takes a PredictionSet and returns a new one; decisions (clip, argmax, thresholds)
are taken by `abaw.core.decisions`.

- `impute`: fill frames without an output (nearest / linear / ffill), flagged `imputed`.
- `smooth`: moving mean, Gaussian, median, Hamming along time per video, edges renormalised,
  imputed frames optionally left out of every window.
- `tune`: smoothing per output group, AU thresholds and class bias chosen on validation;
  `params.PostParams` saves them as JSON and applies them unchanged to test sets.
- `ensemble`: (weighted) means, majority vote, fold averaging of matching prediction sets.
- `compiled` / `parallel`: the per-row loops that NumPy cannot vectorise (median, weighted
  windows, the AU histogram of a sweep), compiled with numba, run a column per thread.
"""
