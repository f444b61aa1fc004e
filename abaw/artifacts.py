"""Reading back the files abaw wrote (and users hand back to it) without trusting them.

Prediction sets and feature rows are `.npz`; run folders hold JSON and TOML; checkpoints are
safetensors. A file that was truncated, bit-flipped, replaced or edited by hand gives one line
naming it, never a traceback: these readers turn every decoding failure into an `AbawError`, then
check what the caller says the content must be (arrays with their dtype kind and rank, a JSON
object with typed fields). Any reader of such a file goes through here.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from abaw.errors import AbawError

PathLike: TypeAlias = "str | os.PathLike[str]"

# What decoding a damaged file can raise (numpy, zipfile, zlib, json, tomllib, safetensors). An
# empty file makes np.load raise EOFError, which click would otherwise report as "aborted";
# a header claiming a huge array can make numpy fail to allocate it.
DECODE_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, zipfile.BadZipFile,
                 zlib.error, MemoryError, RecursionError)


@dataclass(frozen=True)
class Array:
    """What one array of an `.npz` must be: its dtype kinds (numpy's letters: "iu" integers,
    "f" floats, "b" booleans, "U" text, "u" bytes as uint8) and its number of dimensions."""

    kinds: str
    ndim: int | tuple[int, ...]

    def describe(self) -> str:
        kind = {"iu": "integers", "f": "floats", "iuf": "numbers", "b": "booleans",
                "U": "text", "u": "bytes"}.get(self.kinds, f"dtype kind {self.kinds}")
        ndims = self.ndim if isinstance(self.ndim, tuple) else (self.ndim,)
        return f"{' or '.join(f'{n}-d' for n in ndims)} {kind}"

    def accepts(self, a: np.ndarray) -> bool:
        ndims = self.ndim if isinstance(self.ndim, tuple) else (self.ndim,)
        return a.dtype.kind in self.kinds and a.ndim in ndims


def _reason(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}"[:160] if text else type(e).__name__


def damaged(path: PathLike, what: str, e: BaseException) -> AbawError:
    """The one-line error for a file that could not be decoded."""
    return AbawError(f"{path}: found damaged or unreadable data ({_reason(e)}), expected {what}")


def _existing(path: PathLike, what: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise AbawError(f"{path}: found a folder, expected {what}")
    if path.is_symlink() and not path.exists():
        raise AbawError(f"{path}: found a link to nothing (or a link loop), expected {what}")
    if not path.is_file():
        raise AbawError(f"{path}: not found, expected {what}")
    return path


ZIP_MAGIC, NPY_MAGIC = (b"PK\x03\x04", b"PK\x05\x06"), b"\x93NUMPY"


def _check_magic(path: Path, what: str, magics: tuple[bytes, ...], kind: str) -> None:
    """Refuse early, in words, a file that does not even start like the format (numpy would try
    to unpickle it and say so)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise damaged(path, what, e) from None
    if not head:
        raise AbawError(f"{path}: found an empty file, expected {what}")
    if not head.startswith(magics):
        raise AbawError(f"{path}: found a file that is no {kind} (it starts with {head!r}), "
                        f"expected {what}")


