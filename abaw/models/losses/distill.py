"""Knowledge distillation from a teacher's soft outputs (Jeong et al., ABAW 3 MTL: the teacher's
predictions are soft labels for the student, also on frames whose own labels are missing).

The teacher is a prediction set of raw outputs, as `abaw predict` writes them: probabilities for
classes and AUs, values for VA. pred (N, K) student raw outputs, teacher (N, K), mask (N,).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from abaw.models.losses.reduce import masked_mean


def distill_classes(pred, teacher, mask, temperature: float = 2.0):
    """T^2 KL(teacher_T || student_T) (Hinton et al. 2015); teacher_T = softmax(log p / T)."""
    t = F.softmax(torch.log(teacher.clamp_min(1e-8)) / temperature, dim=-1)
    kl = (t * (torch.log(t.clamp_min(1e-12)) - F.log_softmax(pred / temperature, dim=-1))).sum(-1)
    return masked_mean(kl * temperature ** 2, mask)


def distill_binary(pred, teacher, mask):
    """BCE of the student's logits against the teacher's probabilities, mean over columns."""
    per = F.binary_cross_entropy_with_logits(pred, teacher.clamp(0, 1), reduction="none")
    return masked_mean(per.mean(-1), mask)


def distill_values(pred, teacher, mask):
    return masked_mean(((pred - teacher) ** 2).mean(-1), mask)
