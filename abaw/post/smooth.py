"""Smoothing along time, per video, on the flat arrays of a prediction set.

A window of `w` rows covers `w // 2` rows before the centre and `w - 1 - w // 2` after it (the
scipy.ndimage convention; odd windows are centred). It counts rows of one video in frame order:
on the contiguous frames of every Aff-Wild2 track (after `impute.complete`) that is frames.

Kinds: `mean` (a moving average; on class probabilities this is sliding-window soft voting),
`gaussian` (sigma = w / 6, so the window spans ±3 sigma), `hamming` (numpy's Hamming window) and
`median` (the lower median, i.e. the ((c - 1) // 2)-th smallest of the c values in the window, so
the output is always one of the inputs).

Edges: the window is cut at the video's ends and the remaining weights are renormalised, so the
output keeps every row. `ignore` (the imputed flags) drops rows from every window the same way, so
frames without a face do not pull their neighbours; a row whose window holds no usable row keeps
its input value.

Speed: `mean` works on the whole flat array at once with cumulative sums (float64), which a
window sweep reuses for every window (`Smoother`). `gaussian` / `hamming` (a float64 dot product
per row) and `median` (a tracked median, exact) are compiled loops over one column at a time,
the columns on parallel threads (`abaw.post.compiled`).
"""

from __future__ import annotations

import numpy as np

from abaw.errors import AbawError

KINDS = ("mean", "gaussian", "hamming", "median")
# Windows (frames) tuning tries unless told otherwise; ±50 frames (101) was worth points on real
# Aff-Wild2.
DEFAULT_WINDOWS = (1, 5, 9, 15, 25, 41, 61, 101)
MAX_WINDOW = 10_001   # frames (~7 minutes at 25 fps); wider is no smoothing a video needs


def span(window: int) -> tuple[int, int]:
    """(rows before, rows after) the centre that a window of `window` rows covers."""
    return window // 2, window - 1 - window // 2


def kernel(kind: str, window: int) -> np.ndarray:
    """Weights of a linear kind over the window's rows, first row first (float64, unnormalised)."""
    q = np.arange(window, dtype=np.float64)
    if kind == "mean":
        return np.ones(window)
    if kind == "gaussian":
        sigma = window / 6.0
        return np.exp(-0.5 * ((q - (window - 1) / 2.0) / sigma) ** 2)
    if kind == "hamming":
        return np.hamming(window) if window > 1 else np.ones(1)
    raise AbawError(f"smoothing kind: found {kind!r}, expected one of {', '.join(KINDS[:3])}")


def check(kind: str, window) -> int:
    if kind not in KINDS:
        raise AbawError(f"smoothing kind: found {kind!r}, expected one of {', '.join(KINDS)}")
    try:
        ok = (not isinstance(window, bool) and int(window) == window
              and 1 <= int(window) <= MAX_WINDOW)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise AbawError(f"smoothing window: found {window!r}, expected a whole number of frames "
                        f"from 1 to {MAX_WINDOW}")
    return int(window)


def smooth(x, offsets, kind: str, window: int, ignore=None) -> np.ndarray:
    """Smooth the columns of `x` (N, K) along its rows within each video; returns (N, K) float32.

    `offsets` (V + 1,) delimit the videos; `ignore` (N,) bool marks rows left out of every window.
    The result may be a transposed view (the work is done column by column).
    """
    return smooth_columns(x, offsets, kind, window, ignore).T


def smooth_columns(x, offsets, kind: str, window: int, ignore=None) -> np.ndarray:
    """As `smooth`, but returns the (K, N) float32 column-major array the work produced."""
    window = check(kind, window)
    x, offsets, ignore = _inputs(x, offsets, ignore)
    if window == 1 or len(x) == 0:
        return x.T.astype(np.float32)
    if kind == "mean":
        return Smoother(x, offsets, ignore).columns(window)
    from abaw.post import compiled  # here: importing numba takes ~0.3 s, not for `--help`

    before, after = span(window)
    keep = np.ones(len(x), bool) if ignore is None else ~ignore
    if kind == "median":
        return compiled.median(x, keep, offsets, before, after)
    return compiled.weighted(x, keep, offsets, kernel(kind, window), before)


