"""Adapters: a transform of one stream before fusion, `(B, T, D) -> (B, T, out)` (built like a
head: `in_dim`, `out_dim`), chosen per stream kind with `model.adapters = {audio = "..."}`, its
options with `model.adapter_options = {audio = {context = 15}}`.

- `attn_stats`: attention-statistics pooling (Okabe et al. 2018), as the ABAW-10 VA system pools
  WavLM frames: around every frame, the frames of a +-`context` neighbourhood are scored by a
  small attention network, and their attention-weighted mean and standard deviation (how much
  the voice varies there, not only its level) are projected back to the stream's width.
  Frames of the neighbourhood without input (silence, no audio) get no weight; a frame whose whole
  neighbourhood is empty stays all zeros (absent), so fusions still see it as missing.
  A voice's arousal shows over about a second (pitch and loudness against the speaker's own,
  syllable rate), so audio recipes set `context` to cover ~1 s (15 at 30 fps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from abaw.models.base import present, zero_masked
from abaw.models.registry import register_adapter


@register_adapter("attn_stats")
class AttentiveStatsPooling(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, context: int = 8, hidden: int = 64,
                 causal: bool = False):
        super().__init__()
        self.context, self.causal = context, causal
        self.score = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.out = nn.Linear(2 * in_dim, out_dim)

    def forward(self, x, mask):
        here = present(x, mask)                                             # (B, T)
        x = zero_masked(x, here)
        c = self.context
        k = 2 * c + 1
        pad = (2 * c, 0) if self.causal else (c, c)                         # past only, or centred
        nb = F.pad(x, (0, 0) + pad).unfold(1, k, 1).transpose(2, 3)         # (B, T, K, D)
        ok = F.pad(here, pad).unfold(1, k, 1)                               # (B, T, K)
        s = self.score(nb).squeeze(-1).masked_fill(~ok, float("-inf"))
        any_ok = ok.any(-1, keepdim=True)                                   # (B, T, 1)
        a = torch.softmax(torch.where(any_ok, s, torch.zeros_like(s)), dim=-1) * ok
        mu = (a.unsqueeze(-1) * nb).sum(2)                                  # (B, T, D)
        var = (a.unsqueeze(-1) * nb * nb).sum(2) - mu * mu
        sd = torch.sqrt(var.clamp_min(1e-6))
        out = self.out(torch.cat([mu, sd], dim=-1))                         # (B, T, out)
        return zero_masked(out, mask & any_ok.squeeze(-1))
