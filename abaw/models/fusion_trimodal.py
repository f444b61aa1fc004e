"""Six-pathway tri-modal cross-attention (MAVEN, Ahire et al., ABAW 8) over visual, audio and
text streams: each modality attends to the two others (6 directed pathways), adds its two attended
views with learned weights, is refined by self-attention, and the three are concatenated."""

from __future__ import annotations

import torch
from torch import nn

from abaw.errors import AbawError
from abaw.models.base import Attention, EncoderLayer, present, zero_masked
from abaw.models.registry import register_fusion


@register_fusion("trimodal_six_path")
class TriModalSixPathFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False):
        super().__init__()
        if len(in_dims) != 3:
            raise AbawError(f"fusion trimodal_six_path: found {len(in_dims)} feature streams, "
                            "expected 3 (visual, audio, text)")
        self.causal = causal
        self.pairs = [(i, j) for i in range(3) for j in range(3) if i != j]     # the 6 pathways
        self.proj = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), nn.Linear(d, out_dim)) for d in in_dims)
        self.attn = nn.ModuleList(Attention(out_dim, heads, dropout) for _ in self.pairs)
        self.mix = nn.Parameter(torch.zeros(3, 2))           # per modality: weights of its 2 views
        self.norm = nn.ModuleList(nn.LayerNorm(out_dim) for _ in range(3))
        self.refine = nn.ModuleList(EncoderLayer(out_dim, heads, dropout) for _ in range(3))
        self.out = nn.Linear(3 * out_dim, out_dim)

    def forward(self, xs, mask):
        xs = [zero_masked(x, mask) for x in xs]
        here = [present(x, mask) for x in xs]
        hs = [zero_masked(p(x), mask) for p, x in zip(self.proj, xs, strict=True)]           # 3 x (B, T, d)
        views = {(i, j): a(hs[i], hs[j], here[j], self.causal)
                 for (i, j), a in zip(self.pairs, self.attn, strict=True)}
        w = torch.softmax(self.mix, dim=-1)                                     # (3, 2)
        refined = []
        for i in range(3):
            j, k = (n for n in range(3) if n != i)
            h = self.norm[i](hs[i] + w[i, 0] * views[i, j] + w[i, 1] * views[i, k])
            refined.append(self.refine[i](zero_masked(h, mask), mask, self.causal))
        return self.out(torch.cat(refined, dim=-1))                             # (B, T, out)
