"""Fusions of several streams with learned, frame-level weighting.

- `directed_moe` (ABAW 10 VA, face/behaviour/audio): every ordered pair of modalities (i <- j)
  is an expert, "stream i enriched by attending to stream j", plus one identity expert per
  stream; a gating network weights the experts per frame (a mixture of experts). Experts whose
  target stream is missing at a frame get no weight.
- `reliability_av` (same paper): the visual streams are combined frame by frame; the audio
  stream (the last one by default) adds temporal context through cross-attention, scaled by a
  learned reliability in [0, 1] per frame, so silence or noise can be turned down.
"""

from __future__ import annotations

import torch
from torch import nn

from abaw.errors import AbawError
from abaw.models.base import Attention, present, zero_masked
from abaw.models.registry import register_fusion


@register_fusion("directed_moe")
class DirectedMoEFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False):
        super().__init__()
        if len(in_dims) < 2:
            raise AbawError(f"fusion directed_moe: found {len(in_dims)} feature stream, expected 2+")
        self.causal = causal
        m = len(in_dims)
        self.pairs = [(i, j) for i in range(m) for j in range(m) if i != j]
        self.proj = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), nn.Linear(d, out_dim)) for d in in_dims)
        self.experts = nn.ModuleList(Attention(out_dim, heads, dropout) for _ in self.pairs)
        self.gate = nn.Linear(m * out_dim, len(self.pairs) + m)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, xs, mask):
        xs = [zero_masked(x, mask) for x in xs]
        here = [present(x, mask) for x in xs]                                   # M x (B, T)
        hs = [zero_masked(p(x), mask) for p, x in zip(self.proj, xs, strict=True)]           # M x (B, T, d)
        outs = [hs[i] + e(hs[i], hs[j], here[j], self.causal)
                for (i, j), e in zip(self.pairs, self.experts, strict=True)] + hs            # E x (B, T, d)
        targets = [i for i, _ in self.pairs] + list(range(len(hs)))
        ok = torch.stack([here[i] for i in targets], dim=-1)                    # (B, T, E)
        ok = ok | ~ok.any(dim=-1, keepdim=True)
        logits = self.gate(torch.cat(hs, dim=-1)).masked_fill(~ok, float("-inf"))
        w = torch.softmax(logits, dim=-1)                                       # (B, T, E)
        fused = (torch.stack(outs, dim=-1) * w.unsqueeze(2)).sum(-1)            # (B, T, d)
        return self.norm(fused)


@register_fusion("reliability_av")
class ReliabilityAVFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False, audio: int = -1):
        super().__init__()
        if len(in_dims) < 2:
            raise AbawError(f"fusion reliability_av: found {len(in_dims)} feature stream, "
                            "expected visual stream(s) and one audio stream")
        self.audio, self.causal = audio % len(in_dims), causal
        vis = sum(d for i, d in enumerate(in_dims) if i != self.audio)
        self.visual = nn.Sequential(nn.LayerNorm(vis), nn.Linear(vis, out_dim), nn.GELU())
        a = in_dims[self.audio]
        self.audio_proj = nn.Sequential(nn.LayerNorm(a), nn.Linear(a, out_dim))
        self.context = Attention(out_dim, heads, dropout)
        self.reliability = nn.Sequential(nn.Linear(2 * out_dim, out_dim), nn.GELU(),
                                         nn.Linear(out_dim, 1))
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, xs, mask):
        xs = [zero_masked(x, mask) for x in xs]
        audio = xs[self.audio]
        heard = present(audio, mask)                                            # (B, T)
        v = self.visual(torch.cat([x for i, x in enumerate(xs) if i != self.audio], dim=-1))
        a = zero_masked(self.audio_proj(audio), mask)                           # (B, T, d)
        ctx = self.context(v, a, heard, self.causal)                            # (B, T, d)
        r = torch.sigmoid(self.reliability(torch.cat([v, a], dim=-1)))          # (B, T, 1)
        r = r * heard.unsqueeze(-1)                                             # silence: 0
        return self.norm(v + r * ctx)
