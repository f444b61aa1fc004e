"""Vectorised scanning of comma-separated text: lines, keys, fields and numbers, with NumPy.

Submission files reach a million rows; parsing them one Python line at a time costs seconds.
Here a file is one uint8 array: line ends come from one comparison, fields are windows gathered
at their start offsets (`gather`), and plain decimal numbers (`-0.123456`, `3`) are parsed as
integer mantissas divided by a power of ten (exact, hence correctly rounded, below 2**53). Anything
else (exponents, `nan`, words, spaces) is marked and left to the caller's slow path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOM = b"\xef\xbb\xbf"
MAX_FIELD = 32                # longer fields are left to the slow path
NL, CR, COMMA, DOT, MINUS, PLUS, SLASH = 10, 13, 44, 46, 45, 43, 47

# number codes of `parse_numbers`
INT, DECIMAL, EMPTY, OTHER = 0, 1, 2, 3
_POW10 = 10 ** np.arange(19, dtype=np.int64)


@dataclass
class Lines:
    """The lines of a text file. Offsets index `buf`; `ends` exclude the `\\r\\n` / `\\n`."""

    data: bytes             # the file's bytes without a leading BOM
    buf: np.ndarray         # uint8 view of data (no copy)
    starts: np.ndarray      # (L,) int64
    ends: np.ndarray        # (L,) int64
    crlf: np.ndarray        # (L,) bool: the line ended with \r\n
    bom: bool
    final_newline: bool

    def __len__(self) -> int:
        return len(self.starts)

    def text(self, i: int) -> str:
        return self.data[self.starts[i]:self.ends[i]].decode("utf-8", "replace")

    def raw(self, i: int) -> bytes:
        return self.data[self.starts[i]:self.ends[i]]

    def commas(self) -> np.ndarray:
        """Sorted offsets of every comma (computed once, on first use)."""
        if getattr(self, "_commas", None) is None:
            self._commas = np.flatnonzero(self.buf == COMMA)
        return self._commas


def split_lines(data: bytes) -> Lines:
    bom = data.startswith(BOM)
    if bom:
        data = data[len(BOM):]
    n = len(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == NL)
    final_newline = n == 0 or data.endswith(b"\n")
    ends = nl if final_newline else np.append(nl, n)
    starts = np.empty(len(ends), np.int64)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    crlf = np.zeros(len(ends), bool)
    if len(ends):
        has = ends > starts
        crlf[has] = buf[ends[has] - 1] == CR
        if not final_newline:
            crlf[-1] = False     # a last line without \n keeps a lone \r as content
    return Lines(data, buf, starts, (ends - crlf).astype(np.int64), crlf, bom, final_newline)


def _windows(buf: np.ndarray, width: int) -> np.ndarray:
    """Every `width`-byte window of buf as one void item each (overlapping, no copy).

    Fancy-indexing these copies `width` bytes per row in one memcpy, several times faster than
    indexing a 2-D sliding-window view byte by byte."""
    return np.ndarray(shape=(len(buf) - width + 1,), dtype=np.dtype((np.void, width)),
                      buffer=buf, offset=0, strides=(1,))


def gather(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """(len(starts), width) uint8 copy of the bytes from each start; bytes past the data are 0."""
    width = max(int(width), 1)
    starts = np.asarray(starts, dtype=np.int64)
    limit = len(buf) - width
    if len(starts) == 0:
        return np.zeros((0, width), np.uint8)
    if int(starts.max()) <= limit:
        return _windows(buf, width)[starts].view(np.uint8).reshape(len(starts), width)
    # windows that run past the end come from a zero-padded copy of the tail only
    over = starts > limit
    lo = int(starts[over].min())
    tail = np.zeros(len(buf) - lo + width, np.uint8)
    tail[:len(buf) - lo] = buf[lo:]
    out = np.empty((len(starts), width), np.uint8)
    if limit >= 0:
        out[~over] = gather(buf, starts[~over], width)
    out[over] = gather(tail, starts[over] - lo, width)
    return out


def first_comma(buf: np.ndarray, n: int, starts: np.ndarray, ends: np.ndarray,
                commas: np.ndarray | None = None) -> np.ndarray:
    """Offset of the first comma in each line, or the line end when it has none."""
    if commas is None:
        commas = np.flatnonzero(buf[:n] == COMMA)
    if len(commas) == 0:
        return ends.copy()
    j = np.searchsorted(commas, starts)
    pos = commas[np.minimum(j, len(commas) - 1)]
    return np.where((j < len(commas)) & (pos < ends), pos, ends)


def prefix_words(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                 width: int | None = None) -> np.ndarray:
    """(N, width/8) uint64: the first `lengths` bytes from each start, zeros after them.

    Two rows are equal prefixes when their words and lengths are equal: comparing words is 8x
    fewer operations than comparing bytes.
    """
    if width is None:
        width = int(lengths.max()) if len(lengths) else 0
    width = max(-(-int(width) // 8) * 8, 8)
    words = np.ascontiguousarray(gather(buf, starts, width)).view(np.uint64)   # (N, width/8)
    if not np.little_endian:                                   # keep byte k at bits 8k..8k+7
        words = words.byteswap()
    # table[k]: the mask words of a k-byte prefix; one fancy index gives every row's mask
    k = np.arange(width + 1)[:, None]
    bytes_in_word = np.clip(k - 8 * np.arange(width // 8)[None, :], 0, 8)     # (width+1, words)
    table = np.array([(1 << (8 * j)) - 1 for j in range(8)] + [2 ** 64 - 1],
                     dtype=np.uint64)[bytes_in_word]
    words &= table[np.minimum(lengths, width)]
    return words


def equal_prefixes(buf_a, starts_a, buf_b, starts_b, lengths) -> np.ndarray:
    """(N,) True where a[starts_a : +len] == b[starts_b : +len] byte for byte."""
    if len(lengths) == 0:
        return np.zeros(0, bool)
    a = prefix_words(buf_a, starts_a, lengths)
    b = prefix_words(buf_b, starts_b, lengths)
    return np.all(a == b, axis=1)


def fields(buf: np.ndarray, commas: np.ndarray, first_sep: np.ndarray, ends: np.ndarray,
           n_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths (rows, n_fields) of the fields after `first_sep` (a comma, or the
    position just before the line for files without a key). Rows must hold exactly n_fields."""
    rows = len(first_sep)
    bounds = np.empty((rows, n_fields + 1), np.int64)
    bounds[:, 0] = first_sep
    bounds[:, -1] = ends
    if n_fields > 1:
        j = np.searchsorted(commas, first_sep, side="right")   # first comma after first_sep
        bounds[:, 1:-1] = commas[j[:, None] + np.arange(n_fields - 1)[None, :]]
    starts = bounds[:, :-1] + 1
    return starts, bounds[:, 1:] - starts


