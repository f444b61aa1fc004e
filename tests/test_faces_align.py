"""Alignment: the similarity transform, the template at several scales, box crops."""

import numpy as np
import pytest

from abaw.faces import align


def _transform(scale, angle, shift):
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


@pytest.mark.parametrize("seed", range(5))
def test_similarity_recovers_a_known_transform(seed):
    rng = np.random.default_rng(seed)
    m = _transform(rng.uniform(0.3, 3), rng.uniform(-np.pi, np.pi), rng.uniform(-200, 200, 2))
    src = rng.uniform(0, 500, (5, 2))
    dst = src @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(align.similarity(src, dst), m, atol=1e-8)


def test_similarity_is_least_squares_under_noise():
    # the residual of the fit is orthogonal to every small change of its four parameters
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    dst = rng.uniform(0, 100, (5, 2))
    m = align.similarity(src, dst)

    def cost(p):
        mm = _transform(1, 0, (0, 0))
        mm[:, :2] = [[p[0], -p[1]], [p[1], p[0]]]
        mm[:, 2] = p[2:]
        return ((src @ mm[:, :2].T + mm[:, 2] - dst) ** 2).sum()

    best = np.array([m[0, 0], m[1, 0], m[0, 2], m[1, 2]])
    for k in range(4):
        for eps in (-1e-3, 1e-3):
            p = best.copy()
            p[k] += eps
            assert cost(p) > cost(best)


def test_landmarks_land_on_the_template_and_scale_widens_the_view():
    m = _transform(2.5, 0.3, (400, 250))  # a face 2.5x the template, turned, somewhere
    face = (align.TEMPLATE - 56) @ m[:, :2].T + m[:, 2]
    for size, scale in [(112, 1.0), (224, 1.0), (112, 1.5)]:
        t, aligned = align.crop_matrix(np.zeros(4), face, size, scale)
        assert aligned
        mapped = face @ t[:, :2].T + t[:, 2]
        np.testing.assert_allclose(mapped, align.template(size, scale), atol=1e-6)
    # at scale 1.5 the eyes are 1/1.5 as far apart as at scale 1, about the same centre
    eyes = np.diff(align.template(112, 1.5)[:2], axis=0)
    np.testing.assert_allclose(np.linalg.norm(eyes), np.linalg.norm(np.diff(align.TEMPLATE[:2],
                               axis=0)) / 1.5)


def test_box_crop_is_square_centred_with_the_margin():
    box = np.array([100.0, 50.0, 180.0, 170.0])  # 80 x 120
    for scale in (1.0, 2.0):
        t, aligned = align.crop_matrix(box, None, 112, scale)
        assert not aligned
        centre = t[:, :2] @ [140.0, 110.0] + t[:, 2]
        np.testing.assert_allclose(centre, [56, 56])
        assert t[0, 0] == t[1, 1] and t[0, 1] == t[1, 0] == 0  # no rotation, one scale
        np.testing.assert_allclose(t[0, 0] * 120 * align.BOX_MARGIN * scale, 112)


def test_degenerate_landmarks_fall_back_to_the_box():
    box = np.array([10.0, 10.0, 60.0, 60.0])
    for lm in (np.zeros((5, 2)), np.full((5, 2), np.nan)):
        _, aligned = align.crop_matrix(box, lm)
        assert not aligned


def test_warp_takes_the_pixels_of_the_transform():
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[80:120, 130:170] = 255              # a white square centred at (150, 100)
    t = align.box_matrix(np.array([130.0, 80.0, 170.0, 120.0]), 112, 1.0)
    crop = align.warp(frame, t)
    inner = 112 / align.BOX_MARGIN           # the square's side in the crop
    a, b = int(56 - inner / 2) + 2, int(56 + inner / 2) - 2
    assert crop.shape == (112, 112, 3)
    assert crop[a:b, a:b].min() == 255 and crop[:a - 4].max() == 0
