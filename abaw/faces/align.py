"""Aligned face crops: a similarity transform from five landmarks to a fixed template, or a
square box crop for box-only detectors.

- Template: the five-point template of the 112x112 ArcFace crops (Deng et al. 2019, as
  published with insightface): eyes, nose tip and mouth corners, image-left first. The
  organisers' `cropped_aligned` images are 112x112 aligned faces of this kind.
- `scale` widens the field of view about the face centre (1.5: the face takes 2/3 of the crop);
  `size` is the crop's side in pixels. Several teams crop at two or three scales.
- Box-only detectors: a square of side `BOX_MARGIN x scale x` the box's longer side, centred on
  the box, so `scale` means the same for both kinds of crop. Where a dataset has its own crops
  beside its raw videos, `BoxFraming` measured on them (`abaw.faces.framing`) replaces the
  margin and centre, so box crops are framed like the crops a model was trained on.
Pixels outside the frame are black, as in the organisers' crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE = 112
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)  # in a 112 crop
BOX_MARGIN = 1.25   # a detector's face box (brows/forehead to chin) fills 80 % of the crop side
MIN_EYES = 2.0      # px: landmarks closer than this cannot define a transform (box crop instead)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity (rotation, uniform scale, shift; no reflection) mapping
    the points src (K, 2) onto dst (K, 2)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    k = len(src)
    a = np.zeros((2 * k, 4))
    a[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(k), np.zeros(k)])  # x' rows
    a[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(k), np.ones(k)])   # y' rows
    (c, s, tx, ty), *_ = np.linalg.lstsq(a, dst.reshape(-1), rcond=None)
    return np.array([[c, -s, tx], [s, c, ty]])


def template(size: int = SIZE, scale: float = 1.0) -> np.ndarray:
    """(5, 2) template points in a `size` crop at field-of-view `scale`."""
    return (TEMPLATE - SIZE / 2) * (size / SIZE) / scale + size / 2


def landmark_matrix(landmarks: np.ndarray, size: int = SIZE, scale: float = 1.0):
    """(2, 3) frame -> crop transform from (5, 2) landmarks; None when they are degenerate."""
    lm = np.asarray(landmarks, np.float64)
    if not np.isfinite(lm).all() or np.linalg.norm(lm[0] - lm[1]) < MIN_EYES:
        return None
    m = similarity(lm, template(size, scale))
    return m if np.isfinite(m).all() and abs(np.linalg.det(m[:, :2])) > 1e-8 else None


@dataclass(frozen=True)
class BoxFraming:
    """Where a box-only detector's crop lies relative to its box, in units of the box's longer
    side: the crop's side, and its centre's offset from the box centre (x right, y down)."""

    side: float = BOX_MARGIN
    dx: float = 0.0
    dy: float = 0.0
    frames: int = 0           # frames it was measured on; 0: the default above


def box_matrix(box: np.ndarray, size: int = SIZE, scale: float = 1.0,
               framing: BoxFraming = BoxFraming()) -> np.ndarray:
    """(2, 3) frame -> crop transform of the square box crop."""
    x1, y1, x2, y2 = (float(v) for v in box)
    long = max(x2 - x1, y2 - y1, 1.0)
    a = size / (long * framing.side * scale)
    cx, cy = (x1 + x2) / 2 + framing.dx * long, (y1 + y2) / 2 + framing.dy * long
    return np.array([[a, 0.0, size / 2 - a * cx], [0.0, a, size / 2 - a * cy]])


def crop_matrix(box, landmarks, size: int = SIZE, scale: float = 1.0,
                framing: BoxFraming = BoxFraming()) -> tuple[np.ndarray, bool]:
    """(transform, aligned): the landmark transform when there are usable landmarks, else the
    box crop's."""
    if landmarks is not None:
        m = landmark_matrix(landmarks, size, scale)
        if m is not None:
            return m, True
    return box_matrix(box, size, scale, framing), False


def warp(frame: np.ndarray, matrix: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(size, size, 3) uint8 crop of the (H, W, 3) frame under `matrix`."""
    import cv2

    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
