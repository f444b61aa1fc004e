"""The trainable network of a run: per-stream normalisation -> fusion (several streams) -> head.

    streams (B, T, D_i) --normalise--> fusion (B, T, fusion_dim) --head--> outputs (B, T, out)
                                                                    `--> embedding (B, T, E)

The normalisation statistics (mean and std of the training features) are buffers, so they are
saved inside every checkpoint: a model can never be run with another fold's statistics. Rows that
are all zeros (absent input) stay zeros. The optional embedding is the head's per-frame
representation projected to a prompt space (text-guided contrastive losses).
"""

from __future__ import annotations

import torch
from torch import nn

from abaw.errors import AbawError
from abaw.models.base import present
from abaw.models.registry import create_model, model_class, model_kind


class AffectModel(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, head: str = "gru",
                 head_options: dict | None = None, fusion: str = "", fusion_dim: int = 128,
                 fusion_options: dict | None = None, embed_dim: int = 0):
        super().__init__()
        self.in_dims = list(in_dims)
        for i, d in enumerate(self.in_dims):
            self.register_buffer(f"mean{i}", torch.zeros(d))
            self.register_buffer(f"std{i}", torch.ones(d))
        if model_kind(head) != "head":
            raise AbawError(f"model.head: found {head!r}, a fusion module; expected a head")
        if len(self.in_dims) > 1 and not fusion:
            fusion = "concat"
        self.fusion = None
        self.head = None
        if fusion:
            if model_kind(fusion) != "fusion":
                raise AbawError(f"model.fusion: found {fusion!r}, a head; expected a fusion module")
            late = getattr(model_class(fusion), "emits_outputs", False)
            self.fusion = create_model(fusion, in_dims=self.in_dims,
                                       out_dim=out_dim if late else fusion_dim,
                                       **(fusion_options or {}))
            if late:
                if embed_dim:
                    raise AbawError("model.embed_dim: found > 0 with late fusion, expected 0 "
                                    "(late fusion has no shared representation to embed)")
                return
        in_dim = fusion_dim if fusion else self.in_dims[0]
        self.head = create_model(head, in_dim=in_dim, out_dim=out_dim, **(head_options or {}))
        self.embed = nn.Linear(self.head.hidden, embed_dim) if embed_dim else None

    @torch.no_grad()
    def set_normalization(self, means, stds) -> None:
        for i, (m, s) in enumerate(zip(means, stds, strict=True)):
            getattr(self, f"mean{i}").copy_(torch.as_tensor(m))
            getattr(self, f"std{i}").copy_(torch.as_tensor(s).clamp_min(1e-6))

    def forward(self, xs, mask) -> dict:
        if torch.is_tensor(xs):
            xs = [xs]
        xs = [x.float() for x in xs]
        xs = [torch.where(present(x, mask).unsqueeze(-1),
                          (x - getattr(self, f"mean{i}")) / getattr(self, f"std{i}"),
                          torch.zeros((), device=x.device))
              for i, x in enumerate(xs)]                                 # (B, T, D_i) each
        h = self.fusion(xs, mask) if self.fusion is not None else xs[0]
        if self.head is None:                                            # late fusion
            return {"outputs": h}
        feats = self.head.features(h, mask)                              # (B, T, hidden)
        out = {"outputs": self.head.out(feats)}                          # (B, T, out)
        if self.embed is not None:
            out["embedding"] = self.embed(feats)                         # (B, T, E)
        return out
