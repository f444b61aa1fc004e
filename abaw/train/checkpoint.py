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
    """(tensors, meta) of a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise AbawError(f"{path}: checkpoint not found")
    data = path.read_bytes()
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
        meta = json.loads(header.get("__metadata__", {}).get("abaw", "{}"))
    except (SafetensorError, ValueError) as e:
        raise AbawError(f"{path}: not a readable checkpoint ({e})") from None
    return tensors, meta


def model_state(tensors: dict) -> dict:
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
