"""The plain-PyTorch selective scan against its closed form, values and gradients."""

import torch

from abaw.models.mamba import selective_scan


def closed_form(u, dt, A, B, C, D):
    """y_t = sum_{s<=t} C_t . (prod_{s<r<=t} exp(dt_r A)) dt_s B_s u_s + D u_t, term by term."""
    b, t, e = u.shape
    y = u * D
    out = torch.zeros_like(u)
    for bi in range(b):
        for ti in range(t):
            for si in range(ti + 1):
                decay = torch.exp(dt[bi, si + 1:ti + 1].sum(0).unsqueeze(-1) * A)        # (E, N)
                h = decay * (dt[bi, si] * u[bi, si]).unsqueeze(-1) * B[bi, si]          # (E, N)
                out[bi, ti] += (h * C[bi, ti]).sum(-1)
    return y + out


def inputs(dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    b, t, e, n = 2, 6, 3, 4
    u = torch.randn(b, t, e, generator=g, dtype=dtype)
    dt = torch.rand(b, t, e, generator=g, dtype=dtype) * 0.5
    dt[0, 2] = 0.0                                     # a masked frame: the state passes through
    A = -torch.rand(e, n, generator=g, dtype=dtype) - 0.1
    B = torch.randn(b, t, n, generator=g, dtype=dtype)
    C = torch.randn(b, t, n, generator=g, dtype=dtype)
    D = torch.randn(e, generator=g, dtype=dtype)
    return u, dt, A, B, C, D


def test_scan_matches_the_closed_form():
    args = inputs()
    assert torch.allclose(selective_scan(*args), closed_form(*args), atol=1e-5)


def test_scan_gradients_match_finite_differences():
    args = [x.requires_grad_() for x in inputs(torch.float64)]
    assert torch.autograd.gradcheck(selective_scan, args)
