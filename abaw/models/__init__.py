"""Temporal heads, fusion modules and losses; build a head or fusion by name with `create_model`.

Importing this package registers every model (one file per model)."""

from abaw.models import (  # noqa: F401  (imported for registration)
    adapters,
    fusion_attention,
    fusion_basic,
    fusion_experts,
    fusion_tokens,
    fusion_trimodal,
    gru,
    mamba,
    mlp,
    tcn,
    tcn_transformer,
    transformer,
)
from abaw.models.model import AffectModel
from abaw.models.registry import create_model, list_models, model_kind, model_options

__all__ = ["AffectModel", "create_model", "list_models", "model_kind", "model_options"]
