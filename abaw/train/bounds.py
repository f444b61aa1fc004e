"""The bounds of config values: what each field may hold, declared beside it in its section.

Each config section lists `BOUNDS = {field: bound}` right under its fields; `check_section` reads
that table. A bound says what it expects in words, so every refusal is one line naming the key,
the value found and what was expected. Numbers are finite wherever they are bounded: NaN and
infinities never pass a `Range`.

    Range(lo, hi)            lo <= x <= hi (open ends with lo_open / hi_open; whole: integers)
    OneOf(a, b, ...)         one of a closed set of values
    Pattern(regex, words)    a string matching regex
    Each(bound, min_len)     a list (or a table's values) whose every item meets `bound`
    Keys(names, bound)       a table whose keys are among `names`, each value meeting `bound`
    Options(kind, name_key)  a table of a head's or fusion's constructor options (see
                             `check_options`): keys its constructor takes, values of its types
    Free(why)                a string or table abaw does not bound (a path, a free name)
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from abaw.errors import AbawError


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Range:
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    whole: bool = False       # whole numbers only (list items; typed fields are checked already)

    def ok(self, x) -> bool:
        if not _num(x) or not math.isfinite(x) or (self.whole and not isinstance(x, int)):
            return False
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        return not (self.hi is not None and (x >= self.hi if self.hi_open else x > self.hi))

    @property
    def expected(self) -> str:
        lo = "" if self.lo is None else f"{_fmt(self.lo)} {'<' if self.lo_open else '<='} "
        hi = "" if self.hi is None else f" {'<' if self.hi_open else '<='} {_fmt(self.hi)}"
        return f"{'a whole' if self.whole else 'a finite'} number with {lo}x{hi}"


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", values)

    def ok(self, x) -> bool:
        return isinstance(x, type(self.values[0])) and x in self.values

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Pattern:
    regex: str
    words: str

    def ok(self, x) -> bool:
        return isinstance(x, str) and re.fullmatch(self.regex, x) is not None

    @property
    def expected(self) -> str:
        return self.words


@dataclass(frozen=True)
class Each:
    item: Range | OneOf | Pattern | Options
    min_len: int = 0

    def ok(self, x) -> bool:
        items = list(x.values()) if isinstance(x, dict) else x
        return (isinstance(items, list) and len(items) >= self.min_len
                and all(self.item.ok(v) for v in items))

    @property
    def expected(self) -> str:
        least = f"at least {self.min_len} " if self.min_len else ""
        return f"a list of {least}items, each {self.item.expected}"


@dataclass(frozen=True)
class Keys:
    names: tuple
    item: Range | OneOf | Pattern | Options

    def ok(self, x) -> bool:
        return isinstance(x, dict) and all(k in self.names and self.item.ok(v)
                                           for k, v in x.items())

    @property
    def expected(self) -> str:
        return f"a table with keys among {', '.join(self.names)}, each {self.item.expected}"


@dataclass(frozen=True)
class Options:
    kind: str                 # "head", "fusion" or "adapter"
    name_key: str             # the section field naming the model, e.g. "head"

    def ok(self, x) -> bool:  # the table itself; its keys and values: `check_options`
        return isinstance(x, dict)

    @property
    def expected(self) -> str:
        return f"a table of {self.kind} options"


@dataclass(frozen=True)
class Free:
    why: str

    def ok(self, x) -> bool:
        return True

    @property
    def expected(self) -> str:
        return self.why


Bound = Range | OneOf | Pattern | Each | Keys | Options | Free


def shown(value, width: int = 60) -> str:
    """`repr(value)` cut to `width` characters (a huge integer has no repr: its digit count)."""
    try:
        text = repr(value)
    except ValueError:
        return f"an integer of {len(format(value, 'x')) * 1.2:.0f}+ digits"
    return text if len(text) <= width else text[:width - 3] + "..."


def check_sections(cfg, origin: str) -> None:
    """Every field of every section of `cfg` (a dataclass of dataclasses) within its section's
    `BOUNDS`; the first one out is an AbawError naming `origin` and the key."""
    for f in dataclasses.fields(cfg):
        section = getattr(cfg, f.name)
        for name, bound in getattr(section, "BOUNDS", {}).items():
            value = getattr(section, name)
            if not bound.ok(value):
                raise AbawError(f"{origin}: field {f.name}.{name}: found {shown(value)}, "
                                f"expected {bound.expected}")


def check_models(model, origins: dict, option_bounds: dict) -> None:
    """The head and fusion of a model section exist and take its options (checked once every
    value is set: an override may change the head after its options). Errors name where the
    offending value was set (`origins`: "model.key" -> origin)."""
    from abaw.models.registry import list_models

    adapters = list_models("adapter")
    for kind, name in model.adapters.items():
        if name not in adapters:
            raise AbawError(f"{origins.get('model.adapters', 'defaults')}: field "
                            f"model.adapters.{kind}: found {shown(name)}, expected one of "
                            f"{', '.join(adapters)}")
    for kind, options in model.adapter_options.items():
        where = f"model.adapter_options.{kind}"
        if kind not in model.adapters:
            raise AbawError(f"{origins.get('model.adapter_options', 'defaults')}: field {where}: "
                            f"found options without an adapter, expected model.adapters.{kind} "
                            "to take them")
        problem = check_options("adapter", model.adapters[kind], options, option_bounds, where)
        if problem is not None:
            raise AbawError(f"{origins.get('model.adapter_options', 'defaults')}: field "
                            + (problem if problem.startswith(where) else f"{where}: {problem}"))
    for table, name_key in (("head_options", "head"), ("fusion_options", "fusion")):
        bound = type(model).BOUNDS[table]
        name, options = getattr(model, name_key), getattr(model, table)
        if name_key == "fusion" and not name:
            if options:
                raise AbawError(f"{origins.get(f'model.{table}', 'defaults')}: field "
                                f"model.{table}: found options without model.fusion, expected "
                                "a fusion to take them")
            continue
        problem = check_options(bound.kind, name, options, option_bounds, f"model.{table}")
        if problem is None:
            continue
        if problem.startswith("model."):
            raise AbawError(f"{origins.get(f'model.{table}', 'defaults')}: field {problem}")
        raise AbawError(f"{origins.get(f'model.{name_key}', 'defaults')}: field "
                        f"model.{name_key}: {problem}")


def check_options(kind: str, name: str, options: dict, option_bounds: dict,
                  where: str) -> str | None:
    """The first problem of `options` for the registered `kind` model `name`, as
    "field: found X, expected Y", or None. Keys are the constructor's parameters (less those the
    model is given by abaw), values of the parameter's type and within `option_bounds[key]`;
    a nested model (`branch` + `branch_options`) is checked the same way."""
    from abaw.models.registry import list_models, model_kind, model_signature

    if name not in list_models() or model_kind(name) != kind:
        return f"found {name!r}, expected one of {', '.join(list_models(kind))}"
    accepted = model_signature(name)
    for key, value in options.items():
        if key not in accepted:
            return (f"{where}.{key}: found an option {name} does not take, expected one of "
                    f"{', '.join(accepted)}")
        typ, _ = accepted[key]
        ok = (isinstance(value, bool) if typ is bool else
              _num(value) and (typ is float or isinstance(value, int)) if typ in (int, float)
              else isinstance(value, typ))
        if not ok:
            return (f"{where}.{key}: found {shown(value)}, expected "
                    f"{_TYPES.get(typ, typ.__name__)}")
        bound = option_bounds.get(key)
        if bound is not None and not bound.ok(value):
            return f"{where}.{key}: found {shown(value)}, expected {bound.expected}"
    if "branch" in accepted:
        branch = options.get("branch", accepted["branch"][1])
        if not branch:                      # no branch ("" for fusions that may go without)
            if options.get("branch_options"):
                return (f"{where}.branch_options: found options without a branch, expected "
                        f"{where}.branch to take them")
            return None
        problem = check_options("head", branch, options.get("branch_options") or {},
                                option_bounds, f"{where}.branch_options")
        if problem is not None:
            return problem if problem.startswith(where) else f"{where}.branch: {problem}"
    return None


_TYPES = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
          dict: "a table"}