def load_npz(path: PathLike, what: str, arrays: dict[str, Array],
             optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` (no pickles), each checked against its `Array`; `optional` ones may
    be absent. Any other array, or a file that is not such an `.npz`, is an AbawError naming
    `path` and `what` it should have been."""
    path = _existing(path, what)
    _check_magic(path, what, (*ZIP_MAGIC, NPY_MAGIC), ".npz")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise AbawError(f"{path}: found a single array, expected {what} (an .npz)")
        with z:
            names = list(z.files)
            for name in arrays:
                if name not in names and name not in optional:
                    raise AbawError(f"{path}: array {name!r} is missing, expected {what} with "
                                    f"arrays {', '.join(arrays)}")
            for name in names:
                if name not in arrays:
                    raise AbawError(f"{path}: found an array {name!r}, expected only "
                                    f"{', '.join(arrays)} ({what})")
            out = {name: z[name] for name in names}
    except AbawError:
        raise
    except DECODE_ERRORS as e:
        raise damaged(path, what, e) from None
    for name, a in out.items():
        if not isinstance(a, np.ndarray):              # a member that is no .npy: raw bytes
            raise AbawError(f"{path}: array {name!r}: found bytes that are not an array, "
                            f"expected {arrays[name].describe()} ({what})")
        if not arrays[name].accepts(a):
            raise AbawError(f"{path}: array {name!r}: found {a.ndim}-d {a.dtype}, expected "
                            f"{arrays[name].describe()} ({what})")
    return out


def load_npy(path: PathLike, what: str, spec: Array, mmap: bool = True) -> np.ndarray:
    """One `.npy` array (memory-mapped by default), checked against `spec`."""
    path = _existing(path, what)
    _check_magic(path, what, (NPY_MAGIC, *ZIP_MAGIC), ".npy")
    try:
        a = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except DECODE_ERRORS as e:
        raise damaged(path, what, e) from None
    if not isinstance(a, np.ndarray) or not spec.accepts(a):
        found = f"{a.ndim}-d {a.dtype}" if isinstance(a, np.ndarray) else "an .npz"
        raise AbawError(f"{path}: found {found}, expected {spec.describe()} ({what})")
    return a


def read_bytes(path: PathLike, what: str) -> bytes:
    path = _existing(path, what)
    try:
        return path.read_bytes()
    except OSError as e:
        raise damaged(path, what, e) from None


def read_text(path: PathLike, what: str) -> str:
    path = _existing(path, what)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError) as e:
        raise damaged(path, what, e) from None


_JSON_NAME = {dict: "object", list: "list", str: "string", int: "number", float: "number",
              bool: "boolean", type(None): "null"}


def read_json(path: PathLike, what: str, kind: type | tuple[type, ...] = dict) -> Any:
    """A JSON file whose top level is a `kind` (a dict unless told; a tuple: any of them)."""
    text = read_text(path, what)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise AbawError(f"{path}: found text that is not valid JSON ({_reason(e)}), expected "
                        f"{what}") from None
    if not isinstance(data, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        raise AbawError(f"{path}: found a JSON {_JSON_NAME.get(type(data), 'value')}, expected "
                        f"{what} (a JSON {' or '.join(_JSON_NAME[k] for k in kinds)})")
    return data


def read_toml(path: PathLike, what: str) -> dict:
    text = read_text(path, what)
    # the standard library's parser from Python 3.11, the same one packaged before (tomli)
    toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        return toml.loads(text)
    except (ValueError, RecursionError) as e:       # TOMLDecodeError is a ValueError
        raise AbawError(f"{path}: found text that is not valid TOML ({_reason(e)}), expected "
                        f"{what}") from None


_DESCRIBE = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             list: "a list", dict: "an object"}


def _is(value: Any, typ: type) -> bool:
    if typ is bool:
        return isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    return isinstance(value, typ)


def check_fields(data: dict, origin: object, fields: dict[str, type | tuple[type, type]],
                 optional: tuple[str, ...] = ()) -> dict:
    """`data` has each field with its type (`(list, str)`: a list of strings); returns `data`.
    An absent, mistyped (or, for numbers, non-finite) field is an AbawError naming it."""
    for name, typ in fields.items():
        if name not in data:
            if name in optional:
                continue
            raise AbawError(f"{origin}: field {name}: missing, expected "
                            f"{_DESCRIBE[typ[0] if isinstance(typ, tuple) else typ]}")
        value = data[name]
        outer, inner = typ if isinstance(typ, tuple) else (typ, None)
        ok = _is(value, outer) and (inner is None or all(_is(v, inner) for v in value))
        if not ok:
            want = _DESCRIBE[outer] + (f" of {_DESCRIBE[inner].split(' ', 1)[1]}s"
                                       if inner is not None else "")
            shown = repr(value)
            raise AbawError(f"{origin}: field {name}: found "
                            f"{shown if len(shown) <= 60 else shown[:57] + '...'}, expected {want}")
    return data
