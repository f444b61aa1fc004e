"""The validator's report: every problem, grouped by kind, capped per kind with exact counts.

Each problem reads `file:line: found ..., expected ...`. A kind's count is exact even when only
the first `cap` examples are kept, so a million bad rows cost a counter, not a million strings.

Two levels: an error is what the organisers would reject or mis-read (wrong rows, names, counts,
values out of range); a warning (`WARNINGS`) is accepted but costs score (few decimals, a constant
column, the template's dummy values, a class never predicted). Warnings are shown and leave the
file valid, unless `strict`. A report whose expected rows were unknown (`unchecked`, e.g. per-video
files without the test videos and their lengths) is "not checked", never valid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from abaw.errors import where

# kind -> what it means; the order is the order of the report
KINDS = {
    "empty_file": "empty file",
    "zip_unsafe": "unsafe zip entries (never extracted)",
    "zip_unreadable": "unreadable zip",
    "too_large": "too large to be a submission (not read)",
    "layout": "files in the wrong place",
    "unexpected_file": "files that are not part of a submission",
    "bom": "byte-order mark",
    "line_ending": "line ends",
    "header": "header",
    "blank_line": "blank lines",
    "missing_video": "missing videos",
    "extra_video": "extra videos",
    "length": "per-video lengths",
    "missing_rows": "missing rows",
    "extra_rows": "extra rows",
    "duplicate_row": "duplicate rows",
    "row_order": "rows out of template order",
    "bad_key": "unreadable frame names",
    "frame_name": "frame names spelt differently from the template",
    "field_count": "number of fields",
    "one_hot": "one-hot / probability columns instead of a class index",
    "whitespace": "spaces around values",
    "not_a_number": "values that are not numbers",
    "not_finite": "NaN / inf values",
    "va_range": "valence / arousal outside [-1, 1]",
    "class_name": "class names instead of indices",
    "class_not_integer": "class indices that are not integers",
    "class_range": "class indices out of range",
    "au_not_binary": "AUs that are not 0/1",
    "precision": "values written with fewer than 3 decimals",
    "constant_column": "constant columns",
    "template_dummy": "the template's dummy values",
    "class_never_predicted": "classes / AUs never predicted",
}
# accepted by the organisers but costly: shown, and errors only under `strict`
WARNINGS = frozenset({"precision", "constant_column", "template_dummy", "class_never_predicted"})
DEFAULT_CAP = 10


@dataclass(frozen=True)
class Problem:
    kind: str
    file: str
    line: int | None
    found: str
    expected: str

    def __str__(self) -> str:
        return f"{where(self.file, self.line)} found {self.found}, expected {self.expected}"


def quote(text, limit: int = 60) -> str:
    """A found value as written in the file, shortened so a message stays on one line."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


@dataclass
class Report:
    path: str
    track: str
    edition: int
    cap: int = DEFAULT_CAP
    examples: dict = field(default_factory=dict)    # kind -> [Problem] (at most cap)
    counts: Counter = field(default_factory=Counter)
    notes: list = field(default_factory=list)       # what was and wasn't checked
    checked: Counter = field(default_factory=Counter)   # files, rows, videos
    strict: bool = False                            # warnings count as errors
    unchecked: list = field(default_factory=list)   # what the rows could not be checked against

    def add(self, kind: str, file, line, found: str, expected: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown problem kind {kind}")
        self.counts[kind] += 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < self.cap:
            kept.append(Problem(kind, str(file), None if line is None else int(line), found,
                                expected))

    def add_rows(self, kind: str, file, lines, make) -> None:
        """Many rows of one kind; `make(i)` -> (found, expected) is called for kept ones only."""
        n = len(lines)
        if n == 0:
            return
        kept = self.examples.setdefault(kind, [])
        for i in range(min(n, self.cap - len(kept))):
            found, expected = make(i)
            kept.append(Problem(kind, str(file), None if lines[i] is None else int(lines[i]),
                                 found, expected))
        self.counts[kind] += n

    def is_error(self, kind: str) -> bool:
        return self.strict or kind not in WARNINGS

    @property
    def errors(self) -> int:
        return sum(n for k, n in self.counts.items() if self.is_error(k))

    @property
    def warnings(self) -> int:
        return sum(n for k, n in self.counts.items() if not self.is_error(k))

    @property
    def verdict(self) -> str:
        """valid, invalid, or not checked (no errors, but the expected rows were unknown)."""
        if self.errors:
            return "invalid"
        return "not checked" if self.unchecked else "valid"

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    def kinds(self) -> set[str]:
        return set(self.counts)

    def problems(self) -> list[Problem]:
        """Kept examples, errors first (in KINDS order), then warnings."""
        order = sorted(KINDS, key=lambda k: not self.is_error(k))
        return [p for kind in order for p in self.examples.get(kind, [])]

    def to_dict(self) -> dict:
        return {
            "path": self.path, "track": self.track, "edition": self.edition, "valid": self.valid,
            "verdict": self.verdict, "strict": self.strict, "problems": sum(self.counts.values()),
            "errors": self.errors, "warnings": self.warnings, "unchecked": list(self.unchecked),
            "kinds": {k: {"title": KINDS[k], "count": self.counts[k],
                          "level": "error" if self.is_error(k) else "warning",
                          "examples": [asdict(p) for p in self.examples.get(k, [])]}
                      for k in KINDS if self.counts[k]},
            "checked": dict(self.checked), "notes": list(self.notes),
        }

    def text_lines(self) -> list[str]:
        """Plain grouped text: a line per kind with its count, then its kept examples."""
        out = []
        for k in KINDS:
            if not self.counts[k]:
                continue
            level = "" if self.is_error(k) else "warning: "
            out.append(f"{level}{KINDS[k]} ({k}): {self.counts[k]}")
            out.extend(f"  {p}" for p in self.examples.get(k, []))
            hidden = self.counts[k] - len(self.examples.get(k, []))
            if hidden > 0:
                out.append(f"  ... and {hidden} more")
        return out

    def summary(self) -> str:
        what = ", ".join(f"{v:,} {k[:-1] if v == 1 and k.endswith('s') else k}"
                         for k, v in self.checked.items())
        warned = (f"; {self.warnings} warning{'s' if self.warnings != 1 else ''} that cost score"
                  if self.warnings else "")
        if self.verdict == "valid":
            return (f"{self.path}: valid {self.track} submission for edition {self.edition} "
                    f"({what}){warned}")
        if self.verdict == "not checked":
            return (f"{self.path}: NOT CHECKED — no errors found, but without "
                    f"{' and '.join(self.unchecked)} the rows can't be checked ({what}){warned}")
        kinds = len([k for k in self.counts if self.is_error(k)])
        return (f"{self.path}: INVALID — {self.errors} problems of {kinds} kinds ({what})"
                f"{warned}")
