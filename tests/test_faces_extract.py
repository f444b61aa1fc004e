"""`abaw faces extract` end to end on clips made from a real photograph: boxes where the face
was placed, left/right people, missed stretches recorded as missed, frames numbered as decoded,
resume, shards; RetinaFace's whole path on random weights of its real architecture."""

import os

import av
import numpy as np
import pytest
import torch
from faces_clips import moving_clip, pair_clip
from PIL import Image

from abaw import protocol
from abaw.cli import main
from abaw.data.media import video_timestamps
from abaw.errors import AbawError
from abaw.faces import output
from abaw.faces.extract import extract, plan, read_ids
from abaw.faces.registry import create_detector
from abaw.faces.retinaface import write_random
from abaw.faces.track import iou

GAP = (20, 32)           # 0-based frames of the moving clip with no face
RIGHT_GAP = (12, 20)     # 0-based frames of the pair clip without its right person


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    one = moving_clip(root / "one.mp4", 64, GAP)
    left, right = pair_clip(root / "two.mp4", 36, RIGHT_GAP)
    return root, {"one": one, "two_left": left, "two_right": right}


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """Two clips of a few frames, for runs that only count videos."""
    root = tmp_path_factory.mktemp("short")
    moving_clip(root / "a.mp4", 4, (1, 2))
    pair_clip(root / "b.mp4", 3, (0, 0))
    return root


@pytest.fixture(scope="module")
def done(clips, tmp_path_factory):
    """Both clips through the Haar detector, as `abaw faces extract` runs it."""
    root, _ = clips
    out = tmp_path_factory.mktemp("faces") / "crops"
    jobs = plan([root], out, ["one", "two_left", "two_right"])
    summary = extract(jobs, create_detector("haar"), out, workers=1, quiet=True)
    return out, summary


def _decoded_count(path):
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def _kept_iou(out, stem, id, ref):
    """(n,) IoU of id's kept box with the known box per 0-based frame; NaN where none kept."""
    df = output.read_table(out, stem)
    kept = df[df.kept & (df.id == id)]
    got = np.full(len(ref), np.nan)
    for row in kept.itertuples():
        box = np.array([[row.x1, row.y1, row.x2, row.y2]])
        got[row.frame - protocol.FIRST_FRAME] = iou(box, ref[row.frame - 1:row.frame])[0, 0]
    return got


def test_a_moving_face_is_boxed_where_it_was_placed(clips, done):
    root, refs = clips
    out, summary = done
    ref = refs["one"]
    face = ~np.isnan(ref[:, 0])
    got = _kept_iou(out, "one", "one", ref)
    assert (got[face] >= 0.7).mean() >= 0.95
    assert np.isnan(got[~face]).all()            # nothing kept where there is no face
    assert summary["written"] == 2 and summary["frames"] == 64 + 36


def test_crops_are_numbered_by_decoded_frame_and_misses_stay_missing(clips, done):
    root, refs = clips
    out, _ = done
    n = _decoded_count(root / "one.mp4")
    face = ~np.isnan(refs["one"][:, 0])
    names = sorted(n for n in os.listdir(out / "one") if not n.startswith("."))  # abaw's marker
    assert names == [protocol.frame_name(i + 1) for i in range(n) if face[i]]
    for name in names[:3]:
        assert Image.open(out / "one" / name).size == (112, 112)
    info = output.read_summary(out, "one")["ids"]["one"]
    assert info["missed_frames"] == [[GAP[0] + 1, GAP[1]]]
    assert info["crops"] == face.sum() and info["missed"] == n - face.sum()
    df = output.read_table(out, "one")
    # every decoded frame is in the table, with its own (variable-rate) time
    first = df.groupby("frame").first()
    assert first.index.tolist() == list(range(1, n + 1))
    np.testing.assert_allclose(first["time"].to_numpy(), video_timestamps(root / "one.mp4"),
                               atol=1e-6)
    assert len(np.unique(np.round(np.diff(first["time"].to_numpy()), 4))) >= 2  # really VFR
    gap = first.loc[GAP[0] + 1:GAP[1]]
    assert (gap["face"] == -1).all() and not gap["kept"].any()


def test_left_and_right_people_take_their_own_faces(clips, done):
    _, refs = clips
    out, _ = done
    summary = output.read_summary(out, "two")["ids"]
    for id, other in (("two_left", "two_right"), ("two_right", "two_left")):
        ref = refs[id]
        face = ~np.isnan(ref[:, 0])
        got = _kept_iou(out, "two", id, ref)
        assert (got[face] >= 0.7).mean() >= 0.95, id
        assert np.isnan(got[~face]).all(), id
        wrong = _kept_iou(out, "two", id, refs[other])
        assert not (wrong > 0.1).any(), id     # never the other person's face
        assert summary[id]["rule"]
    assert summary["two_right"]["missed_frames"] == [[RIGHT_GAP[0] + 1, RIGHT_GAP[1]]]
    assert summary["two_left"]["missed_frames"] == []
    assert sorted(p.name for p in out.iterdir() if not p.is_dir()) == [
        "one.faces.csv", "one.faces.json", "two.faces.csv", "two.faces.json"]
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"one", "two_left", "two_right"}


