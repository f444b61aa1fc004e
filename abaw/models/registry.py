"""The model registry: a dict and two decorators, as in timm.

Heads map `(B, T, D)` features and a `(B, T)` bool mask to `(B, T, out)`; fusion modules map a
list of `(B, T, D_i)` streams and the mask to `(B, T, out)`. Both are built by name with
`create_model(name, **options)`; an unknown name or option is an AbawError listing the valid ones.
"""

from __future__ import annotations

import inspect
import types
import typing

from abaw.errors import AbawError

# name -> (kind, class); kind is "head", "fusion" or "adapter" (a per-stream transform applied
# before fusion, `(B, T, D) -> (B, T, out)`, built like a head: `in_dim`, `out_dim`)
_REGISTRY: dict[str, tuple[str, type]] = {}


def _register(kind: str, name: str):
    def deco(cls):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = (kind, cls)
        cls.registry_name = name
        return cls
    return deco


def register_head(name: str):
    return _register("head", name)


def register_fusion(name: str):
    return _register("fusion", name)


def register_adapter(name: str):
    return _register("adapter", name)


def list_models(kind: str | None = None) -> list[str]:
    """Registered names, sorted; `kind` = "head", "fusion" or "adapter" keeps only that kind."""
    return sorted(n for n, (k, _) in _REGISTRY.items() if kind is None or k == kind)


def model_kind(name: str) -> str:
    return _lookup(name)[0]


def model_class(name: str) -> type:
    return _lookup(name)[1]


def model_options(name: str) -> list[str]:
    """The keyword options a model accepts (its constructor's parameters)."""
    params = inspect.signature(_lookup(name)[1].__init__).parameters
    return [p for p in params if p != "self" and params[p].kind is not params[p].VAR_KEYWORD]


# what abaw itself passes to a model (the stream widths, their patch tokens): never a user option
GIVEN = ("in_dim", "in_dims", "out_dim", "in_tokens")


def model_signature(name: str) -> dict[str, tuple[type, object]]:
    """option -> (its type: int, float, bool, str or dict; its default) for the options a user
    may set, read from the constructor's signature (`x: dict | None = None` is a dict)."""
    cls = _lookup(name)[1]
    hints = typing.get_type_hints(cls.__init__)
    params = inspect.signature(cls.__init__).parameters
    out = {}
    for p in model_options(name):
        if p in GIVEN:
            continue
        hint = hints.get(p, type(params[p].default))
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        out[p] = (typing.get_origin(hint) or hint, params[p].default)
    return out


def _lookup(name: str):
    if name not in _REGISTRY:
        raise AbawError(f"model: found {name!r}, expected one of {', '.join(list_models())}")
    return _REGISTRY[name]


def create_model(name: str, **options):
    """Build a registered head or fusion module; unknown options are an error naming them."""
    kind, cls = _lookup(name)
    accepted = model_options(name)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise AbawError(f"model {name}: option {unknown[0]!r}: unknown, expected one of "
                        f"{', '.join(accepted)}")
    return cls(**options)
