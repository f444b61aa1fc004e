"""Windows: coverage, batch assembly from memory-mapped features (against a per-frame reference),
sentinel masking, and averaging overlapping outputs back to frames."""

import numpy as np

from abaw.data.index import DatasetIndex, Sequence
from abaw.features.store import FeatureStore
from abaw.train.windows import WindowSet, average_to_frames, load_video, window_starts
from tracks import get_track


def test_window_starts_cover_every_frame():
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(11, 4, 3).tolist() == [0, 3, 6, 7]       # last window aligned to the end
    assert window_starts(3, 4, 2).tolist() == [0]                  # short video: one padded window
    for n, length, stride in [(50, 7, 3), (8, 8, 5), (1, 1, 1), (33, 1, 1)]:
        covered = np.zeros(n, bool)
        for s in window_starts(n, length, stride):
            covered[s:s + length] = True
        assert covered.all()


def _store(tmp_path, name, dim, rows):
    """rows: id -> (frames, features, present)."""
    st = FeatureStore.create(tmp_path / name, {"backbone": name, "dim": dim})
    for vid, (f, x, p) in rows.items():
        st.write(vid, f, x, p)
    return st


def test_batches_match_a_per_frame_reference(tmp_path):
    rng = np.random.default_rng(0)
    n = 23
    frames = np.arange(1, n + 1)
    x1 = rng.normal(size=(n, 4)).astype(np.float16)
    p1 = rng.random(n) > 0.2
    x1[~p1] = 0
    # store 2 lists its rows shuffled and lacks frames 5-8 entirely (non-contiguous path)
    keep = np.setdiff1d(np.arange(n), [4, 5, 6, 7])
    perm = rng.permutation(keep)
    x2 = rng.normal(size=(n, 3)).astype(np.float16)
    p2 = np.ones(n, bool)
    s1 = _store(tmp_path, "a", 4, {"v": (frames, x1, p1)})
    s2 = _store(tmp_path, "b", 3, {"v": (frames[perm], x2[perm], p2[perm])})
    labels = rng.integers(0, 8, size=(n, 1)).astype(np.float32)
    labels[[2, 9]] = -1                                            # sentinels
    index = DatasetIndex(tmp_path, 8, "t", {"EXPR": {"v": Sequence("v", "EXPR", "train", frames, labels)}})
    track = get_track("EXPR")
    vd = load_video(index, track, "v", [s1, s2], 8)
    assert vd.first_row[0] == 0 and vd.first_row[1] is None
    for length, stride in ((6, 4), (1, 1)):          # windows, and image-level single frames
        ws = WindowSet([vd, vd], length, stride)
        which = np.random.default_rng(length).permutation(len(ws))[: len(ws) - 3]
        _check(ws.batch(which), ws, which, length, x1, p1, x2, labels)


def _check(b, ws, which, length, x1, p1, x2, labels):
    for i, (_, s, m) in enumerate(ws.spans(which)):
        for j in range(length):
            t = s + j
            if j >= m:                                             # padding
                assert not b["mask"][i, j] and not b["label_mask"][i, j].any()
                assert not b["x"][0][i, j].any() and not b["x"][1][i, j].any()
                continue
            want2 = x2[t] if t not in (4, 5, 6, 7) else np.zeros(3, np.float16)
            assert np.array_equal(b["x"][0][i, j], x1[t]) and np.array_equal(b["x"][1][i, j], want2)
            has_input = p1[t] or t not in (4, 5, 6, 7)
            assert b["mask"][i, j] == has_input
            assert b["label_mask"][i, j, 0] == (has_input and labels[t, 0] != -1)
            assert b["labels"][i, j, 0] == labels[t, 0]


def test_overlapping_outputs_are_averaged_back_to_frames(tmp_path):
    n = 6
    st = _store(tmp_path, "a", 2, {"v": (np.arange(1, n + 1), np.ones((n, 2)), np.ones(n, bool))})
    index = DatasetIndex(tmp_path, 8, "t", {"VA": {"v": Sequence("v", "VA", "test", np.arange(1, n + 1), None)}})
    vd = load_video(index, get_track("VA"), "v", [st], 8)
    ws = WindowSet([vd], 4, 2)                                     # windows at 0 and 2
    outs = np.array([[[1.0], [1.0], [1.0], [1.0]], [[3.0], [3.0], [3.0], [3.0]]])
    got = average_to_frames(ws, [(np.arange(2), outs)], 1)[0][:, 0]
    assert got.tolist() == [1, 1, 2, 2, 3, 3]


def test_training_windows_skip_windows_without_a_label(tmp_path):
    n = 40
    st = _store(tmp_path, "a", 2, {"v": (np.arange(1, n + 1), np.ones((n, 2)), np.ones(n, bool))})
    lab = np.full((n, 1), -1, np.float32)
    lab[35] = 3
    index = DatasetIndex(tmp_path, 8, "t", {"EXPR": {"v": Sequence("v", "EXPR", "train", np.arange(1, n + 1), lab)}})
    vd = load_video(index, get_track("EXPR"), "v", [st], 8)
    assert len(WindowSet([vd], 10, 5)) == 7
    kept = WindowSet([vd], 10, 5, labelled_only=True)
    assert [s for _, s, _ in kept.spans(np.arange(len(kept)))] == [30]
