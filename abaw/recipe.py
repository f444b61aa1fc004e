"""A recipe: one TOML file for the whole path of `abaw run`, driven by `make track=X submit`.

It holds the training config (`abaw.train.config.Config`, all the trainer reads) and, beside it,
what the pipeline does around training: the features to extract first, the post-processing to
tune on validation, and how the track's predictions are made. Loading, `--set` overrides and
one-line errors are the training config's (`load_config` with this schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from abaw.post.smooth import DEFAULT_WINDOWS, KINDS, MAX_WINDOW
from abaw.train.bounds import Each, Free, OneOf, Pattern, Range
from abaw.train.config import MAX_BATCH, Config, load_config


@dataclass
class FeaturesConfig:
    """What `abaw run` extracts before training (the trainer itself reads the stores it is given)."""

    backbones: list = field(default_factory=lambda: ["efficientnet-b0"])  # registered names, in
    #                            the order the model's input streams take them
    weights: dict = field(default_factory=dict)  # backbone -> weights folder or hub id; "random":
    #                            a seeded random initialisation of the real architecture, written
    #                            by abaw (offline demo); "pretrain": trained on the training crops
    layers: dict = field(default_factory=dict)   # backbone -> layer to read (default: the entry's)
    pooling: dict = field(default_factory=dict)  # backbone -> pooling (default: the entry's)
    batch_size: int = 64       # images (or audio chunks) per forward pass
    workers: int = 2           # decoding processes

    BOUNDS: ClassVar[dict] = {
        "backbones": Each(Pattern(r"\S+", "a registered backbone name"), min_len=1),
        "weights": Each(Pattern(r"\S+", "a weights folder, a hub id, random or pretrain")),
        "layers": Free("backbone -> layer, checked by the backbone"),
        "pooling": Free("backbone -> pooling, checked by the backbone"),
        "batch_size": Range(1, MAX_BATCH), "workers": Range(0, 256)}


@dataclass
class PostConfig:
    """Validation-tuned post-processing of `abaw run` (see `abaw smooth`)."""

    kinds: list = field(default_factory=lambda: ["mean", "gaussian", "median"])  # smoothers tried
    windows: list = field(default_factory=lambda: list(DEFAULT_WINDOWS))  # frames
    impute: str = "linear"     # frames without a face: nearest | linear | ffill
    thresholds: bool = True    # tune one threshold per AU
    bias: bool = True          # tune a per-class bias (EXPR / CE)

    BOUNDS: ClassVar[dict] = {"kinds": Each(OneOf(*KINDS), min_len=1),
                              "windows": Each(Range(1, MAX_WINDOW, whole=True), min_len=1),
                              "impute": OneOf("nearest", "linear", "ffill")}


@dataclass
class PipelineConfig:
    derive_from: str = ""      # CE: "EXPR" = compound scores from a basic-expression model (no
    #                            compound training data exists); "" = train this track directly

    BOUNDS: ClassVar[dict] = {"derive_from": OneOf("", "EXPR")}


@dataclass
class Recipe(Config):
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    post: PostConfig = field(default_factory=PostConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)


def load_recipe(path=None, overrides=(), track: str | None = None) -> Recipe:
    """Defaults <- the recipe file <- `--set` overrides (see `abaw.train.config.load_config`)."""
    return load_config(path, overrides, track, schema=Recipe)
