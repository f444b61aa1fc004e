"""Per-frame MLP head: no temporal context (image-level tracks, or a baseline)."""

from __future__ import annotations

from torch import nn

from abaw.models.base import TemporalHead, zero_masked
from abaw.models.registry import register_head


@register_head("mlp")
class MLPHead(TemporalHead):
    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1, causal: bool = False):
        """`layers` linear layers in all, the output one included: 1 is a linear model of the
        (normalised) features, whose class scores add up where their evidence does."""
        super().__init__(in_dim, out_dim, hidden if layers > 1 else in_dim)
        blocks, d = [], in_dim
        for _ in range(layers - 1):
            blocks += [nn.Linear(d, hidden), nn.GELU(), nn.Dropout(dropout)]
            d = hidden
        self.net = nn.Sequential(nn.LayerNorm(in_dim), *(blocks or [nn.Dropout(dropout)]))

    def features(self, x, mask):
        return self.net(zero_masked(x, mask))          # (B, T, hidden); each frame on its own
