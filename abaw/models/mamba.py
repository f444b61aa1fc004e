"""Mamba-style selective state space head (Gu & Dao 2023), in plain PyTorch.

Each block: x -> (u, z) by a linear map; u goes through a short causal depthwise convolution and
SiLU; the selective scan runs h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t, y_t = C_t h_t + D u_t,
where dt, B, C depend on the frame (the "selection"); y is gated by SiLU(z). Masked frames get
dt = 0, so the state passes through them unchanged and their content never enters it.
`causal=False` adds a second scan over the reversed window (bidirectional, as Vision Mamba).

The scan is a loop over frames; on a GPU with `mamba_ssm` installed its fused kernel is used
instead (same maths).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from abaw.models.base import TemporalHead, zero_masked
from abaw.models.registry import register_head

try:  # optional fused kernel
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
except Exception:  # noqa: BLE001 - any import failure means "not available"
    selective_scan_fn = None


def selective_scan(u, dt, A, B, C, D):
    """u, dt (B, T, E); A (E, N); B, C (B, T, N); D (E,) -> y (B, T, E)."""
    if selective_scan_fn is not None and u.is_cuda:
        y = selective_scan_fn(u.transpose(1, 2).contiguous(), dt.transpose(1, 2).contiguous(),
                              A, B.transpose(1, 2).contiguous(), C.transpose(1, 2).contiguous(),
                              D.float())
        return y.transpose(1, 2)
    dA = torch.exp(dt.unsqueeze(-1) * A)                              # (B, T, E, N)
    dBu = (dt * u).unsqueeze(-1) * B.unsqueeze(2)                     # (B, T, E, N)
    # one slice per frame by unbind: indexing dA[:, t] in the loop would make autograd build a
    # full-size zero tensor per frame in the backward pass (quadratic in the window, ~17x slower)
    h = u.new_zeros(u.shape[0], u.shape[2], A.shape[1])               # (B, E, N)
    hs = []
    for a, b in zip(dA.unbind(1), dBu.unbind(1), strict=True):
        h = torch.addcmul(b, a, h)
        hs.append(h)
    return torch.einsum("bten,btn->bte", torch.stack(hs, dim=1), C) + u * D   # (B, T, E)


class MambaBlock(nn.Module):
    def __init__(self, dim: int, state: int = 16, expand: int = 2, conv: int = 4):
        super().__init__()
        inner = expand * dim
        self.dt_rank = math.ceil(dim / 16)
        self.in_proj = nn.Linear(dim, 2 * inner)
        self.conv = nn.Conv1d(inner, inner, conv, groups=inner)
        self.x_proj = nn.Linear(inner, self.dt_rank + 2 * state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, inner)
        # dt starts in [1e-3, 1e-1] (log-uniform) and A_n = -n, as in the reference initialisation
        dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))   # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state + 1).float()).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, dim)
        self.state = state

    def forward(self, x, mask):
        t = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)                           # (B, T, E) each
        u = zero_masked(u, mask).transpose(1, 2)                          # (B, E, T)
        u = F.silu(self.conv(F.pad(u, (self.conv.kernel_size[0] - 1, 0)))[..., :t]).transpose(1, 2)
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.state, self.state], dim=-1)
        dt = F.softplus(self.dt_proj(dt)) * mask.unsqueeze(-1)            # 0 on masked frames
        # the scan accumulates over frames: float32 even under mixed precision
        y = selective_scan(u.float(), dt.float(), -torch.exp(self.A_log.float()), B.float(),
                           C.float(), self.D.float())
        return self.out_proj(y * F.silu(z))


@register_head("mamba")
class MambaHead(TemporalHead):
    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2,
                 dropout: float = 0.1, causal: bool = False, state: int = 16, expand: int = 2):
        super().__init__(in_dim, out_dim, hidden)
        self.causal = causal
        self.inp = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.fwd = nn.ModuleList(MambaBlock(hidden, state, expand) for _ in range(layers))
        self.bwd = nn.ModuleList() if causal else nn.ModuleList(
            MambaBlock(hidden, state, expand) for _ in range(layers))
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden)

    def features(self, x, mask):
        h = zero_masked(self.inp(zero_masked(x, mask)), mask)              # (B, T, hidden)
        for i, norm in enumerate(self.norms):
            n = norm(h)
            y = self.fwd[i](n, mask)
            if not self.causal:   # the same scan on the time-reversed window, flipped back
                y = y + self.bwd[i](n.flip(1), mask.flip(1)).flip(1)
            h = zero_masked(h + self.drop(y), mask)
        return self.norm(h)
