"""The ABAW protocol, editions 1-10: the single source of truth every other module reads.

Every fact here comes from the protocol reference (folder layouts, headers, class and AU orders,
sentinels, submission formats, metric formulas). Nothing about the protocol is hard-coded anywhere
else: loaders, writers, the validator, metrics and the synthetic twin all ask `rules(track, edition)`
or the constants below.

Where the organisers never published a fact and teams disagree, the choice this toolkit makes is
in `UNSURE` with its alternatives; every such choice can be overridden by the caller (a keyword
argument of the function that uses it, and a CLI option).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from abaw.errors import AbawError

# --- label vocabularies, in the official column order -------------------------------------------

VA_NAMES = ("valence", "arousal")
EXPR_CLASSES_7 = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")
EXPR_CLASSES_8 = EXPR_CLASSES_7 + ("Other",)
AUS_8 = ("AU1", "AU2", "AU4", "AU6", "AU12", "AU15", "AU20", "AU25")  # edition 1 only
AUS_12 = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26")
LSD_CLASSES = ("Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")
CE_CLASSES = (
    "Fearfully_Surprised", "Happily_Surprised", "Sadly_Surprised", "Disgustedly_Surprised",
    "Angrily_Surprised", "Sadly_Fearful", "Sadly_Angry",
)
# The release misspells the anger folder; copies of it differ. Upper-case folder names as released.
LSD_FOLDER_NAMES = {
    "Anger": ("ANGER", "ANGRER", "ANGERE"),
    "Disgust": ("DISGUST",),
    "Fear": ("FEAR",),
    "Happiness": ("HAPPINESS",),
    "Sadness": ("SADNESS",),
    "Surprise": ("SURPRISE",),
}
# Later extensions, for completeness (class counts only; their data layouts are out of scope).
ERI_INTENSITIES = 7
EMI_INTENSITIES = 6
BINARY_CLASSES = ("0", "1")  # AH (ambivalence/hesitancy) and VD (violence detection)

# --- sentinels: a ground-truth value that means "not annotated" ---------------------------------

SENTINELS = {"VA": -5.0, "EXPR": -1, "AU": -1, "CE": -1, "LSD": -1}
# VA: a frame is invalid if either value is -5. AU: invalid if any AU is -1.
VA_RANGE = (-1.0, 1.0)  # valence and arousal are annotated in [-1, 1]; predictions are clipped to it
# Tracks whose rows are independent images rather than frames of a video (no temporal smoothing).
IMAGE_TRACKS = ("LSD",)

# --- files on disk -------------------------------------------------------------------------------

CROP_FOLDER = "cropped_aligned"  # later editions add more, e.g. cropped_aligned_new_50_vids
CROP_FOLDER_PREFIX = "cropped_aligned"  # every folder starting with this holds crops
FRAME_DIGITS = 5  # crops are <video>/<NNNNN>.jpg, 1-based: annotation line i (0-based) is frame i+1
FIRST_FRAME = 1
PERSON_SUFFIXES = ("_left", "_right")  # two people in one video; strip to find the raw video
PERSON_SUFFIXES_ED1 = ("_left", "_right", "_main")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")
# Annotation folder names per edition (the root above them is named differently in each release).
_FOLDERS_ED12 = {"VA": "VA_Set", "EXPR": "EXPR_Set", "AU": "AU_Set"}
_FOLDERS_ED35 = {
    "VA": "VA_Estimation_Challenge", "EXPR": "EXPR_Classification_Challenge",
    "AU": "AU_Detection_Challenge", "MTL": "MTL_Challenge",
}
_FOLDERS_ED6 = {
    "VA": "VA_Estimation_Challenge", "EXPR": "EXPR_Recognition_Challenge",
    "AU": "AU_Detection_Challenge",
}
_SPLITS_ED1 = {"train": "Training_Set", "val": "Validation_Set"}
_SPLITS = {"train": "Train_Set", "val": "Validation_Set"}

ANNOTATION_HEADERS = {
    "VA": "valence,arousal",
    "EXPR": ",".join(EXPR_CLASSES_8),
    "AU": ",".join(AUS_12),
}
MTL_HEADER = "image,valence,arousal,expression,aus"  # then 16 fields: path,v,a,expr,AU1..AU26
MTL_FIELDS = 16
LSD_HEADER = "image,expression"
TEMPLATE_KEY = "image_location"  # first column of every edition 5+ template

# Submission sizes and split sizes from the reference, for checks and the full-size twin.
SIZES = {
    "template_rows_ed5": {"EXPR": (1_022_655, 228), "VA": (927_210, 162), "AU": (729_736, 141),
                          "CE": (26_145, 56)},
    "test_ids_ed3": {"VA": 152, "EXPR": 228, "AU": 141},
    "mtl_rows": {"train": 142_333, "val": 26_876, "test": 51_159},
    "lsd_images": {"train": 277_251, "val": 4_670, "test": 106_120},
    "ed10_expr_files": {"train": 247, "val": 70},
    "ed10_expr_rows": 1_556_039,
    "ed10_expr_valid": 876_446,
    "ed10_expr_class_counts": (262_610, 23_280, 16_300, 17_583, 129_285, 106_265, 42_977, 278_146),
    "ce_videos": 56,
}


# --- unsure facts: the choice taken, and what else a team may pick ------------------------------

@dataclass(frozen=True)
class Choice:
    default: str
    alternatives: tuple[str, ...]
    why: str


UNSURE = {
    "pooling": Choice(
        "pooled", ("pooled", "per_video"),
        "Scores pool all valid frames of all videos; the organisers never said, every team pools."),
    "au_accuracy": Choice(
        "flattened", ("flattened", "exact_match"),
        "Editions 1-2 AU accuracy: over the flattened frames x AUs matrix in most team code; "
        "exact-match per frame in one."),
    "va_combine": Choice(
        "mean", ("mean", "sum"),
        "Editions 1-2 VA: mean of CCC_V and CCC_A (some teams summed; the ranking is identical)."),
    "zero_division": Choice(
        "0", ("0", "1"),
        "F1 of a class with no true and no predicted positive (sklearn's zero_division). It still "
        "counts in the mean: the denominator is always the number of classes (e.g. / 8)."),
    "per_video_folder": Choice(
        "track", ("track", "annotation", "none"),
        "Editions 1-3 zip layout was never documented: files under a folder named after the track "
        "(VA/), after the annotation folder (VA_Set/), or at the top level."),
    "edition9_tracks": Choice(
        "VA,CE", ("VA,CE",),
        "Edition 9's tracks are inferred (VA, CE, + violence detection); its layout is assumed to "
        "follow edition 8."),
    "edition8_ce": Choice(
        "yes", ("yes", "no"), "Edition 8 probably ran CE as in editions 6-7; included."),
    "frame_count": Choice(
        "opencv_plus_one", ("opencv_plus_one", "decoded"),
        "Editions 1-3 had no template: per-video length = OpenCV's frame count + 1. From edition 5 "
        "the template is the only authority; annotation lengths win over decoded counts."),
}


# --- editions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Edition:
    number: int
    venue: str
    tracks: tuple[str, ...]          # challenge tracks this toolkit serves
    extensions: tuple[str, ...]      # later tracks in that edition (metrics only)
    data: str
    task_folders: dict = field(default_factory=dict)   # track -> annotation folder name
    split_folders: dict = field(default_factory=dict)  # "train"/"val" -> folder name
    raw_video_folders: tuple[str, ...] = ("batch1", "batch2")
    person_suffixes: tuple[str, ...] = PERSON_SUFFIXES
    submission: str = "template"     # "per_video" (eds 1-3) or "template" (5+) for VA/EXPR/AU/CE
    template_values: str = ""        # "empty" or "dummy" rows in the organisers' template
    template_name: str = ""          # how the organisers named a template; {T} = VA/Expr/AU.
    # One name per edition is known (ed. 5 VA, 6 Expr, 8 AU, 9 VA, 10 Expr); the other tracks' names
    # follow the same pattern by assumption, and edition 7's pattern is assumed outright. Users
    # always pass their own template file, so these names matter only to the twin and to discovery.
    unsure: tuple[str, ...] = ()     # keys of UNSURE that concern this edition


EDITIONS = {
    1: Edition(1, "FG 2020", ("VA", "EXPR", "AU"), (), "Aff-Wild2",
               _FOLDERS_ED12, _SPLITS_ED1, person_suffixes=PERSON_SUFFIXES_ED1,
               submission="per_video", unsure=("va_combine", "au_accuracy", "per_video_folder",
                                               "frame_count")),
    2: Edition(2, "ICCV 2021", ("VA", "EXPR", "AU"), (), "Aff-Wild2", _FOLDERS_ED12, _SPLITS,
               submission="per_video", unsure=("va_combine", "au_accuracy", "per_video_folder",
                                               "frame_count")),
    3: Edition(3, "CVPR 2022", ("VA", "EXPR", "AU", "MTL"), (), "Aff-Wild2; MTL on s-Aff-Wild2",
               _FOLDERS_ED35, _SPLITS, submission="per_video",
               unsure=("per_video_folder", "frame_count")),
    4: Edition(4, "ECCV 2022", ("MTL", "LSD"), (), "s-Aff-Wild2; synthetic faces from Aff-Wild2",
               {}, _SPLITS),
    5: Edition(5, "CVPR 2023", ("VA", "EXPR", "AU"), ("ERI",), "Aff-Wild2 (extended)",
               {k: v for k, v in _FOLDERS_ED35.items() if k != "MTL"}, _SPLITS,
               template_values="empty", template_name="CVPR_5th_ABAW_{T}_test_set_example.txt"),
    6: Edition(6, "CVPR 2024", ("VA", "EXPR", "AU", "CE"), ("EMI",), "Aff-Wild2, C-EXPR-DB",
               _FOLDERS_ED6, _SPLITS, template_values="dummy",
               template_name="CVPR_6th_ABAW_{T}_test_set_sample.txt"),
    7: Edition(7, "ECCV 2024", ("MTL", "CE"), (), "s-Aff-Wild2, C-EXPR-DB", {}, _SPLITS,
               template_values="empty", template_name="ECCV_7th_ABAW_{T}_test_set_example.txt"),
    8: Edition(8, "CVPR 2025", ("VA", "EXPR", "AU", "CE"), ("EMI", "AH"), "Aff-Wild2, C-EXPR-DB",
               _FOLDERS_ED6, _SPLITS, template_values="empty",
               template_name="CVPR_8th_ABAW_{T}_test_set_example.txt", unsure=("edition8_ce",)),
    9: Edition(9, "ICCV 2025", ("VA", "CE"), ("VD",), "Aff-Wild2, C-EXPR-DB",
               _FOLDERS_ED6, _SPLITS, template_values="empty",
               template_name="ICCV_9th_ABAW_{T}_test_set_sample.txt", unsure=("edition9_tracks",)),
    10: Edition(10, "CVPR 2026", ("VA", "EXPR", "AU"), ("EMI", "AH", "VD"), "Aff-Wild2",
                _FOLDERS_ED6, _SPLITS, raw_video_folders=("batch1", "batch2", "batch3"),
                template_values="empty", template_name="ABAW_{T}_test_set_example.txt"),
}
LATEST_EDITION = max(EDITIONS)
# How a track is spelt inside the organisers' template names.
TEMPLATE_TRACK_TOKEN = {"VA": "VA", "EXPR": "Expr", "AU": "AU", "CE": "CE"}

# Test-id lists of edition 3 (one id per line, no header).
TEST_LISTS_ED3 = {
    "VA": "Valence_Arousal_Estimation_Challenge_test_set_release.txt",
    "EXPR": "Expression_Classification_Challenge_test_set_release.txt",
    "AU": "Action_Unit_Detection_Challenge_test_set_release.txt",
}
# MTL annotation files per edition (s-Aff-Wild2); the test list name is not in the reference:
# the loader finds it by pattern (`*test*` in the MTL folder), the twin writes `MTL_test_set.txt`.
MTL_FILES = {
    3: {"folder": "MTL_Challenge", "train": "train_set.txt", "val": "validation_set.txt"},
    4: {"folder": "", "train": "training_set_annotations.txt",
        "val": "validation_set_annotations.txt"},
    7: {"folder": "", "train": "training_set_annotations.txt",
        "val": "validation_set_annotations.txt"},
}
MTL_TEST_LIST = "MTL_test_set.txt"
# Edition 3's own name for it (51,245 images); it may sit at the root beside the other test lists.
MTL_TEST_LIST_ED3 = "Multi_Task_Learning_Challenge_test_set_release.txt"
LSD_FOLDERS = {"train": "training_set_synthetic_images", "val": "validation_set_real_images",
               "test": "test_set_images"}  # the flat test folder's name is not in the reference
LSD_TEST_LIST = "LSD_Challenge_test_set_release.txt"
CE_TEMPLATE_NAME = "CER.txt"
CE_VIDEO_NAME = "{:02d}.mp4"  # 01.mp4 .. 56.mp4
# The folder holding the 56 CE test videos is not named in the reference; the synthetic twin
# writes this one (a loader should also find `NN.mp4` files by pattern).
CE_VIDEO_FOLDER = "CE_test_videos"
# Names the annotation root had in some releases (reference section 2). Every release names it
# differently: loaders locate the root by its track folders, never by one of these names.
ANNOTATION_ROOT_EXAMPLES = ("annotations", "Third ABAW Annotations", "6th ABAW Annotations",
                            "ABAW Annotations")


# --- per (track, edition) rules -------------------------------------------------------------------

@dataclass(frozen=True)
class TrackRules:
    """Everything a loader, writer, validator or metric needs to know about one track in one edition."""

    track: str
    edition: int
    names: tuple[str, ...]        # output columns in order: classes, AUs, or valence/arousal
    kind: str                     # "regression" | "single_label" | "multi_label" | "multi_task" | ...
    metric: str                   # formula name in abaw.metrics.FORMULAS
    submission: str               # "per_video" | "template" | "release_order"
    prediction_header: str        # line 1 of the submission file, byte for byte
    annotation_header: str | None  # line 1 of an annotation file (None: no per-video annotations)
    task_folder: str | None       # annotation folder under the annotation root
    split_folders: dict = field(default_factory=dict)
    sentinel: float | None = None

    @property
    def n_outputs(self) -> int:
        return len(self.names)


def _check_edition(edition: int) -> Edition:
    if edition not in EDITIONS:
        raise AbawError(f"edition: found {edition!r}, expected one of 1-{LATEST_EDITION}")
    return EDITIONS[edition]


def expr_classes(edition: int) -> tuple[str, ...]:
    return EXPR_CLASSES_7 if edition <= 2 else EXPR_CLASSES_8


def au_names(edition: int) -> tuple[str, ...]:
    return AUS_8 if edition == 1 else AUS_12


def rules(track: str, edition: int) -> TrackRules:
    """The rules of `track` in `edition`; a track the edition did not run is an error naming both."""
    track = track.upper()
    ed = _check_edition(edition)
    if track not in ed.tracks + ed.extensions:
        raise AbawError(f"track: found {track} for edition {edition}, expected one of "
                        f"{', '.join(ed.tracks + ed.extensions)}")
    old = edition <= 2
    per_video = ed.submission == "per_video"
    folder = ed.task_folders.get(track)
    if track == "VA":
        return TrackRules(track, edition, VA_NAMES, "regression", "va",
                          ed.submission, "valence,arousal" if per_video
                          else f"{TEMPLATE_KEY},valence,arousal",
                          ANNOTATION_HEADERS["VA"], folder, ed.split_folders, SENTINELS["VA"])
    if track == "EXPR":
        names = expr_classes(edition)
        header = ",".join(names)
        return TrackRules(track, edition, names, "single_label", "expr_f1_acc" if old else "expr_f1",
                          ed.submission, header if per_video else f"{TEMPLATE_KEY},{header}",
                          header, folder, ed.split_folders, SENTINELS["EXPR"])
    if track == "AU":
        names = au_names(edition)
        header = ",".join(names)
        return TrackRules(track, edition, names, "multi_label", "au_f1_acc" if old else "au_f1",
                          ed.submission, header if per_video else f"{TEMPLATE_KEY},{header}",
                          header, folder, ed.split_folders, SENTINELS["AU"])
    if track == "MTL":
        return TrackRules(track, edition, VA_NAMES + EXPR_CLASSES_8 + AUS_12, "multi_task", "mtl",
                          "release_order", MTL_HEADER, MTL_HEADER, MTL_FILES[edition]["folder"],
                          {"train": MTL_FILES[edition]["train"], "val": MTL_FILES[edition]["val"]})
    if track == "LSD":
        return TrackRules(track, edition, LSD_CLASSES, "single_label", "macro_f1", "release_order",
                          LSD_HEADER, None, None, dict(LSD_FOLDERS), SENTINELS["LSD"])
    if track == "CE":
        return TrackRules(track, edition, CE_CLASSES, "single_label", "macro_f1", "template",
                          f"{TEMPLATE_KEY},{','.join(CE_CLASSES)}", None, None, {},
                          SENTINELS["CE"])
    if track in ("ERI", "EMI"):
        n = ERI_INTENSITIES if track == "ERI" else EMI_INTENSITIES
        return TrackRules(track, edition, tuple(f"intensity{i}" for i in range(n)), "intensity",
                          "pearson_mean", "per_video", "", None, None)
    # AH, VD: binary classification
    return TrackRules(track, edition, BINARY_CLASSES, "single_label", "macro_f1", "per_video", "",
                      None, None)


def tracks_of(edition: int, include_extensions: bool = False) -> tuple[str, ...]:
    ed = _check_edition(edition)
    return ed.tracks + (ed.extensions if include_extensions else ())


def editions_with(track: str) -> tuple[int, ...]:
    return tuple(n for n, ed in EDITIONS.items() if track.upper() in ed.tracks)


def template_name(track: str, edition: int) -> str:
    """The file name the organisers would give this template (names change yearly: users pass theirs)."""
    if track.upper() == "CE":
        return CE_TEMPLATE_NAME
    ed = _check_edition(edition)
    return ed.template_name.format(T=TEMPLATE_TRACK_TOKEN[track.upper()])


def frame_name(frame: int) -> str:
    """`<NNNNN>.jpg` for a 1-based frame number: the only place the crop/template naming is made."""
    return f"{frame:0{FRAME_DIGITS}d}.jpg"


def split_person(annotation_id: str, edition: int = LATEST_EDITION) -> tuple[str, str]:
    """`'10-60-1280x720_left'` -> `('10-60-1280x720', '_left')`; the first part names the raw video."""
    for suffix in _check_edition(edition).person_suffixes:
        if annotation_id.endswith(suffix):
            return annotation_id[: -len(suffix)], suffix
    return annotation_id, ""
