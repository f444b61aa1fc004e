"""Vectorised text rendering: a million submission rows without a Python loop over rows.

Every row is laid out as one line of a uint8 matrix made of pieces (the template's key, each
value, the separators, the line end), each with a mask saying which of its columns are used;
selecting the matrix by the mask in row-major order gives the file's bytes in one step.
"""

from __future__ import annotations

import numpy as np

from abaw.core.layout import Layout
from abaw.errors import AbawError
from abaw.formats import textscan as ts

MIN_DECIMALS, MAX_DECIMALS = 3, 9


def decimals_ok(decimals: int) -> int:
    if not (isinstance(decimals, int | np.integer) and MIN_DECIMALS <= decimals <= MAX_DECIMALS):
        raise AbawError(f"decimals: found {decimals!r}, expected an integer in "
                        f"{MIN_DECIMALS}..{MAX_DECIMALS} (fewer decimals lower CCC)")
    return int(decimals)


class Rows:
    """Accumulates pieces of equal row count, then renders them to bytes."""

    def __init__(self, n: int):
        self.n = n
        self.mats: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []

    def add(self, mat: np.ndarray, mask: np.ndarray | None = None) -> Rows:
        mat = np.asarray(mat, dtype=np.uint8).reshape(self.n, -1)
        self.mats.append(mat)
        self.masks.append(np.ones(mat.shape, bool) if mask is None else mask.reshape(mat.shape))
        return self

    def const(self, text: bytes) -> Rows:
        row = np.frombuffer(text, np.uint8)
        return self.add(np.broadcast_to(row, (self.n, len(row))))

    def key(self, buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> Rows:
        """The key of each row copied from a buffer (a template), then a comma."""
        width = int(lengths.max()) + 1     # templates have rows; Rows.add takes no empty piece
        mat = ts.gather(buf, starts, width).copy()                      # (N, width)
        mat[np.arange(self.n), lengths] = ts.COMMA
        return self.add(mat, np.arange(width)[None, :] <= lengths[:, None])

    def floats(self, values: np.ndarray, decimals: int) -> Rows:
        """Fixed-point text of values in [-9.99, 9.99]: `-0.123456` (no sign for 0)."""
        x = np.asarray(values, dtype=np.float64)
        scale = 10 ** decimals
        q = np.rint(np.abs(x) * scale).astype(np.int64)
        if len(q) and q.max() >= 10 * scale:
            raise AbawError(f"value: found {float(np.abs(x).max())}, expected |value| < 10")
        mat = np.empty((self.n, decimals + 3), np.uint8)
        mat[:, 0] = ts.MINUS
        mat[:, 1] = q // scale + 48
        mat[:, 2] = ts.DOT
        frac = q % scale
        powers = 10 ** np.arange(decimals - 1, -1, -1, dtype=np.int64)
        mat[:, 3:] = (frac[:, None] // powers[None, :]) % 10 + 48
        mask = np.ones(mat.shape, bool)
        mask[:, 0] = (x < 0) & (q > 0)
        return self.add(mat, mask)

    def digits(self, values: np.ndarray, sep: bytes = b",") -> Rows:
        """One-digit integers (class indices, 0/1 AUs), `(N,)` or `(N, k)` joined by `sep`."""
        v = np.asarray(values, dtype=np.int64).reshape(self.n, -1)
        if v.size and (v.min() < 0 or v.max() > 9):
            raise AbawError(f"value: found {int(v.min())}..{int(v.max())}, expected digits 0-9")
        k = v.shape[1]
        mat = np.empty((self.n, 2 * k - 1), np.uint8)
        mat[:, 0::2] = v + 48
        if k > 1:
            mat[:, 1::2] = sep[0]
        return self.add(mat)

    def render(self) -> bytes:
        mat = np.hstack(self.mats)
        mask = np.hstack(self.masks)
        return mat[mask].tobytes()


def value_rows(rows: Rows, lay: Layout, decided: dict, decimals: int) -> Rows:
    """Append a track's decisions (task -> array, `abaw.core.decisions.decide_blocks`) to
    `rows`, block after block: values `v,a`; classes `c`; AUs `0,1,...` (MTL `v,a,c,AU1..AU12`)."""
    for i, b in enumerate(lay.blocks):
        if i:
            rows.const(b",")
        v = decided[b.task]
        if b.kind == "values":
            for j in range(b.size):
                if j:
                    rows.const(b",")
                rows.floats(v[:, j], decimals)
        else:                                   # a class index, or 0/1 per AU
            rows.digits(v)
    return rows
