"""Shared pieces of every head and fusion module: masking and masked multi-head attention.

Conventions (the whole package relies on them):
- `mask` (B, T) is True on real frames. Content at masked positions is garbage (padding, or a
  frame with no input): every module replaces it by zeros on entry with `zero_masked`, so it can
  never leak into the outputs of real frames.
- A stream whose row is all zeros at a frame is *absent* there (the feature store writes zeros
  where it had no input: no face, silence, no transcript). Fusion modules read that with
  `present` and weigh the other streams instead.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def zero_masked(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x (B, T, D) with masked frames set to 0 (`where`, not a product: NaN garbage stays out)."""
    return torch.where(mask.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))


def present(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T) True where the frame is real and the stream's row is not all zeros."""
    return mask & (x.detach().abs().amax(dim=-1) > 0)


def last_real_length(mask: torch.Tensor) -> torch.Tensor:
    """(B,) index of the last real frame + 1 (at least 1), on CPU, for packed RNNs."""
    t = mask.shape[1]
    idx = torch.arange(1, t + 1, device=mask.device).expand_as(mask)
    return (idx * mask).amax(dim=1).clamp_min(1).cpu()


class TemporalHead(nn.Module):
    """Base of every head: `features(x, mask)` -> (B, T, hidden), then one linear layer."""

    supports_causal = True

    def __init__(self, in_dim: int, out_dim: int, hidden: int):
        super().__init__()
        self.in_dim, self.out_dim, self.hidden = in_dim, out_dim, hidden
        self.out = nn.Linear(hidden, out_dim)

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x, mask))


class Attention(nn.Module):
    """Multi-head attention of queries (B, Tq, dim) over keys/values (B, Tk, kv_dim).

    `key_mask` (B, Tk) says which keys may be attended; `causal` forbids keys after the query's
    frame. A query with no allowed key gets a zero output (never NaN): a "safe" attention, so a
    window where the other modality is missing contributes nothing instead of noise.
    """

    def __init__(self, dim: int, heads: int = 4, dropout: float = 0.0, kv_dim: int | None = None):
        super().__init__()
        if dim % heads:
            heads = math.gcd(dim, heads) or 1
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(kv_dim or dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, q, kv, key_mask, causal: bool = False):
        b, tq, d = q.shape
        tk = kv.shape[1]
        h = self.heads
        qh = self.q(q).view(b, tq, h, d // h).transpose(1, 2)               # (B, H, Tq, d/H)
        k, v = self.kv(kv).view(b, tk, 2, h, d // h).permute(2, 0, 3, 1, 4)  # 2 x (B, H, Tk, d/H)
        allowed = key_mask[:, None, None, :]                                # (B, 1, 1, Tk)
        if causal:
            allowed = allowed & torch.ones(tq, tk, dtype=torch.bool, device=q.device).tril()
        allowed = allowed.expand(b, 1, tq, tk)
        empty = ~allowed.any(dim=-1, keepdim=True)                          # (B, 1, Tq, 1)
        allowed = allowed | empty
        out = F.scaled_dot_product_attention(qh, k, v, attn_mask=allowed,
                                             dropout_p=self.dropout if self.training else 0.0)
        out = out.masked_fill(empty, 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, tq, d))            # (B, Tq, dim)


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer on top of `Attention` (self-attention + MLP)."""

    def __init__(self, dim: int, heads: int = 4, dropout: float = 0.1, mlp_ratio: int = 2):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp_ratio * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask, causal: bool = False):
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, mask, causal))
        x = x + self.drop(self.mlp(self.norm2(x)))
        return zero_masked(x, mask)


def sinusoid_positions(t: int, dim: int, device) -> torch.Tensor:
    """(T, dim) fixed sinusoidal position codes (Vaswani et al.), defined for any length."""
    pos = torch.arange(t, device=device, dtype=torch.float32)[:, None]
    i = torch.arange(0, dim, 2, device=device, dtype=torch.float32)
    angle = pos / torch.pow(10000.0, i / dim)
    out = torch.zeros(t, dim, device=device)
    out[:, 0::2] = torch.sin(angle)
    out[:, 1::2] = torch.cos(angle[:, : dim // 2])
    return out
