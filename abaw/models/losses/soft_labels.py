"""Distance-aware Gaussian soft labels over a 3x3 valence-arousal grid (Jung et al., ABAW 10).

The VA square [-1, 1]^2 is cut into 3 x 3 equal regions; region centres are at -2/3, 0, 2/3 on
each axis. A frame's soft label is softmax(-||va - c_r||^2 / (2 sigma^2)) over the 9 centres, so
a frame near a border shares its mass between neighbouring regions. Region order is row-major
with valence first: r = 3 * i_valence + i_arousal, i = 0 (low) .. 2 (high); a prompt file used
with it must list its 9 region descriptions in that order.
"""

from __future__ import annotations

import torch

GRID_STEPS = (-2.0 / 3.0, 0.0, 2.0 / 3.0)


def va_grid_centers(device=None) -> torch.Tensor:
    """(9, 2) region centres (valence, arousal) in row-major order."""
    g = torch.tensor(GRID_STEPS, device=device)
    return torch.stack(torch.meshgrid(g, g, indexing="ij"), dim=-1).reshape(9, 2)


def va_grid_soft_labels(va: torch.Tensor, sigma: float = 0.35) -> torch.Tensor:
    """va (..., 2) -> (..., 9) Gaussian soft labels over the grid regions (rows sum to 1)."""
    d2 = ((va.unsqueeze(-2) - va_grid_centers(va.device)) ** 2).sum(-1)          # (..., 9)
    return torch.softmax(-d2 / (2 * sigma ** 2), dim=-1)


def smooth_one_hot(target: torch.Tensor, n_classes: int, smoothing: float) -> torch.Tensor:
    """(N,) class indices -> (N, C) with 1 - s on the class and s / C spread over all classes."""
    one = torch.nn.functional.one_hot(target.long().clamp_min(0), n_classes).float()
    return one * (1 - smoothing) + smoothing / n_classes
