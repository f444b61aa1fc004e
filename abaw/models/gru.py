"""GRU and bi-GRU heads.

The sequences are packed up to each window's last real frame, so the backward direction of a
bi-GRU starts at real data, never at padding; masked frames inside a window enter as zeros.
A one-directional GRU is causal by construction.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from abaw.errors import AbawError
from abaw.models.base import TemporalHead, last_real_length, zero_masked
from abaw.models.registry import register_head


@register_head("gru")
class GRUHead(TemporalHead):
    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1, causal: bool = False, bidirectional: bool = False):
        if causal and bidirectional:
            raise AbawError("model gru: option causal: found true with bidirectional=true, "
                            "expected a one-directional GRU for causal prediction")
        dirs = 2 if bidirectional else 1
        super().__init__(in_dim, out_dim, hidden * dirs)
        self.inp = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden), nn.GELU())
        self.rnn = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True,
                          bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)

    def features(self, x, mask):
        t = x.shape[1]
        h = zero_masked(self.inp(zero_masked(x, mask)), mask)              # (B, T, hidden)
        packed = pack_padded_sequence(h.float(), last_real_length(mask), batch_first=True,
                                      enforce_sorted=False)
        # the recurrence runs in float32 under mixed precision too: low-precision RNN kernels
        # are not available everywhere, and the recurrence accumulates rounding over frames
        with torch.autocast(x.device.type, enabled=False):
            out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)  # (B, T, dirs*hidden)
        return self.drop(out)


@register_head("bigru")
class BiGRUHead(GRUHead):
    supports_causal = False

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1, causal: bool = False):
        super().__init__(in_dim, out_dim, hidden, layers, dropout, causal, bidirectional=True)
