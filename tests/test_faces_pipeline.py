"""Face crops from raw videos as a crop source of the whole path: the tiny twin's CE crops deleted,
`abaw faces extract ROOT --track ce` (the offline Haar detector) writes them under the work
folder, the index, `abaw data check` and `abaw run --track ce` take them from there; then
`abaw predict RUN --video` runs a clip of a real photograph through that run."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from faces_clips import moving_clip
from test_data_check import run_cli
from test_pipeline import FAST

from abaw import protocol
from abaw.core.prediction_set import PredictionSet
from abaw.data import load_index
from abaw.data.check import check_dataset
from abaw.data.crops import crop_frames
from abaw.data.media import video_timestamps
from abaw.errors import AbawError
from abaw.faces import output
from abaw.formats.validator import validate
from abaw.pipeline import run_track
from abaw.pipeline.features import faces_folder
from abaw.pipeline.video import _write, predict_video
from tracks import get_track

GAP = (20, 30)   # 0-based frames of the clip without a face


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """(twin with crops, the same twin without its CE crops, work folder, the crop source)."""
    from abaw.cli import main
    from abaw.data.synth import synthesize

    base = tmp_path_factory.mktemp("facesrun")
    twin = synthesize(base / "twin", edition=8, size="tiny", seed=1)
    raw = base / "raw"
    shutil.copytree(twin, raw, ignore=shutil.ignore_patterns(".abaw-index"))
    ce = load_index(twin).ids("CE", "test")
    for i in ce:
        shutil.rmtree(raw / protocol.CROP_FOLDER / i)
    work = base / "work"
    assert main(["faces", "extract", str(raw), "--track", "ce", "--detector", "haar", "--work",
                 str(work), "--workers", "0", "--quiet"]) == 0
    return twin, raw, work, faces_folder(raw, work), ce


@pytest.fixture(scope="module")
def ce_run(env):
    from abaw.features.tiny import write_tiny

    twin, raw, work, src, ce = env
    weights = write_tiny("efficientnet-b0", work / "tiny-effnet")
    overrides = [*FAST, f'features.weights={{"efficientnet-b0" = "{weights}"}}']
    return run_track(get_track("ce"), raw, recipe="demo", overrides=overrides, work=work,
                     out=work / "subs", quiet=True)


def test_extract_on_a_dataset_root_writes_its_ids_under_the_work_folder(env):
    twin, raw, work, src, ce = env
    assert sorted(p.name for p in src.iterdir() if p.is_dir()) == ce
    assert sorted(p.name for p in src.glob("*" + output.SUMMARY_SUFFIX)) == [
        i + output.SUMMARY_SUFFIX for i in ce]
    assert not any((raw / protocol.CROP_FOLDER / i).exists() for i in ce)   # the tree untouched


def test_the_index_takes_a_sources_crops_and_leaves_missed_frames_missing(env):
    twin, raw, work, src, ce = env
    bare = load_index(raw)
    assert all(bare.media[i].crop_dir is None and bare.media[i].face_table is None for i in ce)
    for _ in ("built", "read back from the cache"):
        index = load_index(raw, crops=[src])
        assert index.crop_sources == [str(src)]
        for i in ce:
            m, summary = index.media[i], output.read_summary(src, i)
            assert m.crop_dir == str(src / i) and m.face_table == str(src / f"{i}.faces.csv")
            assert np.array_equal(m.crop_frames, crop_frames(src / i)[0])
            missed = [f for a, b in summary["ids"][i]["missed_frames"] for f in range(a, b + 1)]
            assert not index.has_crop(i, missed).any()
            assert len(m.crop_frames) + len(missed) == summary["frames"]
        for i in index.ids("EXPR", "train"):             # the other ids: the tree's crops
            assert index.media[i].crop_dir == bare.media[i].crop_dir


def test_a_sources_crops_replace_the_trees(env, tmp_path):
    twin, raw, work, src, ce = env
    index = load_index(twin)
    id_ = index.ids("EXPR", "train")[0]
    recrop = tmp_path / "recrop"
    shutil.copytree(twin / index.media[id_].crop_dir, recrop / id_)
    dropped = index.media[id_].crop_frames[::3]
    for f in dropped:
        (recrop / id_ / protocol.frame_name(int(f))).unlink()
    again = load_index(twin, crops=[recrop])             # no "crops that differ" error
    assert again.media[id_].crop_dir == str(recrop / id_)
    assert np.array_equal(again.media[id_].crop_frames,
                          np.setdiff1d(index.media[id_].crop_frames, dropped))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AbawError, match="--crops .*found no <id>/<NNNNN>.jpg crop folder"):
        load_index(twin, crops=[tmp_path / "empty"])


def test_check_reports_videos_nobody_looked_at(env, tmp_path, capsys):
    twin, raw, work, src, ce = env
    assert check_dataset(raw, crops=[src]).ok
    part = tmp_path / "part"
    shutil.copytree(src, part)
    shutil.rmtree(part / ce[1])                          # looked at, no crop: not an error
    report = check_dataset(raw, crops=[part])
    assert report.ok, [str(p) for p in report.problems if p.severity == "error"]
    assert any(f"crops of {ce[1]!r}" in str(p) for p in report.problems)   # summary disagrees
    for name in (f"{ce[1]}{output.SUMMARY_SUFFIX}", f"{ce[1]}{output.TABLE_SUFFIX}"):
        (part / name).unlink()                           # nobody looked: an error for test
    errors = [str(p) for p in check_dataset(raw, crops=[part]).problems
              if p.severity == "error"]
    assert errors == [f"{raw.resolve()}: found 1 of the {len(ce)} CE test videos with neither "
                      f"face crops nor a face table ({ce[1]}), expected cropped_aligned*/<id>/"
                      "<NNNNN>.jpg or a crop source (--crops); detect the faces of the raw "
                      f"videos: `abaw faces extract {raw.resolve()}` (then found under the work "
                      "folder, or give its --out as --crops)"]
    train = load_index(twin).ids("EXPR", "train")[0]     # a training video: a warning
    lessened = tmp_path / "lessened"
    shutil.copytree(twin, lessened, ignore=shutil.ignore_patterns(".abaw-index"))
    shutil.rmtree(lessened / load_index(twin).media[train].crop_dir)
    report = check_dataset(lessened)
    assert report.ok and any(p.severity == "warning" and "EXPR train videos with neither" in
                             str(p) and train in str(p) for p in report.problems)
    # the CLI finds the face step's crops under --work by itself, and takes --crops
    assert run_cli(capsys, "data", "check", str(raw), "--work", str(tmp_path))[0] == 1
    assert run_cli(capsys, "data", "check", str(raw), "--work", str(work))[0] == 0
    assert run_cli(capsys, "data", "check", str(raw), "--crops", str(src))[0] == 0


def test_ce_runs_from_raw_videos_to_a_validated_zip(env, ce_run):
    twin, raw, work, src, ce = env
    report = validate(ce_run.zip_path, "CE", ce_run.edition, root=raw)
    assert report.valid, report.problems()[:3]
    info = json.loads((Path(ce_run.run_dir) / "run.json").read_text())
    assert info["index_crops"] == [str(src)]             # found under --work by itself
    assert ce_run.hidden_test is not None


def test_predict_a_video_gives_named_columns_and_no_values_without_a_face(env, ce_run, tmp_path,
                                                                            capsys):
    n = 60
    boxes = moving_clip(tmp_path / "clip.mp4", n, GAP)
    out = tmp_path / "clip.csv"
    summary = predict_video(ce_run.run_dir, tmp_path / "clip.mp4", out, detector="haar",
                            quiet=True)
    df = pd.read_csv(out)
    assert list(df.columns) == ["frame", "time", "face", *protocol.CE_CLASSES, "expression"]
    assert df["frame"].tolist() == list(range(protocol.FIRST_FRAME, n + protocol.FIRST_FRAME))
    assert np.allclose(df["time"], video_timestamps(tmp_path / "clip.mp4"))
    face = df["face"].to_numpy() == 1
    absent = np.isnan(boxes[:, 0])
    assert not face[absent].any()                         # no face, no made-up values
    assert face[~absent].mean() >= 0.8
    values = df[list(protocol.CE_CLASSES)].to_numpy()
    assert np.isnan(values[~face]).all() and np.isfinite(values[face]).all()
    assert df["expression"][face].isin(protocol.CE_CLASSES).all()
    assert df["expression"][~face].isna().all()
    assert summary["with_face"] == face.sum() and summary["track"] == "CE"
    # Haar's crops framed like the crops the run trained on: its dataset is here to measure
    raw_framing = json.loads(next(env[3].glob("*" + output.SUMMARY_SUFFIX)).read_text())
    assert summary["box_framing"] == raw_framing["box_framing"]
    code, _, err = run_cli(capsys, "predict", ce_run.run_dir, "--video", str(tmp_path / "clip.mp4"),
                           "--split", "test")
    assert code != 0 and "found both --split and --video" in err


def test_video_csv_of_an_au_track(tmp_path):
    au = get_track("au")
    names = au.columns(8)
    outputs = np.tile(np.linspace(0.1, 0.9, len(names)), (4, 1))
    ps = PredictionSet.from_videos("AU", 8, {"v": (np.arange(1, 5), outputs,
                                                   np.array([False, True, False, False]))})
    table = pd.DataFrame({"frame": [1, 2, 3, 4], "time": [0.0, 0.04, 0.08, 0.12]})
    assert _write(ps, au, table, tmp_path / "v.csv") == 4
    df = pd.read_csv(tmp_path / "v.csv")
    assert list(df.columns) == ["frame", "time", "face", *names, *(f"{a}_active" for a in names)]
    assert df["face"].tolist() == [1, 0, 1, 1]
    assert df.loc[1, list(names)].isna().all() and df.loc[1, [f"{a}_active" for a in names]
                                                         ].isna().all()
    on = df.loc[0, [f"{a}_active" for a in names]].to_numpy(float)
    assert np.array_equal(on, (outputs[0] >= 0.5).astype(float))


def test_extract_tells_a_ce_video_from_an_affwild_video_of_the_same_name(env, tmp_path, capsys):
    twin, raw, work, src, ce = env
    tree = tmp_path / "tree"
    shutil.copytree(raw, tree, ignore=shutil.ignore_patterns(".abaw-index"))
    video = tree / protocol.CE_VIDEO_FOLDER / f"{ce[0]}.mp4"
    shutil.copy(video, tree / "batch1" / f"{ce[0]}.avi")   # an Aff-Wild2 video named like it
    code, _, err = run_cli(capsys, "faces", "extract", str(tree), "--ids", ce[0], "--detector",
                           "haar", "--work", str(tmp_path / "work"), "--workers", "0", "--quiet")
    assert code == 0, err
    summary = output.read_summary(faces_folder(tree, tmp_path / "work"), ce[0])
    assert summary["video"] == str(video.resolve()) and list(summary["ids"]) == [ce[0]]
    code, _, err = run_cli(capsys, "faces", "extract", str(tree / "batch1"), "--track", "ce",
                           "--detector", "haar", "--quiet")
    assert code != 0 and "--track: found ce, expected it only with one dataset root" in err


def test_box_crops_are_framed_like_the_shipped_crops(env):
    """Haar has no landmarks: its crops take the framing measured on the tree's own crops (the
    Aff-Wild2 videos that have both), so a CE crop made from the raw video looks like the crop
    the twin shipped for that frame (before it was deleted)."""
    from PIL import Image

    twin, raw, work, src, ce = env
    summary = json.loads(next(src.glob("*" + output.SUMMARY_SUFFIX)).read_text())
    assert summary["box_framing"]["frames"] >= 5
    match = []
    for i in ce:
        for made in sorted((src / i).glob("*.jpg"))[::10]:
            a, b = (np.asarray(Image.open(p).convert("L"), np.float64).ravel()
                    for p in (made, twin / protocol.CROP_FOLDER / i / made.name))
            match.append(np.corrcoef(a, b)[0, 1])
    # H.264 at 256x144 and Haar's frame-to-frame box jitter keep this well below 1 even when
    # framed alike; the default margin (1.25 x the box) gives ~0.3 here, the measured ~0.55
    assert len(match) >= 10 and np.median(match) > 0.45, (len(match), np.median(match))
