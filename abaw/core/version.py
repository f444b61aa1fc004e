"""The code version every artifact records: abaw's version, plus the git commit (and '-dirty')
when run from a checkout."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        out = version("abaw")
    except PackageNotFoundError:
        out = "unknown"
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, timeout=5,
                                capture_output=True, text=True)
        if commit.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                   cwd=here, timeout=5, capture_output=True, text=True)
            out += f"+g{commit.stdout.strip()}" + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return out
