"""A problem found in a dataset tree: one line naming the file, the line, what was found and expected.

Parsers collect problems instead of stopping at the first one, so `abaw data check` can list every
problem of a release in one run. `load_index` raises the first error as an `AbawError`.

Severity:
- "error": the data can't be used as it is (a header that doesn't match, a non-number, a value
  out of range, a duplicate id ...). The sequence concerned is left out of the index and named
  in the problem, never dropped silently.
- "warning": the data is read and nothing is lost, but something deserves a look (a BOM or CRLF
  line ends that were stripped, a crop folder that no annotation refers to ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from abaw.errors import AbawError, where


@dataclass(frozen=True)
class Problem:
    severity: str           # "error" | "warning"
    file: str               # path relative to the dataset root where possible
    line: int | None        # 1-based line of the file (line 1 is the header), None: the whole file
    found: str
    expected: str
    note: str = ""          # what the loader did about it, or a hint
    field: str | None = None  # the column concerned, when one is

    def __str__(self) -> str:
        text = f"{where(self.file, self.line, self.field)} found {self.found}, expected {self.expected}"
        return f"{text}; {self.note}" if self.note else text

    def to_dict(self) -> dict:
        return asdict(self)


def error(file, line, found, expected, note="", field=None) -> Problem:
    return Problem("error", str(file), line, found, expected, note, field)


def warning(file, line, found, expected, note="", field=None) -> Problem:
    return Problem("warning", str(file), line, found, expected, note, field)


def errors(problems) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def raise_first_error(problems, root) -> None:
    """Raise the first error as one line, counting the others (listed by `abaw data check`)."""
    errs = errors(problems)
    if not errs:
        return
    more = f" (+{len(errs) - 1} more errors; run `abaw data check {root}`)" if len(errs) > 1 else ""
    raise AbawError(f"{errs[0]}{more}")


def quote(text: str, limit: int = 60) -> str:
    """A found value as it appears in the file, shortened so a message stays one line."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)
