"""The one exception type for user mistakes.

Anything the user can fix (a bad file, a wrong option, a missing folder) raises `AbawError` with a
one-line message naming the file, line or field, what was found and what was expected. The CLI
prints that line and exits non-zero; it never shows a traceback for an `AbawError`.
"""

from __future__ import annotations


class AbawError(Exception):
    """A user-facing error: the message is one line and says how to fix it."""

    exit_code = 2


def where(path: object, line: int | None = None, field: str | None = None) -> str:
    """`file:line:` (or `file:` / `file:line: field F:`) prefix for messages, the same everywhere."""
    out = str(path)
    if line is not None:
        out += f":{line}"
    out += ":"
    if field is not None:
        out += f" field {field}:"
    return out
