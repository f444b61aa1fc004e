"""Extraction into a feature store: one row per frame, absent rows marked, visual rows equal to the
model on each crop, audio mapped by timestamp, resume and sharding byte-identical."""

import hashlib

import numpy as np
import pytest
import torch
from test_features_backbones import TinyModels
from test_features_timeline import write_video

from abaw.data.index import DatasetIndex, Media, Sequence
from abaw.errors import AbawError
from abaw.features.extract import extract, plan
from abaw.features.registry import create_backbone
from abaw.features.store import FeatureStore

CROPS = {"vidA": [f for f in range(1, 15) if f not in (4, 9)],   # video has 15 frames
         "vidB_left": [f for f in range(1, 11) if f != 3],
         "vidB_right": list(range(2, 13)),
         "vidC": []}                                             # no face, no video
ROWS = {("EXPR", "vidA"): ("train", 16), ("EXPR", "vidB_left"): ("val", 12),
        ("EXPR", "vidC"): ("train", 5), ("AU", "vidB_right"): ("train", 14),
        ("AU", "vidA"): ("train", 16)}


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def build_index(root):
    from PIL import Image

    from abaw.data.media import video_timestamps

    rng = np.random.default_rng(0)
    for id, frames in CROPS.items():
        d = root / "cropped_aligned" / id
        d.mkdir(parents=True)
        for f in frames:
            img = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
            Image.fromarray(img).save(d / f"{f:05d}.jpg", quality=90)
    write_video(root / "videos" / "vidA.mp4", np.arange(15) / 30, lambda t: 440.0 + 800 * t)
    vfr = np.round(np.cumsum(np.r_[0, np.full(5, 1 / 30), np.full(4, 0.125), np.full(4, 0.05)]), 3)
    write_video(root / "videos" / "vidB.mp4", vfr, lambda t: 300.0 if t < 0.5 else 1500.0)
    index = DatasetIndex(root, 10, "test")
    for (track, id), (split, n) in ROWS.items():
        index.sequences.setdefault(track, {})[id] = Sequence(
            id, track, split, np.arange(1, n + 1, dtype=np.int64), None)
    for id, frames in CROPS.items():
        video = None if id == "vidC" else f"videos/{id.split('_')[0]}.mp4"
        index.media[id] = Media(id, f"cropped_aligned/{id}", np.array(frames, np.int64), video)
    index.media["vidB_left"].timestamps = video_timestamps(root / "videos" / "vidB.mp4")
    return index


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    return build_index(root), TinyModels(tmp_path_factory.getbasetemp() / "tiny-models")


def files(store_dir):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store_dir.iterdir())}


def test_visual_rows_are_the_model_on_each_crop_and_zero_without_one(data, tmp_path):
    from PIL import Image

    index, tiny = data
    b = create_backbone("dinov2-vit-b14", weights=tiny["dinov2-vit-b14"])
    summary = extract(index, b, tmp_path / "s", batch_size=4, workers=0, quiet=True)
    store = FeatureStore(tmp_path / "s")
    assert store.ids() == sorted(CROPS) and summary["frames"] == sum(map(len, CROPS.values()))
    assert store.meta["backbone"] == "dinov2-vit-b14" and store.dim == 32
    for id in CROPS:
        frames, feats, present = store.load(id)
        n = max(n for (_, i), (_, n) in ROWS.items() if i == id)  # union of the tracks' rows
        assert frames.tolist() == list(range(1, n + 1)) and feats.dtype == np.float16
        assert present.tolist() == [f in CROPS[id] for f in frames]
        assert not feats[~present].any()
        for k in np.flatnonzero(present)[:4]:
            with Image.open(index.image_path("EXPR", id, frames[k])) as im:
                ref = b.encode(b.transform([im.convert("RGB")]))[0].numpy()
            np.testing.assert_allclose(feats[k], ref, rtol=2e-3, atol=2e-3)


class Interrupt(Exception):
    pass


def test_resume_after_interrupt_and_workers_are_byte_identical(data, tmp_path):
    index, tiny = data
    b = create_backbone("vit-b16", weights=tiny["vit-b16"])
    extract(index, b, tmp_path / "full", batch_size=4, workers=2, quiet=True)
    done = []

    def stop_after_two(id):
        done.append(id)
        if len(done) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        extract(index, b, tmp_path / "cut", batch_size=4, workers=0, on_done=stop_after_two)
    assert FeatureStore(tmp_path / "cut").ids() == sorted(CROPS)[:2]
    assert not list((tmp_path / "cut").glob("*.tmp"))
    summary = extract(index, b, tmp_path / "cut", batch_size=4, workers=0, quiet=True)
    assert summary["done_before"] == 2 and summary["written"] == 2
    assert files(tmp_path / "cut") == files(tmp_path / "full")


def test_audio_rows_follow_the_video_timestamps(data, tmp_path):
    from abaw.data.media import video_timestamps
    from abaw.features.timeline import audio_rows, read_audio

    index, tiny = data
    b = create_backbone("logmel")
    extract(index, b, tmp_path / "a", workers=1, quiet=True)
    store = FeatureStore(tmp_path / "a")
    assert store.ids() == sorted(CROPS)
    video = index.root / "videos" / "vidB.mp4"
    wave, start = read_audio(video, 16000)
    centres, feats = b.features(wave)
    for id in ("vidB_left", "vidB_right"):  # one from the index's timestamps, one probed
        frames, rows, present = store.load(id)
        ref, ref_present = audio_rows(video_timestamps(video), frames, centres + start, feats,
                                      b.hop_s)
        np.testing.assert_allclose(rows, ref, rtol=1e-3, atol=1e-2)
        assert present.tolist() == ref_present.tolist()
    # vidB has 14 frames and 0.2 s of audio after the last one: rows 15, 16 of vidB_right have
    # extrapolated times still inside the audio, frames past it would not
    assert store.load("vidB_right")[2].all()
    frames, rows, present = store.load("vidC")  # no video: every row absent
    assert len(frames) == 5 and not present.any() and not rows.any()


