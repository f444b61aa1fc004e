"""Weights the losses take from the training labels: class weights for the class losses, positive
weights for BCE (most AUs are active in a small share of frames)."""

from __future__ import annotations

import numpy as np
import torch


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> torch.Tensor | None:
    """inverse: N / (C * n_c) (a class never seen counts as 1 frame); sqrt: its square root."""
    if mode == "none":
        return None
    counts = np.bincount(y.astype(np.int64), minlength=n_classes)[:n_classes].clip(min=1)
    w = counts.sum() / (n_classes * counts)
    return torch.tensor(np.sqrt(w) if mode == "sqrt" else w, dtype=torch.float32)


def pos_weights(y: np.ndarray) -> torch.Tensor:
    """Per column: negatives / positives, clipped to [1/100, 100] (BCE `pos_weight`)."""
    pos = (y == 1).sum(0)
    neg = (y == 0).sum(0)
    return torch.tensor(np.clip(neg / np.maximum(pos, 1), 0.01, 100.0), dtype=torch.float32)
