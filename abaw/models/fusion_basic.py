"""The two simplest fusions: concatenation of the streams, and late fusion of per-stream outputs."""

from __future__ import annotations

import torch
from torch import nn

from abaw.models.base import present, zero_masked
from abaw.models.registry import create_model, register_fusion


@register_fusion("concat")
class ConcatFusion(nn.Module):
    """Early fusion: the streams side by side, projected to `out_dim` per frame."""

    def __init__(self, in_dims: list[int], out_dim: int, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(sum(in_dims)), nn.Linear(sum(in_dims), out_dim),
                                  nn.GELU(), nn.Dropout(dropout))

    def forward(self, xs, mask):
        return self.proj(torch.cat([zero_masked(x, mask) for x in xs], dim=-1))  # (B, T, out)


@register_fusion("late")
class LateFusion(nn.Module):
    """Late fusion: one head per stream predicts the outputs; a learned softmax weighting averages
    them, renormalised per frame over the streams that are present there.

    Its result is already the task output, so no head follows it (`emits_outputs`).
    """

    emits_outputs = True

    def __init__(self, in_dims: list[int], out_dim: int, branch: str = "mlp",
                 branch_options: dict | None = None, causal: bool = False):
        super().__init__()
        opts = dict(branch_options or {})
        if causal:
            opts["causal"] = True
        self.branches = nn.ModuleList(create_model(branch, in_dim=d, out_dim=out_dim, **opts)
                                      for d in in_dims)
        self.logits = nn.Parameter(torch.zeros(len(in_dims)))

    def forward(self, xs, mask):
        outs = torch.stack([b(x, mask) for b, x in zip(self.branches, xs, strict=True)], dim=2)  # (B,T,M,out)
        here = torch.stack([present(zero_masked(x, mask), mask) for x in xs], dim=2)  # (B,T,M)
        here = here | ~here.any(dim=2, keepdim=True)      # no stream present: plain weighting
        w = torch.softmax(self.logits.masked_fill(~here, float("-inf")), dim=2)    # (B, T, M)
        return (w.unsqueeze(-1) * outs).sum(dim=2)                                # (B, T, out)
