"""What a field of a submission is worth, as the organisers' reader (pandas `read_csv`) sees it.

pandas reads a field as a number only when it is spelt in ASCII: an optional sign, digits with an
optional point, an optional exponent (`-0.5`, `.5`, `5.`, `1e-05`), with ASCII blanks around it.
`inf` / `infinity` in any letter case are infinite, and its default missing-value spellings
(`nan`, `NaN`, `NA`, `null`, `#N/A`, ...; matched exactly, blanks included) are NaN. Anything else
is text: fullwidth or Arabic-Indic digits, `_` between digits, a Unicode minus sign, `0x10`,
`true`. Python's `float()` accepts several of these, so it is never used on submission text.
"""

from __future__ import annotations

import math
import re

# pandas' C parser skips these around a number (its isspace_ascii: ' ', \t, \n, \v, \f, \r)
ASCII_BLANKS = b" \t\n\v\f\r"
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INTEGER = re.compile(rb"[+-]?[0-9]+\Z")
_INFINITY = re.compile(rb"[+-]?inf(?:inity)?\Z", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+\Z")
# pandas.read_csv's default na_values (pandas 2.x / 3.x documentation), compared byte for byte
NA_SPELLINGS = frozenset({
    b"", b"#N/A", b"#N/A N/A", b"#NA", b"-1.#IND", b"-1.#QNAN", b"-NaN", b"-nan", b"1.#IND",
    b"1.#QNAN", b"<NA>", b"N/A", b"NA", b"NULL", b"NaN", b"None", b"n/a", b"nan", b"null",
})


def read_number(raw: bytes) -> float | None:
    """The float pandas reads from this field (NaN / inf included), or None when it reads text."""
    raw = bytes(raw)
    if raw in NA_SPELLINGS:
        return math.nan
    text = raw.strip(ASCII_BLANKS)
    if _NUMBER.match(text):
        return float(text)              # ASCII only: float() and pandas agree (1e999 -> inf)
    if _INFINITY.match(text):
        return -math.inf if text.startswith(b"-") else math.inf
    return None


def is_integer_text(raw: bytes) -> bool:
    """An integer spelt in ASCII digits (blanks around it allowed, as pandas allows them)."""
    return bool(_INTEGER.match(bytes(raw).strip(ASCII_BLANKS)))


def is_frame_number(text: str) -> bool:
    """ASCII digits only (`00012`): `str.isdigit()` would also take `１２` or `١٢`."""
    return bool(_DIGITS.match(text))


def all_numbers(line: bytes) -> bool:
    """Every comma-separated field of the line is a non-empty number (a data row, not a header)."""
    return all(f.strip(ASCII_BLANKS) and read_number(f) is not None for f in line.split(b","))
