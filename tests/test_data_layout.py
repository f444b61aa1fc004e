"""Layout discovery and edition detection for every edition's folder names."""

import data_trees as D
import pytest

from abaw.data.layout import discover
from abaw.data.problems import errors
from abaw.errors import AbawError


def tree_of(root, edition):
    """The smallest tree that tells its edition apart: what a real release of it holds."""
    if edition in (1, 2, 3, 5, 6, 8, 9, 10):
        t = D.affwild(root, edition)
    if edition == 3:
        D.mtl(root, 3)
        D.write(t.ann / "Valence_Arousal_Estimation_Challenge_test_set_release.txt", "102\n")
    if edition in (5, 6, 8, 9, 10):
        D.templates(t, {"7-25-1920x1080": 3}, tracks=("VA",) if edition == 9 else ("VA", "EXPR", "AU"))
    if edition in (4, 7):
        D.mtl(root, edition)
    if edition == 4:
        D.lsd(root)
    if edition in (6, 7, 8, 9):
        D.ce(root)
    if edition == 10:
        (root / "batch3").mkdir()
    return root


FOLDERS = {1: ("VA_Set", "Training_Set"), 2: ("VA_Set", "Train_Set"),
           3: ("VA_Estimation_Challenge", "Train_Set"), 5: ("VA_Estimation_Challenge", "Train_Set"),
           6: ("EXPR_Recognition_Challenge", "Train_Set"),
           8: ("EXPR_Recognition_Challenge", "Train_Set"),
           9: ("VA_Estimation_Challenge", "Train_Set"),
           10: ("AU_Detection_Challenge", "Train_Set")}


