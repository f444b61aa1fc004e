"""What every detector returns, and the one interface they share.

A detector takes a batch of same-size RGB frames, (B, H, W, 3) uint8, and returns one `Faces`
per frame in that batch's pixel coordinates. The pipeline shrinks frames for detection in its
data-loader workers (`shrink`) and maps the faces back to the full frame (`Faces.scaled`), so a
detector never resizes and crops always come from the full-resolution frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Faces:
    """The faces found in one frame, best score first."""

    boxes: np.ndarray                 # (K, 4) float32 x1, y1, x2, y2 in pixels
    scores: np.ndarray                # (K,) float32
    landmarks: np.ndarray | None      # (K, 5, 2) float32: eyes, nose, mouth corners (image
    #                                   left first), or None for a box-only detector

    def __len__(self) -> int:
        return len(self.boxes)

    def scaled(self, factor: float) -> Faces:
        """The same faces in a frame `factor` times larger."""
        lm = None if self.landmarks is None else self.landmarks * np.float32(factor)
        return Faces(self.boxes * np.float32(factor), self.scores, lm)

    @staticmethod
    def empty(landmarks: bool) -> Faces:
        return Faces(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                     np.zeros((0, 5, 2), np.float32) if landmarks else None)


class Detector:
    """Interface: `detect(frames (B, H, W, 3) uint8 RGB) -> list[Faces]` (one per frame)."""

    name: str = ""
    landmarks: int = 0               # 5 or 0
    location: str = ""               # where its weights were loaded from (set by the registry)

    def detect(self, frames: np.ndarray) -> list[Faces]:
        raise NotImplementedError


def shrink(frames: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """Frames resized so the longer side is at most `max_side`, and the factor back to full size.

    frames: (B, H, W, 3) uint8. Detectors of the RetinaFace family are trained on faces of 16-512
    px, so detection on a 640-px frame finds the faces of a talk-show video as well as at full
    HD, several times faster."""
    h, w = frames.shape[1:3]
    if not max_side or max(h, w) <= max_side:
        return frames, 1.0
    import cv2

    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    small = np.stack([cv2.resize(x, size, interpolation=cv2.INTER_AREA) for x in frames])
    return small, max(h, w) / max_side
