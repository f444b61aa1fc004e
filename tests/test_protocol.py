"""The protocol table holds every row of the reference, and nothing else in abaw/ repeats it."""

import re
from pathlib import Path

import pytest

from abaw import protocol
from abaw.errors import AbawError

# §1 of the reference: tracks served per edition.
TRACKS = {1: {"VA", "EXPR", "AU"}, 2: {"VA", "EXPR", "AU"}, 3: {"VA", "EXPR", "AU", "MTL"},
          4: {"MTL", "LSD"}, 5: {"VA", "EXPR", "AU"}, 6: {"VA", "EXPR", "AU", "CE"},
          7: {"MTL", "CE"}, 8: {"VA", "EXPR", "AU", "CE"}, 9: {"VA", "CE"},
          10: {"VA", "EXPR", "AU"}}
EXTENSIONS = {5: {"ERI"}, 6: {"EMI"}, 8: {"EMI", "AH"}, 9: {"VD"}, 10: {"EMI", "AH", "VD"}}

# §2: annotation folders and split folders per edition.
FOLDERS = {
    1: ("VA_Set", "EXPR_Set", "AU_Set", "Training_Set"),
    2: ("VA_Set", "EXPR_Set", "AU_Set", "Train_Set"),
    3: ("VA_Estimation_Challenge", "EXPR_Classification_Challenge", "AU_Detection_Challenge",
        "Train_Set"),
    5: ("VA_Estimation_Challenge", "EXPR_Classification_Challenge", "AU_Detection_Challenge",
        "Train_Set"),
    6: ("VA_Estimation_Challenge", "EXPR_Recognition_Challenge", "AU_Detection_Challenge",
        "Train_Set"),
    8: ("VA_Estimation_Challenge", "EXPR_Recognition_Challenge", "AU_Detection_Challenge",
        "Train_Set"),
    10: ("VA_Estimation_Challenge", "EXPR_Recognition_Challenge", "AU_Detection_Challenge",
         "Train_Set"),
}


@pytest.mark.parametrize("edition", range(1, 11))
def test_tracks_per_edition(edition):
    assert set(protocol.tracks_of(edition)) == TRACKS[edition]
    assert set(protocol.EDITIONS[edition].extensions) == EXTENSIONS.get(edition, set())


@pytest.mark.parametrize("edition", sorted(FOLDERS))
def test_annotation_folders(edition):
    va, expr, au, train = FOLDERS[edition]
    assert protocol.rules("VA", edition).task_folder == va
    assert protocol.rules("EXPR", edition).task_folder == expr
    assert protocol.rules("AU", edition).task_folder == au
    assert protocol.rules("VA", edition).split_folders == {"train": train, "val": "Validation_Set"}
    assert protocol.EDITIONS[3].task_folders["MTL"] == "MTL_Challenge"


def test_batch3_from_edition_10():
    assert protocol.EDITIONS[10].raw_video_folders == ("batch1", "batch2", "batch3")
    assert protocol.EDITIONS[8].raw_video_folders == ("batch1", "batch2")


