"""s-Aff-Wild2 (MTL track, editions 3, 4, 7): static frames sampled from the Aff-Wild2 people.

One file per split, header `protocol.MTL_HEADER`, 16 fields per row
(`<video>/<NNNNN>.jpg,v,a,expr,AU1..AU26`) with each task's own sentinel where that task was not
annotated; frames within a video are not contiguous. Edition 3 keeps the files in
`MTL_Challenge/` under the annotation root; editions 4 and 7 at the annotation root. The test
list repeats the header and lists one image per line (edition 7: `image,` with empty values); a
few listed test images are missing on disk, as in the release. In editions without Aff-Wild2
tracks (4, 7) only the listed frames have crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw import metrics, protocol
from abaw.data.synth import labels, textio
from abaw.data.synth.layout import TRUTH, annotation_root, write_crop
from abaw.data.synth.plan import MTL, Plan

TRUTH_FILE = "MTL.txt"


def _sample(plan: Plan, states: dict, split: str, rows: int, rng) -> list:
    """[(person id, 0-based frames sorted)] for about `rows` rows of one split."""
    people, frames = [], []
    for p in plan.by_split(split):
        st = states[p.id]
        ann = labels.for_edition(st.annotation, 7)
        some = (metrics.valid_mask("VA", ann["VA"]) | (ann["EXPR"] >= 0)
                | metrics.valid_mask("AU", ann["AU"]))
        ok = np.flatnonzero(some & st.face[: p.rows])
        people.append(p.id)
        frames.append(ok)
    owner = np.repeat(np.arange(len(people)), [len(f) for f in frames])
    flat = np.concatenate(frames) if frames else np.zeros(0, np.int64)
    pick = np.sort(rng.choice(len(flat), min(rows, len(flat)), replace=False))
    return [(people[i], flat[pick][owner[pick] == i]) for i in range(len(people))
            if np.any(owner[pick] == i)]


def _rows(states: dict, chosen: list) -> tuple[list, list]:
    """(image names, full 16-field rows) for the chosen frames."""
    names, rows = [], []
    for pid, frames in chosen:
        ann = labels.for_edition(states[pid].annotation, 7)
        images = textio.image_names(pid, frames + 1)
        va = textio.va_lines(ann["VA"][frames])
        expr = textio.class_lines(ann["EXPR"][frames])
        au = textio.binary_lines(ann["AU"][frames])
        names += images
        rows += [f"{i},{v},{e},{a}" for i, v, e, a in zip(images, va, expr, au, strict=True)]
    return names, rows


def write_mtl(root: Path, plan: Plan, states: dict, images: bool, affwild_crops: bool) -> None:
    ed = plan.edition
    files = protocol.MTL_FILES[ed]
    folder = root / annotation_root(ed) / files["folder"]
    header = protocol.MTL_HEADER
    rng = np.random.default_rng([plan.seed, MTL, 0])
    for split in ("train", "val", "test"):
        chosen = _sample(plan, states, split, plan.spec.mtl_rows[split], rng)
        names, rows = _rows(states, chosen)
        if split != "test":
            textio.write_lines(folder / files[split], header, rows)
        else:
            empty = protocol.EDITIONS[ed].template_values == "empty"
            textio.write_lines(folder / protocol.MTL_TEST_LIST, header,
                               [n + "," if empty else n for n in names])
            textio.write_lines(root / TRUTH / TRUTH_FILE, header, rows)
        if images and not affwild_crops:
            # only the listed frames exist; a few test images are missing on disk
            missing = set()
            if split == "test":
                missing = set(rng.choice(len(names), max(1, len(names) // 400), replace=False)
                              .tolist())
            at = 0
            for pid, frames in chosen:
                st = states[pid]
                (root / st.person.crop_folder / pid).mkdir(parents=True, exist_ok=True)
                for k in frames.tolist():
                    if at not in missing:
                        write_crop(root, st, k, st.crop(k))
                    at += 1
        elif images and split == "test":
            # crops come from the Aff-Wild2 tree; drop one listed test image from it
            pid, frames = chosen[0]
            st = states[pid]
            (root / st.person.crop_folder / pid / protocol.frame_name(int(frames[0]) + 1)).unlink()
