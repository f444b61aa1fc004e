"""Classification losses on flattened frames: pred (N, C) logits, target (N, 1) class index with
the sentinel -1 on unannotated frames, mask (N,) bool. Each returns a scalar."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from abaw.models.losses.reduce import masked_mean, weighted_mean


def _classes(target: torch.Tensor) -> torch.Tensor:
    """(N,) int64 class indices; sentinels become 0 (their frames are masked anyway)."""
    return target.reshape(len(target), -1)[:, 0].long().clamp_min(0)


def cross_entropy(pred, target, mask, class_weight=None, label_smoothing: float = 0.0):
    """Cross-entropy; with `class_weight` (C,) the weighted mean sum(w_y ce) / sum(w_y), as
    `torch.nn.functional.cross_entropy(weight=...)` averages."""
    y = _classes(target)
    ce = F.cross_entropy(pred, y, reduction="none", label_smoothing=label_smoothing)
    if class_weight is None:
        return masked_mean(ce, mask)
    return weighted_mean(ce, class_weight.to(pred.device)[y], mask)


def focal(pred, target, mask, gamma: float = 2.0, class_weight=None):
    """Focal loss (Lin et al. 2017): mean over frames of -a_y (1 - p_y)^gamma log p_y, where a is
    `class_weight` (1 when None)."""
    y = _classes(target)
    logp = F.log_softmax(pred, dim=-1).gather(1, y[:, None])[:, 0]             # (N,)
    loss = -((1 - logp.exp()) ** gamma) * logp
    if class_weight is not None:
        loss = loss * class_weight.to(pred.device)[y]
    return masked_mean(loss, mask)


def one_hot_squared_error(pred, target, mask, class_weight=None):
    """Least-squares classification: mean over classes of (score - one-hot)^2, class-weighted
    over frames as `cross_entropy`. The scores are a regression of class evidence, so on a
    linear model the scores of two expressions shown at once add up (what CE derives from)."""
    y = _classes(target)
    per = ((pred - F.one_hot(y, pred.shape[-1]).to(pred.dtype)) ** 2).mean(-1)
    if class_weight is None:
        return masked_mean(per, mask)
    return weighted_mean(per, class_weight.to(pred.device)[y], mask)


def soft_cross_entropy(pred, soft_target, mask):
    """-sum_c q_c log softmax(pred)_c, averaged over frames; q (N, C) rows sum to 1."""
    return masked_mean(-(soft_target * F.log_softmax(pred, dim=-1)).sum(-1), mask)


def binary_cross_entropy(pred, target, mask, pos_weight=None):
    """Multi-label BCE with logits, `pos_weight` (K,) scales the positive term of each column
    (AU imbalance); mean over the K columns, then over frames."""
    t = target.clamp(0, 1)                                  # sentinels -1 -> 0 (frames masked)
    pw = None if pos_weight is None else pos_weight.to(pred.device)
    per = F.binary_cross_entropy_with_logits(pred, t, pos_weight=pw, reduction="none")
    return masked_mean(per.mean(-1), mask)


def binary_focal(pred, target, mask, gamma: float = 2.0, pos_weight=None):
    """Multi-label focal loss (Lin et al. 2017): per column -(1 - p_t)^gamma log p_t, where p_t is
    the probability given to the true 0/1 value; `pos_weight` (K,) scales the positive terms as in
    `binary_cross_entropy`. Mean over the columns, then over frames; gamma = 0 is that BCE."""
    t = target.clamp(0, 1)
    pw = None if pos_weight is None else pos_weight.to(pred.device)
    bce = F.binary_cross_entropy_with_logits(pred, t, pos_weight=pw, reduction="none")
    p = torch.sigmoid(pred)
    p_t = t * p + (1 - t) * (1 - p)
    return masked_mean(((1 - p_t) ** gamma * bce).mean(-1), mask)
