"""OpenCV's frontal-face Haar cascade (Viola & Jones 2001; Lienhart's trained cascade): the
detector whose weights install with a pip package (`opencv-python-headless` ships them in
`cv2.data`), so a real detector runs with no download. Box only, frontal faces, CPU.

The score is the cascade's last-stage weight (`detectMultiScale3`): higher is surer, not a
probability. Faces smaller than `MIN_FACE` of the frame's shorter side are ignored.
"""

from __future__ import annotations

import numpy as np

from abaw.errors import AbawError
from abaw.faces.detector import Detector, Faces

CASCADE = "haarcascade_frontalface_default.xml"
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
        path = str(path) if path else cv2.data.haarcascades + CASCADE
        self.path = path
        self.threshold = float(threshold)
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise AbawError(f"{path}: found no usable cascade, expected an OpenCV Haar cascade XML")

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
            rects, _, weights = self.cascade.detectMultiScale3(
                grey, SCALE_STEP, NEIGHBOURS, minSize=(side, side), outputRejectLevels=True)
            if len(rects) == 0:
                out.append(Faces.empty(False))
                continue
            rects = np.asarray(rects, np.float32).reshape(-1, 4)
            scores = np.asarray(weights, np.float32).reshape(-1)
            keep = np.argsort(-scores, kind="stable")
            keep = keep[scores[keep] >= self.threshold]
            boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)[keep]
            out.append(Faces(boxes, scores[keep], None))
        return out
