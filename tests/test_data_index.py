"""load_index: sequences, media, test rows, MTL/LSD/CE, the cache, and nothing dropped silently."""

import os
import shutil

import data_trees as D
import numpy as np
import pytest

from abaw.data import build, cache, load_index
from abaw.data.crops import crop_frames
from abaw.errors import AbawError


def ed10(tmp_path):
    t = D.affwild(tmp_path, 10)
    D.templates(t, {"7-25-1920x1080": 4, "8_right": 2})
    for name in ("batch1/1-30-1280x720.mp4", "batch2/5-60-1920x1080.avi", "batch3/102.mkv"):
        D.write(tmp_path / name, b"")
    return t


def test_affwild_sequences_labels_and_media(tmp_path):
    t = ed10(tmp_path)
    idx = load_index(tmp_path, 10, cache=False)
    assert idx.edition == 10 and idx.tracks() == ["VA", "EXPR", "AU"]
    for track in ("VA", "EXPR", "AU"):
        assert idx.ids(track, "train") == ["1-30-1280x720", "5-60-1920x1080_left",
                                           "5-60-1920x1080_right"]
        for id_, lab in t.labels[track].items():
            s = idx.sequence(track, id_)
            assert s.split == t.splits[track][id_]
            np.testing.assert_array_equal(s.labels, lab)
            assert s.frames.dtype == np.int64 and s.frames.tolist() == list(range(1, len(lab) + 1))
            assert s.source.endswith(f"/{s.split.replace('train', 'Train_Set').replace('val', 'Validation_Set')}/{id_}.txt")
    # sentinels: VA row 2 is -5, EXPR row 3 is -1, AU row 1 is -1 (see data_trees.affwild_labels)
    assert idx.valid("VA", "102").tolist() == [True, False, True, True, True]
    assert idx.valid("EXPR", "102").tolist() == [True, True, False, True, True]
    assert idx.valid("AU", "102").tolist() == [False, True, True, True, True]
    m = idx.media["5-60-1920x1080_left"]
    assert m.crop_dir == "cropped_aligned/5-60-1920x1080_left"
    assert m.crop_frames.tolist() == [1, 2, 4, 5, 6]  # frame 3 has no face
    assert m.raw_video == "batch2/5-60-1920x1080.avi"  # _left stripped, any extension
    assert idx.media["5-60-1920x1080_right"].raw_video == "batch2/5-60-1920x1080.avi"
    assert idx.media["102"].raw_video == "batch3/102.mkv"
    assert idx.has_crop("102", [1, 2, 3, 4, 9]).tolist() == [True, True, False, True, False]
    assert idx.image_path("VA", "102", 4) == tmp_path.resolve() / "cropped_aligned/102/00004.jpg"


def test_template_rows_are_the_test_sequences(tmp_path):
    ed10(tmp_path)
    idx = load_index(tmp_path, 10, cache=False)
    for track in ("VA", "EXPR", "AU"):
        assert idx.ids(track, "test") == ["7-25-1920x1080", "8_right"]
        s = idx.sequence(track, "8_right")
        assert s.labels is None and s.frames.tolist() == [1, 2]
        assert s.source == f"ABAW Annotations/ABAW_{D.TOKEN[track]}_test_set_example.txt"
        assert not idx.valid(track, "7-25-1920x1080").any()


def test_edition1_main_suffix(tmp_path):
    D.affwild(tmp_path, 1, {"train": [("9-15-720x480_main", 3)], "val": [("9-15-720x480_left", 3)]})
    D.write(tmp_path / "batch1" / "9-15-720x480.mp4", b"")
    idx = load_index(tmp_path, 1, cache=False)
    assert idx.media["9-15-720x480_main"].raw_video == "batch1/9-15-720x480.mp4"
    assert idx.sequence("AU", "9-15-720x480_main").labels.shape == (3, 8)  # 8 AUs in edition 1
    assert idx.sequence("EXPR", "9-15-720x480_main").labels.max() <= 6


