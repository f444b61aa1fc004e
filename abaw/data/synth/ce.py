"""Compound expressions (CE, C-EXPR-DB test set; editions 6-9).

  CE_test_videos/01.mp4 ... NN.mp4        raw videos with sound, one person each
  cropped_aligned/<NN>/<NNNNN>.jpg         crops, as if the team had run a face detector
  CER.txt                                  the template: every frame of every video, in order
  .truth/CE/<NN>.txt                       hidden labels, header = the 7 compound names

Each video holds one to three segments of compound expressions; a compound face fires the AUs of
both its basic expressions (`labels.CE_PAIRS`), so a basic-expression model can read it. The
template's frame count equals the decoded count on most videos and differs by one on about 15 of
56, as in the release.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data.synth import labels, textio
from abaw.data.synth.layout import DUMMY, TRUTH, write_video_and_crops
from abaw.data.synth.people import PersonState
from abaw.data.synth.plan import CE, Person, Plan, Video

INDEX_BASE = 1_000_000   # person indices of CE videos, apart from the Aff-Wild2 people


def ce_people(plan: Plan) -> list:
    spec = plan.spec
    rng = np.random.default_rng([plan.seed, CE, 0])
    n = spec.ce_videos
    decoded = rng.integers(spec.ce_frames[0], spec.ce_frames[1] + 1, n)
    offset = np.zeros(n, np.int64)
    odd = rng.choice(n, max(1, round(n * 15 / 56)), replace=False)
    offset[odd] = rng.choice([-1, 1], len(odd))
    segments = [labels.segment_lengths(rng, int(d + o), max(40.0, (d + o) / 2))
                for d, o in zip(decoded, offset, strict=True)]
    k = len(protocol.CE_CLASSES)
    total = sum(len(s) for s in segments)
    classes = rng.permutation(np.resize(np.arange(k), total))   # balanced compounds
    out, at = [], 0
    for i in range(n):
        stem = protocol.CE_VIDEO_NAME.format(i + 1).rsplit(".", 1)[0]
        p = Person(stem, INDEX_BASE + i, stem, "test", ("CE",), int(decoded[i]),
                   int(decoded[i] + offset[i]), protocol.CROP_FOLDER, 0)
        p.lengths, p.classes = segments[i], classes[at: at + len(segments[i])]
        at += len(segments[i])
        out.append(p)
    return out


def write_ce(root: Path, plan: Plan, images: bool, progress=None) -> None:
    people = ce_people(plan)
    ed = plan.edition
    values = DUMMY["CE"] if protocol.EDITIONS[ed].template_values == "dummy" else ""
    header = protocol.rules("CE", ed).prediction_header
    rows = []
    truth_header = ",".join(protocol.CE_CLASSES)
    for p in people:
        st = PersonState(p, plan.seed, names=protocol.CE_CLASSES)
        rows += [n + "," + values for n in textio.image_names(p.id, np.arange(1, p.rows + 1))]
        truth = _labels(st)
        textio.write_lines(root / TRUTH / "CE" / f"{p.id}.txt", truth_header,
                           textio.class_lines(truth))
        if images:
            fps = 30 if p.index % 2 else 25
            video = Video(p.id, ".mp4", protocol.CE_VIDEO_FOLDER, fps, False, p.decoded, [p.id],
                          p.index)
            write_video_and_crops(root, plan, video, [st])
            if progress is not None:
                progress(1)
    textio.write_lines(root / protocol.CE_TEMPLATE_NAME, header, rows)


def _labels(st: PersonState) -> np.ndarray:
    """Per-frame compound class, boundaries shifted a few frames as an annotator would."""
    rng = np.random.default_rng([st.seed, CE, st.person.index])
    lengths = st.person.lengths
    shifted = np.clip(lengths + rng.integers(-4, 5, len(lengths)), 1, None)
    shifted[-1] += st.person.rows - shifted.sum()
    if shifted[-1] < 1:
        shifted = lengths
    return np.repeat(st.person.classes, shifted).astype(np.int64)
