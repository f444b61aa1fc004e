"""Box crops framed like a dataset's own crops.

A box-only detector's box covers its own part of the face (OpenCV's Haar cascade: about brows to
below the mouth, tighter than a RetinaFace box), so one fixed margin frames its crops unlike the
five-point aligned crops the organisers ship and a model is trained on: a test set cropped that
way looks zoomed in or out to the model. Aff-Wild2 ships raw videos beside their crops, so the
framing can be measured where both exist: on sampled frames the detector's box is found, and the
shipped crop is located in the raw frame by normalised cross-correlation over sizes and
positions around the box; the median crop side and centre offset (in box sides) become the
`BoxFraming` of every box crop of the run. A landmark detector aligns to the template instead and
needs none of this.
"""

from __future__ import annotations

import numpy as np

from abaw import protocol
from abaw.errors import AbawError
from abaw.faces.align import BoxFraming

SIDES = np.linspace(0.6, 2.2, 33)    # crop side / box side tried
MIN_MATCH = 0.6                      # correlation below this: the crop is not found there
MIN_FRAMES = 5                       # matched frames needed for a measurement
SEARCH = 0.6                         # the crop's centre is looked for within this many box sides


def locate(frame: np.ndarray, crop: np.ndarray, box: np.ndarray):
    """(side, dx, dy, correlation) of the square where `crop` best matches `frame` near `box`,
    in box sides relative to the box centre; None when nothing matches."""
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    patch = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    x1, y1, x2, y2 = (float(v) for v in box)
    long = max(x2 - x1, y2 - y1, 1.0)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    best = None
    for f in SIDES:
        s = int(round(f * long))
        reach = s / 2 + SEARCH * long
        left, top = int(max(0, cx - reach)), int(max(0, cy - reach))
        right = int(min(grey.shape[1], cx + reach))
        bottom = int(min(grey.shape[0], cy + reach))
        if s < 8 or right - left < s or bottom - top < s:
            continue
        scores = cv2.matchTemplate(grey[top:bottom, left:right], cv2.resize(patch, (s, s)),
                                   cv2.TM_CCOEFF_NORMED)
        _, value, _, (px, py) = cv2.minMaxLoc(scores)
        if best is None or value > best[3]:
            best = (s / long, (left + px + s / 2 - cx) / long, (top + py + s / 2 - cy) / long,
                    float(value))
    return best if best is not None and best[3] >= MIN_MATCH else None


def measure(detector, pairs, max_side: int | None = 640) -> BoxFraming | None:
    """The median framing over (frame, shipped crop) pairs, RGB uint8; None when fewer than
    MIN_FRAMES crops were found near a detected face. Frames are shrunk for detection as the
    face step shrinks them (`max_side`), so the boxes are the ones it will crop around."""
    from abaw.faces.detector import shrink

    found = []
    for frame, crop in pairs:
        small, factor = shrink(frame[None], max_side)
        faces = detector.detect(small)[0].scaled(factor)
        hits = [h for h in (locate(frame, crop, b) for b in faces.boxes) if h is not None]
        if hits:
            found.append(max(hits, key=lambda h: h[3])[:3])
    if len(found) < MIN_FRAMES:
        return None
    side, dx, dy = np.median(np.array(found), axis=0)
    return BoxFraming(round(float(side), 3), round(float(dx), 3), round(float(dy), 3), len(found))


def shipped_pairs(index, videos: int = 8, per_video: int = 5, within: int = 300):
    """(frame, crop) pairs from ids of `index` that have both a raw video and the dataset's own
    crops (not the face step's): `per_video` frames spread over the first `within` frames of
    up to `videos` videos, the same ids whatever the machine."""
    import av
    from PIL import Image

    from abaw.data.media import iter_frames

    ids = sorted(i for i, m in index.media.items()
                 if m.raw_video and m.crop_dir and m.face_table is None and len(m.crop_frames))
    step = max(1, len(ids) // videos)
    for i in ids[::step][:videos]:
        m = index.media[i]
        frames = m.crop_frames[m.crop_frames < within + protocol.FIRST_FRAME]
        if not len(frames):
            continue                         # no crop early in the video: nothing to decode
        wanted = set(frames[np.linspace(0, len(frames) - 1, min(per_video, len(frames)))
                            .astype(int)].tolist())
        pairs = []
        try:   # a video or crop that cannot be read is no sample; `abaw data check` reports it
            for k, _, frame in iter_frames(index.root / m.raw_video):
                if k + protocol.FIRST_FRAME in wanted:
                    path = index.root / m.crop_dir / protocol.frame_name(k + protocol.FIRST_FRAME)
                    with Image.open(path) as im:
                        pairs.append((frame, np.asarray(im.convert("RGB"))))
                    wanted.discard(k + protocol.FIRST_FRAME)
                if not wanted:
                    break
        except (AbawError, OSError, ValueError, av.error.FFmpegError):
            continue
        yield from pairs


def for_dataset(index, detector, max_side: int | None = 640) -> tuple[BoxFraming, str]:
    """The framing of `detector`'s crops for a model trained on `index`'s crops, and a line
    saying which ("" for a landmark detector, which aligns to the template instead)."""
    if detector.landmarks:
        return BoxFraming(), ""
    framing = measure(detector, shipped_pairs(index), max_side) if index is not None else None
    if framing is None:
        return BoxFraming(), (f"box crops: the default margin ({BoxFraming().side:g} x the box); "
                              "no raw video with its own crops to frame them like")
    return framing, (f"box crops framed like {index.root}'s own crops: side {framing.side:g} x "
                     f"the box, centre offset ({framing.dx:+g}, {framing.dy:+g}) box sides "
                     f"(measured on {framing.frames} frames)")
