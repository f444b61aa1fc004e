"""Fast text for annotation, list and template files: values are turned into lines through lookup
tables (a few thousand distinct strings), never formatted one float at a time, so the full-size
tree (millions of rows) is written in seconds."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from abaw import protocol

_VA_SENTINEL = str(int(protocol.SENTINELS["VA"]))   # "-5"
_CLASS_TABLE = np.array([str(i) for i in range(-1, 100)], dtype=object)   # index = class + 1


@functools.cache
def _va_table() -> list:
    # -1.000 .. 1.000 in steps of 0.001, then the sentinel
    return [f"{i / 1000:.3f}" for i in range(-1000, 1001)] + [_VA_SENTINEL]


@functools.cache
def _binary_table(k: int) -> np.ndarray:
    bits = (np.arange(2 ** k)[:, None] >> np.arange(k)) & 1     # (2^k, k), column j = bit j
    return np.array([",".join(map(str, row)) for row in bits.tolist()], dtype=object)


@functools.cache
def frame_names(n: int) -> list:
    """protocol.frame_name(1..n), cached: templates and MTL rows need millions of them."""
    return [protocol.frame_name(i) for i in range(1, n + 1)]


def _va_index(x: np.ndarray) -> np.ndarray:
    idx = np.round(np.clip(x, -1, 1) * 1000).astype(np.int64) + 1000
    return np.where(x == protocol.SENTINELS["VA"], 2001, idx)


def va_lines(va: np.ndarray) -> list:
    """(n, 2) valence/arousal (sentinel -5 kept) -> ["0.123,-0.045", "-5,-5", ...]."""
    tab = _va_table()
    return [tab[i] + "," + tab[j] for i, j in zip(_va_index(va[:, 0]).tolist(),
                                                  _va_index(va[:, 1]).tolist(), strict=True)]


def class_lines(x: np.ndarray) -> list:
    """(n,) class indices (sentinel -1 kept) -> ["3", "-1", ...]."""
    return _CLASS_TABLE[np.asarray(x, np.int64) + 1].tolist()


def binary_lines(au: np.ndarray) -> list:
    """(n, K) 0/1 with whole rows of -1 where unannotated -> ["0,1,...", "-1,-1,...", ...]."""
    au = np.asarray(au)
    k = au.shape[1]
    invalid = np.any(au < 0, axis=1)
    code = (np.where(invalid[:, None], 0, au).astype(np.int64) << np.arange(k)).sum(1)
    lines = _binary_table(k)[code]
    lines[invalid] = ",".join([str(protocol.SENTINELS["AU"])] * k)
    return lines.tolist()


def image_names(video: str, frames: np.ndarray) -> list:
    """`<video>/<NNNNN>.jpg` for 1-based frame numbers."""
    names = frame_names(int(np.max(frames, initial=1)))
    prefix = video + "/"
    return [prefix + names[f - 1] for f in np.asarray(frames).tolist()]


def write_lines(path: Path, header: str | None, lines: list) -> None:
    """A text file: optional header, one line per item, '\\n' endings, final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(([header] if header is not None else []) + lines)
    path.write_text(body + "\n" if body else "", encoding="utf-8", newline="\n")
