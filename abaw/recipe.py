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
    inputs: dict = field(default_factory=dict)  # text backbone -> folder of per-video text
    #                            files (behaviour descriptions, transcripts; relative to the
    #                            dataset root): `abaw.features.text`
    batch_size: int = 64       # images (or audio chunks) per forward pass
    workers: int = 2           # decoding processes
    offline: bool = False      # `--offline-encoders`: the backbones become the offline encoders
    #                            that learn on the twin (the track demo's visual encoder, log-mel
    #                            audio, hashed text), the rest of the recipe unchanged

    BOUNDS: ClassVar[dict] = {
        "backbones": Each(Pattern(r"\S+", "a registered backbone name"), min_len=1),
        "weights": Each(Pattern(r"\S+", "a weights folder, a hub id, random or pretrain")),
        "layers": Free("backbone -> layer, checked by the backbone"),
        "pooling": Free("backbone -> pooling, checked by the backbone"),
        "inputs": Each(Pattern(r"\S.*", "a folder of per-video text files")),
        "batch_size": Range(1, MAX_BATCH), "workers": Range(0, 256)}


@dataclass
class PostConfig:
    """Validation-tuned post-processing of `abaw run` (see `abaw smooth`)."""

    kinds: list = field(default_factory=lambda: ["mean", "gaussian", "median"])  # smoothers tried
    windows: list = field(default_factory=lambda: list(DEFAULT_WINDOWS))  # frames
    impute: str = "linear"     # frames without a face: nearest | linear | ffill
    thresholds: bool = True    # tune one threshold per AU
    bias: bool = True          # tune a per-class bias (EXPR / CE)
    logit_adjust: bool = False  # the class bias is a generalised logit adjustment (one strength)
    gate: bool = False         # tune a confidence gate: confident raw frames are not smoothed

    def options(self) -> dict:
        """The keyword options of `abaw.post.tune.tune` (and of the cross-fitted estimate)."""
        return {"kinds": tuple(self.kinds), "windows": tuple(self.windows),
                "impute": self.impute, "thresholds": self.thresholds, "bias": self.bias,
                "logit_adjust": self.logit_adjust, "gate": self.gate}

    BOUNDS: ClassVar[dict] = {"kinds": Each(OneOf(*KINDS), min_len=1),
                              "windows": Each(Range(1, MAX_WINDOW, whole=True), min_len=1),
                              "impute": OneOf("nearest", "linear", "ffill")}


@dataclass
class PipelineConfig:
    derive_from: str = ""      # CE: "EXPR" = compound scores from a basic-expression model (no
    #                            compound training data exists); "" = train this track directly

    BOUNDS: ClassVar[dict] = {"derive_from": OneOf("", "EXPR")}


@dataclass
class StagesConfig:
    """What `abaw run` makes before training when the recipe asks (`abaw.pipeline.stages`): each
    stage writes under the work folder once and is reused; its result fills the recipe's fields
    (loss.prompts and model.embed_dim, loss.teacher, features.weights)."""

    prompts: bool = False      # class-prompt (VA: 9 region) text embeddings for the prompt losses
    prompt_encoder: str = ""   # the text tower; "" = the first backbone of the recipe that has one
    teacher: bool = False      # train a teacher first (this recipe without distillation) and
    #                            distil its outputs on the training split into this model
    image: list = field(default_factory=list)  # image-level training of the first visual
    #                            backbone before extraction, in order: byol | byel | mae (self-
    #                            supervised), supervised (the labels of the training split)
    image_tasks: list = field(default_factory=list)  # tracks whose labels supervised / byel
    #                            read, e.g. ["EXPR"]; [] = every labelled track of the dataset
    image_epochs: int = 3
    image_frames: int = 4000   # training images, taken evenly over the training videos
    image_lr: float = 1e-4     # peak learning rate (one-cycle); CNNs from scratch want ~2e-3
    image_batch: int = 32

    BOUNDS: ClassVar[dict] = {
        "prompt_encoder": Pattern(r"\S*", "a registered text backbone, or \"\" for the recipe's"),
        # the methods of abaw.train.image_stages (importing it loads torch)
        "image": Each(OneOf("byol", "byel", "mae", "supervised")),
        "image_tasks": Each(Pattern(r"\S+", "a track name (checked against the dataset)")),
        "image_epochs": Range(1, 100_000), "image_frames": Range(1, 10**9),
        "image_lr": Range(0.0, 10.0, lo_open=True), "image_batch": Range(1, MAX_BATCH)}


@dataclass
class Recipe(Config):
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    post: PostConfig = field(default_factory=PostConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    stages: StagesConfig = field(default_factory=StagesConfig)


def load_recipe(path=None, overrides=(), track: str | None = None) -> Recipe:
    """Defaults <- the recipe file <- `--set` overrides (see `abaw.train.config.load_config`)."""
    return load_config(path, overrides, track, schema=Recipe)
