"""Measuring how a dataset's own crops sit around a box-only detector's boxes, on a real
photograph: the crop is cut from a known square, the detector's box is given."""

import numpy as np
import pytest
from skimage import data

from abaw.faces.align import BoxFraming, box_matrix, warp
from abaw.faces.detector import Faces
from abaw.faces.framing import MIN_FRAMES, locate, measure

BOX = np.array([177.0, 66.0, 272.0, 161.0])     # Haar's box on the astronaut's face


class FixedBox:
    landmarks = 0

    def __init__(self, box):
        self.box = box

    def detect(self, frames):
        return [Faces(self.box[None].astype(np.float32), np.ones(1, np.float32), None)
                for _ in frames]


@pytest.mark.parametrize("truth", [BoxFraming(1.31, 0.0, -0.09), BoxFraming(1.0, 0.05, 0.0),
                                   BoxFraming(1.6, -0.1, 0.12)])
def test_a_crop_cut_at_a_known_framing_is_found_there(truth):
    frame = data.astronaut()
    crop = warp(frame, box_matrix(BOX, 112, 1.0, truth))
    side, dx, dy, score = locate(frame, crop, BOX)
    assert score > 0.9
    assert side == pytest.approx(truth.side, abs=0.03)     # the side grid's step is 0.05
    assert (dx, dy) == pytest.approx((truth.dx, truth.dy), abs=0.02)


def test_measure_takes_the_median_and_needs_enough_frames():
    frame = data.astronaut()
    truth = BoxFraming(1.31, 0.0, -0.09)
    crop = warp(frame, box_matrix(BOX, 112, 1.0, truth))
    other = warp(frame, box_matrix(BOX, 112, 1.0, BoxFraming(1.0, 0.0, 0.0)))
    assert measure(FixedBox(BOX), [(frame, crop)] * (MIN_FRAMES - 1)) is None
    got = measure(FixedBox(BOX), [(frame, crop)] * 4 + [(frame, other)] * 3)
    assert got.frames == 7 and got.side == pytest.approx(1.31, abs=0.03)
    assert got.dy == pytest.approx(-0.09, abs=0.02)
    noise = np.random.default_rng(0).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    assert measure(FixedBox(BOX), [(frame, noise)] * 10) is None   # nothing matches: no guess


def test_unreadable_videos_and_crops_are_no_samples(tmp_path):
    """A damaged video or crop of the tree is skipped by the measurement, not fatal to it."""
    from types import SimpleNamespace

    from faces_clips import moving_clip
    from PIL import Image

    from abaw.data.index import Media
    from abaw.faces.framing import shipped_pairs

    moving_clip(tmp_path / "good.mp4", 12, (20, 30))
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    for name in ("good", "bad"):
        (tmp_path / name).mkdir()
        for k in (1, 7, 12):
            Image.new("RGB", (112, 112)).save(tmp_path / name / f"{k:05d}.jpg")
    (tmp_path / "good" / "00004.jpg").write_bytes(b"not a jpeg")
    media = {n: Media(n, n, np.array([1, 7, 12]), f"{n}.mp4") for n in ("good", "bad")}
    pairs = list(shipped_pairs(SimpleNamespace(media=media, root=tmp_path), per_video=3))
    assert len(pairs) == 3 and all(f.ndim == 3 and c.shape == (112, 112, 3) for f, c in pairs)
    media["good"].crop_frames = np.array([1, 4])          # frame 4's crop is not a JPEG
    assert list(shipped_pairs(SimpleNamespace(media=media, root=tmp_path))) == []
