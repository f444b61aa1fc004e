"""What the trainer does per output block of a track's layout (`abaw.core.layout`):

    values   CCC / MSE loss      outputs as they are
    classes  cross-entropy       softmax probabilities
    binary   BCE                 sigmoid probabilities

The label masks come from each block's sentinels (through `abaw.metrics.valid_mask`); the
activation turns raw outputs into what a prediction set stores. The losses are in `objectives`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abaw import metrics
from abaw.core.layout import Layout


@dataclass
class LabelStats:
    """The training labels, for class weights and positive weights."""

    labels: np.ndarray          # (N, L) float32 with sentinels
    mask: np.ndarray            # (N, M) bool, one column per block


def label_mask(lay: Layout, labels: np.ndarray | None, n: int) -> np.ndarray:
    """(N, M) True where block m's ground truth is annotated (sentinels and NaN excluded);
    all False without labels (a test split)."""
    if labels is None:
        return np.zeros((n, len(lay.blocks)), bool)
    return metrics.label_mask(lay, labels)


def activate(lay: Layout, raw):
    """Raw outputs (..., K), a tensor -> values / probabilities, as a prediction set stores them."""
    import torch

    parts = []
    for b in lay.blocks:
        x = raw[..., b.columns]
        parts.append(torch.softmax(x, -1) if b.kind == "classes" else
                     torch.sigmoid(x) if b.kind == "binary" else x)
    return torch.cat(parts, dim=-1)
