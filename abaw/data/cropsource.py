"""A crop source: face crops kept outside the dataset tree, e.g. what `abaw faces extract` writes.

    DIR/<id>/<NNNNN>.jpg     the crops of annotation id <id>, named as in the organisers'
                             `cropped_aligned/` (a frame without a face has no file)
    DIR/<stem>.faces.json    per raw video, written last: the ids it cropped (the face summary)
    DIR/<stem>.faces.csv     per raw video: every decoded frame and the faces found (face table)

A source is given with `--crops DIR`, or found at `<work>/faces/<dataset key>` (where
`abaw faces extract ROOT` writes by default). Its crops replace the tree's for the ids it holds (a
re-crop of the same videos, or the only crops of raw test videos such as CE's); the tree's crops
serve the other ids. An id whose video went through the face step has a face table even when no
face was found in it: the face was looked for, and its frames are rows without a face (missing,
imputed and flagged later), never filled here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from abaw.data import problems as P
from abaw.data.cropdirs import find_crop_folders
from abaw.errors import AbawError

TABLE_SUFFIX = ".faces.csv"
SUMMARY_SUFFIX = ".faces.json"


@dataclass
class CropSource:
    folder: Path
    crop_folders: list[Path] = field(default_factory=list)        # as `CropFolders.folders`
    crop_dirs: dict[str, list[Path]] = field(default_factory=dict)  # id -> its video folders
    tables: dict[str, Path] = field(default_factory=dict)          # id -> its video's face table
    crops: dict[str, int] = field(default_factory=dict)            # id -> crops its summary lists
    summaries: list[Path] = field(default_factory=list)
    problems: list = field(default_factory=list)


def read_source(folder) -> CropSource:
    """The crops and face tables of one source folder; a folder holding neither is an error."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise AbawError(f"--crops: found no folder {folder}, expected a folder of "
                        "<id>/<NNNNN>.jpg crops (`abaw faces extract --out DIR`)")
    found = find_crop_folders([folder])
    src = CropSource(folder, found.folders, found.videos)
    for name in sorted(os.listdir(folder)):
        if name.endswith(SUMMARY_SUFFIX) and not name.startswith("."):
            _summary(src, folder / name)
    if not src.crop_dirs and not src.tables:
        raise AbawError(f"--crops {folder}: found no <id>/<NNNNN>.jpg crop folder and no "
                        f"*{SUMMARY_SUFFIX} face summary, expected the output of "
                        "`abaw faces extract`")
    return src


def _summary(src: CropSource, path: Path) -> None:
    """The ids a face summary lists, with their table (a summary is written after its table)."""
    try:
        ids = json.loads(path.read_text())["ids"]
        counts = {str(i): int(v["crops"]) for i, v in ids.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        src.problems.append(P.warning(str(path), None, f"a face summary that can't be read ({e})",
                                      "the JSON `abaw faces extract` writes",
                                      "its video counts as not looked at"))
        return
    table = path.with_name(path.name[: -len(SUMMARY_SUFFIX)] + TABLE_SUFFIX)
    if not table.is_file():
        src.problems.append(P.warning(str(path), None, f"a face summary without {table.name}",
                                      "the face table beside it",
                                      "its video counts as not looked at"))
        return
    src.summaries.append(path)
    for i, n in counts.items():
        src.tables[i] = table
        src.crops[i] = n
