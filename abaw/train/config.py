"""The typed training config: a TOML recipe, then `--set key=value` overrides, validated.

    [model]              # each section is one dataclass below; each field says why it exists
    head = "tcn"
    head_options = { kernel = 5 }

An unknown section or key, or a value of the wrong type, is an AbawError naming the file (or the
`--set` argument), the key, what was found and what was expected. The resolved config is written
into the run folder as `config.toml` (`abaw.train.run_files`); `abaw predict` and `--resume` read
it back from there.
Only what changes training lives here; a recipe's pipeline sections (features, post-processing,
how the track is predicted) extend it in `abaw.recipe`, loaded by the same `load_config`.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # the same parser, from PyPI (setup.cfg)
    import tomli as tomllib

from abaw.artifacts import read_toml
from abaw.errors import AbawError
from abaw.train.bounds import (
    Free,
    Keys,
    OneOf,
    Options,
    Pattern,
    Range,
    check_models,
    check_sections,
    shown,
)

# Sizes beyond these cannot be meant (and would not fit in memory): the largest window, width and
# depth a head may have; `abaw.train.trainer` also checks that a run's model and batches fit.
MAX_FRAMES = 16_384        # ~11 minutes at 25 fps: a window, a stride
MAX_WIDTH = 16_384         # hidden sizes, embedding sizes
MAX_LAYERS = 64
MAX_BATCH = 65_536
PROBABILITY = Range(0.0, 1.0, hi_open=True)     # dropout-like rates
WEIGHT = Range(0.0, 1e3)                        # loss weights
TEMPERATURE = Range(0.0, 1e3, lo_open=True)


@dataclass
class DataConfig:
    window: int = 0            # frames per window; 0 = the track's default (LSD/MTL: 1)
    stride: int = 0            # hop between training windows; 0 = window // 2
    predict_stride: int = 0    # hop when predicting; 0 = window // 2, overlapping outputs averaged
    normalize: bool = True     # standardise each feature with training statistics (kept in ckpts)
    frame_skip: int = 1        # training windows read every k-th frame, k drawn in 1..frame_skip
    #                            per window: fewer near-identical neighbours (prediction: k = 1)
    norm_rows: int = 200_000   # at most this many training rows (evenly spaced) estimate them

    BOUNDS: ClassVar[dict] = {"window": Range(0, MAX_FRAMES), "stride": Range(0, MAX_FRAMES),
                              "predict_stride": Range(0, MAX_FRAMES),
                              "frame_skip": Range(1, MAX_FRAMES), "norm_rows": Range(1, 10**9)}


@dataclass
class ModelConfig:
    head: str = "gru"          # a registered head: mlp, tcn, gru, bigru, transformer, mamba
    hidden: int = 128          # width of the head
    layers: int = 2            # depth of the head
    dropout: float = 0.1
    causal: bool = False       # see only past frames (prediction ahead)
    head_options: dict = field(default_factory=dict)    # head-specific, e.g. {kernel = 5}
    fusion: str = ""           # a registered fusion; "" = concat when several feature stores
    fusion_dim: int = 128      # width of the fused stream
    fusion_options: dict = field(default_factory=dict)  # fusion-specific, e.g. {heads = 8}
    embed_dim: int = 0         # > 0: per-frame embedding for prompt losses (= prompt dim; set
    #                            by the prompts stage from its text tower when it makes them)
    adapters: dict = field(default_factory=dict)  # stream kind -> registered adapter applied
    #                            to that stream before fusion, e.g. {audio = "attn_stats"}
    adapter_options: dict = field(default_factory=dict)  # stream kind -> its adapter's options,
    #                            e.g. {audio = {context = 15}}
    horizon: int = 0           # frames ahead: the output at t reads inputs <= t - horizon
    #                            (needs causal = true; CAPNet predicts 1/3 s ahead)
    va_output: str = "cartesian"  # cartesian | polar (radius + direction -> v, a)

    BOUNDS: ClassVar[dict] = {
        "head": Free("a registered head (checked with its options)"),
        "hidden": Range(1, MAX_WIDTH), "layers": Range(1, MAX_LAYERS), "dropout": PROBABILITY,
        "head_options": Options("head", "head"),
        "fusion": Free("a registered fusion or \"\" (checked with its options)"),
        "fusion_dim": Range(1, MAX_WIDTH), "fusion_options": Options("fusion", "fusion"),
        "embed_dim": Range(0, MAX_WIDTH),
        "adapters": Keys(("visual", "audio", "text"),
                         Pattern(r"\S+", "a registered adapter (checked with the model)")),
        "adapter_options": Keys(("visual", "audio", "text"), Options("adapter", "adapters")),
        "horizon": Range(0, MAX_FRAMES), "va_output": OneOf("cartesian", "polar")}


# head and fusion options, by name (the same name means the same thing in every model); a
# model's constructor says which it takes and of which type
OPTION_BOUNDS = {
    "hidden": Range(1, MAX_WIDTH), "layers": Range(1, MAX_LAYERS), "dropout": PROBABILITY,
    "kernel": Range(1, 1025), "heads": Range(1, 256), "attention_layers": Range(1, MAX_LAYERS), "mask_prob": PROBABILITY,
    "state": Range(1, 1024), "expand": Range(1, 64), "modality_dropout": PROBABILITY,
    "audio": Range(-64, 63), "context": Range(1, 1024),
}


@dataclass
class LossConfig:
    main: str = ""             # "" = by output kind: values ccc, classes ce, binary bce; or
    #                            values: ccc | mse | ccc+mse; classes: ce | focal | vnaw
    class_weights: str = "inverse"   # classes: none | inverse | sqrt (of the training histogram)
    pos_weights: bool = True   # binary: weight positives by negatives/positives per column
    focal_gamma: float = 2.0   # focal loss exponent
    label_smoothing: float = 0.0
    vnaw_lambda: float = 0.5   # V-NAW: share of plain CE in lam * CE + (1 - lam) * weighted CE
    task_weights: dict = field(default_factory=dict)    # multi-task, e.g. {VA = 1, AU = 0.5}
    teacher: str = ""          # prediction set (.npz) of a teacher on the training split
    kd_weight: float = 1.0     # distillation weight when a teacher is given
    kd_temperature: float = 2.0
    prompts: str = ""          # .npy (C, E) class-prompt (or 9 VA-region) text embeddings
    prompt_weight: float = 0.1  # auxiliary: small enough that the task loss leads
    prompt_temperature: float = 0.07
    grid_sigma: float = 0.35   # width of the Gaussian VA-grid soft labels
    task_discriminator: float = 0.0  # > 0: weight of an auxiliary head telling which tasks are
    #                            annotated at each frame (multi-task data with missing labels)

    BOUNDS: ClassVar[dict] = {
        "main": OneOf("", "ccc", "mse", "ccc+mse", "ce", "focal", "vnaw", "bce"),
        "class_weights": OneOf("none", "inverse", "sqrt"), "focal_gamma": Range(0.0, 100.0),
        "label_smoothing": PROBABILITY, "vnaw_lambda": Range(0.0, 1.0),
        "task_weights": Keys(("VA", "EXPR", "AU"), WEIGHT),
        "teacher": Free("a path"), "kd_weight": WEIGHT, "kd_temperature": TEMPERATURE,
        "prompts": Free("a path"), "prompt_weight": WEIGHT,
        "prompt_temperature": TEMPERATURE, "grid_sigma": Range(0.0, 100.0, lo_open=True),
        "task_discriminator": WEIGHT}


@dataclass
class OptimConfig:
    optimizer: str = "adamw"   # adamw | adam | sgd
    lr: float = 1e-3
    weight_decay: float = 0.01
    epochs: int = 20
    batch_size: int = 32       # windows per optimiser step (global, over all processes)
    accumulate: int = 1        # micro-batches per optimiser step
    schedule: str = "cosine"   # cosine | linear | constant, after warmup
    warmup: float = 0.05       # fraction of the steps with a linear warmup
    grad_clip: float = 1.0     # max gradient norm; 0 = off
    amp: bool = True           # bfloat16 autocast on GPU (ignored on CPU)
    patience: int = 5          # early stopping: epochs without a better validation score

    BOUNDS: ClassVar[dict] = {
        "optimizer": OneOf("adamw", "adam", "sgd"), "lr": Range(0.0, 10.0, lo_open=True),
        "weight_decay": Range(0.0, 10.0), "epochs": Range(1, 100_000),
        "batch_size": Range(1, MAX_BATCH), "accumulate": Range(1, MAX_BATCH),
        "schedule": OneOf("cosine", "linear", "constant"), "warmup": Range(0.0, 1.0),
        "grad_clip": Range(0.0, 1e6), "patience": Range(0, 100_000)}


@dataclass
class RunConfig:
    seed: int = 0
    deterministic: bool = True  # deterministic kernels (same seed, same data -> same model)
    folds: int = 1             # > 1: k-fold over train + val videos (by video, never by frame)
    fold: int = -1             # with folds > 1: train only this fold; -1 = every fold
    device: str = "auto"       # auto | cpu | cuda | cuda:N
    eval_every: int = 1        # validate every N epochs (and after the last)

    BOUNDS: ClassVar[dict] = {
        "seed": Range(0, 2**32 - 1),       # NumPy's and torch's seeds; the trainer scales it
        "folds": Range(1, 1000), "fold": Range(-1, 999),
        "device": Pattern(r"auto|cpu|cuda(:[0-9]+)?", "auto, cpu, cuda or cuda:N"),
        "eval_every": Range(1, 100_000)}


@dataclass
class CurriculumConfig:
    """A schedule that changes what training shows over the epochs (single -> compound)."""

    kind: str = ""             # "" | compound: from `start` on, a `share` of the batches mix two
    #                            windows half and half and learn both windows' labels
    start: float = 0.5         # fraction of the epochs before the second phase
    share: float = 0.5         # fraction of the batches mixed in the second phase

    BOUNDS: ClassVar[dict] = {"kind": OneOf("", "compound"), "start": Range(0.0, 1.0),
                              "share": Range(0.0, 1.0)}


@dataclass
class Config:
    track: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)

    def training(self) -> Config:
        """The training sections alone (of a recipe, which extends them)."""
        return Config(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Config)})


def _describe(typ) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            dict: "a table, e.g. {key = 1}", list: "a list, e.g. [1, 2]"}.get(typ, str(typ))


def _coerce(value, typ, where: str):
    ok = (isinstance(value, bool) if typ is bool else
          isinstance(value, (int, float)) and not isinstance(value, bool) if typ is float else
          isinstance(value, int) and not isinstance(value, bool) if typ is int else
          isinstance(value, typ))
    if not ok:
        raise AbawError(f"{where}: found {shown(value)}, expected {_describe(typ)}")
    try:
        return float(value) if typ is float else value
    except OverflowError:
        raise AbawError(f"{where}: found {shown(value)}, expected a finite number") from None


def _section_fields(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _set(cfg: Config, dotted: str, value, origin: str, origins: dict) -> None:
    parts = dotted.split(".")
    top = _section_fields(type(cfg))
    if parts[0] not in top:
        raise AbawError(f"{origin}: field {parts[0]}: unknown, expected one of {', '.join(top)}")
    if parts[0] == "track":
        cfg.track = _coerce(value, str, f"{origin}: field track")
        return
    section = getattr(cfg, parts[0])
    if len(parts) == 1:
        if not isinstance(value, dict):
            raise AbawError(f"{origin}: field {parts[0]}: found {value!r}, expected a section")
        for k, v in value.items():
            _set(cfg, f"{parts[0]}.{k}", v, origin, origins)
        return
    known = _section_fields(type(section))
    name = parts[1]
    if name not in known:
        raise AbawError(f"{origin}: field {parts[0]}.{name}: unknown, expected one of "
                        f"{', '.join(known)}")
    where = f"{origin}: field {'.'.join(parts[:2])}"
    origins[".".join(parts[:2])] = origin
    if len(parts) > 2:                       # model.head_options.kernel = 5
        if known[name] is not dict:
            raise AbawError(f"{origin}: field {dotted}: unknown, {where.split(': ')[-1]} is not a table")
        table, keys = getattr(section, name), parts[2:]
        bound = getattr(section, "BOUNDS", {}).get(name)
        if isinstance(bound, Keys) and isinstance(bound.item, Options) and len(keys) > 1:
            inner = table.setdefault(keys[0], {})   # model.adapter_options.audio.context = 15
            if not isinstance(inner, dict):
                raise AbawError(f"{origin}: field {dotted}: found {shown(inner)} at "
                                f"{'.'.join(parts[:3])}, expected a table")
            table, keys = inner, keys[1:]
        table[".".join(keys)] = value
        return
    setattr(section, name, _coerce(value, known[name], where))


def _validate(cfg: Config, origin: str) -> None:
    """Every section's fields within their `BOUNDS` (model options: `check_models`), and the
    fold within the folds."""
    check_sections(cfg, origin)
    if cfg.run.fold >= cfg.run.folds:
        raise AbawError(f"{origin}: field run.fold: found {cfg.run.fold}, expected -1 (all) or "
                        f"0..{cfg.run.folds - 1}")


def parse_override(text: str):
    """`key=value` -> (key, value); the value is read as TOML (3, 1e-3, true, "x", {a = 1}),
    and as a plain string when it is not valid TOML (`--set model.head=tcn`)."""
    if "=" not in text:
        raise AbawError(f"--set {text}: found no '=', expected key=value, e.g. optim.lr=3e-4")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, ValueError):    # ValueError: an integer of 4300+ digits
        value = raw
    return key, value


def load_config(recipe=None, overrides=(), track: str | None = None, schema=Config,
                known_only: bool = False):
    """Defaults <- recipe file <- `--set` overrides; `track` (from the command line) must agree
    with a track named in the recipe. `schema`: Config or a class extending it (a recipe);
    `known_only`: the file's top-level keys the schema lacks are skipped (a run folder's config
    written with more sections than training reads)."""
    cfg = schema()
    origin = "defaults"
    origins: dict = {}                      # "section.field" -> where it was last set
    if recipe is not None:
        path = Path(recipe)
        if not path.is_file():
            raise AbawError(f"{path}: recipe not found, expected a TOML file")
        data = read_toml(path, "a recipe or a run's config.toml")
        origin = str(path)
        known = _section_fields(schema)
        for k, v in data.items():
            if known_only and k not in known:
                continue
            _set(cfg, k, v, origin, origins)
        _validate(cfg, origin)
    for text in overrides:
        key, value = parse_override(text)
        origin = f"--set {text}"
        _set(cfg, key, value, origin, origins)
        _validate(cfg, origin)
    if track:
        if cfg.track and cfg.track.upper() != track.upper():
            raise AbawError(f"{origin}: field track: found {cfg.track!r}, expected {track!r} as "
                            "given by --track")
        cfg.track = track
    cfg.track = cfg.track.upper()
    _validate(cfg, origin)
    check_models(cfg.model, origins, OPTION_BOUNDS)
    return cfg
