"""What every frozen encoder shares: layer choice, weights fingerprint, device, store meta."""

from __future__ import annotations

import hashlib
import json

import torch

from abaw.errors import AbawError


def parse_layer(layer: str) -> tuple[str, int]:
    """"last" -> ("last", 0); "-2" / "6" -> ("index", i); "mean:4" -> ("mean", 4)."""
    text = str(layer).strip()
    if text == "last":
        return "last", 0
    if text.startswith("mean:") and text[5:].isdigit() and int(text[5:]) >= 1:
        return "mean", int(text[5:])
    try:
        return "index", int(text)
    except ValueError:
        raise AbawError(f"--layer: found {layer!r}, expected last, a layer index such as -2, "
                        "or mean:K (mean of the last K layers)") from None


def select_hidden(out, layer: str) -> torch.Tensor:
    """The tokens of the chosen layer from a transformers output: (B, L, D).

    "last" is the model's own `last_hidden_state` (with its final norm where it has one); an index
    reads `hidden_states` (0 = embeddings); "mean:K" averages the last K entries of `hidden_states`.
    """
    how, k = parse_layer(layer)
    if how == "last":
        return out.last_hidden_state
    hidden = out.hidden_states
    if how == "index":
        if not -len(hidden) <= k < len(hidden):
            raise AbawError(f"--layer: found {k}, expected an index in "
                            f"[-{len(hidden)}, {len(hidden) - 1}] (0 = embeddings)")
        return hidden[k]
    if k > len(hidden) - 1:
        raise AbawError(f"--layer: found mean:{k}, expected K <= {len(hidden) - 1} layers")
    return torch.stack(hidden[-k:]).mean(0)  # (K, B, L, D) -> (B, L, D)


def check_pooling(name: str, pooling: str, allowed: tuple[str, ...]) -> str:
    if pooling not in allowed:
        raise AbawError(f"--pooling: found {pooling!r} for {name}, expected one of "
                        f"{', '.join(allowed)}")
    return pooling


def check_class(spec, model) -> None:
    found = type(model).__name__
    if found not in spec.classes:
        raise AbawError(f"backbone {spec.name}: weights hold a {found}, expected "
                        f"{' or '.join(spec.classes)}")


def load_hf(backbone, spec, source):
    """`AutoModel.from_pretrained` that remembers which weights were not in the files (randomly
    initialised, e.g. an unused pooler): the fingerprint leaves them out."""
    from transformers import AutoModel

    quiet_transformers()
    model, info = AutoModel.from_pretrained(source, output_loading_info=True)
    check_class(spec, model)
    backbone.missing_keys = set(info.get("missing_keys", ()))
    return model


def quiet_transformers() -> None:
    """No download / loading bars from transformers: extraction shows its own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


class Backbone:
    kind = ""
    preprocessing: dict = {}

    def __init__(self, spec, source: str, layer: str, pooling: str):
        self.spec, self.name, self.source = spec, spec.name, source
        self.layer, self.pooling = str(layer), pooling
        self.location = source
        self.model = None
        self.missing_keys: set[str] = set()   # weights the files did not hold
        self.device = torch.device("cpu")
        parse_layer(self.layer)

    def to(self, device):
        self.device = torch.device(device)
        if self.model is not None:
            self.model.to(self.device).eval().requires_grad_(False)
        return self

    @property
    def dim(self) -> int:
        raise NotImplementedError

    @property
    def model_id(self) -> str:
        """The code that built the model, e.g. `transformers:CLIPModel`, `timm:resnet50`."""
        return f"transformers:{type(self.model).__name__}"

    def fingerprint(self) -> str:
        """sha256 of the loaded weights (names, dtypes, bytes): the same weights give the same
        revision wherever they were loaded from (hub cache or a folder, .bin or .safetensors)."""
        h = hashlib.sha256()
        if self.model is None:
            h.update(json.dumps(self.preprocessing, sort_keys=True).encode())
            return h.hexdigest()[:16]
        for key, t in sorted(self.model.state_dict().items()):
            if key in self.missing_keys:
                continue
            t = t.detach().to("cpu").contiguous()
            h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
        return h.hexdigest()[:16]

    def meta(self) -> dict:
        """The store meta of features from this encoder (JSON-normalised for comparison)."""
        meta = {"backbone": self.name, "kind": self.kind, "source": self.model_id,
                "revision": self.fingerprint(), "layer": self.layer, "pooling": self.pooling,
                "preprocessing": self.preprocessing, "dim": self.dim, "weights": self.location}
        if getattr(self, "tokens", None):      # a row holds several tokens (patches, grid cells)
            meta["tokens"] = self.tokens
        return json.loads(json.dumps(meta))
