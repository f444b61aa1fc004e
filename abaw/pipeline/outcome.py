"""What a run prints and keeps: its scores, where its submission went (`summary.json`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from abaw.artifacts import check_fields, read_json
from abaw.atomic import write_bytes
from abaw.core.track import Track
from abaw.errors import AbawError


@dataclass
class Outcome:
    track: str
    edition: int
    run_dir: str
    val_raw: float | None = None        # official validation score as predicted
    val_post: float | None = None       # after the post-processing tuned on validation
    baseline: float | None = None       # best constant prediction on validation
    scored_on: str = "val"              # "val", or "test (hidden truth)" for CE on the twin
    zip_path: str | None = None
    seconds: float = 0.0

    def save(self) -> Path:
        # written last and atomically: its presence marks a finished run (`last_outcome`)
        return write_bytes(Path(self.run_dir) / "summary.json",
                           (json.dumps(dataclasses.asdict(self), indent=2) + "\n").encode())


def say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def last_outcome(track: Track, work="runs") -> Outcome:
    """The summary of the most recent complete run of `track` under `work`."""
    found = sorted((Path(work) / track.key).glob("*/summary.json"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise AbawError(f"{Path(work) / track.key}: found no finished run, expected one from "
                        f"`make track={track.key} submit`")
    path = found[-1]
    data = read_json(path, "the summary.json of a finished `abaw run`")
    fields = {f.name: f.type for f in dataclasses.fields(Outcome)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise AbawError(f"{path}: found field {unknown[0]}, expected only {', '.join(fields)}")
    check_fields(data, path, {"track": str, "edition": int, "run_dir": str})
    for name in ("val_raw", "val_post", "baseline", "seconds"):
        if data.get(name) is not None and not isinstance(data[name], (int, float)):
            raise AbawError(f"{path}: field {name}: found {data[name]!r:.40}, expected a number")
    for name in ("scored_on", "zip_path"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise AbawError(f"{path}: field {name}: found {data[name]!r:.40}, expected a string")
    return Outcome(**data)
