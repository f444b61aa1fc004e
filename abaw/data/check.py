"""`check_dataset`: index a tree from scratch and report what it holds and every problem found.

The summary has one row per track and split: sequences (videos or persons), frames, frames with
a valid label, frames without a crop image, ids without any crop folder, `_left/_right` pairs and
a class histogram (EXPR/CE/LSD/MTL expression: valid frames per class; AU: positive frames per
AU); and which crop folder each video's crops come from (`crop_sources`). The data can be used
when no problem is an error (`Report.ok`); a track none of whose videos has a face crop is an
error here (the index itself keeps such a tree: submissions can still be validated against it),
and so is a test video that has neither crops nor a face table (no face was ever looked for in
it: `abaw faces extract` makes both); in a training or validation split that is a warning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

import numpy as np

from abaw import metrics, protocol
from abaw.core.layout import edition_for, layout
from abaw.data import problems as P
from abaw.data.build import FRAME_COUNT, build_index
from abaw.data.index import DatasetIndex


@dataclass
class SplitSummary:
    track: str
    split: str
    videos: int
    frames: int
    valid: int                  # frames whose label is annotated (MTL: any task annotated)
    missing_crops: int          # frames without a crop image
    no_crop_folder: int         # ids without any crop folder
    pairs: int                  # videos with both a _left and a _right person
    histogram: dict = field(default_factory=dict)


@dataclass
class Report:
    root: str
    edition: int
    summary: list
    problems: list
    crop_sources: dict = field(default_factory=dict)   # crop folder -> ids whose crops it holds

    @property
    def ok(self) -> bool:
        return not P.errors(self.problems)

    def to_dict(self) -> dict:
        return {"root": self.root, "edition": self.edition, "ok": self.ok,
                "summary": [asdict(s) for s in self.summary], "crop_sources": self.crop_sources,
                "problems": [dict(p.to_dict(), message=str(p)) for p in self.problems]}


def check_dataset(root, edition: int | None = None, templates: dict | None = None,
                  frame_count: str = FRAME_COUNT, crops=()) -> Report:
    index, problems = build_index(root, edition, use_cache=False, templates=templates,
                                  frame_count=frame_count, crops=crops)
    problems = problems + no_crops(index) + unlooked(index)
    order = {"error": 0, "warning": 1}
    problems = sorted(problems, key=lambda p: order[p.severity])  # stable: file order kept
    return Report(str(index.root), index.edition, summarise(index), problems,
                  crop_sources(index))


def crop_sources(index: DatasetIndex) -> dict[str, list[str]]:
    """{crop folder (relative to the root): the ids whose crops are taken from it}."""
    out: dict[str, list[str]] = {}
    for id_, m in sorted(index.media.items()):
        if m.crop_dir is not None:
            out.setdefault(str(PurePosixPath(m.crop_dir).parent), []).append(id_)
    return dict(sorted(out.items()))


def without_crops(index: DatasetIndex, track: str, split: str | None = None) -> list[str]:
    """Ids of a track's videos (of one split, or all) that have no face crop at all."""
    seqs = index.sequences.get(track, {})
    return sorted(i for i, s in seqs.items() if (split is None or s.split == split)
                  and (index.media.get(i) is None or not len(index.media[i].crop_frames)))


def without_faces(index: DatasetIndex, track: str, split: str | None = None) -> list[str]:
    """Ids of a track's videos that have neither a face crop nor a face table: nobody looked for
    their faces (a face table with no crop is a video where none was found)."""
    return [i for i in without_crops(index, track, split)
            if index.media.get(i) is None or index.media[i].face_table is None]


