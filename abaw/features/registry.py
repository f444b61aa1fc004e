"""The backbone registry: a dict of named specs and a decorator that fills it (as in timm).

`create_backbone(name, weights=None, layer=None, pooling=None, device="cpu")` returns a frozen
encoder with one interface per kind (see `abaw.features.visual` and `abaw.features.audio`).

Where the weights come from, in order:
1. `weights=` a folder (a `save_pretrained` folder, or a timm folder with `config.json` +
   `model.safetensors`) or a hub id;
2. the folder `$ABAW_MODELS/<name>` (default `~/.cache/abaw/models/<name>`) if it exists;
3. the entry's hub id through the Hugging Face cache (`HF_HUB_OFFLINE=1` honoured); entries the
   toolkit trains itself (`face-resnet18`, hub id TRAINED_HERE) have only 1 and 2.
A model found nowhere fails at once with one line saying where to put it and how to fetch (or
train) it.

This module imports no torch: `abaw models list` reads only the specs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from abaw.errors import AbawError


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    kind: str                      # "visual" | "audio" | "text"
    family: str                    # which loader builds it (the decorated function)
    hub_id: str | None             # default weights; None: nothing to download (log-mel);
    #                                TRAINED_HERE: made by `abaw models pretrain`, from a folder only
    classes: tuple[str, ...]       # model classes a weights folder may hold for this entry
    dim: int                       # output dim with the default weights, layer and pooling
    layer: str = "last"            # "last", a hidden-state index ("-2", "6"), or "mean:K"
    pooling: str = "cls"           # visual: "cls" | "mean" (| "embed" for CLIP); audio: "mean"
    note: str = ""
    stages: tuple[int, ...] = ()   # timm CNNs: the width of each stage a layer index reads


BACKBONES: dict[str, BackboneSpec] = {}
# Pooling "grid": the feature map averaged over a GRID x GRID layout of the face (measured on the
# twin, after post-processing: 8 against 4 took EXPR F1 0.33 -> 0.74 and VA 0.35 -> 0.48).
GRID = 8
# The hub id of an entry whose weights no hub holds: the toolkit trains them on a dataset's
# training crops (`abaw.train.pretrain`) into a folder. Not an `owner/name`, never fetched.
TRAINED_HERE = "(abaw models pretrain)"
PRETRAIN_COMMAND = "abaw models pretrain ROOT --out"
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name; anything else is a path
_BUILDERS: dict[str, object] = {}


def register(name, kind, hub_id, classes, dim, layer="last", pooling="cls", note="", stages=()):
    """Decorator: register `name` as built by the decorated loader (stackable for variants)."""

    def wrap(fn):
        if name in BACKBONES:
            raise ValueError(f"backbone {name} registered twice")
        BACKBONES[name] = BackboneSpec(name, kind, fn.__name__, hub_id, tuple(classes), dim,
                                       layer, pooling, note, tuple(stages))
        _BUILDERS[name] = fn
        return fn

    return wrap


def sorted_specs() -> list[BackboneSpec]:
    """Visual, audio, then text; within a kind, loaders in source order, names sorted."""
    families = list(dict.fromkeys(s.family for s in BACKBONES.values()))
    kinds = ("visual", "audio", "text")
    return sorted(BACKBONES.values(),
                  key=lambda s: (kinds.index(s.kind), families.index(s.family), s.name))


def get_spec(name: str) -> BackboneSpec:
    if name not in BACKBONES:
        raise AbawError(f"--backbone: found {name!r}, expected one of "
                       f"{', '.join(s.name for s in sorted_specs())}")
    return BACKBONES[name]


def feature_dim(spec: BackboneSpec, layer=None, pooling=None) -> int:
    """The width of the rows a backbone stores, from the registry alone (nothing is loaded): the
    entry's dim, a timm CNN stage's width when a stage is read, times GRID x GRID for "grid"
    pooling. It is the dim of the default weights; other weights in a folder may differ."""
    layer = str(spec.layer if layer is None else layer)
    width = spec.dim
    if spec.stages and layer != "last":
        try:
            width = spec.stages[int(layer)]
        except (ValueError, IndexError):
            pass                # the backbone itself says what is wrong with the layer
    return width * GRID * GRID if (pooling or spec.pooling) == "grid" else width


def is_hub_id(text) -> bool:
    """`owner/name`: what `resolve_weights` takes for a hub id when no such folder exists."""
    return bool(_HUB_ID.fullmatch(str(text)))


def weights_home() -> Path:
    return Path(os.environ.get("ABAW_MODELS", "~/.cache/abaw/models")).expanduser()


def expected_folder(name: str) -> Path:
    """Where `create_backbone(name)` looks for weights before the Hugging Face cache."""
    return weights_home() / name


def fetch_command(spec: BackboneSpec, weights=None) -> str:
    """The command that puts the weights where they are looked for: the entry's default weights,
    or `weights` (a recipe's folder or hub id)."""
    if weights is None:
        weights = expected_folder(spec.name)
    elif not Path(str(weights)).expanduser().exists() and is_hub_id(weights):
        return f"hf download {weights}"                  # into the Hugging Face cache
    if spec.hub_id == TRAINED_HERE:
        return f"{PRETRAIN_COMMAND} {weights}"
    return f"hf download {spec.hub_id} --local-dir {weights}"


def weights_found(spec: BackboneSpec, weights=None) -> str:
    """Where the weights are right now: "folder", "hub cache", "missing" or "built in"; the
    entry's default weights, or `weights` (a recipe's folder or hub id). Nothing is loaded."""
    if weights is not None:
        path = Path(str(weights)).expanduser()
        if path.is_dir() or not is_hub_id(weights):
            return "folder" if (path / "config.json").is_file() else "missing"
        hub_id = str(weights)
    elif spec.hub_id is None:
        return "built in"
    elif (expected_folder(spec.name) / "config.json").is_file():
        return "folder"
    elif spec.hub_id == TRAINED_HERE:
        return "missing"
    else:
        hub_id = spec.hub_id
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(hub_id, "config.json")
    return "hub cache" if isinstance(cached, str) else "missing"


def _missing(spec: BackboneSpec, tried: str, why: str = "") -> AbawError:
    reason = f" ({why})" if why else ""
    how = "train them with" if spec.hub_id == TRAINED_HERE else "fetch with"
    return AbawError(f"backbone {spec.name}: weights not found in {tried}{reason}; expected a "
                     f"folder at {expected_folder(spec.name)} ($ABAW_MODELS/{spec.name}), or another "
                     f"folder named by the recipe's features.weights (`abaw run --set "
                     f"'features.weights={{\"{spec.name}\" = \"DIR\"}}'`, `abaw features extract "
                     f"--weights DIR`): {how} `{fetch_command(spec)}`")


def resolve_weights(spec: BackboneSpec, weights=None) -> tuple[str, bool]:
    """(folder or hub id, is_local). Fails at once when a hub id is not cached and we are offline."""
    if weights is not None:
        path = Path(weights).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise AbawError(f"{path}: no config.json; expected a folder written by "
                                f"save_pretrained (or timm save_for_hf) for {spec.name}")
            return str(path.resolve()), True
        if not _HUB_ID.fullmatch(str(weights)):
            raise _missing(spec, str(weights), "no such folder")
        hub_id = str(weights)
    else:
        folder = expected_folder(spec.name)
        if (folder / "config.json").is_file():
            return str(folder), True
        hub_id = spec.hub_id
    if hub_id is None:
        return "", True
    if hub_id == TRAINED_HERE:
        raise _missing(spec, str(expected_folder(spec.name)), "no hub holds them")
    from huggingface_hub import constants, try_to_load_from_cache

    cached = try_to_load_from_cache(hub_id, "config.json")
    if not isinstance(cached, str) and constants.HF_HUB_OFFLINE:
        raise _missing(spec, f"{expected_folder(spec.name)} or the Hugging Face cache",
                       f"{hub_id} not cached and HF_HUB_OFFLINE=1")
    return hub_id, False


def create_backbone(name: str, weights=None, layer: str | None = None, pooling: str | None = None,
                    device: str = "cpu"):
    """A frozen, eval-mode encoder `name` on `device`; layer/pooling default to the entry's."""
    spec = get_spec(name)
    source, local = resolve_weights(spec, weights)
    layer = str(spec.layer if layer is None else layer)
    pooling = spec.pooling if pooling is None else pooling
    try:
        backbone = _BUILDERS[name](spec, source, layer=layer, pooling=pooling)
    except OSError as e:  # transformers / hub: not cached, no network, missing file
        raise _missing(spec, source, str(e).splitlines()[0][:160]) from None
    backbone.location = source if local else f"hf-hub:{source}"
    return backbone.to(device)


# --- the entries ------------------------------------------------------------------------------
# dims are those of the default weights; a folder with other weights reports its own dim.
# (Stacked decorators run bottom-up; `sorted_specs` gives the listing order.)

@register("clip-vit-b16", "visual", "openai/clip-vit-base-patch16", ["CLIPModel"], 512,
          pooling="embed", note="CLIP image embedding; text tower for prompt embeddings")
@register("clip-vit-l14", "visual", "openai/clip-vit-large-patch14", ["CLIPModel"], 768,
          pooling="embed", note="CLIP image embedding; text tower for prompt embeddings")
def clip(spec, source, **kw):
    from abaw.features.visual import ClipBackbone
    return ClipBackbone(spec, source, **kw)


@register("dinov2-vit-b14", "visual", "facebook/dinov2-base", ["Dinov2Model"], 768,
          note="pooling patches: CLS + patch tokens pooled to a 2x2 grid (5 tokens)")
@register("dinov2-vit-l14", "visual", "facebook/dinov2-large", ["Dinov2Model"], 1024)
@register("vit-b16", "visual", "google/vit-base-patch16-224-in21k", ["ViTModel"], 768)
@register("vit-mae-b16", "visual", "facebook/vit-mae-base", ["ViTMAEModel"], 768,
          note="masking off: every patch kept, in order")
def hf_vision(spec, source, **kw):
    from abaw.features.visual import HFVisionBackbone
    return HFVisionBackbone(spec, source, **kw)


# stages: timm's feature_info widths of the architecture (tests/test_preflight.py checks them)
@register("resnet18", "visual", "timm/resnet18.a1_in1k", ["ResNet"], 512, pooling="mean",
          note="pooling grid + layer 0: early features with their layout (the offline demo)",
          stages=(64, 64, 128, 256, 512))
@register("convnext-base", "visual", "timm/convnext_base.fb_in22k_ft_in1k", ["ConvNeXt"], 1024,
          pooling="mean", stages=(128, 256, 512, 1024))
@register("resnet50", "visual", "timm/resnet50.a1_in1k", ["ResNet"], 2048, pooling="mean",
          stages=(64, 256, 512, 1024, 2048))
@register("efficientnet-b0", "visual", "timm/efficientnet_b0.ra_in1k", ["EfficientNet"], 1280,
          pooling="mean", note="the family of the EmotiEffNet face features: --weights DIR",
          stages=(16, 24, 40, 112, 320))
@register("face-resnet18", "visual", TRAINED_HERE, ["ResNet"], 512, pooling="mean",
          note="ResNet-18 trained by `abaw models pretrain` on a dataset's training crops",
          stages=(64, 64, 128, 256, 512))
def timm_cnn(spec, source, **kw):
    from abaw.features.visual import TimmBackbone
    return TimmBackbone(spec, source, **kw)


@register("wav2vec2-base", "audio", "facebook/wav2vec2-base", ["Wav2Vec2Model"], 768,
          pooling="mean")
@register("wav2vec2-large-robust", "audio", "facebook/wav2vec2-large-robust", ["Wav2Vec2Model"],
          1024, pooling="mean")
@register("wavlm-base-plus", "audio", "microsoft/wavlm-base-plus", ["WavLMModel"], 768,
          pooling="mean")
@register("hubert-base", "audio", "facebook/hubert-base-ls960", ["HubertModel"], 768,
          pooling="mean")
def ssl_audio(spec, source, **kw):
    from abaw.features.audio import SSLAudioBackbone
    return SSLAudioBackbone(spec, source, **kw)


@register("ast", "audio", "MIT/ast-finetuned-audioset-10-10-0.4593", ["ASTModel"], 768,
          pooling="mean", note="patch tokens averaged over frequency: 10 steps/s")
def ast(spec, source, **kw):
    from abaw.features.audio import ASTBackbone
    return ASTBackbone(spec, source, **kw)


@register("whisper-base", "audio", "openai/whisper-base", ["WhisperModel"], 512, pooling="mean",
          note="encoder only, 30 s windows")
@register("whisper-small", "audio", "openai/whisper-small", ["WhisperModel"], 768,
          pooling="mean", note="encoder only, 30 s windows")
def whisper(spec, source, **kw):
    from abaw.features.audio import WhisperBackbone
    return WhisperBackbone(spec, source, **kw)


@register("logmel", "audio", None, ["LogMel"], 64, pooling="mean",
          note="VGGish-style log-mel front end in NumPy; no weights")
def logmel(spec, source, **kw):
    from abaw.features.audio import LogMelBackbone
    return LogMelBackbone(spec, source, **kw)


@register("minilm-l6", "text", "sentence-transformers/all-MiniLM-L6-v2", ["BertModel"], 384,
          pooling="mean", note="sentence embeddings of per-video text files (features.inputs)")
def sentence(spec, source, **kw):
    from abaw.features.text import SentenceBackbone
    return SentenceBackbone(spec, source, **kw)


@register("text-hash", "text", None, ["HashText"], 256, pooling="mean",
          note="hashed words and word pairs; no weights (offline runs)")
def text_hash(spec, source, **kw):
    from abaw.features.text import HashTextBackbone
    return HashTextBackbone(spec, source, **kw)
