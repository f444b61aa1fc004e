"""One person's full state: clean latent, annotations, when the face is missing or occluded, how
the head moves, and how to draw any frame. Built lazily: the full-size tree, written without
images, never pays for rendering."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from abaw.data.synth import faces, labels
from abaw.data.synth.plan import ANNOTATE, LATENT, RENDER, Person

# Fraction of frames each track leaves unannotated (sentinel spans). Aff-Wild2's EXPR set leaves
# about 44% of rows at -1 (protocol.SIZES: 876,446 valid of 1,556,039); VA and AU far fewer.
INVALID = {"VA": 0.03, "EXPR": 0.3, "AU": 0.08}
# Where a hand may cover the face (face units: x, y, radius): mouth, one eye, a cheek.
OCCLUDERS = np.array([[0.0, 0.62, 0.32], [0.4, -0.12, 0.26], [-0.4, -0.12, 0.26],
                      [0.5, 0.35, 0.3]])


def _stretches(rng: np.random.Generator, n: int, count: int, frac: tuple) -> list:
    """`count` random (start, end) stretches, each a fraction `frac` (lo, hi) of n frames."""
    out = []
    for _ in range(count):
        length = max(2, int(n * rng.uniform(*frac)))
        start = int(rng.integers(0, max(1, n - length)))
        out.append((start, start + length))
    return out


class PersonState:
    def __init__(self, person: Person, seed: int, names=labels.CLASSES, style: str = "real"):
        self.person = person
        self.seed = seed
        self.names = names
        self.style = style
        # frames that exist in the video or in the annotation (they differ by a frame or two)
        n = max(person.rows, person.decoded)
        rng = np.random.default_rng([seed, RENDER, person.index, 0])
        # no face found: some stretches, and every row past the decoded frames
        self.face = np.ones(n, bool)
        k = int(rng.integers(1, 4)) if (rng.random() < 0.6 or person.index % 3 == 0) else 0
        for s, e in _stretches(rng, n, k, (0.02, 0.07)):
            self.face[s:e] = False
        self.face[person.decoded:] = False
        # a hand over part of the face in some stretches (labels stay: annotators saw the video)
        self.occluder = np.full(n, -1)
        if rng.random() < 0.35:
            for s, e in _stretches(rng, n, int(rng.integers(1, 3)), (0.03, 0.1)):
                self.occluder[s:e] = int(rng.integers(len(OCCLUDERS)))

    @cached_property
    def latent(self) -> labels.Latent:
        rng = np.random.default_rng([self.seed, LATENT, self.person.index])
        return labels.latent(rng, self.person.lengths, self.person.classes, self.names)

    @cached_property
    def annotation(self) -> labels.Annotation:
        rng = np.random.default_rng([self.seed, ANNOTATE, self.person.index])
        span = max(8, self.person.rows // 15)
        return labels.annotate(rng, self.latent, self.person.lengths, invalid=INVALID,
                               span_len=span, no_face=~self.face[: self.person.rows])

    @cached_property
    def renderer(self) -> faces.FaceRenderer:
        rng = np.random.default_rng([self.seed, RENDER, self.person.index, 1])
        return faces.FaceRenderer(faces.make_subject(rng, self.style), rng)

    @cached_property
    def motion(self) -> np.ndarray:
        """(n, 3) head motion; aligned crops keep 40% of it, the raw video all of it."""
        rng = np.random.default_rng([self.seed, RENDER, self.person.index, 2])
        return faces.head_motion(rng, self.latent.va[:, 1])   # (rows, 3)

    def crop(self, k: int) -> np.ndarray:
        """(112, 112, 3) aligned crop of 0-based frame k (the tree stores it where `face[k]`).
        A decoded frame past the last annotation row shows the last annotated state."""
        k = min(k, self.person.rows - 1)
        lat, occ = self.latent, self.occluder[k]
        return self.renderer.render(lat.units[k], float(lat.va[k, 0]), float(lat.va[k, 1]),
                                    motion=self.motion[k] * 0.4,
                                    occluder=None if occ < 0 else tuple(OCCLUDERS[occ]))
