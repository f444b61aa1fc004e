"""Checkpoints as safetensors: tensors plus a JSON state in the file's metadata, one atomic file.

`last.safetensors` holds the model (`model.*`), the optimiser state flattened to tensors
(`optim.<param>.<name>`) and the training state (epoch, step, best score, history, the optimiser's
param groups) as JSON. One file renamed into place means a kill leaves either the previous
complete checkpoint or the new one, never a mix. Nothing is unpickled when loading.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from abaw.artifacts import DECODE_ERRORS, damaged, read_bytes
from abaw.atomic import write_bytes
from abaw.errors import AbawError


def atomic_write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode(), fsync=True)


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """(tensors, json-able rest) of an optimiser's state_dict."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def restore_optimizer(opt: torch.optim.Optimizer, tensors: dict, rest: dict) -> None:
    state: dict = {}
    for name, v in tensors.items():
        if name.startswith("optim."):
            _, pid, k = name.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    for key, v in rest["scalars"].items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    groups = rest["param_groups"]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})


def save(path, model: torch.nn.Module, meta: dict, optimizer=None) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone()
               for k, v in model.state_dict().items()}
    if optimizer is not None:
        opt_t, rest = optimizer_tensors(optimizer)
        tensors.update(opt_t)
        meta = {**meta, "optimizer": rest}
    write_bytes(Path(path), st_save(tensors, metadata={"abaw": json.dumps(meta)}), fsync=True)


def load(path) -> tuple[dict, dict]:
    """(tensors, meta) of a checkpoint; a file that is not one is an AbawError naming it."""
    path = Path(path)
    what = "a checkpoint written by `abaw train` (.safetensors)"
    data = read_bytes(path, what)
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
        meta = json.loads(header.get("__metadata__", {}).get("abaw", "{}"))
    except (SafetensorError, *DECODE_ERRORS, AttributeError, TypeError) as e:
        raise damaged(path, what, e) from None
    if not isinstance(meta, dict):
        raise AbawError(f"{path}: field __metadata__.abaw: found a JSON "
                        f"{type(meta).__name__}, expected an object ({what})")
    return tensors, meta


def model_state(tensors: dict) -> dict:
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}


def load_model(model: torch.nn.Module, tensors: dict, path) -> None:
    """Load a checkpoint's `model.*` tensors into `model`; a missing, extra or misshaped tensor
    (another architecture, a damaged file) is an AbawError naming the file and the tensor."""
    state, want = model_state(tensors), model.state_dict()
    for name, t in want.items():
        if name not in state:
            raise AbawError(f"{path}: tensor model.{name} is missing, expected the weights of "
                            "the model config.toml describes")
        if tuple(state[name].shape) != tuple(t.shape):
            raise AbawError(f"{path}: tensor model.{name}: found shape "
                            f"{tuple(state[name].shape)}, expected {tuple(t.shape)} (the model "
                            "config.toml describes)")
        if state[name].dtype.is_floating_point != t.dtype.is_floating_point:
            raise AbawError(f"{path}: tensor model.{name}: found {state[name].dtype}, expected "
                            f"{t.dtype}")
    extra = sorted(set(state) - set(want))
    if extra:
        raise AbawError(f"{path}: found tensor model.{extra[0]}, expected only the tensors of "
                        "the model config.toml describes")
    model.load_state_dict(state)


def restore(path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    """Resume from `last.safetensors`: load the model and the optimiser; returns the training
    state. Whatever in the file does not fit the run is an AbawError naming the file."""
    tensors, meta = load(path)
    load_model(model, tensors, path)
    if not isinstance(meta.get("state"), dict) or not isinstance(meta.get("optimizer"), dict):
        raise AbawError(f"{path}: found no training state, expected a last.safetensors with "
                        "the epoch and the optimiser (or train again without --resume)")
    try:
        # everything here reads the file's content: a failure is a damaged or foreign file
        restore_optimizer(opt, tensors, meta["optimizer"])
        state = meta["state"]
        for key, typ in (("epoch", int), ("step", int), ("best_score", float),
                         ("best_epoch", int), ("bad_epochs", int), ("history", list),
                         ("done", bool)):
            if not isinstance(state[key], typ) and not (typ is float and isinstance(state[key], int)):
                raise TypeError(f"state.{key} is {state[key]!r}")
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
        raise AbawError(f"{path}: found a training state abaw cannot resume from ({type(e).__name__}: "
                        f"{str(e)[:120]}), expected one written by `abaw train`") from None
    return state