class Smoother:
    """Moving means of one array for many windows: the cumulative sums are computed once.

    `columns(window)` gives the (K, N) smoothed columns; `blocks(window)` yields them a block of
    rows at a time in one buffer per call, so a window sweep that only needs a decision per row
    (an argmax, a threshold level) stays in cache and allocates one block per window.
    """

    def __init__(self, x, offsets, ignore=None):
        x, offsets, ignore = _inputs(x, offsets, ignore)
        n, k = x.shape
        self.x, self.ignore = x, ignore
        lengths = np.diff(offsets)
        video = np.repeat(np.arange(len(lengths)), lengths)
        rows = np.arange(n, dtype=np.int64)
        self.start = offsets[:-1][video]         # (N,) first row of each row's video
        self.end = offsets[1:][video]            # (N,) one past its last row
        self.from_start = rows - self.start      # rows before this one in its video
        self.to_end = self.end - 1 - rows        # rows after it
        # (K + 1, N + 1): running column sums of the kept values, then of the kept-row count.
        self.sums = np.empty((k + 1, n + 1), np.float64)
        from abaw.post import compiled  # here: importing numba takes ~0.3 s
        compiled.cumulative_sums(x, np.ones(n, bool) if ignore is None else ~ignore, self.sums)

    def columns(self, window: int) -> np.ndarray:
        """(K, N) float32 moving means for `window`."""
        out = np.empty(self.x.shape[::-1], np.float32)
        for _ in self.blocks(window, out):
            pass
        return out

    def __call__(self, window: int) -> np.ndarray:
        return self.columns(window).T

    def blocks(self, window: int, out=None, scale: float = 1.0):
        """Yield (start, stop, values (K, stop - start)) over the rows, BLOCK rows at a time.

        The values (the moving means times `scale`) live in one buffer reused by this call (or in
        `out[:, start:stop]` when `out` is given): use them before asking for the next block.
        Calls share nothing they write, so several windows may be walked in parallel threads.
        """
        window = check("mean", window)
        n, k = self.x.shape
        buffer = np.empty((k, min(BLOCK, n)), np.float32) if out is None else None
        before, after = span(window)
        # Rows whose window meets a video's edge: the window clipped to the video, all at once.
        edge = np.flatnonzero((self.from_start < before) | (self.to_end < after))
        lo = np.maximum(edge - before, self.start[edge])
        hi = np.minimum(edge + after + 1, self.end[edge])
        total = self.sums[:, hi] - self.sums[:, lo]                     # (K + 1, E)
        at_edge = (total[:k] * (scale / np.maximum(total[k], 1.0))).astype(np.float32)
        empty = total[k] < 0.5
        at_edge[:, empty] = self.x[edge[empty]].T * np.float32(scale)
        cuts = np.searchsorted(edge, np.arange(0, n + BLOCK, BLOCK))
        for i, s in enumerate(range(0, n, BLOCK)):
            e = min(s + BLOCK, n)
            vals = out[:, s:e] if out is not None else buffer[:, :e - s]
            if window == 1:
                np.multiply(self.x[s:e].T, np.float32(scale), out=vals)
                yield s, e, vals
                continue
            # Other rows: two shifted slices of the sums (their windows lie inside the array).
            a, b = max(s, before), min(e, n - after)
            if b > a:
                inner = vals[:, a - s:b - s]
                np.subtract(self.sums[:k, a + after + 1:b + after + 1],
                            self.sums[:k, a - before:b - before], out=inner)
                if self.ignore is None:
                    inner *= np.float32(scale / window)
                else:
                    count = self.sums[k, a + after + 1:b + after + 1] - \
                        self.sums[k, a - before:b - before]
                    inner *= (scale / np.maximum(count, 1.0)).astype(np.float32)
                    none = np.flatnonzero(count < 0.5)
                    inner[:, none] = self.x[a + none].T * np.float32(scale)  # no kept row: input
            j, m = cuts[i], cuts[i + 1]
            vals[:, edge[j:m] - s] = at_edge[:, j:m]
            yield s, e, vals


BLOCK = 32768   # rows per block: a few MB of float32 columns, cache-sized


# --- helpers -------------------------------------------------------------------------------------

def _inputs(x, offsets, ignore):
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    offsets = np.asarray(offsets, np.int64)
    if offsets[0] != 0 or offsets[-1] != len(x) or np.any(np.diff(offsets) < 0):
        raise AbawError(f"smoothing: offsets ({offsets[0]}..{offsets[-1]}) do not cover "
                        f"{len(x)} rows, expected 0..{len(x)} increasing")
    if ignore is not None:
        ignore = np.asarray(ignore, bool)
        if len(ignore) != len(x):
            raise AbawError(f"smoothing: found {len(ignore)} ignore flags, expected {len(x)}")
        if not ignore.any():
            ignore = None
    used = x if ignore is None else x[~ignore]
    if not np.all(np.isfinite(used)):
        raise AbawError("smoothing: found NaN or infinite outputs in rows that are not imputed, "
                        "expected finite values (impute first)")
    return x, offsets, ignore
