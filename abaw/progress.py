"""Progress bars for long steps: shown on a terminal, silent under --quiet, in CI and in logs.

A bar on a pipe or in a log file would write a line per update (or garble it with carriage
returns); the step's own summary line says what happened there instead.
"""

from __future__ import annotations

import os
import sys


def shown(quiet: bool = False) -> bool:
    """Whether a bar would be drawn: not quiet, not CI, stderr a terminal."""
    return not quiet and not os.environ.get("CI") and sys.stderr.isatty()


def bar(total: int | None, desc: str, quiet: bool = False, unit: str = "it", leave: bool = False):
    """A tqdm bar on stderr (disabled where `shown` says no); use as a context manager."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not shown(quiet), leave=leave,
                dynamic_ncols=True, file=sys.stderr)


class Steps:
    """A callable(str) for the library's `progress=` hooks: each call is one step done, its text
    shown beside the bar. Closes itself after `total` steps."""

    def __init__(self, total: int, desc: str, quiet: bool = False):
        self.bar = bar(total, desc, quiet, unit="step")

    def __call__(self, text: str) -> None:
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(1)
        if self.bar.total is not None and self.bar.n >= self.bar.total:
            self.bar.close()

    def close(self) -> None:
        self.bar.close()
