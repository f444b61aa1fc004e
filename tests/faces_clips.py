"""Test clips made from real photographs that ship with scikit-image (no download): a face
placed at a known position, size and roll in every frame, so a detector's boxes can be scored
against where the face really is.

The photo is NASA's portrait of Eileen Collins (`skimage.data.astronaut()`, 512x512).
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

# The face in the photo, measured by eye: the square from the eyebrows to below the mouth and
# cheek to cheek, the framing frontal-face detectors are trained on (x1, y1, x2, y2, px).
FACE = np.array([176.0, 64.0, 274.0, 162.0])
PATCH = (96, 0, 354, 258)          # the part of the photo pasted into a clip: head and shoulders
TIME_BASE = Fraction(1, 90_000)


def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth coloured gradient with a little texture: no face anywhere."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    a, b = rng.uniform(40, 200, (2, 3))
    t = (x / width * 0.6 + y / height * 0.4)[..., None]
    img = a * (1 - t) + b * t + rng.normal(0, 4, (height, width, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def place(canvas: np.ndarray, image: np.ndarray, centre, side: float, roll_deg: float,
          mirror: bool = False) -> np.ndarray:
    """Paste the photo's head `PATCH` so that its `FACE` box has centre `centre`, side `side`
    and is turned `roll_deg` in the image plane; returns the face's known box (x1, y1, x2, y2):
    upright, that centre and that side (what a detector should return for a turned face)."""
    import cv2

    x1, y1, x2, y2 = PATCH
    patch = image[y1:y2, x1:x2]
    face = FACE - [x1, y1, x1, y1]
    if mirror:
        patch = patch[:, ::-1]
        face = np.array([patch.shape[1] - face[2], face[1], patch.shape[1] - face[0], face[3]])
    fc = (face[:2] + face[2:]) / 2
    s = side / (face[2] - face[0])
    a = np.deg2rad(roll_deg)
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = np.column_stack([rot, np.asarray(centre, float) - rot @ fc])
    h, w = canvas.shape[:2]
    warped = cv2.warpAffine(np.ascontiguousarray(patch), m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full(patch.shape[:2], 255, np.uint8), m, (w, h)) > 127
    canvas[mask] = warped[mask]
    cx, cy = centre
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def vfr_times(n: int, seed: int = 0) -> np.ndarray:
    """(n,) presentation times with stretches at 30, 15 and 10 fps, on a 1/90000 grid."""
    rng = np.random.default_rng(seed)
    dt = np.repeat(1 / rng.choice([30.0, 15.0, 10.0], n // 10 + 1), 10)[:n]
    t = np.concatenate([[0.0], np.cumsum(dt[:-1])])
    return np.round(t / float(TIME_BASE)) * float(TIME_BASE)


def write_clip(path, frames: list, times: np.ndarray) -> None:
    """H.264 at near-lossless quality, frames at `times` (seconds)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"threads": "1", "preset": "ultrafast", "crf": "12"}
        stream.codec_context.time_base = TIME_BASE
        for img, t in zip(frames, times, strict=True):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(round(t / TIME_BASE)), TIME_BASE
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def moving_clip(path, n: int = 90, gap=(30, 45), width: int = 320) -> np.ndarray:
    """One face that moves, grows and shrinks and turns a little, absent on frames [gap);
    variable frame rate; frames `width` x 3/4 `width`. Returns (n, 4) known boxes, NaN where
    there is no face."""
    img, k = photo(), width / 320
    w, h = width, int(width * 3 / 4) // 2 * 2
    boxes = np.full((n, 4), np.nan)
    frames = []
    for i in range(n):
        canvas = background(w, h)
        if not gap[0] <= i < gap[1]:
            u = i / n * 2 * np.pi
            centre = (k * (160 + 70 * np.sin(u)), k * (120 + 35 * np.sin(2 * u)))
            side = k * (70 + 25 * np.sin(1.5 * u))   # 45-95 px at width 320
            boxes[i] = place(canvas, img, centre, side, 8 * np.sin(3 * u))
        frames.append(canvas)
    write_clip(path, frames, vfr_times(n))
    return boxes


def pair_clip(path, n: int = 60, right_gap=(20, 32)) -> tuple[np.ndarray, np.ndarray]:
    """Two faces side by side (the photo and its mirror image), each moving a little; the right
    one leaves on frames [right_gap). Returns the known boxes (n, 4) of the left and the right
    face, NaN where absent."""
    img, w, h = photo(), 480, 240
    left, right = np.full((n, 4), np.nan), np.full((n, 4), np.nan)
    frames = []
    for i in range(n):
        canvas = background(w, h, seed=1)
        u = i / n * 2 * np.pi
        left[i] = place(canvas, img, (120 + 20 * np.sin(u), 110 + 10 * np.cos(u)), 80, 0)
        if not right_gap[0] <= i < right_gap[1]:
            right[i] = place(canvas, img, (360 - 20 * np.sin(u), 115), 75 + 8 * np.sin(u),
                             -5 * np.sin(u), mirror=True)
        frames.append(canvas)
    write_clip(path, frames, np.arange(n) / 25.0)
    return left, right
