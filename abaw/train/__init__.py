"""The generic training engine: config, track spec, windows, trainer, predictor."""
