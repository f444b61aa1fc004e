"""Learning from synthetic data (LSD, edition 4): still images of the six basic expressions.

  training_set_synthetic_images/<CLASS>/<n>.jpg   "synthetic" style: flat background, even light,
                                                   no sensor noise, clean JPEG (the anger folder keeps
                                                   the release's misspelling)
  validation_set_real_images/<CLASS>/<n>.jpg      "real" style, other people: textured scenes,
                                                   uneven light, noise, occluding hands, strong
                                                   JPEG (the domain shift the track is about)
  test_set_images/<n>.jpg                          real style, flat, in the order of
  LSD_Challenge_test_set_release.txt               header `image,expression`, one name per line
  .truth/LSD.txt                                   hidden `image,<class>` rows

Class shares follow the square root of Aff-Wild2's counts for these classes (imbalanced, but
less than the video data). Images show an expression at a random intensity with other AUs firing
at random, and 5% of the labels are wrong, so a single image is sometimes ambiguous.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data.synth import faces, labels, textio
from abaw.data.synth.layout import TRUTH
from abaw.data.synth.plan import LSD, Plan

TRUTH_FILE = "LSD.txt"
SUBJECTS = {"train": 60, "val": 25, "test": 25}
ANGER_FOLDER = protocol.LSD_FOLDER_NAMES["Anger"][1]   # the misspelling as released


def class_shares() -> np.ndarray:
    counts = np.asarray(protocol.SIZES["ed10_expr_class_counts"], np.float64)
    idx = [protocol.EXPR_CLASSES_8.index(c) for c in protocol.LSD_CLASSES]
    p = np.sqrt(counts[idx])
    return p / p.sum()


def _folder(cls: str) -> str:
    names = protocol.LSD_FOLDER_NAMES[cls]
    return ANGER_FOLDER if ANGER_FOLDER in names else names[0]


def _render(rng, renderer: faces.FaceRenderer, cls: str) -> np.ndarray:
    """One image of a basic expression at a random intensity, with other AUs firing at random
    (talking, idiosyncrasies), so single images are ambiguous now and then."""
    proto, targets = labels.prototype_matrix((cls,))
    n = len(labels.UNITS)
    units = (rng.random(n) < proto[0]) * rng.uniform(0.35, 0.95, n)
    units = np.maximum(units, (rng.random(n) < 0.12) * rng.uniform(0.4, 1.0, n))
    v, a = targets[0] * rng.uniform(0.3, 1.0) + rng.normal(0, 0.2, 2)
    occluder = None
    if renderer.s.style == "real" and rng.random() < 0.25:
        occluder = (rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.7), rng.uniform(0.2, 0.35))
    motion = rng.normal(0, 1.5 if renderer.s.style == "real" else 0.5, 3) * [1, 1, 0.03]
    return renderer.render(units, float(v), float(a), motion=motion, occluder=occluder)


def write_lsd(root: Path, plan: Plan, images: bool) -> None:
    rng = np.random.default_rng([plan.seed, LSD, 0])
    shares = class_shares()
    truth = []
    for split in ("train", "val", "test"):
        n = plan.spec.lsd_images[split]
        classes = rng.choice(len(shares), n, p=shares)
        classes[: len(shares)] = np.arange(len(shares))     # every class at least once
        classes = rng.permutation(classes)
        shown = classes.copy()   # what the face shows; 5% of labels are wrong (label noise)
        wrong = rng.random(n) < 0.05
        shown[wrong] = rng.integers(0, len(shares), int(wrong.sum()))
        if split == "test":
            names = [f"{i}.jpg" for i in range(n)]
            textio.write_lines(root / protocol.LSD_TEST_LIST, protocol.LSD_HEADER, names)
            truth = [f"{m},{c}" for m, c in zip(names, classes.tolist(), strict=True)]
            textio.write_lines(root / TRUTH / TRUTH_FILE, protocol.LSD_HEADER, truth)
        if not images:
            continue
        style = "synthetic" if split == "train" else "real"
        k = {"train": 0, "val": 1, "test": 2}[split]
        pool = [np.random.default_rng([plan.seed, LSD, 1 + k, s]) for s in range(SUBJECTS[split])]
        renderers = [faces.FaceRenderer(faces.make_subject(r, style), r) for r in pool]
        base = root / protocol.LSD_FOLDERS[split]
        for i, (c, face) in enumerate(zip(classes.tolist(), shown.tolist(), strict=True)):
            ren = renderers[int(rng.integers(len(renderers)))]
            cls = protocol.LSD_CLASSES[c]
            path = base / f"{i}.jpg" if split == "test" else base / _folder(cls) / f"{i:06d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            image = _render(rng, ren, protocol.LSD_CLASSES[face])
            path.write_bytes(faces.jpeg_bytes(image, ren.s.quality))