@pytest.mark.parametrize("edition", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_edition_detected_and_folders_found(tmp_path, edition):
    lay = discover(tree_of(tmp_path, edition))
    assert lay.edition == edition
    assert errors(lay.problems) == [], [str(p) for p in lay.problems]
    if edition in FOLDERS:
        folder, split = FOLDERS[edition]
        assert lay.annotation_root.name == D.TASKS[edition][0]  # whatever the root's name
        track = {"VA_Set": "VA", "VA_Estimation_Challenge": "VA",
                 "EXPR_Recognition_Challenge": "EXPR", "AU_Detection_Challenge": "AU"}[folder]
        train = lay.track_files[track]["train"]
        assert train and all(p.parent.name == split and p.parent.parent.name == folder
                             for p in train)
        assert sorted(p.stem for p in train) == ["1-30-1280x720", "5-60-1920x1080_left",
                                                 "5-60-1920x1080_right"]
        assert [p.stem for p in lay.track_files[track]["val"]] == ["102"]
        wanted = {1: 3, 2: 3, 3: 3, 5: 3, 6: 3, 8: 3, 9: 1, 10: 3}[edition]
        assert len(lay.track_files) == wanted
    if edition in (3, 4, 7):
        assert {"train", "val", "test"} <= set(lay.mtl_files)
        assert lay.mtl_files["test"].name == "MTL_test_set.txt"
    if edition == 3:
        assert lay.test_lists["VA"].name == "Valence_Arousal_Estimation_Challenge_test_set_release.txt"
    if edition in (5, 6, 8, 10):
        assert set(lay.templates) == {"VA", "EXPR", "AU"} | ({"CE"} if edition in (6, 8) else set())
        assert lay.templates["EXPR"].name == D.TEMPLATES[edition].format(T="Expr")
    if edition in (6, 7, 8, 9):
        assert lay.templates["CE"].name == "CER.txt" and sorted(lay.ce_videos) == ["01", "02"]
    if edition == 4:
        assert sorted(lay.lsd_dirs) == ["train", "val"] and lay.lsd_list is not None
        assert lay.lsd_dirs["train"][0][0].name == "ANGRER"  # class 0, misspelt as released


def test_ambiguous_layout_asks_for_the_edition(tmp_path):
    D.affwild(tmp_path, 6)  # no template, no CE: editions 6, 8 and 10 look the same
    with pytest.raises(AbawError, match=r"fits editions \[6, 8, 10\], expected one: pass --edition"):
        discover(tmp_path)
    assert discover(tmp_path, 8).edition == 8


def test_wrong_edition_is_named(tmp_path):
    tree_of(tmp_path, 3)
    with pytest.raises(AbawError) as e:
        discover(tmp_path, edition=2)
    msg = str(e.value)
    assert "found none of VA_Set, EXPR_Set, AU_Set, expected the edition 2 layout" in msg
    assert "it looks like edition 3" in msg and "\n" not in msg
    with pytest.raises(AbawError, match="edition: found 11, expected one of 1-10"):
        discover(tmp_path, edition=11)


def test_missing_root_and_empty_root(tmp_path):
    with pytest.raises(AbawError, match="found no such folder"):
        discover(tmp_path / "nope")
    with pytest.raises(AbawError, match="found no ABAW layout"):
        discover(tmp_path)


def test_missing_track_and_split_folders(tmp_path):
    t = D.affwild(tmp_path, 10)
    for p in (t.ann / "AU_Detection_Challenge").rglob("*.txt"):
        p.unlink()
    for d in sorted((t.ann / "AU_Detection_Challenge").rglob("*"), reverse=True):
        d.rmdir()
    (t.ann / "AU_Detection_Challenge").rmdir()
    for p in (t.ann / "EXPR_Recognition_Challenge" / "Validation_Set").iterdir():
        p.unlink()
    (t.ann / "EXPR_Recognition_Challenge" / "Validation_Set").rmdir()
    lay = discover(tmp_path, 10)
    text = [str(p) for p in lay.problems]
    assert any(s.startswith("ABAW Annotations: found no AU_Detection_Challenge/ folder, expected "
                            "it for the AU track of edition 10") for s in text), text
    err = [str(p) for p in errors(lay.problems)]
    assert err == ["ABAW Annotations/EXPR_Recognition_Challenge: found folders ['Train_Set'], "
                   "expected Validation_Set/ (edition 10)"]


def test_every_crop_folder_and_batch_folder(tmp_path):
    D.affwild(tmp_path, 10)
    D.crops(tmp_path, "new-vid", [1, 2], folder="cropped_aligned_new_50_vids")
    for name in ("batch1/1-30-1280x720.mp4", "batch2/102.avi", "batch3/5-60-1920x1080.mkv",
                 "batch1/notes.txt"):
        D.write(tmp_path / name, b"")
    lay = discover(tmp_path, 10)
    assert lay.crop_dirs["new-vid"][0].parent.name == "cropped_aligned_new_50_vids"
    assert lay.crop_dirs["102"][0].parent.name == "cropped_aligned"
    assert sorted(lay.videos) == ["1-30-1280x720", "102", "5-60-1920x1080"]
    assert [d.name for d in lay.batch_dirs] == ["batch1", "batch2", "batch3"]


def test_no_crop_folder_is_reported(tmp_path):
    t = D.affwild(tmp_path, 10)
    import shutil

    shutil.rmtree(t.root / "cropped_aligned")
    lay = discover(tmp_path, 10)
    assert any("found no cropped_aligned*/ folder" in str(p) for p in lay.problems)


def test_templates_by_pattern_and_given(tmp_path):
    t = D.affwild(tmp_path, 8)
    header = "image_location,valence,arousal\n"
    D.write(t.ann / "my_VA_test_set_v2.txt", header + "a/00001.jpg,\n")
    lay = discover(tmp_path, 8)
    assert lay.templates["VA"].name == "my_VA_test_set_v2.txt"
    D.write(tmp_path / "other" / "VA_test_set_copy.txt", header + "a/00001.jpg,\n")
    lay = discover(tmp_path, 8)                       # two copies of one file: the shallowest
    assert lay.templates["VA"].name == "my_VA_test_set_v2.txt" and errors(lay.problems) == []
    assert any("found a copy of the VA template" in str(p) for p in lay.problems)
    D.write(tmp_path / "other" / "VA_test_set_copy.txt", header + "b/00001.jpg,\n")
    lay = discover(tmp_path, 8)
    err = [str(p) for p in errors(lay.problems)]
    assert len(err) == 1 and "found 2 VA templates" in err[0] and "pass --template VA=FILE" in err[0]
    given = D.write(tmp_path.parent / "elsewhere.txt", header + "a/00001.jpg,\n")
    lay = discover(tmp_path, 8, templates={"va": given})
    assert lay.templates["VA"] == given.resolve() and errors(lay.problems) == []
    with pytest.raises(AbawError, match="--template VA=.*found no such file"):
        discover(tmp_path, 8, templates={"VA": tmp_path / "missing.txt"})


@pytest.mark.parametrize("anger", ["ANGER", "ANGRER", "ANGERE"])
def test_lsd_anger_spellings(tmp_path, anger):
    D.lsd(tmp_path, anger=anger)
    D.mtl(tmp_path, 4)
    lay = discover(tmp_path)
    assert lay.edition == 4 and lay.lsd_dirs["val"][0][0].name == anger


def test_lsd_unknown_class_folder(tmp_path):
    D.lsd(tmp_path)
    D.mtl(tmp_path, 4)
    (tmp_path / "LSD" / "training_set_synthetic_images" / "CONTEMPT").mkdir()
    lay = discover(tmp_path, 4)
    err = [str(p) for p in errors(lay.problems)]
    assert err == ["LSD/training_set_synthetic_images/CONTEMPT: found class folder 'CONTEMPT', "
                   "expected one of ANGER, ANGERE, ANGRER, DISGUST, FEAR, HAPPINESS, SADNESS, "
                   "SURPRISE"]


def test_missing_test_data_is_a_warning(tmp_path):
    D.affwild(tmp_path, 8)
    lay = discover(tmp_path, 8)
    text = [str(p) for p in lay.problems]
    assert errors(lay.problems) == []
    for track, token in (("VA", "VA"), ("EXPR", "Expr"), ("AU", "AU")):
        assert (f".: found no *{token}*test_set*.txt (e.g. CVPR_8th_ABAW_{token}_test_set_example."
                f"txt), expected the {track} test template of edition 8; no {track} test "
                f"sequences; pass --template {track}=FILE") in text
    assert any("found no CER.txt or *CE*test_set*.txt, expected the CE test template of edition 8"
               in t for t in text)
