"""Noise-aware adaptive frame weighting, V-NAW (Lee et al., ABAW 8 EXPR).

Each frame's cross-entropy is weighted by how "clean" its prediction looks. The frame's signature
is s = (p_gt, p_neg): the probability of the labelled class and the largest other probability. A
2-D Gaussian scores s: one Gaussian for frames the model already gets right (centre (0.5, 0.5)),
another for frames it gets wrong (centre (0.3, 0.15)); a wrong frame that the model is confident
against (likely a noisy label) lands far from its centre and gets a small weight. The
covariance of the "right" Gaussian grows its anti-correlation with training progress,
eps = 1 - exp(-15 progress). Gaussian parameters are the reference implementation's
(github.com/jungyu0413/V-NAW). loss = lam * CE + (1 - lam) * mean(w * ce).

One deliberate difference: the weights are constants here (detached). With gradients through
them, as in the reference code, the cheapest way to lower mean(w * ce) is to make wrong frames
confidently wrong (far from the "wrong" centre, weight -> 0); on small data that collapses the
model to one class. Detached, they only re-weight frames, which is what the method describes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from abaw.models.losses.classification import _classes, cross_entropy
from abaw.models.losses.reduce import masked_mean


def _gauss(s, mu, cov):
    """exp(-0.5 (s - mu)^T cov^-1 (s - mu)) per row of s (N, 2)."""
    d = s - torch.tensor(mu, device=s.device, dtype=s.dtype)
    inv = torch.linalg.inv(torch.tensor(cov, device=s.device, dtype=s.dtype))
    return torch.exp(-0.5 * ((d @ inv) * d).sum(-1))


def naw_weights(pred, target, progress: float, right_mu=(0.5, 0.5), right_var=0.75,
                right_cov=-0.5, wrong_mu=(0.3, 0.15), wrong_var=0.85, wrong_cov=0.8):
    """(N,) frame weights from logits (N, C) and class targets (N, 1)."""
    y = _classes(target)
    p = F.softmax(pred, dim=-1)
    p_gt = p.gather(1, y[:, None])[:, 0]
    p_neg = p.scatter(1, y[:, None], -1.0).amax(-1)            # best probability among the others
    s = torch.stack([p_gt, p_neg], dim=-1)                     # (N, 2)
    eps = 1 - math.exp(-15 * progress)
    c = eps * right_cov
    right = _gauss(s, right_mu, [[right_var, c], [c, right_var]])
    wrong = _gauss(s, wrong_mu, [[wrong_var, wrong_cov], [wrong_cov, wrong_var]])
    return torch.where(p.argmax(-1) == y, right, wrong)


class VNAWLoss:
    """lam * CE + (1 - lam) * noise-aware weighted CE; `progress` (0..1) is set by the trainer."""

    def __init__(self, lam: float = 0.5, class_weight=None, label_smoothing: float = 0.0):
        self.lam, self.class_weight, self.label_smoothing = lam, class_weight, label_smoothing
        self.progress = 0.0

    def __call__(self, pred, target, mask):
        ce_mean = cross_entropy(pred, target, mask, self.class_weight, self.label_smoothing)
        ce = F.cross_entropy(pred, _classes(target), reduction="none")
        naw = masked_mean(ce * naw_weights(pred.detach(), target, self.progress), mask)
        return self.lam * ce_mean + (1 - self.lam) * naw