def test_edition3_test_lists_use_the_plus_one_length(tmp_path):
    t = D.affwild(tmp_path, 3)
    D.mtl(tmp_path, 3)
    D.write_video(tmp_path / "batch1" / "40-30-640x360.mp4", [0, 40, 80, 120, 200])
    D.crops(tmp_path, "41_left", [1, 2, 6])
    D.write(t.ann / "Valence_Arousal_Estimation_Challenge_test_set_release.txt",
            "40-30-640x360\n41_left\n")
    idx, problems = build.build_index(tmp_path, 3, use_cache=False)
    assert idx.sequence("VA", "40-30-640x360").frames.tolist() == [1, 2, 3, 4, 5, 6]  # 5 + 1
    assert idx.sequence("VA", "41_left").frames.tolist() == list(range(1, 7))  # last crop
    text = [str(p) for p in problems]
    assert ("Third ABAW Annotations/Valence_Arousal_Estimation_Challenge_test_set_release.txt:2: "
            "found no raw video for '41_left'") in " ".join(text)
    idx = load_index(tmp_path, 3, cache=False, frame_count="decoded")
    assert len(idx.sequence("VA", "40-30-640x360").frames) == 5
    D.write(t.ann / "Valence_Arousal_Estimation_Challenge_test_set_release.txt", "40-30-640x360\nghost\n")
    with pytest.raises(AbawError, match=r"test_set_release.txt:2: found no raw video and no crop "
                                        r"folder for 'ghost', expected one of them"):
        load_index(tmp_path, 3, cache=False)


def test_mtl_sequences(tmp_path):
    want = D.mtl(tmp_path, 7)
    D.ce(tmp_path)
    idx = load_index(tmp_path, cache=False)
    assert idx.edition == 7 and idx.tracks() == ["MTL", "CE"]
    s = idx.sequence("MTL", "10-60-1280x720")
    assert s.split == "train" and s.frames.tolist() == [5, 9, 20]
    rows = [r for r in want["rows"]["train"] if r[0] == "10-60-1280x720"]
    ref = np.array([[float(x) if x else np.nan for x in r[2].split(",")] for r in rows], np.float32)
    np.testing.assert_array_equal(s.labels, ref)
    valid = idx.mtl_valid("10-60-1280x720")
    assert valid["VA"].tolist() == [True, False, True]
    assert valid["EXPR"].tolist() == [True, False, False]
    assert valid["AU"].tolist() == [True, True, False]
    assert idx.mtl_valid("11")["VA"].tolist() == [False]  # empty fields
    assert idx.ids("MTL", "test") == ["13", "14_right"]
    assert idx.sequence("MTL", "13").frames.tolist() == [4, 8]
    assert idx.sequence("MTL", "13").labels is None
    ce = idx.sequence("CE", "01")
    assert ce.split == "test" and ce.frames.tolist() == [1, 2, 3, 4]
    assert idx.media["02"].raw_video == "C-EXPR-DB/videos/02.mp4"


def test_lsd_sequences(tmp_path):
    counts = D.lsd(tmp_path, anger="ANGERE")
    D.mtl(tmp_path, 4)
    os.remove(tmp_path / "LSD" / "test_set_images" / "3.jpg")
    idx = load_index(tmp_path, cache=False)
    train = idx.sequence("LSD", "train")
    expected = np.repeat(np.arange(6), [counts[c] for c in ("ANGERE", "DISGUST", "FEAR",
                                                            "HAPPINESS", "SADNESS", "SURPRISE")])
    np.testing.assert_array_equal(train.labels[:, 0], expected)
    assert train.images[0] == "LSD/training_set_synthetic_images/ANGERE/train_angere_0.jpg"
    assert idx.image_path("LSD", "train", 4).name == "train_disgust_0.jpg"
    assert idx.sequence("LSD", "val").labels[:, 0].tolist() == [0, 1, 2, 3, 4, 5]
    test = idx.sequence("LSD", "test")
    assert test.labels is None
    assert test.images == [f"LSD/test_set_images/{i}.jpg" for i in (2, 0, 3, 1)]  # release order
    assert any("LSD_Challenge_test_set_release.txt:4: found '3.jpg' not in LSD/test_set_images"
               in p for p in idx.problems)


