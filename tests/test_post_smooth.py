"""Smoothers against a slow, obviously correct per-row loop, and hand-computed cases.

The loop's weights are written here from their formulas (not taken from `abaw.post.smooth`): a
changed kernel width or shape fails against it.
"""

import numpy as np
import pytest

from abaw.errors import AbawError
from abaw.post import smooth as sm


def formula_kernel(kind, window):
    """Weights over a window's rows: ones; a Gaussian of sigma = window / 6 centred on the
    window (so it spans +-3 sigma); the Hamming window 0.54 - 0.46 cos(2 pi q / (window - 1))."""
    q = np.arange(window, dtype=np.float64)
    if kind == "mean" or window == 1:
        return np.ones(window)
    if kind == "gaussian":
        centre, sigma = (window - 1) / 2, window / 6
        return np.exp(-((q - centre) ** 2) / (2 * sigma ** 2))
    assert kind == "hamming"
    return 0.54 - 0.46 * np.cos(2 * np.pi * q / (window - 1))


def reference(x, offsets, kind, window, ignore=None):
    """For every row: the window's rows inside its video and not ignored, then their weighted
    mean (weights = the kernel at each row's place in the window) or their lower median."""
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    ignore = np.zeros(len(x), bool) if ignore is None else ignore
    before = window // 2
    weights = None if kind == "median" else formula_kernel(kind, window)
    for v in range(len(offsets) - 1):
        a, b = offsets[v], offsets[v + 1]
        for i in range(a, b):
            taps = [(q, i - before + q) for q in range(window)]
            used = [(q, j) for q, j in taps if a <= j < b and not ignore[j]]
            if not used:
                out[i] = x[i]
            elif kind == "median":
                vals = np.sort(x[[j for _, j in used]], axis=0)
                out[i] = vals[(len(used) - 1) // 2]
            else:
                w = np.array([weights[q] for q, _ in used])
                out[i] = (w[:, None] * x[[j for _, j in used]]).sum(axis=0) / w.sum()
    return out


def random_case(rng, long=False):
    n_videos = int(rng.integers(1, 6))
    lengths = rng.integers(200, 600, n_videos) if long else rng.integers(0, 45, n_videos)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    k = int(rng.integers(1, 4))
    x = rng.normal(size=(offsets[-1], k)).astype(np.float32)
    if rng.random() < 0.3:
        x = np.round(x, 1)                       # ties, for the median
    ignore = None
    if long:
        ignore = np.zeros(offsets[-1], bool)     # long runs without a face
        for s in rng.integers(0, max(offsets[-1], 1), 6):
            ignore[s:s + rng.integers(10, 150)] = True
    elif rng.random() < 0.6:
        ignore = rng.random(offsets[-1]) < rng.choice([0.1, 0.4, 0.8])
    if ignore is not None:
        x[ignore & (rng.random(len(x)) < 0.5)] = np.nan    # ignored rows may hold anything
    return x, offsets, ignore


TOL = {"mean": 2e-6, "gaussian": 2e-6, "hamming": 2e-6, "median": 0.0}


@pytest.mark.parametrize("kind", sm.KINDS)
@pytest.mark.parametrize("seed", range(30))
def test_matches_reference_loop(kind, seed):
    rng = np.random.default_rng(seed)
    x, offsets, ignore = random_case(rng)
    if len(x) == 0:
        return
    window = int(rng.integers(1, 30))
    got = sm.smooth(x, offsets, kind, window, ignore)
    want = reference(x, offsets, kind, window, ignore)
    assert got.shape == x.shape and got.dtype == np.float32
    finite = np.isfinite(want)   # ignored NaN rows with no usable neighbour stay NaN
    assert np.array_equal(np.isfinite(got), finite)
    assert np.abs(got[finite] - want[finite]).max(initial=0) <= TOL[kind] * max(
        1, np.abs(want[finite]).max(initial=0))


@pytest.mark.parametrize("kind", sm.KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_wide_windows_over_long_gaps(kind, seed):
    # Windows mostly over ignored rows: few weights left, the ratio must stay exact.
    rng = np.random.default_rng(100 + seed)
    x, offsets, ignore = random_case(rng, long=True)
    window = int(rng.integers(40, 160))
    got = sm.smooth(x, offsets, kind, window, ignore)
    want = reference(x, offsets, kind, window, ignore)
    finite = np.isfinite(want)
    assert np.abs(got[finite] - want[finite]).max(initial=0) <= max(TOL[kind], 1e-6) * 4


@pytest.mark.parametrize("seed", range(5))
def test_sweep_smoother_equals_one_pass(seed):
    rng = np.random.default_rng(200 + seed)
    x, offsets, ignore = random_case(rng)
    if len(x) == 0:
        return
    sweep = sm.Smoother(x, offsets, ignore)
    for window in (1, 2, 3, 8, 17, 64):
        np.testing.assert_array_equal(sweep(window), sm.smooth(x, offsets, "mean", window, ignore))


def test_hand_computed_edges_are_renormalised():
    x = np.array([0.0, 3.0, 6.0, 9.0])
    off = [0, 4]
    # window 3: [0,3] / 2, [0,3,6] / 3, [3,6,9] / 3, [6,9] / 2
    np.testing.assert_allclose(sm.smooth(x, off, "mean", 3)[:, 0], [1.5, 3.0, 6.0, 7.5])
    # window 4 covers 2 rows before and 1 after: [0,3], [0,3,6], [0,3,6,9], [3,6,9]
    np.testing.assert_allclose(sm.smooth(x, off, "mean", 4)[:, 0], [1.5, 3.0, 4.5, 6.0])
    # lower median of [0,3] is 0; of [0,3,6] is 3; of [3,6,9] is 6; of [6,9] is 6
    np.testing.assert_array_equal(sm.smooth(x, off, "median", 3)[:, 0], [0.0, 3.0, 6.0, 6.0])
    # Hamming window 3 is [0.08, 1, 0.08]: row 0 = (1*0 + .08*3) / 1.08
    np.testing.assert_allclose(sm.smooth(x, off, "hamming", 3)[0, 0], 0.24 / 1.08, rtol=1e-6)
    # Gaussian window 3: sigma 0.5, weights [e^-2, 1, e^-2]
    e = np.exp(-2.0)
    np.testing.assert_allclose(sm.smooth(x, off, "gaussian", 3)[1, 0], (3 + 6 * e) / (1 + 2 * e),
                               rtol=1e-6)


def test_ignored_rows_do_not_pull_and_videos_do_not_mix():
    x = np.array([1.0, 1.0, 100.0, 1.0, 1.0, 5.0, 5.0, 5.0])
    ignore = np.array([0, 0, 1, 0, 0, 0, 0, 0], bool)
    for kind in sm.KINDS:
        out = sm.smooth(x, [0, 5, 8], kind, 5, ignore)[:, 0]
        np.testing.assert_allclose(out, [1, 1, 1, 1, 1, 5, 5, 5], rtol=1e-6, err_msg=kind)


def test_window_one_is_identity_and_bad_input_is_refused():
    x = np.random.default_rng(0).random((10, 3)).astype(np.float32)
    for kind in sm.KINDS:
        np.testing.assert_array_equal(sm.smooth(x, [0, 4, 10], kind, 1), x)
    with pytest.raises(AbawError, match="smoothing kind: found 'box'"):
        sm.smooth(x, [0, 10], "box", 3)
    for bad_window in (0, 2.5, "abc", None, True):
        with pytest.raises(AbawError, match="smoothing window: found"):
            sm.smooth(x, [0, 10], "mean", bad_window)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(AbawError, match="NaN or infinite outputs"):
        sm.smooth(bad, [0, 10], "mean", 3)
    with pytest.raises(AbawError, match="offsets"):
        sm.smooth(x, [0, 9], "mean", 3)


@pytest.mark.parametrize("seed", range(4))
def test_many_small_blocks_equal_the_reference(seed, monkeypatch):
    # The sweep path works BLOCK rows at a time: make blocks tiny so they cut through videos.
    monkeypatch.setattr(sm, "BLOCK", 7)
    rng = np.random.default_rng(300 + seed)
    x, offsets, ignore = random_case(rng)
    if len(x) == 0:
        return
    for window in (1, 4, 9, 23):
        want = reference(x, offsets, "mean", window, ignore)
        got = sm.smooth(x, offsets, "mean", window, ignore)
        finite = np.isfinite(want)
        assert np.abs(got[finite] - want[finite]).max(initial=0) <= 2e-6 * max(
            1, np.abs(want[finite]).max(initial=0))


def test_median_orders_values_of_any_sign_and_size():
    # The compiled median compares float32 values as integers: the mapping must keep the order
    # across signs, zeros, subnormals and extremes of float32.
    rng = np.random.default_rng(7)
    special = np.array([-3.4e38, -1.0, -1e-40, -0.0, 0.0, 1e-40, 1e-30, 0.5, 1.0, 3.4e38],
                       np.float32)
    x = rng.choice(special, (400, 2)) * rng.choice([1, 1, 1, 0.5], (400, 2)).astype(np.float32)
    offsets = [0, 150, 400]
    for window in (3, 8, 33, 65):   # windows inside and past one 32-place block of the scans
        got = sm.smooth(x, offsets, "median", window)
        assert np.array_equal(got, reference(x, offsets, "median", window).astype(np.float32))


def test_columns_on_threads_equal_one_thread(monkeypatch):
    from abaw.post import parallel

    rng = np.random.default_rng(8)
    x, offsets, ignore = random_case(rng, long=True)
    x = np.repeat(x, 3, axis=1)[:, :5]
    for kind in ("gaussian", "median"):
        monkeypatch.setattr(parallel, "MAX_THREADS", 1)
        one = sm.smooth(x, offsets, kind, 21, ignore)
        monkeypatch.setattr(parallel, "MAX_THREADS", 4)
        assert np.array_equal(sm.smooth(x, offsets, kind, 21, ignore), one, equal_nan=True)


def test_window_two_averages_each_row_with_the_row_before():
    # span(2) = (1, 0): the row before and the row itself, with equal weights for every linear
    # kind (the Hamming window of 2 is [0.08, 0.08]); the median takes the lower of the two.
    x = np.array([2.0, 4.0, 8.0, 0.0, 6.0])
    off = [0, 3, 5]
    pairs = np.array([2.0, 3.0, 6.0, 0.0, 3.0])      # a video's first row has no row before it
    for kind in ("mean", "gaussian", "hamming"):
        np.testing.assert_allclose(sm.smooth(x, off, kind, 2)[:, 0], pairs, err_msg=kind)
    np.testing.assert_array_equal(sm.smooth(x, off, "median", 2)[:, 0], [2, 2, 4, 0, 0])


def test_kernels_and_the_window_range():
    for kind in ("mean", "gaussian", "hamming"):
        np.testing.assert_array_equal(sm.kernel(kind, 1), [1.0])
        np.testing.assert_allclose(sm.kernel(kind, 7), formula_kernel(kind, 7), rtol=1e-12)
    assert sm.check("mean", sm.MAX_WINDOW) == sm.MAX_WINDOW == 10_001
    with pytest.raises(AbawError, match="smoothing window: found 10002"):
        sm.check("mean", sm.MAX_WINDOW + 1)
    with pytest.raises(AbawError, match="offsets"):          # a video ending before it starts
        sm.smooth(np.zeros(10), [0, 6, 4, 10], "mean", 3)


@pytest.mark.parametrize("window", [5, 8])
def test_scaled_blocks_are_the_scaled_means_also_where_a_window_keeps_no_row(window):
    # A sweep asks for the means times 128 (AU threshold levels). A row whose window holds only
    # ignored rows keeps its input value, times 128 too: in the middle of a video and at its edges.
    rng = np.random.default_rng(9)
    x = rng.random((60, 2)).astype(np.float32)
    offsets = [0, 35, 60]
    ignore = np.zeros(60, bool)
    ignore[[0, 1, 2, 3]] = True        # the first video's first rows
    ignore[10:25] = True               # a long gap inside it
    ignore[55:60] = True               # the second video's last rows
    want = reference(x, offsets, "mean", window, ignore) * 128
    got = np.concatenate([v.copy() for _, _, v in
                          sm.Smoother(x, offsets, ignore).blocks(window, scale=128.0)], axis=1)
    np.testing.assert_allclose(got.T, want, rtol=2e-6)
