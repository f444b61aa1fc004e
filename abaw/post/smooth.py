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

Speed: everything works on the whole flat array at once. `mean` uses cumulative sums (float64),
`gaussian` / `hamming` an overlap-add FFT convolution over a copy with zero gaps between videos,
`median` scipy's 1-D rank filter over a padded copy (see `_median` for the padding trick).
"""

from __future__ import annotations

import numpy as np

from abaw.errors import AbawError

KINDS = ("mean", "gaussian", "hamming", "median")


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
        ok = not isinstance(window, bool) and int(window) == window and int(window) >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise AbawError(f"smoothing window: found {window!r}, expected a whole number of frames >= 1")
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
    if kind == "median":
        return _median(x, offsets, window, ignore)
    return _convolved(x, offsets, kernel(kind, window), ignore)


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
        self.sums[:, 0] = 0.0
        for j in range(k):       # a column at a time: no (K, N) temporary to fault in
            col = x[:, j] if ignore is None else np.where(ignore, 0.0, x[:, j])
            np.cumsum(col, dtype=np.float64, out=self.sums[j, 1:])
        if ignore is None:
            self.sums[k] = np.arange(n + 1)
        else:
            np.cumsum(~ignore, out=self.sums[k, 1:])

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


def _padded_positions(offsets, gap: int) -> tuple[np.ndarray, int]:
    """Position of each row in a copy with `gap` empty rows before, between and after videos."""
    lengths = np.diff(offsets)
    video = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(offsets[-1], dtype=np.int64) + gap * (video + 1)
    return pos, int(offsets[-1] + gap * (len(lengths) + 1))


def _convolved(x, offsets, weights, ignore) -> np.ndarray:
    """Normalised weighted average: conv(x * keep) / conv(keep), with zero gaps between videos."""
    from scipy import signal  # here, not at the top: importing scipy.signal takes seconds

    window = len(weights)
    before, after = span(window)
    keep = np.ones(len(x), bool) if ignore is None else ~ignore
    k, gap = x.shape[1], window
    # Copy each video into a zero-padded (K, L) array, one slice per video (no fancy indexing).
    starts = offsets[:-1] + gap * np.arange(1, len(offsets))   # each video's first position
    length = int(offsets[-1] + gap * len(offsets))
    values = np.zeros((k, length), np.float32)                # (K, L)
    mask = np.zeros((1, length), np.float64)
    kept = x.T if ignore is None else np.where(keep[:, None], x, 0.0).T
    for a, b, p in zip(offsets[:-1], offsets[1:], starts, strict=True):
        values[:, p:p + b - a] = kept[:, a:b]
        mask[0, p:p + b - a] = keep[a:b]
    flipped = weights[::-1].copy()
    # full[i + after] is the correlation of row i with the window's weights (first row first).
    # Values in float32 (half the FFT time; errors ~1e-7 of the values), weights sum in float64.
    num = signal.oaconvolve(values, flipped[None, :].astype(np.float32), mode="full", axes=1)
    den = signal.oaconvolve(mask, flipped[None, :], mode="full", axes=1)[0]
    out = np.empty((k, len(x)), np.float32)                    # (K, N)
    dens = np.empty(len(x), np.float64)
    for a, b, p in zip(offsets[:-1], offsets[1:], starts, strict=True):
        out[:, a:b] = num[:, p + after:p + after + b - a]
        dens[a:b] = den[p + after:p + after + b - a]
    out /= np.maximum(dens, 1e-30).astype(np.float32)   # near-0 rows are redone below
    # Where few weights are left (a window mostly over ignored rows), the float32 FFT error is no
    # longer small next to the denominator: recompute those rows directly in float64.
    few = np.flatnonzero(dens < _FEW * weights.sum())
    if len(few):
        out[:, few] = _direct(x, offsets, weights, keep, few).T
    return out


_FEW = 0.25  # share of the kernel's weight below which a row is recomputed directly


def _direct(x, offsets, weights, keep, rows) -> np.ndarray:
    """Normalised weighted average of `rows` by gathering each window (R, w, K), in chunks."""
    window = len(weights)
    before, _ = span(window)
    lengths = np.diff(offsets)
    video = np.repeat(np.arange(len(lengths)), lengths)
    out = np.empty((len(rows), x.shape[1]), np.float64)
    step = max(1, 2_000_000 // (window * max(1, x.shape[1])))
    for a in range(0, len(rows), step):
        r = rows[a:a + step]
        q = r[:, None] - before + np.arange(window)[None, :]          # (R, w) row of each tap
        inside = (q >= offsets[:-1][video[r]][:, None]) & (q < offsets[1:][video[r]][:, None])
        q = np.clip(q, 0, len(x) - 1)
        w = weights[None, :] * (inside & keep[q])                    # (R, w)
        total = w.sum(axis=1)
        vals = np.where((w > 0)[:, :, None], x[q], 0.0)              # (R, w, K)
        o = np.einsum("rw,rwk->rk", w, vals) / np.maximum(total, 1e-300)[:, None]
        out[a:a + step] = np.where((total > 0)[:, None], o, x[r])
    return out


def _median(x, offsets, window, ignore) -> np.ndarray:
    """Lower median of the window's kept rows, with one fixed-rank filter pass per column.

    A rank filter needs the same number of entries in every window, so the rows a window may not
    use are replaced by -inf / +inf in equal numbers, which leaves the wanted rank in place:
    - no ignored rows, videos at least w - 1 long: gaps of w - 1 entries between videos, filled
      outward from each video's edge as -inf, +inf, -inf ... (odd w) or +inf, -inf ... (even w);
      a window overhanging a video's edge by k entries then holds ceil(k/2) (odd w) or floor(k/2)
      (even w) -infs, exactly the shift that turns rank (w-1)//2 into the lower median of the
      w - k rows left.
    - otherwise every row is doubled: a kept row becomes (v, v), an ignored or gap row (-inf,
      +inf); in the doubled window of 2w entries, rank w - 1 is the lower median of the kept rows.
    """
    from scipy import ndimage

    before, after = span(window)
    lengths = np.diff(offsets)
    out = np.empty(x.shape[::-1], np.float32)                 # (K, N)
    if ignore is None and lengths.min(initial=window) >= window - 1:
        gap = before + after
        pos, length = _padded_positions(offsets, gap)
        fill = np.empty(length, np.float32)
        t = np.arange(gap)
        first = -np.inf if window % 2 else np.inf
        outward = np.where(t % 2 == 0, first, -first).astype(np.float32)
        for s in offsets + gap * np.arange(len(offsets)):   # first entry of each gap
            fill[s:s + after] = outward[:after]              # after a video's end, outward
            fill[s + gap - before:s + gap] = outward[:before][::-1]  # before a video's start
        rank = (window - 1) // 2
        for j in range(x.shape[1]):
            col = fill.copy()
            col[pos] = x[:, j]
            out[j] = ndimage.rank_filter(col, rank=rank, size=window, mode="nearest")[pos]
        return out
    keep = np.ones(len(x), bool) if ignore is None else ~ignore
    pos, length = _padded_positions(offsets, window)
    low = np.full(length, -np.inf, np.float32)
    high = np.full(length, np.inf, np.float32)
    read = 2 * pos + window % 2
    for j in range(x.shape[1]):
        a, b = low.copy(), high.copy()
        a[pos[keep]] = x[keep, j]
        b[pos[keep]] = x[keep, j]
        doubled = np.stack([a, b], axis=1).reshape(-1)      # (2L,) pairs (a, b)
        med = ndimage.rank_filter(doubled, rank=window - 1, size=2 * window, mode="nearest")[read]
        out[j] = np.where(np.isfinite(med), med, x[:, j])
    return out
