"""Regression losses on flattened frames: pred (N, K), target (N, K), mask (N,) bool."""

from __future__ import annotations

import torch

from abaw.models.losses.reduce import global_count, global_sum, masked_mean


def ccc(pred, target, mask) -> torch.Tensor:
    """(K,) concordance correlation per column over the masked frames of the (global) batch,
    population moments, the same formula as `abaw.metrics.ccc` - differentiable, no `.item()`."""
    m = mask.unsqueeze(-1).to(pred.dtype)                                       # (N, 1)
    n = global_count(mask).clamp_min(1.0)
    mx = global_sum((pred * m).sum(0)) / n                                      # (K,)
    my = global_sum((target * m).sum(0)) / n
    dx, dy = (pred - mx) * m, (target - my) * m
    vx = global_sum((dx * dx).sum(0)) / n
    vy = global_sum((dy * dy).sum(0)) / n
    cov = global_sum((dx * dy).sum(0)) / n
    return 2 * cov / (vx + vy + (mx - my) ** 2 + 1e-8)


def ccc_loss(pred, target, mask) -> torch.Tensor:
    """mean over columns of 1 - CCC (0 when perfect, 1 for an uninformative constant)."""
    return (1 - ccc(pred, torch.where(mask.unsqueeze(-1), target, torch.zeros_like(target)),
                    mask)).mean()


def mse(pred, target, mask) -> torch.Tensor:
    return masked_mean(((pred - target) ** 2).mean(-1), mask)
