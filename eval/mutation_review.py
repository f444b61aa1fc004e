"""What review of the surviving mutants has found (`eval/mutate.py --report` reads it):
survivor kinds judged once for all, notes on single mutants, and the bugs planted by hand
with the tests that catch them."""

from __future__ import annotations

import re
from pathlib import Path

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
# Survivors explained one by one: eval/mutation_notes/<module>.txt, one line per mutant
# ("<function>__mutmut_<n>: why it survives"), so each module's review stays beside its own kind.
NOTES_DIR = Path(__file__).resolve().parent / "mutation_notes"


def read_notes(folder: Path = NOTES_DIR) -> dict[str, str]:
    """Mutant name (module.function__mutmut_n) -> why it survives."""
    notes = {}
    for path in sorted(folder.glob("*.txt")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            mutant, sep, why = line.partition(": ")
            if not sep or "__mutmut_" not in mutant or not why.strip():
                raise SystemExit(f"{path}:{n}: found {line[:60]!r}, expected "
                                 "'<function>__mutmut_<n>: why it survives'")
            notes[f"{path.stem}.{mutant.strip()}"] = why.strip()
    return notes


NOTES = read_notes()
