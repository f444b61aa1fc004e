"""Linking faces into tracks, and which track each annotation id takes."""

import numpy as np

from abaw.faces.track import Linker, assign, iou, stats


def _box(cx, cy, side):
    return [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]


def _run(per_frame):
    """per_frame: list of box lists -> (frames (D,), tracks (D,), boxes (D, 4))."""
    linker, frames, tracks, boxes = Linker(), [], [], []
    for i, b in enumerate(per_frame):
        b = np.array(b, np.float64).reshape(-1, 4)
        t = linker.step(b)
        frames += [i] * len(b)
        tracks += t.tolist()
        boxes += b.tolist()
    return np.array(frames), np.array(tracks), np.array(boxes).reshape(-1, 4)


def test_iou_against_a_direct_computation():
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 100, (6, 2, 2)), axis=1).transpose(0, 2, 1).reshape(6, 4)[:, [0, 2, 1, 3]]
    b = np.sort(rng.uniform(0, 100, (4, 2, 2)), axis=1).transpose(0, 2, 1).reshape(4, 4)[:, [0, 2, 1, 3]]
    for i in range(6):
        for j in range(4):
            w = max(0, min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]))
            h = max(0, min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]))
            area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
            want = w * h / (area(a[i]) + area(b[j]) - w * h)
            assert abs(iou(a[i:i + 1], b[j:j + 1])[0, 0] - want) < 1e-12


def test_two_moving_faces_keep_their_tracks_in_any_detection_order():
    rng = np.random.default_rng(1)
    per_frame = []
    for i in range(40):
        faces = [_box(100 + 2 * i, 100, 60), _box(400 - 2 * i, 110, 70)]
        per_frame.append([faces[k] for k in rng.permutation(2)])
    frames, tracks, boxes = _run(per_frame)
    left = boxes[:, 0] < 250
    assert len(set(tracks[left])) == 1 and len(set(tracks[~left])) == 1
    assert set(tracks[left]) != set(tracks[~left])


def test_a_face_coming_back_where_it_left_keeps_its_track():
    per_frame = [[_box(200, 100, 80)]] * 10 + [[]] * 15 + [[_box(215, 105, 80)]] * 10
    _, tracks, _ = _run(per_frame)
    assert set(tracks) == {0}


def test_a_face_elsewhere_opens_a_new_track():
    per_frame = [[_box(100, 100, 60)]] * 5 + [[_box(400, 100, 60)]] * 5
    _, tracks, _ = _run(per_frame)
    assert tracks.tolist() == [0] * 5 + [1] * 5


def test_dominant_track_and_the_tracks_that_continue_it():
    # the person (side 80) is seen, leaves, comes back elsewhere; a small face (side 20) passes
    # by in the gap, and a 2-frame flicker elsewhere
    per_frame = ([[_box(100, 100, 80)]] * 20 + [[_box(300, 50, 20)]] * 5 + [[]] * 3
                 + [[_box(400, 120, 75)]] * 12 + [[_box(50, 20, 80)]] * 2)
    frames, tracks, boxes = _run(per_frame)
    st = stats(frames, tracks, boxes)
    chosen = assign(["clip"], st, 640)
    ts, rule = chosen["clip"]
    taken = np.isin(tracks, ts)
    assert frames[taken].tolist() == list(range(20)) + list(range(28, 40))
    assert "dominant" in rule


def test_left_and_right_take_their_side():
    per_frame = []
    for i in range(30):
        faces = [_box(150 + i, 100, 60)]
        if not 10 <= i < 15:
            faces.append(_box(450 - i, 100, 60))
        per_frame.append(faces)
    frames, tracks, boxes = _run(per_frame)
    chosen = assign(["v_right", "v_left"], stats(frames, tracks, boxes), 600)
    for name, on_left in (("v_left", True), ("v_right", False)):
        taken = np.isin(tracks, chosen[name][0])
        assert ((boxes[taken, 0] < 300) == on_left).all()
    assert len(frames[np.isin(tracks, chosen["v_right"][0])]) == 25
    assert len(frames[np.isin(tracks, chosen["v_left"][0])]) == 30


def test_one_face_in_a_two_person_video_goes_to_its_side_only():
    frames, tracks, boxes = _run([[_box(500, 100, 60)]] * 10)
    chosen = assign(["v_left", "v_right"], stats(frames, tracks, boxes), 640)
    assert chosen["v_left"][0] == [] and chosen["v_right"][0] == [0]
    assert "no track" in chosen["v_left"][1]


def test_no_face_at_all():
    chosen = assign(["v"], {}, 640)
    assert chosen == {"v": ([], "no face found")}
