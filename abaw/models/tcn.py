"""Temporal convolutional network: residual blocks of dilated 1-D convolutions (Bai et al. 2018).

Dilations 1, 2, 4, ... give a receptive field of 1 + 2 (k - 1)(2^layers - 1) frames. `causal=True`
pads on the left only, so frame t sees frames <= t (prediction ahead, CAPNet-style); otherwise the
kernel is centred. Masked frames are zeroed before every convolution, so they act exactly like
the zero padding at the ends of the window.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from abaw.models.base import TemporalHead, zero_masked
from abaw.models.registry import register_head


class TCNBlock(nn.Module):
    def __init__(self, dim: int, kernel: int, dilation: int, dropout: float, causal: bool):
        super().__init__()
        total = (kernel - 1) * dilation
        self.pad = (total, 0) if causal else (total // 2, total - total // 2)
        self.norm = nn.LayerNorm(dim)
        self.conv1 = nn.Conv1d(dim, dim, kernel, dilation=dilation)
        self.conv2 = nn.Conv1d(dim, dim, kernel, dilation=dilation)
        self.drop = nn.Dropout(dropout)

    def _conv(self, conv, h, mask):
        h = zero_masked(h, mask).transpose(1, 2)                # (B, D, T)
        return conv(F.pad(h, self.pad)).transpose(1, 2)         # (B, T, D)

    def forward(self, x, mask):
        h = self.drop(F.gelu(self._conv(self.conv1, self.norm(x), mask)))
        h = self.drop(self._conv(self.conv2, h, mask))
        return zero_masked(x + h, mask)


@register_head("tcn")
class TCNHead(TemporalHead):
    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 4,
                 dropout: float = 0.1, causal: bool = False, kernel: int = 3):
        super().__init__(in_dim, out_dim, hidden)
        self.inp = nn.Linear(in_dim, hidden)
        self.blocks = nn.ModuleList(TCNBlock(hidden, kernel, 2 ** i, dropout, causal)
                                    for i in range(layers))
        self.norm = nn.LayerNorm(hidden)

    def features(self, x, mask):
        h = zero_masked(self.inp(zero_masked(x, mask)), mask)  # (B, T, hidden)
        for block in self.blocks:
            h = block(h, mask)
        return self.norm(h)
