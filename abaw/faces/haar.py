"""OpenCV's frontal-face Haar cascades (Viola & Jones 2001; Lienhart's trained cascades): the
detector whose weights install with a pip package (`opencv-python-headless` ships them in
`cv2.data`), so a real detector runs with no download. Box only, frontal faces, CPU.

Two of the wheel's cascades run on every frame, `default` and `alt2`: each misses faces the
other finds (on strongly expressive faces 59 % and 63 % alone, 72 % together; eval/README.md),
and their boxes agree where both fire (the astronaut photograph: the same corner, 95 vs 97 px).
A face of `alt2` is kept only where no face of `default` overlaps it. A cascade file given as
weights runs alone.

The score is the cascade's last-stage weight (`detectMultiScale3`): higher is surer, not a
probability; `default`'s faces come first, best first, then the faces only `alt2` found. Faces
smaller than `MIN_FACE` of the frame's shorter side are ignored.
"""

from __future__ import annotations

import numpy as np

from abaw.errors import AbawError
from abaw.faces.detector import Detector, Faces
from abaw.faces.track import iou

CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml")
SAME_FACE = 0.3       # IoU above which a second cascade's box is a face already found
SCALE_STEP = 1.1      # image pyramid step
NEIGHBOURS = 5        # overlapping hits needed for a face (OpenCV's usual value for this cascade)
MIN_FACE = 0.08


class HaarDetector(Detector):
    name = "haar"
    landmarks = 0

    def __init__(self, path=None, threshold: float = 0.0):
        try:
            import cv2
        except ImportError:
            raise AbawError("detector haar: found no OpenCV, expected the package installed: "
                            "`pip install opencv-python-headless`") from None
        self.path = str(path) if path else None
        self.threshold = float(threshold)
        paths = [self.path] if path else [cv2.data.haarcascades + c for c in CASCADES]
        self.cascades = [cv2.CascadeClassifier(p) for p in paths]
        for p, cascade in zip(paths, self.cascades, strict=True):
            if cascade.empty():
                raise AbawError(f"{p}: found no usable cascade, expected an OpenCV Haar cascade "
                                "XML")

    def __getstate__(self):  # a CascadeClassifier does not pickle: rebuild it from its file
        return {"path": self.path, "threshold": self.threshold}

    def __setstate__(self, state):
        self.__init__(state["path"], state["threshold"])

    def detect(self, frames: np.ndarray) -> list[Faces]:
        import cv2

        out = []
        for frame in frames:
            grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
            side = max(16, int(MIN_FACE * min(grey.shape)))
            boxes, scores = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
            for cascade in self.cascades:
                b, s = self._run(cascade, grey, side)
                if len(boxes) and len(b):           # only faces no earlier cascade found
                    new = iou(b, boxes).max(1) <= SAME_FACE
                    b, s = b[new], s[new]
                boxes, scores = np.concatenate([boxes, b]), np.concatenate([scores, s])
            out.append(Faces(boxes, scores, None) if len(boxes) else Faces.empty(False))
        return out

    def _run(self, cascade, grey, side):
        """(boxes (K, 4) x1 y1 x2 y2, scores (K,)) of one cascade, best first, over threshold."""
        rects, _, weights = cascade.detectMultiScale3(
            grey, SCALE_STEP, NEIGHBOURS, minSize=(side, side), outputRejectLevels=True)
        if len(rects) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        rects = np.asarray(rects, np.float32).reshape(-1, 4)
        scores = np.asarray(weights, np.float32).reshape(-1)
        keep = np.argsort(-scores, kind="stable")
        keep = keep[scores[keep] >= self.threshold]
        return np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)[keep], scores[keep]
