"""TCN then Transformer head (Zhou et al., ABAW 8: a fine-tuned CLIP's frame features through
TCN modules and a Transformer encoder): dilated convolutions model the local dynamics, the
self-attention layers on top relate distant frames of the window."""

from __future__ import annotations

from torch import nn

from abaw.models.base import EncoderLayer, TemporalHead, sinusoid_positions, zero_masked
from abaw.models.registry import register_head
from abaw.models.tcn import TCNBlock


@register_head("tcn_transformer")
class TCNTransformerHead(TemporalHead):
    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1, causal: bool = False, kernel: int = 3, heads: int = 4,
                 attention_layers: int = 1):
        super().__init__(in_dim, out_dim, hidden)
        self.causal = causal
        self.inp = nn.Linear(in_dim, hidden)
        self.tcn = nn.ModuleList(TCNBlock(hidden, kernel, 2 ** i, dropout, causal)
                                 for i in range(layers))
        self.attn = nn.ModuleList(EncoderLayer(hidden, heads, dropout)
                                  for _ in range(attention_layers))
        self.norm = nn.LayerNorm(hidden)

    def features(self, x, mask):
        h = zero_masked(self.inp(zero_masked(x, mask)), mask)              # (B, T, hidden)
        for block in self.tcn:
            h = block(h, mask)
        h = zero_masked(h + sinusoid_positions(x.shape[1], self.hidden, x.device), mask)
        for layer in self.attn:
            h = layer(h, mask, self.causal)
        return self.norm(h)
