"""Walking a dataset tree once, and telling which edition's layout it has.

The walk goes a few levels deep and never into crop, raw-video, image or split folders (those can
hold millions of files); it records every directory name and every `.txt` file name it meets, so
discovery can look names up wherever a release put them.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from abaw import protocol
from abaw.errors import AbawError

MAX_DEPTH = 4  # root/<annotation root>/<track folder>/<split folder> is depth 3
AFFWILD_TRACKS = ("VA", "EXPR", "AU")
_BATCH = re.compile(r"batch\d+\Z")
_CE_VIDEO = re.compile(r"(\d\d)(\.[A-Za-z0-9]+)\Z")
_ORDINAL = re.compile(r"(?<![0-9])([0-9]{1,2})(?:st|nd|rd|th)(?![a-z])", re.IGNORECASE)


def template_facts(name: str) -> tuple[int | None, str] | None:
    """(edition, track) of a file named like an organisers' template, or None.

    Names vary between copies of one edition (`CVPR_6th_ABAW_Expr_test_set_sample.txt`,
    `..._test_set_example.txt`, `ABAW_VA_test_set_example.txt`): a template is recognised by the
    track token and `test_set`, its edition by the ordinal (`6th`; None when the name has none).
    """
    low = name.lower()
    if "test_set" not in low or not low.endswith(".txt"):
        return None
    tokens = re.split(r"[^a-z0-9]+", low[:-4])
    tracks = [t for t, tok in protocol.TEMPLATE_TRACK_TOKEN.items() if tok.lower() in tokens]
    if len(tracks) != 1:
        return None
    m = _ORDINAL.search(name)
    edition = int(m.group(1)) if m and int(m.group(1)) in protocol.EDITIONS else None
    return edition, tracks[0]


def all_split_folders() -> set[str]:
    return {n for ed in protocol.EDITIONS.values() for n in ed.split_folders.values()}


def all_task_folders() -> dict[str, set[int]]:
    out = defaultdict(set)
    for e, ed in protocol.EDITIONS.items():
        for name in ed.task_folders.values():
            out[name].add(e)
    return out


@dataclass
class Scan:
    """Names seen in one bounded walk of the tree."""
    dirs: dict = field(default_factory=lambda: defaultdict(list))    # name -> [Path]
    files: dict = field(default_factory=lambda: defaultdict(list))   # .txt name -> [Path]
    crop_roots: list = field(default_factory=list)
    batch_dirs: list = field(default_factory=list)
    ce_videos: dict = field(default_factory=lambda: defaultdict(list))  # "01" -> [Path]


def scan(root: Path) -> Scan:
    out = Scan()
    stop = all_split_folders() | set(protocol.LSD_FOLDERS.values())
    todo = [(root, 0)]
    while todo:
        folder, depth = todo.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            path = Path(e.path)
            if e.is_dir():
                out.dirs[e.name].append(path)
                if e.name.startswith(protocol.CROP_FOLDER_PREFIX):
                    out.crop_roots.append(path)
                elif _BATCH.match(e.name):
                    out.batch_dirs.append(path)
                elif e.name not in stop and depth + 1 < MAX_DEPTH:
                    todo.append((path, depth + 1))
            elif e.name.lower().endswith(".txt"):
                out.files[e.name].append(path)
            elif (m := _CE_VIDEO.match(e.name)) and m.group(2).lower() in protocol.VIDEO_EXTENSIONS:
                out.ce_videos[m.group(1)].append(path)
    return out


def find_file(given, root=None) -> Path | None:
    """A file the user named (`--template`, `--test-list`): as given when it is there, else under
    the dataset root, as a path relative to it or, for a bare name (the README's
    `template=CVPR_8th_ABAW_AU_test_set_example.txt`), wherever the tree walk meets that name.
    None when found nowhere; an error naming them when several different files have the name."""
    path = Path(given).expanduser()
    if path.is_file():
        return path
    if root is None or path.is_absolute():
        return None
    root = Path(root)
    if (root / path).is_file():
        return root / path
    if len(path.parts) != 1:
        return None
    found = sorted(scan(root).files.get(path.name, []), key=lambda p: (len(p.parts), str(p)))
    if len({p.read_bytes() for p in found}) > 1:
        raise AbawError(f"{given}: found {len(found)} different files of that name under {root} "
                        f"({', '.join(str(p.relative_to(root)) for p in found)}), expected one: "
                        "give its path")
    return found[0] if found else None


def detect_edition(s: Scan) -> int:
    """The edition whose layout the tree has; an error naming the candidates when it can't tell."""
    tasks = all_task_folders()
    present = {n for n in tasks if n in s.dirs}
    splits = {n for n in all_split_folders() if n in s.dirs}
    template_eds = {e for e in protocol.EDITIONS for t in ("VA", "EXPR", "AU")
                    if protocol.EDITIONS[e].template_name
                    and protocol.template_name(t, e) in s.files}
    template_eds |= {f[0] for name in s.files if (f := template_facts(name)) and f[0]}
    mtl47 = protocol.MTL_FILES[4]["train"] in s.files
    lsd = any(n in s.dirs for n in protocol.LSD_FOLDERS.values()) or protocol.LSD_TEST_LIST in s.files
    ce = protocol.CE_TEMPLATE_NAME in s.files or bool(s.ce_videos)
    fits = []
    for e, ed in protocol.EDITIONS.items():
        own = {ed.task_folders[t] for t in ed.tracks if t in AFFWILD_TRACKS}
        if own:
            ok = own & present and present <= set(ed.task_folders.values()) \
                and set(ed.split_folders.values()) <= splits
        else:
            ok = not present and (mtl47 or lsd or ce)
        if ok:
            fits.append(e)
    narrowing = [
        lambda e: e in template_eds,
        lambda e: e == 3 if ("MTL_Challenge" in present or protocol.MTL_TEST_LIST_ED3 in s.files
                             or any(n in s.files for n in protocol.TEST_LISTS_ED3.values())) else True,
        lambda e: ("LSD" in protocol.EDITIONS[e].tracks) == lsd if not present else True,
        lambda e: ("CE" in protocol.EDITIONS[e].tracks) == ce if not present else True,
        lambda e: "batch3" in protocol.EDITIONS[e].raw_video_folders
        if any(d.name == "batch3" for d in s.batch_dirs) else True,
        lambda e: e != 9 or not ({protocol.EDITIONS[9].task_folders[t] for t in ("EXPR", "AU")}
                                  & present),
    ]
    for keep in narrowing:
        narrowed = [e for e in fits if keep(e)]
        fits = narrowed or fits
    if len(fits) == 1:
        return fits[0]
    if not fits:
        raise AbawError("dataset root: found no ABAW layout (no VA/EXPR/AU annotation folders, "
                        "MTL files, LSD folders or CE template), expected the tree of one "
                        "edition (see `abaw protocol`)")
    raise AbawError(f"dataset root: found a layout that fits editions {fits}, expected one: "
                    "pass --edition")