def test_shards_split_videos_and_add_up_to_the_whole(data, tmp_path, monkeypatch):
    index, tiny = data
    b = create_backbone("logmel")
    extract(index, b, tmp_path / "one", quiet=True, workers=0)
    extract(index, b, tmp_path / "two", quiet=True, workers=0, rank=0, world=2)
    monkeypatch.setenv("RANK", "1")  # as torchrun sets it
    monkeypatch.setenv("WORLD_SIZE", "2")
    summary = extract(index, b, tmp_path / "two", quiet=True, workers=0)
    assert (summary["rank"], summary["world"]) == (1, 2)
    assert files(tmp_path / "two") == files(tmp_path / "one")
    jobs = plan(index, "audio")
    from abaw.features.extract import shard

    owner = {j.id: r for r in (0, 1) for j in shard(jobs, r, 2)}
    assert owner["vidB_left"] == owner["vidB_right"] and len(owner) == len(jobs)
    # longest first to the least-loaded rank: vidB (12 + 14 rows) -> 0, vidA (16) -> 1,
    # vidC (5) -> 1
    assert [sum(len(j.frames) for j in shard(jobs, r, 2)) for r in (0, 1)] == [26, 21]


def test_store_of_another_layer_is_refused(data, tmp_path):
    index, tiny = data
    extract(index, create_backbone("vit-b16", weights=tiny["vit-b16"]), tmp_path / "s",
            workers=0, quiet=True)
    other = create_backbone("vit-b16", weights=tiny["vit-b16"], layer="-2")
    with pytest.raises(AbawError, match="field layer"):
        extract(index, other, tmp_path / "s", workers=0, quiet=True)


def test_unreadable_crop_is_one_line_naming_the_file(data, tmp_path):
    import shutil

    index, tiny = data
    root = tmp_path / "copy"
    shutil.copytree(index.root / "cropped_aligned", root / "cropped_aligned")
    (root / "cropped_aligned" / "vidA" / "00002.jpg").write_bytes(b"not a jpeg")
    broken = DatasetIndex(root, 10, "x", index.sequences, index.media)
    b = create_backbone("vit-b16", weights=tiny["vit-b16"])
    with pytest.raises(AbawError) as e:
        extract(broken, b, tmp_path / "s", tracks=["AU"], workers=1, quiet=True)
    assert "vidA/00002.jpg" in str(e.value) and "\n" not in str(e.value)
    assert not FeatureStore(tmp_path / "s").has("vidA")


@pytest.mark.parametrize("change", ["replaced", "rewritten-same-bytes", "removed"])
@pytest.mark.parametrize("id", ["vidA", "vidB_left"])
def test_a_changed_crop_makes_only_its_video_stale(change, id, data, tmp_path):
    """The store knows the crops each id was made from: replacing one (as re-copying a damaged
    file does) re-extracts that id on the next run, and only it."""
    import os
    import shutil

    from PIL import Image

    index, tiny = data
    root = tmp_path / "copy"
    shutil.copytree(index.root / "cropped_aligned", root / "cropped_aligned")
    copy = DatasetIndex(root, 10, "x", index.sequences, index.media)
    b = create_backbone("vit-b16", weights=tiny["vit-b16"])
    extract(copy, b, tmp_path / "s", workers=0, quiet=True)
    before = files(tmp_path / "s")
    crop = root / "cropped_aligned" / id / f"{CROPS[id][1]:05d}.jpg"
    if change == "replaced":
        img = np.random.default_rng(7).integers(0, 256, (112, 112, 3), dtype=np.uint8)
        Image.fromarray(img).save(crop, quality=90)
    elif change == "rewritten-same-bytes":
        crop.write_bytes(crop.read_bytes())
        st = crop.stat()
        os.utime(crop, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    else:
        crop.unlink()
    if change == "removed":
        with pytest.raises(AbawError, match=crop.name):       # the index still lists it
            extract(copy, b, tmp_path / "s", workers=0, quiet=True)
        return
    summary = extract(copy, b, tmp_path / "s", workers=0, quiet=True)
    assert summary["written"] == 1 and summary["done_before"] == len(CROPS) - 1
    after = files(tmp_path / "s")
    changed = {n for n in after if after[n] != before[n]}
    assert changed <= {f"{id}.npy", f"{id}.rows.npz"} and f"{id}.rows.npz" in changed
    if change == "replaced":
        assert f"{id}.npy" in changed
    assert extract(copy, b, tmp_path / "s", workers=0, quiet=True)["written"] == 0


def test_a_replaced_video_makes_its_audio_stale(data, tmp_path):
    import shutil

    index, _ = data
    root = tmp_path / "copy"
    shutil.copytree(index.root / "videos", root / "videos")
    copy = DatasetIndex(root, 10, "x", index.sequences, index.media)
    b = create_backbone("logmel")
    extract(copy, b, tmp_path / "a", workers=0, quiet=True)
    write_video(root / "videos" / "vidA.mp4", np.arange(15) / 30, lambda t: 900.0)
    summary = extract(copy, b, tmp_path / "a", workers=0, quiet=True)
    assert summary["written"] == 1                                  # vidA only
