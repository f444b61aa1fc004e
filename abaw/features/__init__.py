"""Frozen-backbone features: the backbone registry, extraction, and the feature store.

Importing this package stays light (no torch): the encoders and the extraction loop are imported
when they are used (`create_backbone`, `abaw.features.extract`).
"""

from abaw.features.registry import (
                                    BACKBONES,
                                    BackboneSpec,
                                    create_backbone,
                                    expected_folder,
                                    get_spec,
                                    register,
)
from abaw.features.store import FeatureStore, require_same_identity

__all__ = ["BACKBONES", "BackboneSpec", "FeatureStore", "create_backbone", "expected_folder",
           "get_spec", "register", "require_same_identity"]