def test_errors_raise_or_are_collected_never_dropped(tmp_path):
    t = ed10(tmp_path)
    bad = t.ann / "EXPR_Recognition_Challenge" / "Train_Set" / "1-30-1280x720.txt"
    bad.write_text(D.EXPR8 + "\n1\n9\n")
    D.write(t.ann / "VA_Estimation_Challenge" / "Validation_Set" / "1-30-1280x720.txt",
            D.VA_HEADER + "\n0,0\n")  # the same id in train and val
    with pytest.raises(AbawError) as e:
        load_index(tmp_path, 10)
    msg = str(e.value)  # the first error (tracks in protocol order: VA first) and a count
    assert msg.startswith("ABAW Annotations/VA_Estimation_Challenge/Validation_Set/1-30-1280x720.txt:"
                          " found VA id '1-30-1280x720' again (val)")
    assert "(+1 more errors; run `abaw data check" in msg and "\n" not in msg
    assert not list((tmp_path / ".abaw-index").glob("*.npz"))  # an index with errors isn't cached
    idx = build.load_index(tmp_path, 10, cache=False, strict=False)
    assert "1-30-1280x720" not in idx.sequences["EXPR"] and "102" in idx.sequences["EXPR"]
    assert ("ABAW Annotations/EXPR_Recognition_Challenge/Train_Set/1-30-1280x720.txt:3: field "
            "class: found '9', expected an integer 0..7 (Neutral..Other) or -1 (not annotated)"
            ) in idx.problems
    dup = [p for p in idx.problems if "again" in p]
    assert dup == ["ABAW Annotations/VA_Estimation_Challenge/Validation_Set/1-30-1280x720.txt: found "
                   "VA id '1-30-1280x720' again (val), expected each id in one split only; already "
                   "in ABAW Annotations/VA_Estimation_Challenge/Train_Set/1-30-1280x720.txt (train)"]


def test_crops_without_annotations_and_the_reverse(tmp_path):
    t = ed10(tmp_path)
    D.crops(tmp_path, "orphan-video", [1, 2])
    shutil.rmtree(tmp_path / "cropped_aligned" / "102")
    idx = load_index(tmp_path, 10, cache=False)
    assert idx.media["orphan-video"].crop_frames.tolist() == [1, 2]  # kept as media
    assert ("cropped_aligned/orphan-video: found crops of 'orphan-video' that no annotation refers "
            "to, expected an annotation file, test-list entry or template rows for 'orphan-video'; "
            "indexed as media only") in idx.problems
    no_crops = [p for p in idx.problems if "found no crop folder for '102'" in p]
    assert len(no_crops) == 3  # VA, EXPR and AU files of 102
    assert idx.media["102"].crop_dir is None and len(idx.media["102"].crop_frames) == 0
    assert len(t.labels["VA"]["102"]) == len(idx.sequence("VA", "102").frames)


def _same(a, b):
    assert a.edition == b.edition and a.fingerprint == b.fingerprint and a.problems == b.problems
    assert a.sequences.keys() == b.sequences.keys()
    for track in a.sequences:
        assert list(a.sequences[track]) == list(b.sequences[track])
        for id_, s in a.sequences[track].items():
            r = b.sequences[track][id_]
            assert (s.split, s.source, s.images) == (r.split, r.source, r.images)
            np.testing.assert_array_equal(s.frames, r.frames)
            assert r.frames.dtype == np.int64
            if s.labels is None:
                assert r.labels is None
            else:
                np.testing.assert_array_equal(s.labels, r.labels)
    assert a.media.keys() == b.media.keys()
    for id_, m in a.media.items():
        r = b.media[id_]
        assert (m.crop_dir, m.raw_video, m.fps) == (r.crop_dir, r.raw_video, r.fps)
        np.testing.assert_array_equal(m.crop_frames, r.crop_frames)
        assert (m.timestamps is None) == (r.timestamps is None)
        if m.timestamps is not None:
            np.testing.assert_array_equal(m.timestamps, r.timestamps)


def test_cache_roundtrip_and_invalidation(tmp_path, monkeypatch):
    t = ed10(tmp_path)
    D.mtl(tmp_path, 4)  # unused by edition 10: must not matter
    first = load_index(tmp_path, 10)
    files = list((tmp_path / ".abaw-index").glob("*.npz"))
    assert len(files) == 1 and files[0].stem == first.fingerprint
    with np.load(files[0], allow_pickle=False) as z:  # no pickles inside
        assert "meta" in z.files
    calls = []
    real_run = build.Builder.run
    monkeypatch.setattr(build.Builder, "run", lambda self, p: calls.append(1) or real_run(self, p))
    _same(first, load_index(tmp_path, 10))
    assert calls == []  # served from the cache
    f = t.ann / "VA_Estimation_Challenge" / "Train_Set" / "102.txt"
    assert not f.exists()
    f = t.ann / "VA_Estimation_Challenge" / "Validation_Set" / "102.txt"
    f.write_text(f.read_text() + "0.5,0.5\n")  # one more row
    changed = load_index(tmp_path, 10)
    assert calls == [1] and changed.fingerprint != first.fingerprint
    assert len(changed.sequence("VA", "102").frames) == 6
    assert changed.sequence("VA", "102").labels[-1].tolist() == [0.5, 0.5]
    assert len(list((tmp_path / ".abaw-index").glob("*.npz"))) == 1  # the stale cache is gone
    D.crops(tmp_path, "102", [3])  # a new crop image: its folder's mtime changes
    assert load_index(tmp_path, 10).media["102"].crop_frames.tolist() == [1, 2, 3, 4, 5]
    assert calls == [1, 1]


