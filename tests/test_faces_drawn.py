"""The twin's drawn faces against a real detector (OpenCV's Haar cascades, offline): they are
drawn where the aligned-crop template puts a face, found on every skin tone, and the second
cascade finds strongly expressive faces the first misses, each face once."""

import cv2
import numpy as np

from abaw.data.synth import faces, labels, media
from abaw.faces.align import TEMPLATE
from abaw.faces.haar import CASCADES, SAME_FACE, HaarDetector
from abaw.faces.track import iou


def drawn_frames(rng, subject, n: int, share: float, low: float):
    """`n` raw frames of one drawn person, composed as the twin composes them; each unit is on
    with probability `share`, at an intensity from `low` to 1."""
    renderer, scene = faces.FaceRenderer(subject, rng), media.Scene(rng, 1)
    k = len(labels.UNITS)
    for _ in range(n):
        units = np.where(rng.random(k) < share, rng.uniform(low, 1, k), 0.0)
        yield scene.frame([renderer.render(units, *rng.uniform(-1, 1, 2))], [(0, 0, 0)])


def test_drawn_landmarks_sit_on_the_aligned_crop_template():
    """Eyes, nose tip and mouth corners where the organisers' 112x112 aligned crops put them."""
    scale, centre = 40.0, 56.0          # the mean subject: pixels per face unit, crop centre
    drawn = np.array([[-faces.EYE[0], faces.EYE[1]], [faces.EYE[0], faces.EYE[1]],
                      faces.NOSE_TIP, [-faces.MOUTH[0], faces.MOUTH[1]],
                      [faces.MOUTH[0], faces.MOUTH[1]]]) * scale + centre
    assert np.abs(drawn - TEMPLATE).max() < 2.0


def test_a_real_detector_finds_the_drawn_faces_on_every_skin_tone():
    """The lightest, a middle and the darkest skin: each at least 3 in 5 frames found."""
    detector, rng = HaarDetector(), np.random.default_rng(0)
    for tone in (np.array([235, 200, 170]), np.array([178, 140, 112]), np.array([120, 80, 55])):
        found = 0
        for _ in range(6):
            subject = faces.make_subject(rng)
            subject.skin = tone.astype(float)
            for frame in drawn_frames(rng, subject, 5, 0.3, 0.0):
                found += len(detector.detect(frame[None])[0]) > 0
        assert found >= 18, (tone.tolist(), found)


def test_haar_runs_two_cascades_and_keeps_each_face_once():
    """On strongly expressive faces the second cascade finds faces the first misses; a face both
    find is kept once, and a cascade file given as weights runs alone."""
    both, first = HaarDetector(), HaarDetector(cv2.data.haarcascades + CASCADES[0])
    assert len(both.cascades) == 2 and len(first.cascades) == 1
    rng, n_both, n_first = np.random.default_rng(5), 0, 0
    for _ in range(12):
        for frame in drawn_frames(rng, faces.make_subject(rng), 5, 0.5, 0.5):
            found = both.detect(frame[None])[0]
            n_both += len(found) > 0
            n_first += len(first.detect(frame[None])[0]) > 0
            if len(found) > 1:
                overlap = iou(found.boxes.astype(float), found.boxes.astype(float))
                assert overlap[~np.eye(len(found), dtype=bool)].max() <= SAME_FACE
    assert n_both >= n_first + 3, (n_both, n_first)
