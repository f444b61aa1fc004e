"""The loops of post-processing that NumPy cannot run fast, compiled with numba: the lower
median and the normalised weighted mean of each row's window, the running sums behind the moving
mean, and the AU histogram of a window sweep.

NumPy cannot express the window loops without a (rows, window) temporary, and its histogram
(`np.bincount`) holds the GIL. Compiled, each kernel walks its column once and releases the GIL,
so `median` and `weighted` run the columns on a few threads, and a sweep's windows run in
parallel. The median works on float32 values (its output is one of them).
Window kernel arguments: a column, `keep` (rows that may enter a window), the videos' `offsets`, the
window's span (`before` and `after` the centre row) and the output column; a row whose window
keeps no row gets its own input value.

Compiled on first use and cached beside this file (numba `cache=True`): the first call in a fresh
checkout takes a few seconds, later processes load the machine code.
"""

from __future__ import annotations

import numba
import numpy as np

from abaw.post.parallel import in_parallel


def median(x, keep, offsets, before: int, after: int) -> np.ndarray:
    """(K, N) float32 lower medians of the columns of x (N, K)."""
    bits = np.ascontiguousarray(x, np.float32).view(np.int32)
    out = np.empty(x.shape[::-1], np.float32)
    in_parallel(lambda j: median_column(bits[:, j], keep, offsets, before, after,
                                        out[j].view(np.int32)), range(x.shape[1]))
    return out


def weighted(x, keep, offsets, weights, before: int) -> np.ndarray:
    """(K, N) float32 normalised weighted means of the columns of x (N, K)."""
    weights = np.asarray(weights, np.float64)
    total = np.empty(len(x), np.float64)          # the weights a row's window keeps: per row
    weighted_column(keep.astype(np.float64), keep, offsets, weights, before,
                    np.ones(len(x)), total)
    out = np.empty(x.shape[::-1], np.float32)
    in_parallel(lambda j: weighted_column(np.ascontiguousarray(x[:, j]), keep, offsets, weights,
                                          before, total, out[j]), range(x.shape[1]))
    return out


def cumulative_sums(x, keep, out) -> None:
    """out (K + 1, N + 1) float64: row j < K the running sum of column j over the kept rows
    (ignored rows add 0), row K the running count of kept rows; column 0 is 0. The same
    sequential float64 additions as `np.cumsum` (bit for bit), without a float64 copy of each
    column, the columns on threads."""
    out[:, 0] = 0.0
    in_parallel(lambda j: cumulative_column(x[:, j], keep, out[j, 1:]), range(x.shape[1]))
    np.cumsum(keep, out=out[x.shape[1], 1:])


@numba.njit(nogil=True, cache=True)
def cumulative_column(x, keep, out):
    acc = 0.0
    for i in range(len(x)):
        if keep[i]:
            acc += x[i]
        out[i] = acc


@numba.njit(inline="always")
def _key(bits):
    """The bits of a float32 -> an int32 in the same order (a negative value's other bits flip),
    so the median's scans are integer min / max, which compile to vector instructions. Its own
    inverse."""
    return bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))


_NONE = np.int32(2**31 - 1)      # a window place without a usable row: above every key
_LOWEST = np.int32(-2**31)


