"""The Aff-Wild2 part of a synthetic tree, in one edition's exact layout:

  <root>/batch1/ batch2/ (batch3/ from edition 10)      raw videos with sound
  <root>/cropped_aligned/<id>/<NNNNN>.jpg               crops (none where no face was found)
  <root>/cropped_aligned_new_50_vids/<id>/...           (edition 5+: a few videos' crops)
  <root>/<annotation root>/<track folder>/<split folder>/<id>.txt
  <root>/<test-id lists>          editions 1-3: one id per line (the edition-3 names)
  <root>/<template per track>     editions 5+: protocol.template_name(), every frame of every test
                                  video, empty or dummy values as that edition shipped them
  <root>/.truth/<TRACK>/<id>.txt  hidden test annotations, same format as the released ones

Annotation lengths follow the organisers' convention: decoded frame count + 1, with -1, 0 or +2
on a few videos; test rows (template or list) have the same length as the hidden truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data.synth import faces, labels, media, textio
from abaw.data.synth.people import PersonState
from abaw.data.synth.plan import MEDIA, TRACKS_AFF, TRUTH, Plan

# Values in a "dummy" template row (edition 6 shipped rows like `...,0` and `...,0.5,-0.5`).
DUMMY = {"VA": "0.5,-0.5", "EXPR": "0", "AU": ",".join(["0"] * len(protocol.AUS_12)), "CE": "0"}
_ORDINAL = {1: "st", 2: "nd", 3: "rd"}


def annotation_root(edition: int) -> str:
    """A release-like name for the annotation root (it differs in every real release)."""
    examples = protocol.ANNOTATION_ROOT_EXAMPLES
    known = {1: examples[0], 2: examples[0], 3: examples[1], 6: examples[2],
             protocol.LATEST_EDITION: examples[3]}
    return known.get(edition, f"{edition}{_ORDINAL.get(edition, 'th')} ABAW Annotations")


def annotation_lines(track: str, values: np.ndarray) -> list:
    if track == "VA":
        return textio.va_lines(values)
    if track == "AU":
        return textio.binary_lines(values)
    return textio.class_lines(values)


def template_lines(track: str, edition: int, ids: list, lengths: dict) -> list:
    """Every frame 00001..N of every test id, in order, with the edition's kind of values."""
    values = DUMMY[track] if protocol.EDITIONS[edition].template_values == "dummy" else ""
    if track == "AU":
        values = ",".join(["0"] * len(protocol.au_names(edition))) if values else ""
    out = []
    for i in ids:
        out += [name + "," + values for name in textio.image_names(i, np.arange(1, lengths[i] + 1))]
    return out


def write_annotations(root: Path, plan: Plan, states: dict) -> None:
    """Train/val annotation files, test lists or templates, and the hidden test truth."""
    ed = plan.edition
    aroot = root / annotation_root(ed)
    for track in [t for t in protocol.tracks_of(ed) if t in TRACKS_AFF]:
        r = protocol.rules(track, ed)
        test = []
        for p in plan.persons:
            if track not in p.tracks:
                continue
            values = labels.for_edition(states[p.id].annotation, ed)[track]
            if p.split == "test":
                folder = root / TRUTH / track
                test.append(p.id)
            else:
                folder = aroot / r.task_folder / r.split_folders[p.split]
            textio.write_lines(folder / f"{p.id}.txt", r.annotation_header,
                               annotation_lines(track, values))
        test.sort()
        if r.submission == "per_video":
            textio.write_lines(root / protocol.TEST_LISTS_ED3[track], None, test)
        else:
            lengths = {p.id: p.rows for p in plan.persons}
            # real templates are not sorted by id (protocol §7): a seeded order that never is
            order = list(np.random.default_rng([plan.seed, len(test)]).permutation(len(test)))
            order = order[::-1] if order == sorted(order) else order
            textio.write_lines(root / protocol.template_name(track, ed), r.prediction_header,
                               template_lines(track, ed, [test[k] for k in order], lengths))


def write_crop(root: Path, state: PersonState, k: int, image: np.ndarray) -> None:
    """Store the crop of 0-based frame k as <crop folder>/<id>/<NNNNN>.jpg."""
    p = state.person
    path = root / p.crop_folder / p.id / protocol.frame_name(k + 1)
    path.write_bytes(faces.jpeg_bytes(image, state.renderer.s.quality))


def write_video_and_crops(root: Path, plan: Plan, video, states: list, folder: str | None = None,
                          ext: str | None = None) -> None:
    """Render one raw video: every decoded frame, each person's crop where their face is found."""
    rng = np.random.default_rng([plan.seed, MEDIA, video.index])
    times = media.frame_times(rng, video.decoded, video.fps, video.vfr)
    scene = media.Scene(rng, len(states))
    for st in states:
        (root / st.person.crop_folder / st.person.id).mkdir(parents=True, exist_ok=True)

    def frames():
        for k in range(video.decoded):
            crops, moves = [], []
            for st in states:
                row = min(k, st.person.rows - 1)
                if st.face[k]:
                    img = st.crop(k)
                    write_crop(root, st, k, img)
                    crops.append(img)
                else:
                    crops.append(None)
                moves.append(st.motion[row])
            yield scene.frame(crops, moves)

    frame_rows = [np.minimum(np.arange(video.decoded), st.person.rows - 1) for st in states]
    arousal = np.stack([st.latent.va[rows, 1] for st, rows in zip(states, frame_rows, strict=True)])
    sound = media.speech(rng, times, arousal)
    out = root / (folder or video.batch) / (video.stem + (ext or video.ext))
    out.parent.mkdir(parents=True, exist_ok=True)
    media.write_video(out, frames(), times, sound, video.fps, avi=(ext or video.ext) == ".avi")


def write_affwild(root: Path, plan: Plan, states: dict, images: bool, progress=None) -> None:
    write_annotations(root, plan, states)
    if not images:
        return
    for video in plan.videos:
        write_video_and_crops(root, plan, video, [states[i] for i in video.persons])
        if progress is not None:
            progress(1)
