"""Batch reductions that give the same loss and gradients on 1 process or N DDP processes.

Every loss reduces through `global_sum`: on several processes it is a differentiable all-reduce
(`_AllReduceSum`), so each rank computes the loss of the *global*
batch. Its backward all-reduces the gradient too, which gives every rank world/N times its local
gradient; DDP's average over ranks then yields exactly the single-process gradient. This also
makes pooled statistics (CCC) exact across ranks. Denominators are clamped to >= 1 frame, so an
empty batch gives 0, never NaN (which would poison the gradient through `torch.where`).
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _AllReduceSum(torch.autograd.Function):
    """all_reduce(SUM) whose backward all-reduces the incoming gradient (each rank's output
    depends on every rank's input)."""

    @staticmethod
    def forward(ctx, t):
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def global_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over all ranks, differentiable; identity on one process."""
    return t if world_size() == 1 else _AllReduceSum.apply(t)


def global_count(mask: torch.Tensor) -> torch.Tensor:
    """Number of True entries over all ranks (float, no gradient)."""
    n = mask.sum().float()
    if world_size() > 1:
        n = n.clone()
        dist.all_reduce(n)
    return n


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` (N,) over the frames where `mask` (N,) is True, over all ranks."""
    total = global_sum(torch.where(mask, values, torch.zeros_like(values)).sum())
    return total / global_count(mask).clamp_min(1.0)


def weighted_mean(values: torch.Tensor, weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum(w * v) / sum(w) over masked frames, over all ranks (weights carry no gradient)."""
    w = torch.where(mask, weights.detach(), torch.zeros_like(weights))
    total = global_sum((torch.where(mask, values, torch.zeros_like(values)) * w).sum())
    denom = w.sum()
    if world_size() > 1:
        denom = denom.clone()
        dist.all_reduce(denom)
    return total / denom.clamp_min(1e-12)