def unlooked(index: DatasetIndex) -> list[P.Problem]:
    """Per track and split, the videos with neither crops nor a face table: an error for the test
    split (its rows would all be made up), a warning for the others (they only teach less)."""
    out = []
    for track, seqs in index.sequences.items():
        if not seqs or layout(track, edition_for(track, index.edition)).image_level:
            continue
        if len(without_crops(index, track)) == len(seqs):
            continue                       # no crop at all: `no_crops` says it once
        for split in ("train", "val", "test"):
            missing = without_faces(index, track, split)
            if not missing:
                continue
            n = len(index.ids(track, split))
            some = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            make = P.error if split == "test" else P.warning
            out.append(make(index.root, None, f"{len(missing)} of the {n} {track} {split} videos "
                            f"with neither face crops nor a face table ({some})",
                            f"{protocol.CROP_FOLDER}*/<id>/<NNNNN>.jpg or a crop source "
                            "(--crops)", faces_hint(index, missing)))
    return out


def faces_hint(index: DatasetIndex, ids) -> str:
    """What makes the missing crops: the face step, when the videos are there."""
    if any(index.media.get(i) is not None and index.media[i].raw_video for i in ids):
        return (f"detect the faces of the raw videos: `abaw faces extract {index.root}` (then "
                "found under the work folder, or give its --out as --crops)")
    return f"copy the {protocol.CROP_FOLDER}*/ folders of the release into the root"


def no_crops(index: DatasetIndex) -> list[P.Problem]:
    """An error per track none of whose videos has a face crop: nothing to learn or predict
    from (image-level tracks, LSD, have images of their own)."""
    out = []
    for track, seqs in index.sequences.items():
        if not seqs or layout(track, edition_for(track, index.edition)).image_level:
            continue
        missing = without_crops(index, track)
        if len(missing) == len(seqs):
            out.append(P.error(index.root, None, f"no face crop for any of the {len(seqs)} "
                               f"{track} videos", f"{protocol.CROP_FOLDER}*/<id>/<NNNNN>.jpg",
                               faces_hint(index, missing)))
    return out


def summarise(index: DatasetIndex) -> list[SplitSummary]:
    out = []
    for track, _seqs in index.sequences.items():
        for split in ("train", "val", "test"):
            ids = index.ids(track, split)
            if ids:
                out.append(_split_summary(index, track, split, ids))
    return out


def _split_summary(index, track, split, ids) -> SplitSummary:
    frames = valid = missing = no_folder = 0
    hist = None
    suffix_l, suffix_r = protocol.PERSON_SUFFIXES
    id_set = set(ids)
    pairs = sum(1 for i in ids if i.endswith(suffix_l) and i[: -len(suffix_l)] + suffix_r in id_set)
    lay = layout(track, edition_for(track, index.edition))
    for id_ in ids:
        s = index.sequence(track, id_)
        frames += len(s.frames)
        if not lay.image_level:               # images of their own, no crops
            m = index.media.get(id_)
            no_folder += m is None or m.crop_dir is None
            missing += int((~index.has_crop(id_, s.frames)).sum())
        if s.labels is None:
            continue
        ok = metrics.label_mask(lay, s.labels).any(axis=1)      # any task annotated
        valid += int(ok.sum())
        h = _histogram(lay, s.labels, ok)
        hist = h if hist is None else {k: hist[k] + h[k] for k in hist}
    return SplitSummary(track, split, len(ids), frames, valid, missing, no_folder, pairs,
                        hist or {})


def _histogram(lay, labels, ok) -> dict:
    """Valid frames per class of the class block (MTL: its expressions), else positive frames
    per AU; nothing for values."""
    classes, aus = lay.block("classes"), lay.block("binary")
    if classes is not None:
        col = labels[:, classes.labels.start]
        col = col[(col >= 0) & ~np.isnan(col)]
        counts = np.bincount(col.astype(np.int64), minlength=classes.size)
        return {n: int(c) for n, c in zip(classes.names, counts, strict=False)}
    if aus is not None:
        lab = labels[ok][:, aus.labels]
        return {n: int((lab[:, j] == 1).sum()) for j, n in enumerate(aus.names)}
    return {}
