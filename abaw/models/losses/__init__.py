"""Losses: each takes flattened frames (pred (N, K), target (N, J), mask (N,) bool) and returns a
scalar reduced over the global batch (DDP-exact, see `reduce`). `Objective` sums named terms;
`weights` derives class and positive weights from the training labels."""

from abaw.models.losses.classification import (
    binary_cross_entropy,
    binary_focal,
    cross_entropy,
    focal,
    one_hot_squared_error,
    soft_cross_entropy,
)
from abaw.models.losses.contrastive import prompt_contrastive, prompt_grid, prompt_logits
from abaw.models.losses.distill import distill_binary, distill_classes, distill_values
from abaw.models.losses.objective import Objective, Term
from abaw.models.losses.regression import ccc, ccc_loss, mse
from abaw.models.losses.soft_labels import smooth_one_hot, va_grid_centers, va_grid_soft_labels
from abaw.models.losses.vnaw import VNAWLoss, naw_weights
from abaw.models.losses.weights import class_weights, pos_weights

__all__ = [
    "Objective", "Term", "VNAWLoss", "binary_cross_entropy", "binary_focal", "ccc", "ccc_loss", "class_weights",
    "cross_entropy",
    "distill_binary", "distill_classes", "distill_values", "focal", "mse", "naw_weights",
    "one_hot_squared_error", "pos_weights",
    "prompt_contrastive", "prompt_grid", "prompt_logits", "smooth_one_hot", "soft_cross_entropy",
    "va_grid_centers", "va_grid_soft_labels",
]