def test_resume_redoes_only_unfinished_videos(short, tmp_path):
    root = short
    out = tmp_path / "crops"
    jobs = plan([root], out)
    det = create_detector("haar")

    def stop(stem):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract(jobs, det, out, workers=0, quiet=True, on_done=stop)
    done = [j.stem for j in jobs if output.is_done(out, j.stem)]
    assert len(done) == 1
    again = extract(jobs, det, out, workers=0, quiet=True)
    assert again["done_before"] == 1 and again["written"] == 1
    assert all(output.is_done(out, j.stem) for j in jobs)


def test_shards_split_the_videos(short, tmp_path):
    root = short
    out = tmp_path / "crops"
    jobs = plan([root], out)
    det = create_detector("haar")
    seen = []
    for rank in (0, 1):
        s = extract(jobs, det, out, workers=0, quiet=True, rank=rank, world=2)
        assert s["videos"] == 1
        seen += [j.stem for j in jobs if output.is_done(out, j.stem) and j.stem not in seen]
    assert sorted(seen) == ["a", "b"]


def test_ids_from_options_and_files(clips, tmp_path):
    root, _ = clips
    (tmp_path / "ids.txt").write_text("two_right\ntwo_left\n")
    assert read_ids(["one,two_left", str(tmp_path / "ids.txt")]) == [
        "one", "two_left", "two_right", "two_left"]
    jobs = plan([root], tmp_path / "crops", read_ids([str(tmp_path / "ids.txt")]))
    assert [(j.stem, j.ids) for j in jobs] == [("two", ["two_left", "two_right"])]


def test_output_inside_the_dataset_and_unknown_ids_are_refused(clips):
    root, _ = clips
    with pytest.raises(AbawError, match="inside the dataset folder"):
        plan([root], root / "crops")
    with pytest.raises(AbawError, match="--ids: found 'three_left'"):
        plan([root], root.parent / "crops", ["three_left"])


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_retinaface_path_end_to_end_on_random_weights(tmp_path, capsys, monkeypatch):
    """The default detector through the CLI, loading random weights of its real architecture
    from $ABAW_MODELS/<name> as it would load the published ones, down to two crop trees."""
    clip = tmp_path / "v" / "clip_left.mp4"
    clip.parent.mkdir()
    moving_clip(clip, 8, (3, 5))
    models = tmp_path / "models"
    write_random(models / "retinaface-mnet025")
    monkeypatch.setenv("ABAW_MODELS", str(models))
    out = tmp_path / "crops"
    code, stdout, err = _run(["faces", "extract", str(clip), "--out", str(out), "--threshold",
                              "0.5", "--scale", "1", "--scale", "1.5", "--size", "64",
                              "--workers", "1", "--batch-size", "3", "--device", "cpu"], capsys)
    assert code == 0, err
    df = output.read_table(out, "clip_left")
    faces = df[df.face >= 0]
    assert len(faces) > 0 and faces[output.LANDMARK_COLUMNS].notna().all().all()
    summary = output.read_summary(out, "clip_left")
    assert summary["detector"] == "retinaface-mnet025" and summary["landmarks"] == 5
    assert summary["weights"] == str(models / "retinaface-mnet025" / "model.safetensors")
    kept = sorted(protocol.frame_name(int(f)) for f in df[df.kept].frame)
    for tree in (out, tmp_path / "crops-x1.5"):
        names = sorted(n for n in os.listdir(tree / "clip_left") if not n.startswith("."))
        assert names == kept
        assert Image.open(tree / "clip_left" / names[0]).size == (64, 64)
    # the same frames, a wider view: the two crops of a frame differ
    a = np.asarray(Image.open(out / "clip_left" / kept[0]), float)
    b = np.asarray(Image.open(tmp_path / "crops-x1.5" / "clip_left" / kept[0]), float)
    assert np.abs(a - b).mean() > 1
    # run again: nothing to do
    code, stdout, _ = _run(["faces", "extract", str(clip), "--out", str(out), "--threshold",
                            "0.5", "--workers", "0"], capsys)
    assert code == 0 and '"done_before": 1' in stdout


def test_cli_mistakes_are_one_line(clips, tmp_path, capsys):
    root, _ = clips
    code, _, err = _run(["faces", "extract", str(root), "--out", str(root / "x"),
                         "--detector", "haar"], capsys)
    assert code == 2 and err.count("\n") == 1 and "inside the dataset folder" in err
    code, _, err = _run(["faces", "extract", str(root), "--out", str(tmp_path / "x"),
                         "--detector", "yunet"], capsys)
    assert code == 2 and err.count("\n") == 1 and "expected one of" in err
    # a broken video among good ones: the good ones are done, the broken one is named
    broken = tmp_path / "in" / "broken.mp4"
    broken.parent.mkdir()
    broken.write_bytes(b"\x00" * 100)
    moving_clip(tmp_path / "in" / "good.mp4", 3, (0, 0))
    code, _, err = _run(["faces", "extract", str(broken.parent), "--out", str(tmp_path / "y"),
                         "--detector", "haar", "--workers", "0", "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1 and "broken.mp4" in err
    assert not output.is_done(tmp_path / "y", "broken") and output.is_done(tmp_path / "y", "good")
