"""The two simplest fusions: concatenation of the streams, and late fusion of per-stream outputs."""

from __future__ import annotations

import torch
from torch import nn

from abaw.models.base import present, zero_masked
from abaw.models.registry import create_model, register_fusion


@register_fusion("concat")
class ConcatFusion(nn.Module):
    """Early fusion: the streams side by side, as they come (each already standardised with the
    training statistics by the model). The head's input layer is what mixes them (`width`: the
    model builds the head on the joined width, `out_dim` is not used), so a model with one more
    stream differs from the model without it only in that layer's inputs.

    No per-frame LayerNorm over the joined features and no extra wide layer before the head: the
    LayerNorm removes each frame's overall level and scale (set by the widest stream, the face),
    and the extra layer gives the model more room to learn the training people. On the small
    twin (seed 0, validation CCC of arousal) the face alone scored 0.40, face + log-mel audio
    through that LayerNorm and layer 0.28, and through this concatenation (the audio pooled by
    `attn_stats`) 0.38.
    """

    def __init__(self, in_dims: list[int], out_dim: int):
        super().__init__()
        self.width = sum(in_dims)

    def forward(self, xs, mask):
        return torch.cat([zero_masked(x, mask) for x in xs], dim=-1)      # (B, T, width)


@register_fusion("late")
class LateFusion(nn.Module):
    """Late fusion: one head per stream predicts the outputs; a learned softmax weighting averages
    them, renormalised per frame over the streams that are present there.

    Its result is already the task output, so no head follows it (`emits_outputs`).
    """

    emits_outputs = True

    def __init__(self, in_dims: list[int], out_dim: int, branch: str = "mlp",
                 branch_options: dict | None = None, causal: bool = False):
        super().__init__()
        opts = dict(branch_options or {})
        if causal:
            opts["causal"] = True
        self.branches = nn.ModuleList(create_model(branch, in_dim=d, out_dim=out_dim, **opts)
                                      for d in in_dims)
        self.logits = nn.Parameter(torch.zeros(len(in_dims)))

    def forward(self, xs, mask):
        outs = torch.stack([b(x, mask) for b, x in zip(self.branches, xs, strict=True)], dim=2)  # (B,T,M,out)
        here = torch.stack([present(zero_masked(x, mask), mask) for x in xs], dim=2)  # (B,T,M)
        here = here | ~here.any(dim=2, keepdim=True)      # no stream present: plain weighting
        w = torch.softmax(self.logits.masked_fill(~here, float("-inf")), dim=2)    # (B, T, M)
        return (w.unsqueeze(-1) * outs).sum(dim=2)                                # (B, T, out)