def commas_between(commas: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Number of commas with lo < position < hi, per row."""
    return np.searchsorted(commas, hi) - np.searchsorted(commas, lo, side="right")


def parse_numbers(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                  chunk: int = 1 << 18) -> tuple[np.ndarray, np.ndarray]:
    """Parse plain decimals `[+-]digits[.digits]` at (starts, lengths), any shape.

    Returns (values float64, codes int8) of the same shape: INT (no dot), DECIMAL, EMPTY, or
    OTHER (anything else: exponents, nan/inf, words, spaces, > 18 digits) with value NaN.
    """
    shape = np.shape(starts)
    starts = np.ravel(starts)
    lengths = np.ravel(lengths)
    values = np.full(len(starts), np.nan)
    codes = np.full(len(starts), OTHER, np.int8)
    codes[lengths == 0] = EMPTY
    for lo in range(0, len(starts), chunk):
        sl = slice(lo, lo + chunk)
        s, n = starts[sl], lengths[sl]
        take = (n > 0) & (n <= MAX_FIELD)
        if not take.any():
            continue
        idx = np.flatnonzero(take)
        v, c = _parse_chunk(buf, s[idx], n[idx])
        values[lo + idx] = v
        codes[lo + idx] = c
    return values.reshape(shape), codes.reshape(shape)


def _parse_chunk(buf, starts, lengths):
    width = int(lengths.max())
    m = gather(buf, starts, width)                                   # (n, width)
    col = np.arange(width)[None, :]
    inside = col < lengths[:, None]
    signed = (m[:, 0] == MINUS) | (m[:, 0] == PLUS)
    isdig = (m >= 48) & (m <= 57) & inside
    isdot = (m == DOT) & inside
    allowed = isdig | isdot | ~inside
    allowed[:, 0] |= signed
    ndig = isdig.sum(axis=1)
    ndot = isdot.sum(axis=1)
    ok = allowed.all(axis=1) & (ndot <= 1) & (ndig > 0) & (ndig <= 18)
    dotpos = np.where(ndot == 1, isdot.argmax(axis=1), lengths)
    after = ndig[:, None] - np.cumsum(isdig, axis=1)                  # digits right of each column
    digits = np.where(isdig, m.astype(np.int64) - 48, 0) * _POW10[np.minimum(after, 18)]
    mantissa = digits.sum(axis=1)
    n_frac = (isdig & (col > dotpos[:, None])).sum(axis=1)
    values = mantissa / _POW10[n_frac]                               # exact ints: correctly rounded
    values = np.where(m[:, 0] == MINUS, -values, values)
    codes = np.where(ok, np.where(ndot == 1, DECIMAL, INT), OTHER).astype(np.int8)
    return np.where(ok, values, np.nan), codes


def fraction_digits(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Digits written after the point of each plain decimal field (0 without a point): the
    precision as written, whatever the value (`0.000000` has 6)."""
    starts, lengths = np.ravel(starts), np.ravel(lengths)
    if len(starts) == 0:
        return np.zeros(0, np.int64)
    width = max(int(lengths.max()), 1)
    m = gather(buf, starts, width)                                   # (n, width)
    isdot = (m == DOT) & (np.arange(width)[None, :] < lengths[:, None])
    return np.where(isdot.any(axis=1), lengths - isdot.argmax(axis=1) - 1, 0)


def single_chars(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, n_fields: int):
    """Fast path for rows of n one-character fields `d,d,...,d` (classes, 0/1 AUs).

    Returns (rows_ok (R,), chars (R, n_fields) uint8): rows_ok where the row is exactly that shape.
    """
    width = 2 * n_fields - 1
    ok = lengths == width
    m = gather(buf, starts, width)                                   # (R, 2n-1)
    if n_fields > 1:
        ok &= np.all(m[:, 1::2] == COMMA, axis=1)
    chars = m[:, 0::2]
    ok &= np.all(chars != COMMA, axis=1)
    return ok, chars
