"""`load_index`: the dataset tree -> a `DatasetIndex`, cached on disk by a fingerprint of its inputs.

Which rows a sequence has:
- train / val (VA, EXPR, AU): one per annotation line, frames 1..N (line i after the header is
  frame i+1, protocol §2); the annotation length wins over any decoded video length.
- test, editions 1-3: ids from the test lists, frames 1..N with N = the organisers' length of the
  raw video (`media.organiser_length`: count + 1 by default), or the last crop when there is no
  video (a lower bound, reported).
- test, editions 5+ and CE: exactly the template rows of the video, in template order.
- MTL: one sequence per video and split, with the listed (non-contiguous) frames.
- LSD: one sequence per split ("train", "val", "test"), rows = images (`Sequence.images`).

Nothing is dropped silently: a file that can't be parsed, a crop folder no annotation refers to,
an annotated id without crops, a duplicate id: each is a `Problem` naming the file and line. A
crop that can't be decoded (0 bytes, or a JPEG cut short: an interrupted copy) is an error naming
it, and is never listed as a frame with a face, so no later step stops on it.
`load_index` raises the first error (`strict`); `abaw data check` lists them all.
"""

from __future__ import annotations

import os

import numpy as np

from abaw import protocol
from abaw.data import annotations, lists, media
from abaw.data import cache as index_cache
from abaw.data import problems as P
from abaw.data.cropdirs import copy_problems
from abaw.data.crops import crop_frames
from abaw.data.index import DatasetIndex, Media, Sequence
from abaw.data.layout import Layout, discover
from abaw.errors import AbawError

FRAME_COUNT = protocol.UNSURE["frame_count"].default
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
# Annotation rows differ from the decoded count by -1..+2 on some real videos (protocol §2), so a
# crop may sit a frame or two past the last row; further than this suggests a mismatched file.
ROW_SLACK = 2


def load_index(root, edition: int | None = None, cache: bool = True, probe_media: bool = False,
               *, templates: dict | None = None, frame_count: str = FRAME_COUNT,
               strict: bool = True, crops=()) -> DatasetIndex:
    """Index the tree under `root` (edition detected when None).

    templates: {track: file} to use instead of the templates found in the tree (editions 5+).
    frame_count: protocol UNSURE["frame_count"] ("opencv_plus_one" | "decoded"), editions 1-3 test.
    strict: raise the first error as an AbawError; otherwise errors land in `index.problems` too.
    crops: crop sources outside the tree, the first wins (`abaw.data.cropsource`).
    Warnings (nothing lost) are kept in `index.problems` either way.
    """
    index, found = build_index(root, edition, cache, probe_media, templates, frame_count,
                               crops=crops)
    if strict:
        P.raise_first_error(found, root)
    return index


def build_index(root, edition=None, use_cache=True, probe_media=False, templates=None,
                frame_count=FRAME_COUNT, rebuild=False, crops=()):
    """(index, problems); problems is empty when the index came from the cache (it was clean).

    use_cache: read a cache with the same fingerprint (unless `rebuild`) and write one when clean.
    """
    choice = protocol.UNSURE["frame_count"]
    if frame_count not in choice.alternatives:
        raise AbawError(f"frame_count: found {frame_count!r}, expected one of {choice.alternatives}")
    lay = discover(root, edition, templates, crops)
    fp = index_cache.fingerprint(lay, probe_media=probe_media, frame_count=frame_count,
                                 templates={k: str(v) for k, v in (templates or {}).items()},
                                 crops=[str(p) for p in lay.crop_sources])
    if use_cache and not rebuild:
        hit = index_cache.read(lay.root, fp)
        if hit is not None:
            return hit, []
    problems = list(lay.problems)
    index = Builder(lay, fp, problems, frame_count).run(probe_media)
    index.problems = [str(p) for p in problems]
    if use_cache and not P.errors(problems):
        index_cache.write(index)
    return index, problems


