"""The trainable network of a run: per-stream normalisation -> adapters -> fusion -> head.

    streams (B, T, D_i) --normalise--> [adapter_i] --> fusion (B, T, fusion_dim) --head--> outputs
                                                                        |-> embedding (B, T, E)
                                                                        `-> tasks (B, T, M)

The normalisation statistics (mean and std of the training features) are buffers, so they are
saved inside every checkpoint: a model can never be run with another fold's statistics. Rows that
are all zeros (absent input) stay zeros. Optional parts, each asked for by the config:
- an adapter per stream kind (e.g. attention-statistics pooling of the audio), before fusion;
- a prediction horizon: the inputs are delayed by `horizon` frames, so with a causal head the
  output at frame t is computed from frames <= t - horizon (predicting ahead, CAPNet);
- polar VA: three output columns are read as a radius and a direction on the circumplex and
  turned back into valence and arousal (MAVEN), so losses and decisions see plain VA values;
- an embedding for prompt losses, and a task discriminator (which tasks are annotated at a frame).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from abaw.errors import AbawError
from abaw.models.base import present
from abaw.models.registry import create_model, model_class, model_kind, model_options

POLAR_BIAS = -1.5     # radius logit at initialisation: r = sqrt(2) sigmoid(-1.5) ~ 0.26


class AffectModel(nn.Module):
    def __init__(self, in_dims: list[int], out_dim: int, head: str = "gru",
                 head_options: dict | None = None, fusion: str = "", fusion_dim: int = 128,
                 fusion_options: dict | None = None, embed_dim: int = 0,
                 adapters: list[str] | None = None, adapter_options: list[dict] | None = None,
                 in_tokens: list | None = None,
                 horizon: int = 0, polar: int | None = None, tasks: int = 0):
        super().__init__()
        self.in_dims = list(in_dims)
        self.horizon, self.polar = horizon, polar
        for i, d in enumerate(self.in_dims):
            self.register_buffer(f"mean{i}", torch.zeros(d))
            self.register_buffer(f"std{i}", torch.ones(d))
        if model_kind(head) != "head":
            raise AbawError(f"model.head: found {head!r}, a {model_kind(head)}; expected a head")
        causal = bool((head_options or {}).get("causal"))
        self.adapters = nn.ModuleList()
        dims = []
        for i, d in enumerate(self.in_dims):
            name = (adapters or [""] * len(self.in_dims))[i]
            if name and model_kind(name) != "adapter":
                raise AbawError(f"model.adapters: found {name!r}, a {model_kind(name)}; expected "
                                "an adapter")
            opts = dict((adapter_options or [{}] * len(self.in_dims))[i])
            if name and causal and "causal" in model_options(name):
                opts["causal"] = True
            self.adapters.append(create_model(name, in_dim=d, out_dim=d, **opts) if name
                                 else nn.Identity())
            dims.append(d)
        if len(dims) > 1 and not fusion:
            fusion = "concat"
        self.fusion = None
        self.head = None
        if fusion:
            if model_kind(fusion) != "fusion":
                raise AbawError(f"model.fusion: found {fusion!r}, a {model_kind(fusion)}; "
                                "expected a fusion module")
            late = getattr(model_class(fusion), "emits_outputs", False)
            extra = dict(fusion_options or {})
            if in_tokens is not None and "in_tokens" in model_options(fusion):
                extra["in_tokens"] = list(in_tokens)
            self.fusion = create_model(fusion, in_dims=dims, out_dim=out_dim if late else fusion_dim,
                                       **extra)
            if late:
                if embed_dim or tasks or polar is not None:
                    raise AbawError("model.fusion: found a late fusion with an embedding, a task "
                                    "discriminator or polar outputs, expected a fusion followed "
                                    "by a head (late fusion has no shared representation)")
                return
        # a fusion that keeps the streams' own features (concat) says how wide they are
        in_dim = getattr(self.fusion, "width", fusion_dim) if fusion else dims[0]
        # polar: the VA block's two columns come from three (radius, direction x, direction y)
        head_out = out_dim + (1 if polar is not None else 0)
        self.head = create_model(head, in_dim=in_dim, out_dim=head_out, **(head_options or {}))
        self.embed = nn.Linear(self.head.hidden, embed_dim) if embed_dim else None
        self.tasks = nn.Sequential(nn.Linear(self.head.hidden, self.head.hidden), nn.GELU(),
                                   nn.Linear(self.head.hidden, tasks)) if tasks else None
        if polar is not None:
            with torch.no_grad():
                self.head.out.bias[polar] = POLAR_BIAS

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
        if self.horizon:                          # frame t sees the input of frame t - horizon
            xs = [torch.nn.functional.pad(x, (0, 0, self.horizon, 0))[:, :x.shape[1]] for x in xs]
        xs = [a(x, mask) if not isinstance(a, nn.Identity) else x
              for a, x in zip(self.adapters, xs, strict=True)]
        h = self.fusion(xs, mask) if self.fusion is not None else xs[0]
        if self.head is None:                                            # late fusion
            return {"outputs": h}
        feats = self.head.features(h, mask)                              # (B, T, hidden)
        outputs = self.head.out(feats)                                   # (B, T, out)
        if self.polar is not None:
            outputs = polar_to_va(outputs, self.polar)
        out = {"outputs": outputs}
        if self.embed is not None:
            out["embedding"] = self.embed(feats)                         # (B, T, E)
        if self.tasks is not None:
            out["tasks"] = self.tasks(feats)                             # (B, T, M)
        return out


def polar_to_va(raw: torch.Tensor, col: int) -> torch.Tensor:
    """Columns col..col + 2 of `raw` read as (radius logit, direction x, direction y) -> the two
    columns (v, a) = r * direction / |direction|; the radius is sqrt(2) sigmoid(logit), so every
    point of the VA square can be reached.

    The direction is a vector, not an angle: with v = r cos(angle) and a loss on v, a prediction
    pointing away from its target gets no push on the angle (a saddle), only on the radius, so an
    angle that starts near zero seldom turns to negative valence: on the twin the angle form
    lost 0.21-0.28 of valence's CCC on validation and kept arousal (MAVEN's recipe, seeds 0 and
    1). A vector can cross the centre instead of rotating round it."""
    r = math.sqrt(2.0) * torch.sigmoid(raw[..., col])
    direction = nn.functional.normalize(raw[..., col + 1:col + 3], dim=-1, eps=1e-6)
    va = r.unsqueeze(-1) * direction                                           # (B, T, 2)
    return torch.cat([raw[..., :col], va, raw[..., col + 3:]], dim=-1)
