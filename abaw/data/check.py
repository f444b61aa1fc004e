"""`check_dataset`: index a tree from scratch and report what it holds and every problem found.

The summary has one row per track and split: sequences (videos or persons), frames, frames with
a valid label, frames without a crop image, ids without any crop folder, `_left/_right` pairs and
a class histogram (EXPR/CE/LSD/MTL expression: valid frames per class; AU: positive frames per
AU). The data can be used when no problem is an error (`Report.ok`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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

    @property
    def ok(self) -> bool:
        return not P.errors(self.problems)

    def to_dict(self) -> dict:
        return {"root": self.root, "edition": self.edition, "ok": self.ok,
                "summary": [asdict(s) for s in self.summary],
                "problems": [dict(p.to_dict(), message=str(p)) for p in self.problems]}


def check_dataset(root, edition: int | None = None, templates: dict | None = None,
                  frame_count: str = FRAME_COUNT) -> Report:
    index, problems = build_index(root, edition, use_cache=False, templates=templates,
                                  frame_count=frame_count)
    order = {"error": 0, "warning": 1}
    problems = sorted(problems, key=lambda p: order[p.severity])  # stable: file order kept
    return Report(str(index.root), index.edition, summarise(index), problems)


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
