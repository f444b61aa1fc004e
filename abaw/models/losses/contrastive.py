"""Text-guided contrastive losses against class-prompt embeddings (Byeon et al., ABAW 10; and the
soft-prompt VA variant of Jung et al.).

The model's per-frame embedding z (N, E) is compared by cosine similarity with fixed prompt
embeddings P (C, E) - e.g. CLIP text features of "a photo of a happy face" for each class - and
the similarities / temperature are trained as logits: each frame must be closest to its own
class's prompt and far from the others (the other prompts are the negatives).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from abaw.models.losses.classification import cross_entropy, soft_cross_entropy
from abaw.models.losses.soft_labels import va_grid_soft_labels


def prompt_logits(emb, prompts, temperature: float = 0.07) -> torch.Tensor:
    """(N, C) cosine similarities between frame embeddings and prompts, divided by temperature."""
    return F.normalize(emb, dim=-1) @ F.normalize(prompts.to(emb), dim=-1).T / temperature


def prompt_contrastive(emb, target, mask, prompts, temperature: float = 0.07):
    """target (N, 1) class indices: cross-entropy over the class prompts."""
    return cross_entropy(prompt_logits(emb, prompts, temperature), target, mask)


def prompt_grid(emb, va, mask, prompts, temperature: float = 0.07, sigma: float = 0.35):
    """va (N, 2) values: soft cross-entropy over the 9 VA-region prompts, with distance-aware
    Gaussian soft labels as the target."""
    return soft_cross_entropy(prompt_logits(emb, prompts, temperature),
                              va_grid_soft_labels(va, sigma), mask)
