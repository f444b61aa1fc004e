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


# What the OS said about a path, in the toolkit's words (errno name -> what was found, expected)
_OS_FOUND = {
    "EACCES": ("permission denied", "read (and, for outputs, write) permission"),
    "EPERM": ("operation not permitted", "a path abaw may read and write"),
    "ENOENT": ("not found", "an existing file or folder"),
    "ENOTDIR": ("a file where a folder is expected", "a folder"),
    "EISDIR": ("a folder where a file is expected", "a file"),
    "ELOOP": ("a loop of symbolic links", "links that end at a file or folder"),
    "ENAMETOOLONG": ("a name too long for the file system", "a shorter path"),
    "ENOSPC": ("no space left on the device", "free space for the outputs"),
    "EDQUOT": ("the disk quota exceeded", "free space for the outputs"),
    "EROFS": ("a read-only file system", "a writable folder for the outputs"),
    "EEXIST": ("something already there", "a free name"),
    "ENOTEMPTY": ("a folder that is not empty", "an empty folder"),
    "EMFILE": ("too many open files", "a higher `ulimit -n`"),
}


def os_error_line(e: OSError) -> str | None:
    """One line for an OS error about a path (`e.filename` set): the path, what the OS found and
    what was expected; None for other OS errors (no path: not a user's file)."""
    import errno

    if e.filename is None:
        return None
    name = errno.errorcode.get(e.errno or 0, "")
    found, expected = _OS_FOUND.get(name, (e.strerror or type(e).__name__, "a usable path"))
    path = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else str(e.filename)
    return f"{path}: found {found} ({name or e.errno}), expected {expected}"