def test_cache_survives_a_moved_tree_and_a_read_only_root(tmp_path, monkeypatch):
    ed10(tmp_path / "a")
    first = load_index(tmp_path / "a", 10)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # copy2 keeps the mtimes
    monkeypatch.setattr(build.Builder, "run", lambda *a: pytest.fail("rebuilt"))
    _same(first, load_index(tmp_path / "b", 10))
    monkeypatch.undo()
    ed10(tmp_path / "c")
    D.write(tmp_path / "c" / ".abaw-index", b"a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    idx = load_index(tmp_path / "c", 10)
    assert cache.cache_dirs(tmp_path / "c")[1].exists()
    _same(idx, load_index(tmp_path / "c", 10))


def test_probe_media_timestamps_are_cached(tmp_path):
    D.affwild(tmp_path, 10, {"train": [("50_left", 4), ("50_right", 4)], "val": [("51", 3)]})
    D.write_video(tmp_path / "batch1" / "50.mp4", [0, 40, 120, 160])
    idx = load_index(tmp_path, 10, probe_media=True)
    for id_ in ("50_left", "50_right"):
        np.testing.assert_allclose(idx.media[id_].timestamps, [0, 0.04, 0.12, 0.16], atol=1e-3)
    assert idx.media["51"].timestamps is None
    _same(idx, load_index(tmp_path, 10, probe_media=True))
    assert load_index(tmp_path, 10).media["50_left"].timestamps is None  # another fingerprint


def test_unreadable_videos_are_problems_not_crashes(tmp_path):
    t = D.affwild(tmp_path, 3)
    D.mtl(tmp_path, 3)
    D.write(tmp_path / "batch1" / "102.mp4", b"garbage")
    D.write(t.ann / "Valence_Arousal_Estimation_Challenge_test_set_release.txt", "102\n")
    with pytest.raises(AbawError, match=r"test_set_release.txt:1: found an unusable raw video for "
                                        r"'102' \(.*\), expected a video PyAV can read"):
        load_index(tmp_path, 3, cache=False)
    os.remove(t.ann / "Valence_Arousal_Estimation_Challenge_test_set_release.txt")
    idx = load_index(tmp_path, 3, cache=False, probe_media=True)
    assert idx.media["102"].timestamps is None
    assert any(p.startswith("batch1/102.mp4: found a video PyAV can't read") for p in idx.problems)
    with pytest.raises(AbawError, match="frame_count: found 'exact', expected one of"):
        load_index(tmp_path, 3, frame_count="exact")


def test_crop_names_parsed_in_bulk_and_odd_files_reported(tmp_path):
    D.affwild(tmp_path, 10, {"train": [("a", 12)], "val": [("b", 3)]})
    shutil.rmtree(tmp_path / "cropped_aligned" / "a")
    D.crops(tmp_path, "a", [10, 2, 11])
    D.write(tmp_path / "cropped_aligned" / "a" / "Thumbs.db", b"")
    D.write(tmp_path / "cropped_aligned" / "a" / "7.jpg", b"")
    frames, other, bad = crop_frames(tmp_path / "cropped_aligned" / "a")
    assert frames.tolist() == [2, 10, 11] and sorted(other) == ["7.jpg", "Thumbs.db"] and not bad
    frames, other, bad = crop_frames(tmp_path / "cropped_aligned" / "b")  # the bulk path
    assert frames.tolist() == [1, 2] and other == [] and not bad
    idx = load_index(tmp_path, 10, cache=False)
    assert idx.media["a"].crop_frames.tolist() == [2, 10, 11]
    assert any(p.startswith("cropped_aligned/a/") and "found 2 files not named <NNNNN>.jpg" in p
               for p in idx.problems)


def test_crops_past_the_last_row(tmp_path):
    D.affwild(tmp_path, 10, {"train": [("a", 5), ("b", 5)], "val": [("c", 3)]})
    D.crops(tmp_path, "a", [6, 7])   # within the -1..+2 slack of real releases: fine
    D.crops(tmp_path, "b", [9])      # 4 past the last row: another video's annotation?
    idx = load_index(tmp_path, 10, cache=False)
    past = [p for p in idx.problems if "found crops up to frame" in p]
    assert len(past) == 3 and all(p.endswith("b.txt: found crops up to frame 9, expected at most 7 "
                                             "(5 rows + 2); is this the annotation of that video?")
                                  for p in past)
