"""What review of the surviving mutants has found (`eval/mutate.py --report` reads it):
survivor kinds judged once for all, notes on single mutants, and the bugs planted by hand
with the tests that catch them."""

from __future__ import annotations

import re

# Survivors of a kind reviewed once for all: (name, test on the changed lines, why it survives).
KINDS = [
    ("copy flag", lambda d: "copy=" in d or ".astype(dtype, )" in d,
     "equivalent: the same values, only whether NumPy copies the array"),
    ("zip strict", lambda d: "strict=" in d,
     "equivalent: the zipped sequences have equal lengths by construction"),
    ("dtype argument", lambda d: re.search(r"np\.(asarray|zeros|full|array)\(.*(, None\)|, \)|"
                                           r"dtype=None)|\.astype\(None\)", d) is not None,
     "equivalent at every call site: the inputs already have that dtype or a later step converts "
     "them again (PredictionSet.__post_init__, metrics' float64 moments, np.clip's promotion); "
     "the dtypes that matter are checked where they are produced (tests/test_core_contracts.py)"),
    ("uint8 text buffer", lambda d: "np.empty((self.n," in d and "np.uint8" in d.split(" / +")[0],
     "equivalent: the float64 buffer holds the same small integers (character codes), and "
     "Rows.add converts every piece to uint8"),
    ("integer arange", lambda d: re.search(r"-.*np\.arange\(.*dtype=np\.int(32|64)\).* / \+.*"
                                           r"np\.arange\(.*(dtype=None\)|, \))", d) is not None,
     "equivalent: NumPy's default integer for np.arange is int64: the same integers (int32 only "
     "widened)"),
    ("codec name case", lambda d: '.encode("UTF-8")' in d or '.decode("UTF-8"' in d,
     "equivalent: Python's codec names are case-insensitive"),
    ("reshape's unknown size", lambda d: re.search(r"-.*\.reshape\(.*-1\) / \+.*\.reshape\(.*-2\)",
                                                  d) is not None,
     "equivalent: NumPy takes any negative size in reshape as 'the rest'"),
    ("sort kind case", lambda d: 'kind="STABLE"' in d,
     "equivalent: NumPy reads sort kinds case-insensitively"),
    ("ASCII blanks", lambda d: ".strip(ASCII_BLANKS)" in d and ".strip(None)" in d,
     "equivalent: bytes.strip() with no argument strips exactly ASCII_BLANKS (space, \\t, \\n, "
     "\\v, \\f, \\r)"),
    ("single-digit fast path", lambda d: any(s in d for s in (
        "single = all(", "if single and len(rows)", "ts.single_chars(", "d = chars.astype(",
        "limit = np.array([2 if", "ok &= np.all((d", "stats.add(d[ok]")),
     "equivalent: the fast path of values._check_chunk only takes rows whose every field is one "
     "digit within its column's range, and every row it leaves (all of them, when it is off) "
     "goes through the general path, which reports the same problems and adds the same values "
     "to ValueStats"),
    ("message wording", lambda d: all(("AbawError(" in part or part.lstrip("-+").startswith(
        ("f\"", "\"", "'")) or "XX" in part) for part in d.split(" / ") if part[:1] in "+-"),
     "not equivalent, cosmetic: the wording of a one-line error message; the tests check the "
     "found / expected parts of the messages a user acts on, not every word"),
]
# Bugs planted by hand (each once, then restored) and the test that fails on each.
PLANTED = [
    ("the writer takes the videos in sorted order, not the template's",
     "test_formats_writers.py::test_single_file_values_match_reference, "
     "test_template_order.py::test_submit_with_only_the_root_writes_the_templates_rows"),
    ("AU thresholds tuned on the unsmoothed outputs",
     "test_post_tune.py::test_au_thresholds_are_the_best_for_the_smoothed_outputs_they_decide"),
    ("Gaussian kernel width sigma = w / 4 instead of w / 6",
     "test_post_smooth.py::test_matches_reference_loop (kernel from its formula), "
     "test_hand_computed_edges_are_renormalised"),
    ("sentinel mask: a row masked only when all its values are sentinels",
     "test_data_masking.py::test_affwild_masks_follow_each_frame_of_each_video, "
     "test_metrics.py::test_au_score_every_edition"),
    ("sentinel mask: DatasetIndex.valid reads only the first label column",
     "test_data_masking.py::test_affwild_masks_follow_each_frame_of_each_video"),
    ("sentinel mask: MTL AU mask on columns 3:14 (the 12th AU left out)",
     "test_data_masking.py::test_mtl_masks_each_task_on_its_own_columns"),
    ("predicted outputs shuffled across the frames of a video",
     "test_train_engine.py::test_predicted_outputs_follow_their_frames"),
    ("pretraining without the optimiser step",
     "test_train_pretrain.py::test_every_trainable_weight_moved_from_its_seeded_start"),
    ("CCC with n - 1 in the variances", "test_metrics.py::test_ccc_matches_reference"),
    ("moving-mean window's rows before / after swapped",
     "test_post_smooth.py::test_matches_reference_loop"),
    ("empty-window fallback disabled (inside a video, at its edges)",
     "test_post_smooth.py::test_matches_reference_loop"),
    ("ensemble weights left at the best member, or equal",
     "test_post_ensemble.py::test_tuned_weights_match_a_grid_search_and_gain_on_held_out_videos"),
    ("a video present with no rows filled from the next video's frames",
     "test_formats_align.py::test_hand_picked_shapes_match_reference, "
     "test_formats_eval.py::test_missing_video_is_an_error_unless_allowed"),
    ("the writer's per-video files always filled by the nearest frame, whatever the policy",
     "test_formats_writers.py::test_per_video_files_and_layouts"),
    ("constant baseline with every AU on in editions 1-2 (accuracy counts there)",
     "test_pipeline_scores.py::test_constant_baseline_is_the_best_constant"),
]
# Survivors explained one by one (mutant name -> why it survives).
NOTES: dict[str, str] = {
    **{f"abaw.data.index.xǁDatasetIndexǁmtl_valid__mutmut_{n}": "equivalent: `valid_mask` reads "
       "its track name in capitals" for n in (27, 37, 46)},
    "abaw.data.index.xǁDatasetIndexǁmtl_valid__mutmut_7": "equivalent: `sequence` reads its "
    "track name in capitals",
    "abaw.data.index.xǁDatasetIndexǁmtl_valid__mutmut_48": "equivalent: MTL labels have 15 "
    "columns, so 3:16 and 3:15 are the same slice",
    "abaw.data.index.xǁDatasetIndexǁhas_crop__mutmut_17": "equivalent: searchsorted never "
    "returns a negative position, so the lower clip bound does nothing",
    "abaw.core.decisions.x_decide__mutmut_11": "equivalent: no layout has exactly two blocks "
    "(one, or MTL's three)",
    "abaw.core.layout.xǁLayoutǁsplit__mutmut_25": "equivalent: no layout has exactly two blocks",
    "abaw.core.decisions.x_fold_bias__mutmut_15": "equivalent: shifting by the largest logit of "
    "all rows instead of each row cancels in the ratio; a row's logits lie within log(1/FLOOR) "
    "(28) of each other, far from exp's underflow",
    "abaw.core.decisions.x_fold_bias__mutmut_17": "equivalent: as mutant 15 (the same shift)",
    "abaw.core.decisions.xǁDecisionǁfrom_dict__mutmut_31": "equivalent: bool(None) is False",
    "abaw.core.decisions.xǁDecisionǁfrom_dict__mutmut_33": "equivalent: bool(None) is False",
    "abaw.core.decisions.x_clip_va__mutmut_6": "equivalent: np.clip with float bounds promotes "
    "integer input to float64 anyway",
    "abaw.core.prediction_set.xǁPredictionSetǁindex_of__mutmut_2": "equivalent: only the lookup "
    "cache is rebuilt at every call",
    "abaw.core.prediction_set.xǁPredictionSetǁindex_of__mutmut_6": "equivalent: as mutant 2",
    "abaw.core.prediction_set.xǁPredictionSetǁindex_of__mutmut_7": "equivalent: as mutant 2",
    "abaw.core.prediction_set.xǁPredictionSetǁload__mutmut_6": "equivalent: np.load's default is "
    "allow_pickle=False",
    "abaw.core.prediction_set.xǁPredictionSetǁload__mutmut_8": "equivalent: as mutant 6",
    "abaw.core.prediction_set.xǁPredictionSetǁload__mutmut_49": "equivalent: the layout is only "
    "read when the provenance has au_thresholds",
    "abaw.core.prediction_set.xǁPredictionSetǁfrom_videos__mutmut_30": "equivalent: NumPy takes "
    "any negative size in reshape as 'the rest'",
    "abaw.formats.align.x_align__mutmut_21": "equivalent: any negative position marks a video "
    "missing (p < 0, row_pos >= 0); its request keys are negative, below every predicted key",
    "abaw.formats.align.x_align__mutmut_129": "equivalent: any negative source row marks a row of "
    "a wholly missing video (src < 0)",
    "abaw.formats.align.x_align__mutmut_181": "equivalent: NumPy stores None as NaN in a float "
    "array",
    "abaw.formats.align.x_align__mutmut_67": "equivalent: the in-order check only skips the sort; "
    "a stable sort of keys already in order is the identity",
    "abaw.formats.align.x_align__mutmut_70": "equivalent: as mutant 67 (np.all(None) is False: "
    "always sorted)",
    "abaw.formats.align.x_align__mutmut_72": "equivalent: as mutant 67; equal neighbours are "
    "duplicates, refused at the same row either way",
    "abaw.formats.align.x_align__mutmut_79": "equivalent: the keys are unique once duplicates are "
    "refused, so every sort kind gives one order; with duplicates the message names the "
    "duplicated key, whichever equal row comes first",
    "abaw.formats.align.x_align__mutmut_81": "equivalent: as mutant 79",
    "abaw.formats.align.x_align__mutmut_83": "equivalent: NumPy reads sort kinds "
    "case-insensitively",
    "abaw.formats.render.xǁRowsǁadd__mutmut_21": "equivalent: every mask given already has its "
    "piece's shape (reshape(None) keeps a shape)",
    "abaw.formats.render.xǁRowsǁkey__mutmut_4": "equivalent: the extra column is masked out (a "
    "key's mask keeps the columns up to its comma)",
    "abaw.formats.render.xǁRowsǁdigits__mutmut_38": "equivalent: with one column the separator "
    "columns mat[:, 1::2] are none",
    "abaw.formats.render.xǁRowsǁfloats__mutmut_33": "equivalent: assigning into the uint8 matrix "
    "truncates, which is floor division for these non-negative integers (< 10**10, exact in "
    "float64)",
    "abaw.formats.render.xǁRowsǁfloats__mutmut_60": "equivalent: as mutant 33, digit by digit",
    "abaw.formats.render.xǁRowsǁfloats__mutmut_71": "equivalent: x == 0 gives q == 0, and the "
    "sign needs q > 0",
    "abaw.formats.writers.x__write_per_video__mutmut_78": "equivalent: the folder is at most one "
    "level below the temporary folder atomic_folder made",
    "abaw.formats.writers.x__write_per_video__mutmut_80": "equivalent: as mutant 78",
    "abaw.formats.writers.x__write_per_video__mutmut_82": "equivalent: as mutant 78",
    "abaw.formats.writers.x_per_video_lengths__mutmut_26": "equivalent: callers read only n < 0 "
    "(lengths unknown)",
    "abaw.formats.checks.x_check_file__mutmut_1": "equivalent: `video` is read only in the "
    "per-video row-count message, and per-video files always pass theirs",
    "abaw.formats.validator.x__per_video__mutmut_33": "equivalent: lengths are frame counts "
    "(>= 1) or -1 (unknown); no video has 0 frames",
    "abaw.formats.validator.x__per_video__mutmut_34": "equivalent: as mutant 33",
    "abaw.formats.validator.x__per_video__mutmut_202": "equivalent: as mutant 33",
    "abaw.formats.validator.x__per_video__mutmut_203": "equivalent: as mutant 33",
    "abaw.formats.values.xǁValueStatsǁadd__mutmut_43": "equivalent: only rows without errors "
    "reach ValueStats.add, so every class field is an integer in 0..n-1",
    "abaw.formats.values.xǁValueStatsǁadd__mutmut_44": "equivalent: as mutant 43",
    "abaw.formats.values.xǁValueStatsǁadd__mutmut_47": "equivalent: as mutant 43",
    "abaw.formats.values.xǁValueStatsǁadd__mutmut_51": "equivalent: the counts are only compared "
    "with 0, and subtracting every term keeps each count 0 exactly when no row has the class",
    "abaw.formats.values.xǁValueStatsǁadd__mutmut_62": "equivalent: as mutant 51, for an AU",
    "abaw.formats.values.xǁValueStatsǁwarn__mutmut_79": "equivalent: the class field is the first "
    "field that can add names (MTL: valence, arousal, then expression)",
    "abaw.formats.values.xǁValueStatsǁwarn__mutmut_89": "equivalent: the default stands only for "
    "an AU column without a row free of errors, and any default but 0 means 'not judged'",
    "abaw.formats.values.xǁValueStatsǁwarn__mutmut_91": "equivalent: as mutant 89",
    "abaw.formats.values.xǁValueStatsǁwarn__mutmut_92": "equivalent: as mutant 89",
    "abaw.formats.values.x__message__mutmut_48": "equivalent: a class-name field matched an ASCII "
    "class name, so decoding it never meets an invalid byte (the error handler is never used)",
    "abaw.formats.values.x__message__mutmut_52": "equivalent: as mutant 48",
    "abaw.formats.values.x__message__mutmut_53": "equivalent: as mutant 48",
    "abaw.formats.checks.x__compare_dummy__mutmut_24": "equivalent: called once per submission "
    "(a submission checked against a template is one file)",
    "abaw.formats.checks.x__compare_dummy__mutmut_26": "equivalent: as mutant 24",
    "abaw.formats.checks.x__compare_dummy__mutmut_29": "equivalent: as mutant 24 (the example is "
    "set from the same row either way)",
    "abaw.formats.checks.x__align__mutmut_32": "equivalent: any negative marks an image not in "
    "the test list (trow < 0 / trow >= 0)",
    "abaw.formats.checks.x__align__mutmut_106": "equivalent: the repeated rows' indices are "
    "distinct, so every sort kind gives one order",
    "abaw.formats.checks.x__align__mutmut_108": "equivalent: as mutant 106",
    "abaw.formats.checks.x__match__mutmut_5": "equivalent: with strict=False parse_keys never "
    "raises, and only its errors read the line numbers and the file name",
    "abaw.formats.checks.x__match__mutmut_6": "equivalent: as mutant 5",
    "abaw.formats.checks.x__match__mutmut_7": "equivalent: as mutant 5 (None is false)",
    "abaw.formats.checks.x__match__mutmut_29": "equivalent: any negative marks a video not in "
    "the template (tv < 0 / tv >= 0)",
    "abaw.formats.checks.x__match__mutmut_30": "equivalent: the last entry is the video of "
    "unreadable keys, and every use of tv is masked by ~bad",
    "abaw.formats.checks.x__match__mutmut_31": "equivalent: as mutant 30",
    "abaw.formats.checks.x__match__mutmut_33": "equivalent: as mutant 30 (unreadable keys get "
    "some video's entry, masked out)",
    "abaw.formats.checks.x__match__mutmut_62": "equivalent: np.searchsorted never returns a "
    "negative index",
    "abaw.formats.checks.x__match__mutmut_89": "equivalent: any negative marks a row matching no "
    "template row (trow < 0 / trow >= 0)",
    "abaw.formats.checks.x__order__mutmut_6": "equivalent: the first rows of distinct template "
    "rows have distinct template positions (no two equal neighbours)",
    "abaw.formats.checks.x__missing__mutmut_10": "equivalent: any negative marks a template row "
    "without a submission row",
    "abaw.formats.checks.x__missing__mutmut_13": "equivalent: line numbers start at 1",
    "abaw.formats.checks.x__missing__mutmut_14": "equivalent: line numbers start at 1",
    "abaw.formats.checks.x__missing__mutmut_116": "equivalent: line numbers start at 1",
    "abaw.formats.checks.x__missing__mutmut_117": "equivalent: line numbers start at 1",
    "abaw.formats.checks.x__missing__mutmut_118": "equivalent: a run with no row seen before it "
    "gets line 2 either way (before + 1 with before = 1, or the fallback 2)",
    "abaw.formats.checks.x__missing__mutmut_126": "equivalent: it differs only for a run starting "
    "at template row 1, where last_seen[1] = last_seen[0] (row 1 is missing)",
    "abaw.formats.checks.x__missing__mutmut_135": "equivalent: a run starting at row 0 has "
    "before = 0 (row 0 is missing), so the fallback line 2 either way",
    "abaw.formats.values.x_describe__mutmut_6": "equivalent: the tracks of one value field are "
    "exactly those of one class field (EXPR, CE, LSD)",
    "abaw.formats.values.x_describe__mutmut_8": "equivalent: a lone class field is named 'class' "
    "(only MTL's is named after its task)",
    "abaw.formats.values.x__field_counts__mutmut_10": "equivalent: as describe's mutant 6",
    "abaw.formats.values.x__field_counts__mutmut_14": "equivalent: as describe's mutant 8",
    "abaw.formats.values.x_column_types__mutmut_8": "equivalent: no layout has exactly two blocks "
    "(one, or MTL's three)",
    "abaw.formats.values.x_column_types__mutmut_33": "equivalent: the class count is read only for "
    "class fields",
    "abaw.formats.checks.x__looks_like_row__mutmut_5": "equivalent: only the first field is read",
    "abaw.formats.checks.x__looks_like_row__mutmut_8": "equivalent: only the first field is read",
}