def test_annotation_headers_and_vocabularies():
    assert protocol.rules("VA", 10).annotation_header == "valence,arousal"
    assert protocol.rules("EXPR", 10).annotation_header == (
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other")
    assert protocol.rules("EXPR", 2).names == (
        "Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")
    assert protocol.rules("AU", 10).annotation_header == (
        "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26")
    assert protocol.rules("AU", 1).names == (
        "AU1", "AU2", "AU4", "AU6", "AU12", "AU15", "AU20", "AU25")
    assert protocol.LSD_CLASSES == ("Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")
    assert protocol.CE_CLASSES[0] == "Fearfully_Surprised" and protocol.CE_CLASSES[6] == "Sadly_Angry"
    assert {"ANGRER", "ANGERE"} <= set(protocol.LSD_FOLDER_NAMES["Anger"])


def test_sentinels():
    assert protocol.rules("VA", 10).sentinel == -5
    assert protocol.rules("EXPR", 10).sentinel == -1
    assert protocol.rules("AU", 10).sentinel == -1


@pytest.mark.parametrize("edition,kind", [(1, "per_video"), (2, "per_video"), (3, "per_video"),
                                          (5, "template"), (6, "template"), (8, "template"),
                                          (10, "template")])
def test_submission_kind_and_headers(edition, kind):
    r = protocol.rules("VA", edition)
    assert r.submission == kind
    if kind == "per_video":
        assert r.prediction_header == r.annotation_header
    else:
        assert r.prediction_header == "image_location,valence,arousal"
        assert protocol.rules("EXPR", edition).prediction_header == (
            "image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other")
        assert protocol.rules("AU", edition).prediction_header.startswith("image_location,AU1,")


def test_single_file_tracks():
    assert protocol.rules("MTL", 7).prediction_header == "image,valence,arousal,expression,aus"
    assert protocol.rules("MTL", 4).split_folders == {
        "train": "training_set_annotations.txt", "val": "validation_set_annotations.txt"}
    assert protocol.rules("MTL", 3).split_folders == {"train": "train_set.txt",
                                                      "val": "validation_set.txt"}
    assert protocol.rules("LSD", 4).prediction_header == "image,expression"
    assert protocol.rules("CE", 6).prediction_header == (
        "image_location,Fearfully_Surprised,Happily_Surprised,Sadly_Surprised,"
        "Disgustedly_Surprised,Angrily_Surprised,Sadly_Fearful,Sadly_Angry")
    assert protocol.EDITIONS[6].template_values == "dummy"
    assert protocol.EDITIONS[5].template_values == "empty"


@pytest.mark.parametrize("track,edition,metric", [
    ("VA", 1, "va"), ("VA", 10, "va"), ("EXPR", 2, "expr_f1_acc"), ("EXPR", 3, "expr_f1"),
    ("AU", 1, "au_f1_acc"), ("AU", 5, "au_f1"), ("MTL", 7, "mtl"), ("LSD", 4, "macro_f1"),
    ("CE", 6, "macro_f1"), ("ERI", 5, "pearson_mean"), ("EMI", 8, "pearson_mean"),
    ("AH", 10, "macro_f1"), ("VD", 9, "macro_f1")])
def test_metric_formula(track, edition, metric):
    assert protocol.rules(track, edition).metric == metric


def test_template_names_and_sizes():
    assert protocol.template_name("VA", 5) == "CVPR_5th_ABAW_VA_test_set_example.txt"
    assert protocol.template_name("EXPR", 6) == "CVPR_6th_ABAW_Expr_test_set_sample.txt"
    assert protocol.template_name("AU", 8) == "CVPR_8th_ABAW_AU_test_set_example.txt"
    assert protocol.template_name("VA", 9) == "ICCV_9th_ABAW_VA_test_set_sample.txt"
    assert protocol.template_name("EXPR", 10) == "ABAW_Expr_test_set_example.txt"
    assert protocol.template_name("CE", 7) == "CER.txt"
    assert protocol.SIZES["template_rows_ed5"]["EXPR"] == (1_022_655, 228)
    assert protocol.SIZES["template_rows_ed5"]["CE"] == (26_145, 56)
    assert protocol.SIZES["test_ids_ed3"] == {"VA": 152, "EXPR": 228, "AU": 141}


def test_frames_and_persons():
    assert protocol.frame_name(1) == "00001.jpg"
    assert protocol.split_person("10-60-1280x720_left") == ("10-60-1280x720", "_left")
    assert protocol.split_person("video_main", edition=1) == ("video", "_main")
    assert protocol.split_person("video_main", edition=10) == ("video_main", "")


def test_unsure_choices_are_explicit():
    for key in ("pooling", "au_accuracy", "va_combine", "zero_division", "per_video_folder",
                "edition9_tracks", "frame_count"):
        c = protocol.UNSURE[key]
        assert c.default in c.alternatives and c.why


@pytest.mark.parametrize("track,edition", [("MTL", 10), ("LSD", 5), ("EXPR", 9), ("VA", 11)])
def test_track_not_in_edition_is_a_clear_error(track, edition):
    with pytest.raises(AbawError, match="expected"):
        protocol.rules(track, edition)


# Strings that only the protocol table may spell out.
PROTOCOL_LITERALS = ["Validation_Set", "Train_Set", "Training_Set", "EXPR_Recognition_Challenge",
                     "VA_Estimation_Challenge", "AU1,AU2", "valence,arousal", "Fearfully_Surprised",
                     "image,valence", "ANGRER", "cropped_aligned\"", "Happiness,Sadness"]


def test_no_protocol_fact_hard_coded_elsewhere():
    pkg = Path(protocol.__file__).parent
    offenders = []
    for path in sorted(pkg.rglob("*.py")):
        if path.name == "protocol.py":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(pkg)}: {lit}" for lit in PROTOCOL_LITERALS
                      if re.search(re.escape(lit), text)]
    assert not offenders, offenders
