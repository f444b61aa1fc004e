"""Fusions that treat a frame as several tokens.

- `token_transformer` (ABAW 8 AU, ConvNeXt + Whisper): every stream of every frame is a token
  (projected, plus a learned modality embedding and the frame's position); Transformer encoder
  layers attend over all tokens of the window, across modalities and frames alike; a frame's
  output is the mean of its present streams' tokens.
- `hga` (ABAW 10 AU, DINOv2 + WavLM): hierarchical granularity alignment. The first stream holds
  several tokens per frame (a global one and patch tokens pooled to a small grid, or grid cells
  only): the global token attends over the frame's patches (global semantics aligned with the
  local regions that move), then an asymmetric cross-attention lets the visual stream query the
  audio over the window (audio never queries the face); the result and the audio are joined.
  How a frame's vector splits into tokens comes from the feature store (`in_tokens`, the
  backbone's pooling), never from the recipe. Every token gets a learned position (pooled
  patches and CNN grid cells carry none of their own); without a global token the global view is
  a projection of the whole grid, so its layout is kept. `patches=False` keeps the global token alone
  (no alignment with the patches: the single-granularity variant).
"""

from __future__ import annotations

import torch
from torch import nn

from abaw.errors import AbawError
from abaw.models.base import Attention, EncoderLayer, present, sinusoid_positions, zero_masked
from abaw.models.registry import register_fusion

ONE_TOKEN = {"count": 1, "order": "token", "global": True}


def split_tokens(x: torch.Tensor, tokens: dict) -> torch.Tensor:
    """(B, T, n * c) -> (B, T, n, c) for a store whose rows hold n tokens (token- or
    channel-major, as its meta says)."""
    b, t, d = x.shape
    n = int(tokens["count"])
    if tokens.get("order", "token") == "channel":
        return x.view(b, t, d // n, n).transpose(2, 3)
    return x.view(b, t, n, d // n)


@register_fusion("token_transformer")
class TokenTransformerFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, layers: int = 1,
                 dropout: float = 0.1, causal: bool = False):
        super().__init__()
        self.causal = causal
        self.proj = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), nn.Linear(d, out_dim)) for d in in_dims)
        self.modality = nn.Parameter(torch.zeros(len(in_dims), out_dim))
        self.layers = nn.ModuleList(EncoderLayer(out_dim, heads, dropout) for _ in range(layers))
        self.out = nn.Linear(out_dim, out_dim)

    def forward(self, xs, mask):
        b, t = mask.shape
        xs = [zero_masked(x, mask) for x in xs]
        here = torch.stack([present(x, mask) for x in xs], dim=2)               # (B, T, M)
        pos = sinusoid_positions(t, self.modality.shape[1], mask.device)        # (T, d)
        tok = torch.stack([p(x) for p, x in zip(self.proj, xs, strict=True)], dim=2)
        tok = tok + self.modality + pos[:, None]                                # (B, T, M, d)
        m = here.shape[2]
        seq = zero_masked(tok.reshape(b, t * m, -1), here.reshape(b, t * m))    # (B, T*M, d)
        for layer in self.layers:
            seq = layer(seq, here.reshape(b, t * m), self.causal)
        w = here.unsqueeze(-1).float()
        pooled = (seq.view(b, t, m, -1) * w).sum(2) / w.sum(2).clamp_min(1.0)   # (B, T, d)
        return zero_masked(self.out(pooled), mask)


@register_fusion("hga")
class HierarchicalGranularityFusion(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, heads: int = 4, dropout: float = 0.1,
                 causal: bool = False, in_tokens: list | None = None, patches: bool = True):
        super().__init__()
        self.patches = patches
        if len(in_dims) != 2:
            raise AbawError(f"fusion hga: found {len(in_dims)} feature streams, expected 2 "
                            "(visual with patch tokens, then audio)")
        self.tokens = (in_tokens or [None])[0] or ONE_TOKEN
        n = int(self.tokens["count"])
        if n < 1 or in_dims[0] % n:
            raise AbawError(f"fusion hga: found a visual stream of {in_dims[0]} values, expected "
                            f"a multiple of its {n} tokens")
        c = in_dims[0] // n
        self.causal = causal
        self.token_proj = nn.Sequential(nn.LayerNorm(c), nn.Linear(c, out_dim))
        # where each token sits: pooled patches and CNN grid cells carry no position of their own
        self.position = nn.Parameter(torch.zeros(n, out_dim))
        # without a global token (grid cells only) the global view is the whole grid, its layout
        # kept, not the mean of its cells
        self.whole = None if self.tokens.get("global") else nn.Sequential(
            nn.LayerNorm(in_dims[0]), nn.Linear(in_dims[0], out_dim))
        self.align = Attention(out_dim, heads, dropout) if patches else None
        self.audio = nn.Sequential(nn.LayerNorm(in_dims[1]), nn.Linear(in_dims[1], out_dim))
        self.cross = Attention(out_dim, heads, dropout)
        self.norm = nn.ModuleList(nn.LayerNorm(out_dim) for _ in range(2))
        self.out = nn.Linear(2 * out_dim, out_dim)

    def forward(self, xs, mask):
        b, t = mask.shape
        xs = [zero_masked(x, mask) for x in xs]
        heard = present(xs[1], mask)                                            # (B, T)
        tokens = split_tokens(xs[0], self.tokens)                               # (B, T, n, c)
        tok = self.token_proj(tokens) + self.position                           # (B, T, n, d)
        if self.whole is None:
            glob, patches = tok[:, :, 0], tok[:, :, 1:]
        else:
            glob, patches = self.whole(tokens.flatten(2)), tok
        d = glob.shape[-1]
        if self.align is not None and patches.shape[2] > 0:   # level 1: global <- its patches
            n = patches.shape[2]
            every = torch.ones(b * t, n, dtype=torch.bool, device=mask.device)
            aligned = self.align(glob.reshape(b * t, 1, d), patches.reshape(b * t, n, d), every)
            glob = self.norm[0](glob + aligned.view(b, t, d))
        v = zero_masked(glob, mask)                                             # (B, T, d)
        a = zero_masked(self.audio(xs[1]), mask)
        v = self.norm[1](v + self.cross(v, a, heard, self.causal))  # level 2: face queries voice
        return self.out(torch.cat([v, a], dim=-1))                              # (B, T, out)
