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
