"""What a run folder holds of how it was trained: the resolved config as `config.toml` (written,
hashed, read back, compared for `--resume`) and `run.json` (the data it was trained on)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from abaw.artifacts import check_fields, read_json
from abaw.errors import AbawError
from abaw.train.config import Config, load_config


def to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)                       # TOML basic strings use JSON's escapes
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def to_toml(cfg: Config) -> str:
    d = to_dict(cfg)
    lines = [f"track = {_toml_value(d.pop('track'))}"]
    for sec, values in d.items():
        lines += ["", f"[{sec}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def config_hash(cfg: Config) -> str:
    return hashlib.sha256(to_toml(cfg).encode()).hexdigest()[:16]


def read_run_config(run_dir) -> Config:
    """The training config a run folder was trained with (earlier runs also hold their
    recipe's pipeline sections there: they are skipped)."""
    from tracks import NAMES

    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise AbawError(f"{path}: not found, expected a run folder written by `abaw train`")
    cfg = load_config(path, known_only=True)
    if cfg.track.lower() not in NAMES:
        raise AbawError(f"{path}: field track: found {cfg.track!r}, expected the track the run "
                        f"was trained on, one of {', '.join(n.upper() for n in NAMES)}")
    return cfg


RUN_INFO = {"track": str, "edition": int, "index_root": str, "features": (list, str),
            "feature_meta": (list, dict), "train_ids": (list, str), "val_ids": (list, str),
            "window": int, "predict_stride": int}


def read_run_info(run_dir) -> dict:
    """A trained run's `run.json` (what it was trained on), its fields checked."""
    path = Path(run_dir) / "run.json"
    info = check_fields(read_json(path, "a run.json written by `abaw train`"), path, RUN_INFO)
    for key in ("window", "predict_stride"):
        if info[key] < 1:
            raise AbawError(f"{path}: field {key}: found {info[key]}, expected >= 1")
    if len(info["feature_meta"]) != len(info["features"]):
        raise AbawError(f"{path}: field feature_meta: found {len(info['feature_meta'])} entries, "
                        f"expected {len(info['features'])} (one per feature store)")
    return info


def diff(a: Config, b: Config) -> str | None:
    """The first dotted key of `a`'s sections whose value differs in `b`, or None (the resume
    check: a Config compares what changes training, nothing of a recipe's pipeline sections)."""
    da, db = to_dict(a), to_dict(b)
    for sec in da:
        if isinstance(da[sec], dict):
            for k in da[sec]:
                if da[sec][k] != db[sec][k]:
                    return f"{sec}.{k}"
        elif da[sec] != db[sec]:
            return sec
    return None
