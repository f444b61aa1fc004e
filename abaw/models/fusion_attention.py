"""Cross-attention fusions of two streams (e.g. visual and audio).

- `bi_cross_attention` (Byeon et al., ABAW 10): each modality attends to the other, symmetric,
  then both are concatenated.
- `hierarchical_gated` (Jung et al., ABAW 10): cross-modal attention aligns the streams, a gate
  then mixes them per frame and channel, and a self-attention layer refines the result.
- `safe_cross_attention` (ABAW 10 EXPR): dual-branch cross-attention that stays finite and falls
  back to the other branch where a modality is missing; modality dropout during training teaches
  the model to cope with a missing stream.
- `qkv_cross_attention` (ABAW 8 VA, ResNet + log-mel): one direction only, the first stream's
  queries over the second stream's keys and values; the attended view is concatenated to it.

`branch` (a registered head, e.g. "gru", "tcn", "transformer") gives each stream its own temporal
encoder before the streams meet (the GRUs, TCNs or Transformer branches of those systems);
`branch_options` are that head's options. Every attention here is over the frames of the window;
`causal=True` restricts it (and the branches) to the past.
"""

from __future__ import annotations

import torch
from torch import nn

from abaw.errors import AbawError
from abaw.models.base import Attention, EncoderLayer, present, zero_masked
from abaw.models.registry import create_model, register_fusion


def _two(name: str, in_dims) -> None:
    if len(in_dims) != 2:
        raise AbawError(f"fusion {name}: found {len(in_dims)} feature streams, expected 2 "
                        "(e.g. --features VISUAL,AUDIO)")


class Branches(nn.Module):
    """Each stream projected to `dim` (LayerNorm + Linear), then through its own temporal
    encoder when `branch` names a head; also returns where each stream has input."""

    def __init__(self, in_dims, dim, branch: str = "", branch_options: dict | None = None,
                 causal: bool = False):
        super().__init__()
        self.proj = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), nn.Linear(d, dim)) for d in in_dims)
        opts = {"hidden": dim, **(branch_options or {})}
        if causal:
            opts["causal"] = True
        self.encoders = nn.ModuleList(create_model(branch, in_dim=dim, out_dim=dim, **opts)
                                      for _ in in_dims) if branch else None

    def forward(self, xs, mask):
        xs = [zero_masked(x, mask) for x in xs]
        here = [present(x, mask) for x in xs]                                   # M x (B, T)
        hs = [zero_masked(p(x), mask) for p, x in zip(self.proj, xs, strict=True)]
        if self.encoders is not None:                                           # M x (B, T, dim)
            hs = [zero_masked(e.features(h, mask), mask) for e, h in zip(self.encoders, hs, strict=True)]
        return hs, here


def _branch_width(branch: str, dim: int, options: dict | None) -> None:
    if branch and (options or {}).get("hidden", dim) != dim:
        raise AbawError(f"fusion option branch_options.hidden: found {options['hidden']}, "
                        f"expected the fusion width {dim}")


class _CrossPair(nn.Module):
    """Both streams through `Branches`, then each attends to the other (residual + norm)."""

    def __init__(self, in_dims, dim, heads, dropout, causal, branch="", branch_options=None):
        super().__init__()
        _branch_width(branch, dim, branch_options)
        self.causal = causal
        self.branches = Branches(in_dims, dim, branch, branch_options, causal)
        self.attn = nn.ModuleList(Attention(dim, heads, dropout) for _ in range(2))
        self.norm = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))

    def forward(self, xs, mask):
        (a, b), here = self.branches(xs, mask)                                  # (B, T, dim) each
        a2 = self.norm[0](a + self.attn[0](a, b, here[1], self.causal))
        b2 = self.norm[1](b + self.attn[1](b, a, here[0], self.causal))
        return a2, b2, here


@register_fusion("bi_cross_attention")
class BiCrossAttentionFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False, branch: str = "", branch_options: dict | None = None):
        super().__init__()
        _two("bi_cross_attention", in_dims)
        self.pair = _CrossPair(in_dims, out_dim, heads, dropout, causal, branch, branch_options)
        self.out = nn.Linear(2 * out_dim, out_dim)

    def forward(self, xs, mask):
        a, b, _ = self.pair(xs, mask)
        return self.out(torch.cat([a, b], dim=-1))                              # (B, T, out)


@register_fusion("hierarchical_gated")
class HierarchicalGatedFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False, branch: str = "", branch_options: dict | None = None):
        super().__init__()
        _two("hierarchical_gated", in_dims)
        self.causal = causal
        self.pair = _CrossPair(in_dims, out_dim, heads, dropout, causal, branch, branch_options)
        self.gate = nn.Linear(2 * out_dim, out_dim)
        self.refine = EncoderLayer(out_dim, heads, dropout)

    def forward(self, xs, mask):
        a, b, here = self.pair(xs, mask)                    # level 1: cross-modal alignment
        g = torch.sigmoid(self.gate(torch.cat([a, b], dim=-1)))                 # (B, T, out)
        # a missing stream gets no share of the gate
        g = torch.where(here[1].unsqueeze(-1), g, torch.ones_like(g))
        g = torch.where(here[0].unsqueeze(-1) | ~here[1].unsqueeze(-1), g, torch.zeros_like(g))
        fused = zero_masked(g * a + (1 - g) * b, mask)      # level 2: gated fusion
        return self.refine(fused, mask, self.causal)        # level 3: temporal refinement


@register_fusion("safe_cross_attention")
class SafeCrossAttentionFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False, modality_dropout: float = 0.2, branch: str = "",
                 branch_options: dict | None = None):
        super().__init__()
        _two("safe_cross_attention", in_dims)
        self.modality_dropout = modality_dropout
        self.pair = _CrossPair(in_dims, out_dim, heads, dropout, causal, branch, branch_options)
        self.out = nn.Linear(out_dim, out_dim)

    def forward(self, xs, mask):
        if self.training and self.modality_dropout > 0:
            # per window, drop one whole modality with probability p (never both)
            b = xs[0].shape[0]
            r = torch.rand(b, device=xs[0].device)
            drop0 = (r < self.modality_dropout / 2).view(b, 1, 1)
            drop1 = ((r >= self.modality_dropout / 2) & (r < self.modality_dropout)).view(b, 1, 1)
            xs = [torch.where(drop0, torch.zeros_like(xs[0]), xs[0]),
                  torch.where(drop1, torch.zeros_like(xs[1]), xs[1])]
        a, b, here = self.pair(xs, mask)
        w = torch.stack(here, dim=-1).float()                                   # (B, T, 2)
        w = torch.where(w.sum(-1, keepdim=True) > 0, w, torch.ones_like(w))
        fused = (w[..., :1] * a + w[..., 1:] * b) / w.sum(-1, keepdim=True)     # present branches
        return self.out(fused)                                                  # (B, T, out)


@register_fusion("qkv_cross_attention")
class QKVCrossAttentionFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False, branch: str = "", branch_options: dict | None = None):
        super().__init__()
        _two("qkv_cross_attention", in_dims)
        _branch_width(branch, out_dim, branch_options)
        self.causal = causal
        self.branches = Branches(in_dims, out_dim, branch, branch_options, causal)
        self.attn = Attention(out_dim, heads, dropout)
        self.out = nn.Linear(2 * out_dim, out_dim)

    def forward(self, xs, mask):
        (a, b), here = self.branches(xs, mask)                                  # (B, T, dim) each
        attended = self.attn(a, b, here[1], self.causal)                        # a's queries
        return self.out(torch.cat([a, attended], dim=-1))                       # (B, T, out)