@numba.njit(nogil=True, cache=True)
def median_column(bits, keep, offsets, before, after, out):
    """Lower median of each row's window: the ((c - 1) // 2)-th smallest of the window's c kept
    values. `bits` and `out`: float32 values seen as int32 (`.view(np.int32)`).

    The median is tracked rather than recomputed: with `lt` / `le` the counts of window values
    below / at most the current median m, a step (one row in, one out) moves each count by at
    most one, and m then moves, if at all, to the neighbouring value in sorted order (two scans of
    the window). Rows that may not be used enter the window as _NONE and are not counted in c.
    """
    w = before + after + 1
    # The scans run over whole multiples of 32 places (no scalar remainder loop); the places
    # past w hold _NONE for good, which neither scan can pick nor count.
    ring = np.empty(-(-w // 32) * 32, np.int32)    # the window's keys, in row order, circular
    for v in range(len(offsets) - 1):
        a, b = offsets[v], offsets[v + 1]
        ring[:] = _NONE
        head, m, c, lt, le = 0, _NONE, 0, 0, w
        for r in range(a, b + after):          # row r enters; the window of r - after is full
            new = _key(bits[r]) if r < b and keep[r] else _NONE
            old = ring[head]
            ring[head] = new
            head = head + 1 if head + 1 < w else 0
            lt += np.int64(new < m) - np.int64(old < m)        # without branches: either way
            le += np.int64(new <= m) - np.int64(old <= m)      # is as likely
            c += np.int64(new != _NONE) - np.int64(old != _NONE)
            rank = (c - 1) // 2
            while c > 0 and rank < lt:         # the median is the next smaller value
                m = _below(ring, m)
                le, lt = lt, lt - _count(ring, m)
            while c > 0 and rank >= le:        # the next larger value
                m = _above(ring, m)
                lt, le = le, le + _count(ring, m)
            i = r - after
            if i >= a:
                out[i] = _key(m) if c > 0 else bits[i]


# The scans, in int32 throughout so that they compile to 8-wide vector instructions.

@numba.njit(inline="always")
def _below(ring, m):
    found = _LOWEST
    for q in range(len(ring)):
        found = max(found, ring[q] if ring[q] < m else _LOWEST)
    return found


@numba.njit(inline="always")
def _above(ring, m):
    found = _NONE
    for q in range(len(ring)):
        found = min(found, ring[q] if ring[q] > m else _NONE)
    return found


@numba.njit(inline="always")
def _count(ring, value):
    n = np.int32(0)
    for q in range(len(ring)):
        n = np.int32(n + np.int32(ring[q] == value))
    return n


@numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def weighted_column(x, keep, offsets, weights, before, total, out):
    """out[i] = sum of weights[q] * x[i - before + q] over the window's kept rows inside the
    video, divided by total[i] (the sum of those weights; `total` = 1 gives the plain sums).

    Per video, the kept values go into a zero-padded float64 buffer, so every row's sum is the
    same plain dot product with the weights (`reassoc` lets it run on vector instructions)."""
    w = len(weights)
    longest = np.max(offsets[1:] - offsets[:-1]) if len(offsets) > 1 else 0
    padded = np.zeros(longest + w - 1, np.float64)
    for v in range(len(offsets) - 1):
        a, b = offsets[v], offsets[v + 1]
        n = b - a
        for t in range(n):
            padded[before + t] = x[a + t] if keep[a + t] else 0.0   # ignored rows may hold NaN
        padded[before + n:n + w - 1] = 0.0
        for t in range(n):
            acc = 0.0
            for q in range(w):
                acc += weights[q] * padded[t + q]
            i = a + t
            out[i] = acc / total[i] if total[i] > 0.0 else x[i]


@numba.njit(nogil=True, cache=True)
def au_histogram(scaled, truth, hist):
    """Add each value's bin to `hist` (A * 2 * (levels + 1),): AU a, threshold level
    floor(scaled) clipped to 0..levels, truth 0/1 -> bin (a * (levels + 1) + level) * 2 + truth,
    where scaled (A, M) are probabilities times the number of levels."""
    n_au, n = scaled.shape
    if n_au == 0:
        return
    levels = hist.shape[0] // (2 * n_au) - 1
    top = np.float32(levels)
    for a in range(n_au):
        values, labels, base = scaled[a], truth[a], a * 2 * (levels + 1)
        for t in range(n):
            v = values[t]
            level = np.int32(min(v, top)) if v > 0 else 0     # NaN too: never outside hist
            hist[base + level * 2 + (1 if labels[t] else 0)] += 1
