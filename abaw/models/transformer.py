"""Transformer encoder head with random frame masking (Min et al., ABAW 2024).

During training a fraction `mask_prob` of the real frames has its input replaced by a learned
[MASK] vector, so the encoder must infer those frames from their neighbours (a regulariser
against over-trusting single frames). `causal=True` lets frame t attend only to frames <= t.
"""

from __future__ import annotations

import torch
from torch import nn

from abaw.models.base import EncoderLayer, TemporalHead, sinusoid_positions, zero_masked
from abaw.models.registry import register_head


@register_head("transformer")
class TransformerHead(TemporalHead):
    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1, causal: bool = False, heads: int = 4,
                 mask_prob: float = 0.15):
        super().__init__(in_dim, out_dim, hidden)
        self.causal, self.mask_prob = causal, mask_prob
        self.inp = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden))
        self.mask_token = nn.Parameter(torch.zeros(hidden))
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)

    def features(self, x, mask):
        b, t, _ = x.shape
        h = self.inp(zero_masked(x, mask))                                  # (B, T, hidden)
        if self.training and self.mask_prob > 0:
            drop = (torch.rand(b, t, device=x.device) < self.mask_prob) & mask
            # `where` keeps the token in the graph even when nothing is dropped
            h = torch.where(drop.unsqueeze(-1), self.mask_token.to(h.dtype), h)
        h = zero_masked(h + sinusoid_positions(t, self.hidden, x.device), mask)
        for layer in self.layers:
            h = layer(h, mask, self.causal)
        return self.norm(h)