class Builder:
    def __init__(self, lay: Layout, fp: str, problems: list, frame_count: str):
        self.lay, self.problems, self.frame_count = lay, problems, frame_count
        self.index = DatasetIndex(lay.root, lay.edition, fp, {t: {} for t in lay.tracks},
                                  crop_sources=[str(p) for p in lay.crop_sources])
        self._crops: dict[str, np.ndarray] = {}

    def run(self, probe_media: bool) -> DatasetIndex:
        for track, splits in self.lay.track_files.items():
            for split, files in splits.items():
                self._annotated(track, split, files)
        for track, path in self.lay.test_lists.items():
            self._test_list(track, path)
        for track, path in self.lay.templates.items():
            self._template(track, path)
        for split, path in self.lay.mtl_files.items():
            self._mtl(split, path)
        if "LSD" in self.lay.tracks:
            self._lsd()
        self._media(probe_media)
        return self.index

    # --- sequences ---------------------------------------------------------------------------

    def _add(self, seq: Sequence) -> None:
        seqs = self.index.sequences.setdefault(seq.track, {})
        prev = seqs.get(seq.id)
        if prev is not None:
            self.problems.append(P.error(seq.source, None, f"{seq.track} id {seq.id!r} again "
                                         f"({seq.split})", "each id in one split only",
                                         f"already in {prev.source} ({prev.split})"))
            return
        seqs[seq.id] = seq

    def _annotated(self, track, split, files) -> None:
        labels = annotations.read_annotation_files([(p, self.lay.rel(p)) for p in files], track,
                                                   self.lay.edition, self.problems)
        for p in files:
            lab = labels.get(p.stem)
            if lab is not None:
                n = len(lab)
                self._add(Sequence(p.stem, track, split, np.arange(1, n + 1, dtype=np.int64), lab,
                                   self.lay.rel(p)))

    def _test_list(self, track, path) -> None:
        rel = self.lay.rel(path)
        for line, id_ in enumerate(lists.read_id_list(path, rel, self.problems) or [], start=1):
            n = self._test_length(id_, rel, line)
            if n:
                self._add(Sequence(id_, track, "test", np.arange(1, n + 1, dtype=np.int64), None,
                                   rel))

    def _test_length(self, id_, rel, line) -> int:
        video = self._raw_video(id_)
        if video is not None:
            try:
                return media.organiser_length(self.lay.root / video, self.frame_count)
            except AbawError as e:
                self.problems.append(P.error(rel, line, f"an unusable raw video for {id_!r} ({e})",
                                             "a video PyAV can read, to know how many rows it has"))
                return 0
        crops = self._crop_frames(id_)
        if len(crops):
            self.problems.append(P.warning(rel, line, f"no raw video for {id_!r}",
                                           "its video in " + ", ".join(
                                               self.lay.rel(d) for d in self.lay.batch_dirs),
                                           f"length {crops[-1]} taken from its last crop (a "
                                           "lower bound)"))
            return int(crops[-1])
        self.problems.append(P.error(rel, line, f"no raw video and no crop folder for {id_!r}",
                                     "one of them, to know how many rows it has"))
        return 0

    def _template(self, track, path) -> None:
        rel = self.lay.rel(path)
        groups = lists.read_template(path, rel, track, self.lay.edition, self.problems) or {}
        for vid, frames in groups.items():
            self._add(Sequence(vid, track, "test", frames.astype(np.int64), None, rel))

    def _mtl(self, split, path) -> None:
        rel = self.lay.rel(path)
        got = annotations.read_mtl_file(path, rel, self.problems, labelled=split != "test",
                                        edition=self.lay.edition)
        if got is None:
            return
        col, labels, groups = got
        for vid, rows in groups.items():
            lab = labels[rows] if labels is not None else None
            self._add(Sequence(vid, "MTL", split, col.frames[rows], lab, rel))

    def _lsd(self) -> None:
        lay = self.lay
        for split, classes in lay.lsd_dirs.items():
            images, labels = [], []
            for cls in range(len(protocol.LSD_CLASSES)):
                if cls not in classes:
                    self.problems.append(P.warning(lay.rel(lay.root / protocol.LSD_FOLDERS[split]),
                                                   None, f"no folder for class "
                                                   f"{protocol.LSD_CLASSES[cls]}",
                                                   "/".join(protocol.LSD_FOLDER_NAMES[
                                                       protocol.LSD_CLASSES[cls]])))
                for d in classes.get(cls, []):
                    names = sorted(os.listdir(d))
                    keep = [n for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
                    if len(keep) < len(names):
                        self.problems.append(P.warning(lay.rel(d), None,
                                                       f"{len(names) - len(keep)} non-image files",
                                                       "only images", "ignored"))
                    prefix = lay.rel(d) + "/"
                    images += [prefix + n for n in keep]
                    labels.append(np.full(len(keep), cls, np.float32))
            lab = np.concatenate(labels)[:, None] if labels else np.zeros((0, 1), np.float32)
            self._add(Sequence(split, "LSD", split, np.arange(1, len(images) + 1, dtype=np.int64),
                               lab, lay.rel(lay.root / protocol.LSD_FOLDERS[split]), images))
        if lay.lsd_list is None:
            self.problems.append(P.warning(lay.rel(lay.root), None,
                                           f"no {protocol.LSD_TEST_LIST}", "the LSD test list",
                                           "no LSD test sequence"))
            return
        rel = lay.rel(lay.lsd_list)
        names = lists.read_image_list(lay.lsd_list, rel, protocol.LSD_HEADER, self.problems)
        if names is None:
            return
        folder = lay.lsd_test_dir or lay.lsd_list.parent
        present = set(os.listdir(folder))
        missing = [i for i, n in enumerate(names) if n not in present]
        if missing:
            self.problems.append(P.warning(rel, missing[0] + 2, f"{names[missing[0]]!r} not in "
                                           f"{lay.rel(folder)}", "every listed image on disk",
                                           f"{len(missing)} listed images missing"))
        prefix = lay.rel(folder) + "/"
        self._add(Sequence("test", "LSD", "test", np.arange(1, len(names) + 1, dtype=np.int64),
                           None, rel, [prefix + n for n in names]))

    # --- media -------------------------------------------------------------------------------

    def _crop_frames(self, id_) -> np.ndarray:
        if id_ not in self._crops:
            dirs = self.lay.crop_dirs.get(id_, [])
            frames = np.zeros(0, np.int64)
            if dirs:
                frames, other, bad = crop_frames(dirs[0])
                if other:
                    self.problems.append(P.warning(self.lay.rel(dirs[0] / other[0]), None,
                                                   f"{len(other)} files not named <NNNNN>.jpg",
                                                   "only crops", "ignored"))
                if bad:
                    more = f" ({len(bad)} crops of {id_!r} like it)" if len(bad) > 1 else ""
                    self.problems.append(P.error(self.lay.rel(dirs[0] / bad[0][0]), None,
                                                 f"{bad[0][1]}{more}", "a JPEG crop that decodes",
                                                 "copy it again; until then its frame counts as "
                                                 "without a face"))
            self.problems += copy_problems(id_, dirs, self.lay.rel)   # [] for one folder
            self._crops[id_] = frames
        return self._crops[id_]

    def _raw_video(self, id_) -> str | None:
        if id_ in self.index.sequences.get("CE", {}) and id_ in self.lay.ce_videos:
            return self.lay.rel(self.lay.ce_videos[id_])
        found = self.lay.videos.get(protocol.split_person(id_, self.lay.edition)[0], [])
        return self.lay.rel(found[0]) if found else None

    def _media(self, probe_media: bool) -> None:
        lay, seqs = self.lay, self.index.sequences
        annotated = {i for t, s in seqs.items() if t != "LSD" for i in s}
        for id_ in sorted(annotated | set(lay.crop_dirs)):
            dirs = lay.crop_dirs.get(id_)
            table = lay.face_tables.get(id_)
            self.index.media[id_] = Media(id_, lay.rel(dirs[0]) if dirs else None,
                                          self._crop_frames(id_), self._raw_video(id_),
                                          face_table=lay.rel(table) if table else None)
            if table is not None and len(self.index.media[id_].crop_frames) != lay.face_crops[id_]:
                self.problems.append(P.warning(
                    lay.rel(dirs[0]) if dirs else lay.rel(table), None,
                    f"{len(self.index.media[id_].crop_frames)} crops of {id_!r}",
                    f"{lay.face_crops[id_]} as its face summary lists",
                    "the crops present are used; run `abaw faces extract` again to redo it"))
        self._report_orphans(annotated)
        if probe_media:
            probed: dict[str, media.VideoInfo] = {}
            for m in self.index.media.values():
                if m.raw_video is not None:
                    if m.raw_video not in probed:
                        try:
                            probed[m.raw_video] = media.probe_video(lay.root / m.raw_video)
                        except AbawError as e:
                            probed[m.raw_video] = None
                            self.problems.append(P.warning(m.raw_video, None, f"a video PyAV "
                                                           f"can't read ({e})", "a readable video",
                                                           "no timestamps for it"))
                    if probed[m.raw_video] is not None:
                        m.timestamps = probed[m.raw_video].timestamps
                        m.fps = probed[m.raw_video].fps

    def _report_orphans(self, annotated) -> None:
        lay, seqs = self.lay, self.index.sequences
        for id_ in sorted(set(lay.crop_dirs) - annotated):
            self.problems.append(P.warning(lay.rel(lay.crop_dirs[id_][0]), None,
                                           f"crops of {id_!r} that no annotation refers to",
                                           "an annotation file, test-list entry or template rows "
                                           f"for {id_!r}", "indexed as media only"))
        ce = seqs.get("CE", {})
        for id_ in sorted(set(ce) - set(lay.ce_videos)):
            self.problems.append(P.warning(ce[id_].source, None, f"no video for CE id {id_!r}",
                                           protocol.CE_VIDEO_NAME.format(int(id_))
                                           if id_.isdigit() else f"{id_}.mp4"))
        for id_ in sorted(set(lay.ce_videos) - set(ce)) if "CE" in lay.tracks else []:
            self.problems.append(P.warning(lay.rel(lay.ce_videos[id_]), None,
                                           f"a CE video {id_!r} without template rows",
                                           f"rows {id_}/<NNNNN>.jpg in {protocol.CE_TEMPLATE_NAME}"))
        if not lay.crop_dirs and not lay.face_tables:
            return  # already reported once by the layout
        for track, by_id in seqs.items():
            if track in ("LSD", "CE"):  # LSD has its own images; CE teams detect faces themselves
                continue
            for id_, s in by_id.items():
                crops = self.index.media[id_].crop_frames
                if id_ not in lay.crop_dirs and id_ not in lay.face_tables:
                    self.problems.append(P.warning(s.source, None, f"no crop folder for {id_!r}",
                                                   f"{protocol.CROP_FOLDER}*/{id_}/",
                                                   "every frame counts as without a face"))
                elif (s.split != "test" and track != "MTL" and len(crops)
                      and crops[-1] > s.frames[-1] + ROW_SLACK):
                    self.problems.append(P.warning(s.source, None,
                                                   f"crops up to frame {crops[-1]}",
                                                   f"at most {s.frames[-1] + ROW_SLACK} "
                                                   f"({s.frames[-1]} rows + {ROW_SLACK})",
                                                   "is this the annotation of that video?"))
