"""Where everything is in a dataset tree, for one edition (given or detected).

The releases differ every year (protocol reference §2-§4): the annotation root has a different name
in each release, the per-track and split folder names change, crops may be spread over several
`cropped_aligned*` folders, raw videos over `batch1/`, `batch2/`, `batch3/`. So nothing is assumed
about where a folder sits: the tree is walked once (a few levels deep, never into crop, video or
image folders) and every known name is looked up. All names come from `abaw.protocol`.

What is missing or ambiguous becomes a `Problem`; a tree with nothing of the edition is an
`AbawError`.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from abaw import protocol
from abaw.data import problems as P
from abaw.data.cropdirs import find_crop_folders
from abaw.data.cropsource import read_source
from abaw.data.detect import (
    AFFWILD_TRACKS,
    Scan,
    all_task_folders,
    detect_edition,
    scan,
    template_facts,
)
from abaw.errors import AbawError

CACHE_DIR = ".abaw-index"  # inside the root; hidden, so the walk never enters it


@dataclass
class Layout:
    root: Path
    edition: int
    annotation_root: Path | None = None
    track_files: dict = field(default_factory=dict)  # track -> split -> [annotation file Path]
    crop_dirs: dict = field(default_factory=dict)    # id -> [its crop folders], the used first
    crop_folders: list = field(default_factory=list)  # folders of <id>/ crop folders (cropdirs)
    crop_sources: list = field(default_factory=list)  # crop sources outside the tree (cropsource)
    face_tables: dict = field(default_factory=dict)   # id -> face table of its video (a source)
    face_crops: dict = field(default_factory=dict)    # id -> crops its face summary lists
    face_summaries: list = field(default_factory=list)
    videos: dict = field(default_factory=dict)       # video stem -> [Path] in batch folders
    batch_dirs: list = field(default_factory=list)
    mtl_files: dict = field(default_factory=dict)    # "train" | "val" | "test" -> Path
    lsd_dirs: dict = field(default_factory=dict)     # "train" | "val" -> {class index: [Path]}
    lsd_test_dir: Path | None = None
    lsd_list: Path | None = None
    ce_videos: dict = field(default_factory=dict)    # "01" -> Path
    test_lists: dict = field(default_factory=dict)   # track -> Path (editions 1-3)
    templates: dict = field(default_factory=dict)    # track -> Path (editions 5+, CE)
    problems: list = field(default_factory=list)

    def rel(self, path) -> str:
        """A path relative to the root (absolute when outside it, e.g. a user's template)."""
        path = Path(path)
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def tracks(self) -> tuple[str, ...]:
        return protocol.tracks_of(self.edition)


def discover(root, edition: int | None = None, templates: dict | None = None,
             crops=()) -> Layout:
    """The layout of `root` for `edition` (detected when None); user templates win over found ones.
    `crops`: crop sources outside the tree (`abaw.data.cropsource`), the first wins; their crops
    replace the tree's for the ids they hold."""
    if not Path(root).is_dir():           # (a link loop too: resolving it would raise)
        raise AbawError(f"{root}: found no such folder, expected a dataset root")
    root = Path(root).resolve()
    s = scan(root)
    if edition is None:
        edition = detect_edition(s)
    protocol.tracks_of(edition)  # an unknown edition is an AbawError naming the valid ones
    ed = protocol.EDITIONS[edition]
    lay = Layout(root, edition)
    _affwild(lay, s, ed)
    _media(lay, s, crops)
    if "MTL" in ed.tracks:
        _mtl(lay, s)
    if "LSD" in ed.tracks:
        _lsd(lay, s)
    if "CE" in ed.tracks:
        lay.ce_videos = {k: sorted(v)[0] for k, v in s.ce_videos.items()}
    _tests(lay, s, templates or {})
    found = lay.track_files or lay.mtl_files or lay.lsd_dirs or lay.templates or lay.ce_videos
    if not found:
        other = ""
        try:
            other = f"; it looks like edition {detect_edition(s)}"
        except AbawError:
            pass
        wanted = [ed.task_folders[t] for t in ed.tracks if t in ed.task_folders] or \
            [protocol.MTL_FILES.get(edition, {}).get("train", ""), protocol.CE_TEMPLATE_NAME]
        raise AbawError(f"{root}: found none of {', '.join(w for w in wanted if w)}, expected the "
                        f"edition {edition} layout{other}")
    return lay


def _unique(lay: Layout, paths: list, what: str) -> Path | None:
    if not paths:
        return None
    paths = sorted(paths, key=lambda p: (len(p.parts), str(p)))  # the shallowest wins
    if len(paths) > 1:
        lay.problems.append(P.warning(lay.rel(paths[1]), None, f"a second {what}",
                                      "one", f"using {lay.rel(paths[0])}"))
    return paths[0]


def _affwild(lay: Layout, s: Scan, ed: protocol.Edition) -> None:
    wanted = {t: ed.task_folders[t] for t in ed.tracks if t in AFFWILD_TRACKS}
    if not wanted:
        return
    parents = defaultdict(int)
    for name in wanted.values():
        for p in s.dirs.get(name, []):
            parents[p.parent] += 1
    if not parents:
        others = sorted(n for n, eds in all_task_folders().items() if n in s.dirs)
        hint = f"; found {', '.join(others)} (another edition's names)" if others else ""
        lay.problems.append(P.error(lay.rel(lay.root), None, "no annotation folder",
                                    f"{', '.join(wanted.values())} for edition {ed.number}{hint}"))
        return
    lay.annotation_root = max(parents, key=lambda p: (parents[p], -len(p.parts)))
    for track, name in wanted.items():
        folder = lay.annotation_root / name
        if not folder.is_dir():
            lay.problems.append(P.warning(lay.rel(lay.annotation_root), None, f"no {name}/ folder",
                                          f"it for the {track} track of edition {ed.number}",
                                          f"{track} is not indexed"))
            continue
        lay.track_files[track] = {}
        for split, split_name in ed.split_folders.items():
            sdir = folder / split_name
            if not sdir.is_dir():
                have = sorted(p.name for p in folder.iterdir() if p.is_dir())
                lay.problems.append(P.error(lay.rel(folder), None,
                                            f"folders {have}" if have else "no split folder",
                                            f"{split_name}/ (edition {ed.number})"))
                continue
            files, other = [], []
            for e in sorted(os.scandir(sdir), key=lambda e: e.name):
                (files if e.name.endswith(".txt") and e.is_file() else other).append(Path(e.path))
            for o in other:
                lay.problems.append(P.warning(lay.rel(o), None, "a file that is not <id>.txt",
                                              "only annotation files", "ignored"))
            lay.track_files[track][split] = files


def _media(lay: Layout, s: Scan, crops=()) -> None:
    if not s.crop_roots and not crops:
        lay.problems.append(P.warning(lay.rel(lay.root), None, f"no {protocol.CROP_FOLDER}*/ folder",
                                      "face crops <id>/<NNNNN>.jpg", "no frame has a crop"))
    found = find_crop_folders(s.crop_roots)        # nested and duplicated ones too
    lay.crop_folders, lay.crop_dirs = found.folders, found.videos
    taken: set[str] = set()
    for folder in crops:
        src = read_source(folder)
        lay.crop_sources.append(src.folder)
        lay.crop_folders += src.crop_folders
        lay.face_summaries += src.summaries
        lay.problems += src.problems
        for id_ in (set(src.crop_dirs) | set(src.tables)) - taken:   # the first source wins
            taken.add(id_)
            if id_ in src.crop_dirs:
                lay.crop_dirs[id_] = src.crop_dirs[id_]
            else:                      # looked at, no face found: no crop from the tree either
                lay.crop_dirs.pop(id_, None)
            if id_ in src.tables:
                lay.face_tables[id_], lay.face_crops[id_] = src.tables[id_], src.crops[id_]
    lay.batch_dirs = sorted(s.batch_dirs)
    for bdir in lay.batch_dirs:
        for e in os.scandir(bdir):
            stem, ext = os.path.splitext(e.name)
            if ext.lower() in protocol.VIDEO_EXTENSIONS and e.is_file():
                lay.videos.setdefault(stem, []).append(Path(e.path))


def _mtl(lay: Layout, s: Scan) -> None:
    names = protocol.MTL_FILES[lay.edition]
    if names["folder"]:
        cands = [d for d in s.dirs.get(names["folder"], [])]
        folders = [_unique(lay, cands, f"{names['folder']}/ folder")] if cands else []
    else:
        folders = [p.parent for p in s.files.get(names["train"], [])]
    for split in ("train", "val"):
        found = [p for p in s.files.get(names[split], []) if p.parent in folders] \
            or s.files.get(names[split], [])
        if found:
            lay.mtl_files[split] = _unique(lay, found, names[split])
        else:
            lay.problems.append(P.error(lay.rel(lay.root), None, f"no {names[split]}",
                                        f"the MTL {split} file of edition {lay.edition}"))
    known = (protocol.MTL_TEST_LIST, protocol.MTL_TEST_LIST_ED3)
    test = [p for d in folders for p in sorted(d.glob("*.txt"))
            if "test" in p.name.lower() and p.name not in (protocol.LSD_TEST_LIST,)]
    if len(test) > 1:
        test = [p for p in test if p.name in known] or test
    # edition 3's list may sit at the root beside the other test lists, not in MTL_Challenge/
    test = test or [p for n in known for p in s.files.get(n, [])]
    if test:
        lay.mtl_files["test"] = _unique(lay, test, "MTL test list")
    else:
        _no_test(lay, "MTL", test_rows_pattern("MTL", lay.edition), "list")


def _lsd(lay: Layout, s: Scan) -> None:
    spelling = {n.upper(): i for i, c in enumerate(protocol.LSD_CLASSES)
                for n in protocol.LSD_FOLDER_NAMES[c]}
    for split in ("train", "val"):
        d = _unique(lay, s.dirs.get(protocol.LSD_FOLDERS[split], []), protocol.LSD_FOLDERS[split])
        if d is None:
            lay.problems.append(P.error(lay.rel(lay.root), None,
                                        f"no {protocol.LSD_FOLDERS[split]}/ folder",
                                        f"the LSD {split} images in class folders"))
            continue
        classes: dict[int, list[Path]] = {}
        for e in sorted(os.scandir(d), key=lambda e: e.name):
            if not e.is_dir():
                continue
            if e.name.upper() not in spelling:
                lay.problems.append(P.error(lay.rel(e.path), None, f"class folder {e.name!r}",
                                            f"one of {', '.join(sorted(spelling))}"))
                continue
            classes.setdefault(spelling[e.name.upper()], []).append(Path(e.path))
        lay.lsd_dirs[split] = classes
    lay.lsd_list = _unique(lay, s.files.get(protocol.LSD_TEST_LIST, []), protocol.LSD_TEST_LIST)
    lay.lsd_test_dir = _unique(lay, s.dirs.get(protocol.LSD_FOLDERS["test"], []),
                               protocol.LSD_FOLDERS["test"])


def _tests(lay: Layout, s: Scan, given: dict) -> None:
    for track, path in given.items():
        path = Path(path)
        if not path.is_file():
            raise AbawError(f"--template {track}={path}: found no such file, expected a template")
        lay.templates[track.upper()] = path.resolve()
    tracks = [t for t in lay.tracks if t in AFFWILD_TRACKS]
    if protocol.EDITIONS[lay.edition].submission == "per_video":
        for t in tracks:
            lay.test_lists[t] = _unique(lay, s.files.get(protocol.TEST_LISTS_ED3[t], []),
                                        protocol.TEST_LISTS_ED3[t])
        for t in [t for t, p in lay.test_lists.items() if p is None]:
            del lay.test_lists[t]
            if lay.edition == 3:  # editions 1-2 list names were never published
                _no_test(lay, t, test_rows_pattern(t, lay.edition), "list")
        return
    special = set(protocol.TEST_LISTS_ED3.values()) | {protocol.LSD_TEST_LIST, protocol.MTL_TEST_LIST,
                                                        protocol.MTL_TEST_LIST_ED3}
    for t in tracks + (["CE"] if "CE" in lay.tracks else []):
        if t in lay.templates:
            continue
        # by what identifies a template (track token, `test_set`, the edition's ordinal if the
        # name has one), not by one spelling: teams' copies say _example or _sample
        cands = [p for name, paths in s.files.items() for p in paths
                 if name not in special and (f := template_facts(name)) and f[1] == t
                 and f[0] in (None, lay.edition)]
        if t == "CE":
            cands += s.files.get(protocol.CE_TEMPLATE_NAME, [])
        chosen = _choose_template(lay, t, sorted(cands, key=lambda p: (len(p.parts), str(p))))
        if chosen is not None:
            lay.templates[t] = chosen
        elif not cands:
            _no_test(lay, t, test_rows_pattern(t, lay.edition), "template")


def _choose_template(lay: Layout, track: str, cands: list) -> Path | None:
    """One template among the candidates: the edition's own spelling, the one whose name carries
    the edition's ordinal, or copies of one file (the shallowest); else an error."""
    if len(cands) <= 1:
        return cands[0] if cands else None
    for keep in (lambda p: p.name == protocol.template_name(track, lay.edition),
                 lambda p: (template_facts(p.name) or (None,))[0] == lay.edition):
        narrowed = [p for p in cands if keep(p)]
        if len(narrowed) == 1:
            return narrowed[0]
    if len({hashlib.sha256(p.read_bytes()).digest() for p in cands}) == 1:   # copies of one file
        lay.problems.append(P.warning(lay.rel(cands[1]), None, f"a copy of the {track} template",
                                      "one", f"using {lay.rel(cands[0])}"))
        return cands[0]
    lay.problems.append(P.error(lay.rel(cands[0]), None, f"{len(cands)} {track} templates "
                                f"({', '.join(lay.rel(c) for c in cands)})", "one",
                                f"pass --template {track}=FILE"))
    return None


def test_rows_pattern(track: str, edition: int) -> str:
    """Where discovery looks for a track's test rows (template, list), in words for messages."""
    track = track.upper()
    if track == "MTL":
        return (f"*test*.txt beside the MTL files, or {protocol.MTL_TEST_LIST} / "
                f"{protocol.MTL_TEST_LIST_ED3}")
    if track == "LSD":
        return protocol.LSD_TEST_LIST
    if protocol.EDITIONS[edition].submission == "per_video":
        return protocol.TEST_LISTS_ED3.get(track, f"a {track} test list")
    token = protocol.TEMPLATE_TRACK_TOKEN[track]
    spelt = f"*{token}*test_set*.txt (e.g. {protocol.template_name(track, edition)})"
    return f"{protocol.CE_TEMPLATE_NAME} or *CE*test_set*.txt" if track == "CE" else spelt


def _no_test(lay: Layout, track: str, name: str, what: str) -> None:
    hint = f"; pass --template {track}=FILE" if what == "template" else ""
    lay.problems.append(P.warning(lay.rel(lay.root), None, f"no {name}",
                                  f"the {track} test {what} of edition {lay.edition}",
                                  f"no {track} test sequences{hint}"))
