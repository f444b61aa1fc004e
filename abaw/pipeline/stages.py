"""The stages `abaw run` makes by itself, before training, when a recipe asks for them.

    cfg = prepare(cfg, track, index, work, quiet)        # run_track: make what is missing
    makes(cfg, track, root, work) -> {path: stage}       # what a recipe will read, and who makes it

Each stage is registered with what it makes, where under the work folder, and how its result
fills the recipe; a stage whose artifact exists is skipped (its path is a hash of everything it
depends on), and an interrupted one resumes (the teacher from its last epoch, image training
from its last epoch):

| stage   | asked by                | makes                                  | fills                  |
|---------|-------------------------|----------------------------------------|------------------------|
| offline | features.offline        | nothing: the backbones become the offline encoders (the track demo's visual encoder, log-mel audio, hashed text) | features.* |
| image   | stages.image = [...]    | <work>/models/<dataset>/<backbone>-<methods>-<hash>/ weights | features.weights |
| prompts | stages.prompts = true   | <work>/stages/prompts/<encoder>-<track>-<hash>.npy | loss.prompts, model.embed_dim |
| teacher | stages.teacher = true   | <work>/stages/<dataset>/<track>-teacher-<hash>/predictions/train.npz | loss.teacher |

Sizes come from what a stage made, never from the recipe: `model.embed_dim` is the width of the
text tower's embeddings (also for a prompt file the recipe names itself).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from abaw.errors import AbawError
from abaw.pipeline.features import dataset_key, ensure_random
from abaw.pipeline.outcome import say

OFFLINE = {"audio": "logmel", "text": "text-hash"}   # the visual one is the track demo's


@dataclass
class Context:
    track: object                  # the Track the model learns
    root: Path                     # dataset root
    work: Path
    index: object = None           # the DatasetIndex (None when only paths are asked)
    quiet: bool = True
    edition: int | None = None     # the dataset's edition (its class lists)


@dataclass(frozen=True)
class Stage:
    name: str
    makes: str                                          # in words
    wanted: Callable[[object], bool]                    # cfg -> asked for?
    target: Callable[[object, Context], Path]           # where its artifact goes
    make: Callable[[object, Context, Path], None]       # make it there
    fill: Callable[[object, Context, Path], None]       # point the recipe at it


STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    if stage.name in STAGES:
        raise ValueError(f"stage {stage.name} registered twice")
    STAGES[stage.name] = stage
    return stage


def _hash(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


# --- offline encoders -------------------------------------------------------------------------

def offline_encoders(cfg, track) -> None:
    """The recipe's backbones replaced in place by the offline encoders: visual -> the track's
    demo visual encoder (with its weights, layer and pooling), audio -> log-mel, text -> hashed
    words; everything else of the recipe stays."""
    from abaw.features.registry import get_spec
    from abaw.recipe import load_recipe
    from tracks import recipe_path

    demo = load_recipe(recipe_path(track, "demo"), track=track.name).features
    visual = demo.backbones[0]
    f = cfg.features
    names, weights, layers, pooling, inputs = [], {}, {}, {}, {}
    for name in f.backbones:
        kind = get_spec(name).kind
        new = visual if kind == "visual" else OFFLINE[kind]
        if new in names:
            continue
        names.append(new)
        if kind == "visual":
            for src, dst in ((demo.weights, weights), (demo.layers, layers), (demo.pooling, pooling)):
                if visual in src:
                    dst[visual] = src[visual]
        if kind == "text" and name in f.inputs:
            inputs[new] = f.inputs[name]
    f.backbones, f.weights, f.layers, f.pooling, f.inputs = names, weights, layers, pooling, inputs
    f.workers = demo.workers
    if cfg.stages.prompts:
        cfg.stages.prompt_encoder = OFFLINE["text"]


def _offline_fill(cfg, ctx: Context, path: Path) -> None:
    offline_encoders(cfg, ctx.track)


register(Stage("offline", "the recipe's backbones become the offline encoders",
               lambda cfg: cfg.features.offline, lambda cfg, ctx: Path(),
               lambda cfg, ctx, path: None, _offline_fill))


# --- image-level training of the visual backbone ----------------------------------------------

def _visual(cfg) -> str:
    from abaw.features.registry import get_spec

    for name in cfg.features.backbones:
        if get_spec(name).kind == "visual":
            return name
    raise AbawError(f"stages.image: found {cfg.stages.image}, expected a recipe with a visual "
                    f"backbone (features.backbones = {cfg.features.backbones})")


def _image_target(cfg, ctx: Context) -> Path:
    name, s = _visual(cfg), cfg.stages
    key = _hash(name, cfg.features.weights.get(name), s.image, sorted(s.image_tasks),
                s.image_epochs, s.image_frames, s.image_lr, s.image_batch, cfg.run.seed)
    return ctx.work / "models" / dataset_key(ctx.root) / f"{name}-{'-'.join(s.image)}-{key}"


def _image_make(cfg, ctx: Context, path: Path) -> None:
    from abaw.features.registry import create_backbone
    from abaw.train.image_stages import train_image_stages

    name, s = _visual(cfg), cfg.stages
    weights = cfg.features.weights.get(name)
    if weights == "random":
        weights = ensure_random(name, ctx.work / "models" / f"{name}-random-seed{cfg.run.seed}",
                                cfg.run.seed)
    elif weights == "pretrain":
        raise AbawError(f"features.weights.{name}: found \"pretrain\" with stages.image, expected "
                        "one of them (stages.image = [\"supervised\"] is the pre-training)")
    say(ctx.quiet, f"stage image: training {name} on the training images ({', '.join(s.image)})")
    train_image_stages(ctx.index, create_backbone(name, weights=weights), list(s.image), path,
                       tasks=s.image_tasks, epochs=s.image_epochs, frames=s.image_frames,
                       lr=s.image_lr, batch_size=s.image_batch, seed=cfg.run.seed,
                       quiet=ctx.quiet)


def _image_fill(cfg, ctx: Context, path: Path) -> None:
    cfg.features.weights = {**cfg.features.weights, _visual(cfg): str(path)}


register(Stage("image", "the visual backbone trained image by image on the training crops",
               lambda cfg: bool(cfg.stages.image), _image_target, _image_make, _image_fill))


# --- prompt embeddings ------------------------------------------------------------------------

def _prompt_encoder(cfg) -> str:
    from abaw.features.registry import get_spec

    if cfg.stages.prompt_encoder:
        get_spec(cfg.stages.prompt_encoder)
        return cfg.stages.prompt_encoder
    for name in cfg.features.backbones:
        spec = get_spec(name)
        if spec.family == "clip" or spec.kind == "text":
            return name
    raise AbawError(f"stages.prompt_encoder: found none, expected a text tower: a CLIP or text "
                    f"backbone among features.backbones ({', '.join(cfg.features.backbones)}) "
                    "or named here")


def _prompt_texts(ctx: Context) -> list[str]:
    from abaw.features.prompts import class_prompts

    edition = ctx.index.edition if ctx.index is not None else ctx.edition
    if edition is None:
        return class_prompts(ctx.track.name)
    return class_prompts(ctx.track.name, ctx.track.edition_for(edition))


def _prompts_target(cfg, ctx: Context) -> Path:
    from abaw.features.registry import get_spec, resolve_weights

    name = _prompt_encoder(cfg)
    spec = get_spec(name)
    weights = cfg.features.weights.get(name)
    source = resolve_weights(spec, weights)[0] if weights not in ("random", "pretrain") else weights
    key = _hash(name, source, _prompt_texts(ctx))
    return ctx.work / "stages" / "prompts" / f"{name}-{ctx.track.key}-{key}.npy"


def _prompts_make(cfg, ctx: Context, path: Path) -> None:
    from abaw.features.prompts import write_prompt_embeddings
    from abaw.features.registry import create_backbone

    name = _prompt_encoder(cfg)
    weights = cfg.features.weights.get(name)
    say(ctx.quiet, f"stage prompts: embedding the {ctx.track.name} prompts with {name}")
    write_prompt_embeddings(create_backbone(name, weights=weights if weights not in (
        "random", "pretrain") else None), _prompt_texts(ctx), path)


def _prompts_fill(cfg, ctx: Context, path: Path) -> None:
    cfg.loss.prompts = str(path)


register(Stage("prompts", "class-prompt text embeddings from the recipe's own text tower",
               lambda cfg: cfg.stages.prompts, _prompts_target, _prompts_make, _prompts_fill))


# --- teacher ----------------------------------------------------------------------------------

def teacher_config(cfg):
    """The teacher's training config: this recipe's, without distillation, one split."""
    t = copy.deepcopy(cfg.training())
    t.loss.teacher = ""
    t.run = dataclasses.replace(t.run, folds=1, fold=-1)
    return t


def _teacher_target(cfg, ctx: Context) -> Path:
    from abaw.train.run_files import to_toml

    f = cfg.features
    key = _hash(to_toml(teacher_config(cfg)), f.backbones, f.weights, f.layers, f.pooling,
                f.inputs)
    return (ctx.work / "stages" / dataset_key(ctx.root) / f"{ctx.track.key}-teacher-{key}" /
            "predictions" / "train.npz")


def _teacher_make(cfg, ctx: Context, path: Path) -> None:
    from abaw.pipeline.features import ensure_features
    from abaw.train.predict import predict_run
    from abaw.train.trainer import train

    run_dir = path.parents[1]
    stores = ensure_features(ctx.index, cfg, ctx.work, [ctx.track.index_name], ctx.quiet)
    say(ctx.quiet, f"stage teacher: training the teacher in {run_dir}")
    t = dataclasses.replace(teacher_config(cfg), track=ctx.track.name)
    train(ctx.track, t, ctx.index, stores, run_dir,
          resume=(run_dir / "last.safetensors").is_file(), quiet=ctx.quiet)
    predict_run(ctx.track, run_dir, "train", ctx.index, stores, out=path, quiet=True)


def _teacher_fill(cfg, ctx: Context, path: Path) -> None:
    cfg.loss.teacher = str(path)


register(Stage("teacher", "a teacher's outputs on the training split, for distillation",
               lambda cfg: cfg.stages.teacher, _teacher_target, _teacher_make, _teacher_fill))


# --- the two entry points ---------------------------------------------------------------------

def prepare(cfg, track, index, work, quiet: bool = True):
    """A copy of `cfg` with every stage it asks for made (or found) and filled in, in order."""
    cfg = copy.deepcopy(cfg)
    ctx = Context(track, Path(index.root), Path(work), index, quiet)
    for stage in STAGES.values():
        if not stage.wanted(cfg):
            continue
        path = stage.target(cfg, ctx)
        if stage.name != "offline" and not path.exists():
            stage.make(cfg, ctx, path)
        stage.fill(cfg, ctx, path)
    if cfg.loss.prompts and not cfg.model.embed_dim:
        cfg.model.embed_dim = prompt_width(cfg.loss.prompts)
    return cfg


def makes(cfg, track, root, work, edition: int | None = None) -> dict[Path, str]:
    """{artifact path: stage name} of what the stages `cfg` asks for will make (or reuse) for
    the dataset at `root` (of `edition`, default the latest: its class lists name prompts)."""
    cfg = copy.deepcopy(cfg)
    ctx = Context(track, Path(root), Path(work), edition=edition)
    out = {}
    for stage in STAGES.values():
        if stage.wanted(cfg):
            path = stage.target(cfg, ctx)
            if stage.name != "offline":
                out[path] = stage.name
            stage.fill(cfg, ctx, path)
    return out


def prompt_width(path) -> int:
    """The embedding width of a prompt file (what model.embed_dim must be)."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise AbawError(f"loss.prompts: found {p}, a file that does not exist; expected a .npy "
                        "(or stages.prompts = true to make it)")
    try:
        shape = np.load(p, mmap_mode="r", allow_pickle=False).shape
    except ValueError as e:
        raise AbawError(f"{p}: not a NumPy array ({e}), expected (prompts, width) floats") from None
    if len(shape) != 2:
        raise AbawError(f"{p}: found shape {shape}, expected (prompts, width)")
    return int(shape[1])
