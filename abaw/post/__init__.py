"""Post-processing of prediction sets: imputation, smoothing, decoding, tuning on validation,
ensembling. Every operation takes a PredictionSet and returns a new one.

- `impute`: fill frames without an output (nearest / linear / ffill), flagged `imputed`.
- `smooth`: moving mean, Gaussian, median, Hamming along time per video, edges renormalised,
  imputed frames optionally left out of every window.
- `decode`: raw outputs -> VA values, class indices, 0/1 AUs (the metric's and writers' input).
- `tune`: smoothing per output group, AU thresholds and class bias chosen on validation;
  `params.PostParams` saves them as JSON and applies them unchanged to test sets.
- `ensemble`: (weighted) means, majority vote, fold averaging of matching prediction sets.
- `compiled` / `parallel`: the per-row loops that NumPy cannot vectorise (median, weighted
  windows, the AU histogram of a sweep), compiled with numba, run a column per thread.
"""
