"""Where a tree's face crops are: every crop folder (a folder of `<video id>/<NNNNN>.jpg`) under
its `cropped_aligned*` folders, however deep a release or an unzip nested it.

Real trees nest and duplicate them: `cropped_aligned/cropped_aligned/`,
`cropped_aligned/cropped_aligned_new_50_vids/`, `cropped_aligned_image_test/batch1 (1)/cropped_aligned/`.
So the names say only where to start: from each `cropped_aligned*` folder the tree walk found,
the folders are told apart by what they hold, at most MAX_DEPTH levels down:
- a video folder holds crops; its kind is known at its first crop, so a folder of thousands of
  crops costs one directory read, and a video folder is never walked into;
- a crop folder holds at least one video folder; its empty subfolders are videos without any
  crop (no face was ever found), as in the releases;
- a folder that holds folders and no crop is looked into (a stray Thumbs.db or readme in it
  changes nothing).

When two crop folders hold the same video, the copy used is the one in the shallowest crop
folder, then in one named exactly `cropped_aligned`, then the first by path. An identical copy
(the same crop names with the same sizes: an unzip done twice) is a warning naming both; copies
that differ are an error naming both, because which one is right is not abaw's to guess.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from abaw import protocol
from abaw.data import problems as P

MAX_DEPTH = 4   # cropped_aligned_image_test/batch1 (1)/cropped_aligned/<id> is depth 3
_CROP_NAME = re.compile(rf"\d{{{protocol.FRAME_DIGITS}}}\.jpg\Z")


@dataclass
class CropFolders:
    folders: list[Path] = field(default_factory=list)   # crop folders, the preferred first
    videos: dict[str, list[Path]] = field(default_factory=dict)  # id -> video folders, used first


def _subfolders(folder: Path) -> list[Path]:
    """The folders in `folder`. A folder that cannot be read (no permission) or a link that
    leads nowhere (a loop, a moved target) raises the OSError naming it: skipping it would
    silently drop its videos' crops."""
    out = []
    with os.scandir(folder) as it:
        for e in it:
            if e.name.startswith("."):
                continue
            if e.is_symlink() and not os.path.exists(e.path):
                os.stat(e.path)         # raises ELOOP / ENOENT with the link's path
            if e.is_dir():
                out.append(Path(e.path))
    return sorted(out)


def _kind(folder: Path) -> str:
    """"video" (holds a crop), "folder" (holds folders, no crop) or "empty"; stops at the first
    crop. Other files (Thumbs.db, a readme) say nothing either way."""
    holds_folders = False
    with os.scandir(folder) as it:          # an unreadable folder: the OSError names it
        for e in it:
            if e.name.startswith("."):
                continue            # abaw's markers, .DS_Store: neither crops nor folders
            if _CROP_NAME.match(e.name):
                return "video"
            holds_folders = holds_folders or e.is_dir()
    return "folder" if holds_folders else "empty"


def preference(folder: Path) -> tuple:
    """Sort key of crop folders: the shallowest, then `cropped_aligned` itself, then by path."""
    return len(folder.parts), folder.name != protocol.CROP_FOLDER, str(folder)


def find_crop_folders(crop_roots) -> CropFolders:
    """Every crop folder under the `cropped_aligned*` folders given, and each video's folders."""
    found: list[tuple[Path, list[Path]]] = []
    seen: set[Path] = set()
    for start in crop_roots:
        todo = [(Path(start), 0)]
        while todo:
            folder, depth = todo.pop()
            real = folder.resolve()
            if real in seen:            # a link back up, or a root listed twice
                continue
            seen.add(real)
            kinds = {sub: _kind(sub) for sub in _subfolders(folder)}
            videos = [s for s, k in kinds.items() if k == "video"]
            inner = [s for s, k in kinds.items() if k == "folder"]
            empty = [s for s, k in kinds.items() if k == "empty"]
            if videos or (empty and not inner):
                found.append((folder, sorted(videos + empty)))
            if depth < MAX_DEPTH:
                todo += [(s, depth + 1) for s in inner]
    out = CropFolders()
    for folder, videos in sorted(found, key=lambda f: preference(f[0])):
        out.folders.append(folder)
        for v in videos:
            out.videos.setdefault(v.name, []).append(v)
    return out


def _crops(folder: Path) -> dict[str, int]:
    """{crop name: size} of a video folder."""
    try:
        with os.scandir(folder) as it:
            return {e.name: e.stat().st_size for e in it if _CROP_NAME.match(e.name)}
    except OSError:
        return {}


def _difference(used: dict, other: dict) -> str:
    if set(used) != set(other):
        odd = sorted(set(used) ^ set(other))[0]
        return f"{len(other)} crops against {len(used)}, e.g. {odd} in one only"
    odd = next(n for n in sorted(used) if used[n] != other[n])
    return f"{odd} of {other[odd]:,} bytes against {used[odd]:,}"


def copy_problems(id_: str, dirs: list[Path], rel) -> list[P.Problem]:
    """One problem per extra folder of a video's crops (`dirs`, the used one first): a warning for
    an identical copy, an error naming both folders for copies that differ."""
    if len(dirs) < 2:
        return []
    used = _crops(dirs[0])
    out = []
    for other in dirs[1:]:
        theirs = _crops(other)
        if theirs == used:
            out.append(P.warning(rel(other), None, f"a copy of the crops of {id_!r}",
                                 "one crop folder per video", f"using {rel(dirs[0])}"))
        else:
            out.append(P.error(rel(other), None, f"crops of {id_!r} that differ from those in "
                               f"{rel(dirs[0])} ({_difference(used, theirs)})",
                               "one crop folder per video, or identical copies",
                               f"{rel(dirs[0])} is used until the wrong one is removed"))
    return out
