"""The core's contracts, stated from the outside: what each decision rule returns and in which
dtype, what a prediction set keeps through a save and a load, and the one-line message of each
mistake with what it found and what it expected."""

from __future__ import annotations

import json

import numpy as np
import pytest

from abaw import protocol
from abaw.core import decisions as dec
from abaw.core.decisions import Decision
from abaw.core.layout import edition_for, layout
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from tracks import get_track


def message(call, *args, **kw) -> str:
    with pytest.raises(AbawError) as e:
        call(*args, **kw)
    text = str(e.value)
    assert "\n" not in text
    return text


# --- decision rules ---------------------------------------------------------------------------

def test_classes_are_int64_and_a_zero_bias_is_the_plain_argmax():
    p = [[0.2, 0.5, 0.3], [1e-20, 1e-15, 0.0]]          # below the log floor: still ranked
    for bias in (None, [0.0, 0.0, 0.0]):
        got = dec.classes(p, bias)
        assert got.dtype == np.int64 and got.tolist() == [1, 1]
    got = dec.classes(p, [0.0, 0.0, 1.0])
    assert got.dtype == np.int64 and got.tolist() == [2, 2]
    assert message(dec.classes, p, [1.0, 0.0]) == "class bias: found 2 values, expected 3"


def test_active_takes_per_column_thresholds():
    p = np.array([[0.5, 0.25, 0.7]])
    assert dec.active(p, [0.5, 0.3, 0.75]).tolist() == [[True, False, False]]
    assert dec.active(p, np.array([1, 0, 1])).tolist() == [[False, True, False]]   # ints too
    assert message(dec.active, p, [0.5, 0.5]) == "AU thresholds: found 2 values, expected 3"


def test_clip_va_keeps_a_float_dtype_and_gives_float64_otherwise():
    assert dec.clip_va(np.array([2.0, -0.5], np.float32)).dtype == np.float32
    ints = dec.clip_va(np.array([3, 0, -7]))
    assert ints.dtype == np.float64 and ints.tolist() == [1.0, 0.0, -1.0]
    assert dec.clip_va([0.25], np.float32).dtype == np.float32
    src = np.array([0.5, 1.5])
    dec.clip_va(src)
    assert src.tolist() == [0.5, 1.5]                   # the input is never written


def test_fold_bias_is_a_row_wise_softmax_even_for_large_biases():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    bias = np.array([800.0, 0.0, 799.0])                # exp(800) overflows unless shifted
    got = dec.fold_bias(p, bias)
    z = np.log(p) + bias
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-6)


def test_check_outputs_names_the_shape_and_the_first_bad_row():
    lay = layout("VA", 8)
    assert dec.check_outputs(lay, [[0, 1], [1, 0]]).dtype == np.float64
    kept = np.zeros((2, 2), np.float32)
    assert dec.check_outputs(lay, kept).dtype == np.float32            # no float64 copy
    text = message(dec.check_outputs, lay, np.zeros((4, 3)))
    assert text == "VA outputs: found shape (4, 3), expected (frames, 2) columns valence,arousal"
    one_d = message(dec.check_outputs, lay, np.zeros(2))
    assert "found shape (2,)" in one_d
    bad = np.zeros((5, 2))
    bad[2, 1], bad[4, 0] = np.nan, np.inf
    assert message(dec.check_outputs, lay, bad) == (
        "VA outputs: found 2 rows with NaN/inf (first at row 2), expected finite raw outputs")


def test_thresholds_by_name_number_or_list():
    names = ("AU1", "AU2", "AU4")
    assert dec.resolve_thresholds({"AU4": 0.25, "AU1": 0.5, "AU2": 1}, names) == (0.5, 1.0, 0.25)
    assert dec.resolve_thresholds(0.3, names) == (0.3, 0.3, 0.3)
    text = message(dec.resolve_thresholds, {"AU1": 0.5, "AU9": 0.5}, names)
    assert text == ("AU thresholds: found ['AU9'] unknown and ['AU2', 'AU4'] missing names, "
                    "expected one threshold per AU of AU1, AU2, AU4")
    text = message(dec.resolve_thresholds, {"AU1": 0.5, "AU2": 0.5}, names)
    assert "found no unknown and ['AU4'] missing" in text
    text = message(dec.resolve_thresholds, {"AU1": 0.5, "AU2": 0.5, "AU4": 0.5, "AU7": 0}, names)
    assert "found ['AU7'] unknown and no missing" in text
    assert message(dec.resolve_thresholds, [0.5, np.nan, 0.5], names) == (
        "AU thresholds: found [0.5, nan, 0.5], expected one finite number or 3 (one per AU: "
        "AU1, AU2, AU4)")
    assert "found [0.5, 0.5]" in message(dec.resolve_thresholds, [0.5, 0.5], names)


def test_with_thresholds_keeps_the_rest_of_the_decision():
    lay = layout("AU", 8)
    d = Decision(None, [0.5], True)
    got = dec.with_thresholds(d, 0.25, lay)
    assert got.thresholds == (0.25,) * 12 and got.bias == (0.5,) and got.folded is True


def test_decide_gives_one_array_for_one_block_and_a_dict_for_several():
    assert isinstance(dec.decide(layout("EXPR", 8), np.eye(8)), np.ndarray)
    assert set(dec.decide(layout("MTL", 7), np.zeros((2, 22)))) == {"VA", "EXPR", "AU"}


def test_decisions_round_trip_and_refuse_unknown_fields():
    d = Decision((0.25,) * 12, (0.0, 1.5), True)
    back = Decision.from_dict(d.to_dict())
    assert back == d and back.bias == (0.0, 1.5) and back.folded is True
    assert Decision.from_dict({"thresholds": [0.5]}).folded is False
    assert Decision.from_dict(None) == Decision()
    assert Decision().to_dict() == {"thresholds": None, "bias": None, "folded": False}
    assert message(Decision.from_dict, {"bias": [1], "scale": 2}, "p.npz: decision") == (
        "p.npz: decision: found {'bias': [1], 'scale': 2}, expected an object with thresholds, "
        "bias, folded")
    assert message(Decision.from_dict, ["bias"]).startswith("decision: found ['bias']")


def test_decisions_of_sets_saved_before_they_had_one():
    lay = layout("AU", 8)
    au = {n: 0.25 for n in lay.names}
    got = Decision.from_provenance({"au_thresholds": au}, lay)
    assert got.thresholds == (0.25,) * 12 and got.bias is None and not got.folded
    assert Decision.from_provenance({}, lay) == Decision()
    # a bias recorded but not applied is not a decision of the set
    assert Decision.from_provenance({"post": {"bias": [1.0]}}, None) == Decision()
    applied = Decision.from_provenance({"post": {"bias": [1.0], "applied": True}}, None)
    assert applied.bias == (1.0,) and applied.folded is True


# --- layouts and tracks ---------------------------------------------------------------------

def test_an_edition_without_the_track_reads_it_with_the_latest_that_has_it():
    for track in ("va", "MTL", "lsd", "CE"):
        has = [e for e in protocol.EDITIONS if track.upper() in
               protocol.tracks_of(e, include_extensions=True)]
        for edition in protocol.EDITIONS:
            want = edition if edition in has else max(has)
            assert edition_for(track, edition) == want, (track, edition)
    assert message(edition_for, "pose", 8) == "track: found POSE, expected one of the protocol's tracks"
    extensions = [(t, e) for e, ed in protocol.EDITIONS.items() for t in ed.extensions]
    assert extensions
    for track, edition in extensions:        # the later tracks are read in their own edition
        assert edition_for(track.lower(), edition) == edition


def test_split_gives_each_block_its_labels_cast_only_when_asked():
    lay = layout("EXPR", 8)
    labels = np.array([[1.0], [-1.0], [7.0]])
    plain = lay.split(labels)
    assert plain.dtype == np.float64 and plain.tolist() == [1.0, -1.0, 7.0]
    cast = lay.split(labels, cast=True)
    assert cast.dtype == np.int64 and cast.tolist() == [1, -1, 7]


def test_groups_split_values_and_keep_other_blocks_whole():
    groups = layout("MTL", 7).groups
    assert {g: (s.kind, s.columns) for g, s in groups.items()} == {
        "valence": ("values", slice(0, 1)), "arousal": ("values", slice(1, 2)),
        "EXPR": ("classes", slice(2, 10)), "AU": ("binary", slice(10, 22))}
    assert groups["valence"].block.task == "VA" and groups["AU"].block.size == 12
    assert all(g.name == name for name, g in groups.items())


@pytest.mark.parametrize("name,edition", [("va", 8), ("expr", 5), ("au", 1), ("mtl", 4),
                                          ("lsd", 4), ("ce", 8)])
def test_a_tracks_spec_reads_its_layout(name, edition):
    t = get_track(name)
    ed = t.edition_for(edition)
    assert ed == edition_for(t.name, edition)
    assert t.layout(ed) is layout(t.name, ed)
    assert t.columns(ed) == protocol.rules(t.name, ed).names
    assert t.out_dim(ed) == len(protocol.rules(t.name, ed).names)


# --- prediction sets ------------------------------------------------------------------------

def test_a_set_from_plain_lists_has_its_dtypes():
    ps = PredictionSet.from_videos("expr", 8, {"b": ([3, 1], [[1] * 8, [0] * 8], [1, 0]),
                                               "a": ([2], [list(range(8))])})
    assert ps.track == "EXPR" and ps.videos == ["b", "a"] and ps.offsets.tolist() == [0, 2, 3]
    assert ps.frames.dtype == np.int64 and ps.outputs.dtype == np.float32
    assert ps.imputed.dtype == bool and ps.imputed.tolist() == [True, False, False]
    assert ps.outputs.shape == (3, 8)
    va = PredictionSet.from_videos("VA", 8, {"v": ([1, 2], [0.5, 0.25, 0.0, 1.0])})
    assert va.outputs.tolist() == [[0.5, 0.25], [0.0, 1.0]]       # flat values: two a row
    empty = PredictionSet.from_videos("AU", 8, {})
    assert empty.frames.shape == (0,) and empty.outputs.shape == (0, 12)
    assert empty.frames.dtype == np.int64 and empty.imputed.dtype == bool
    one = PredictionSet("LSD", 4, ("x",), ["s"], np.array([0, 2], np.int32),
                        np.array([1, 2], np.int32), np.array([0.5, 0.5]), [0, 1])
    assert one.outputs.shape == (2, 1) and one.outputs.dtype == np.float32
    assert one.offsets.dtype == np.int64 and one.frames.dtype == np.int64
    assert one.imputed.dtype == bool and one.imputed.tolist() == [False, True]


def test_a_set_refuses_what_does_not_add_up():
    cols = ("valence", "arousal")
    two = np.zeros((2, 2))
    assert message(PredictionSet, "VA", 8, cols, ["a"], [0, 3], [1, 2], two, [0, 0]) == (
        "prediction set: offsets: found 2 offsets (0, 3), expected 2 rising from 0 to 2 (one more "
        "than the 1 videos, ending at the rows)")
    assert "found 3 offsets (0, 1, 2), expected 2 rising" in message(
        PredictionSet, "VA", 8, cols, ["a"], [0, 1, 2], [1, 2], two, [0, 0])
    assert "found 2 offsets (1, 2), expected 2 rising from 0" in message(
        PredictionSet, "VA", 8, cols, ["a"], [1, 2], [1, 2], two, [0, 0])
    assert message(PredictionSet, "VA", 8, cols, ["a"], [0, 2], [1, 2], two, [0]) == (
        "prediction set: found 2 output rows and 1 imputed flags, expected 2 (one per frame)")
    assert "found 3 output rows" in message(
        PredictionSet, "VA", 8, cols, ["a"], [0, 2], [1, 2], np.zeros((3, 2)), [0, 0])
    assert message(PredictionSet, "VA", 8, cols, ["a"], [0, 2], [1, 2], np.zeros((2, 3)),
                   [0, 0]) == "prediction set: found 3 output columns, expected 2 (valence,arousal)"
    assert message(PredictionSet, "VA", 8, cols, ["a", "a"], [0, 1, 2], [1, 2], two,
                   [0, 0]) == "prediction set: video a appears twice, expected each video once"
    ps = PredictionSet("VA", 8, cols, ["a"], [0, 2], [1, 2], two, [0, 0])
    assert message(ps.index_of, "z") == "prediction set: video z is missing"
    assert ps.index_of("a") == 0 and ps.index_of("a") == 0        # asked twice: the same


def test_replace_keeps_what_it_is_not_given():
    ps = PredictionSet.from_videos("VA", 8, {"a": ([1, 2], np.zeros((2, 2))),
                                             "b": ([5], np.ones((1, 2)))}, provenance={"r": 1})
    out = ps.replace(outputs=np.full((3, 2), 0.5), note="x")
    assert out.videos == ["a", "b"] and out.frames.tolist() == [1, 2, 5]
    assert out.offsets.tolist() == [0, 2, 3] and out.provenance == {"r": 1, "note": "x"}
    moved = ps.replace(frames=[4, 6, 7], offsets=[0, 1, 3], videos=["c", "d"])
    assert moved.videos == ["c", "d"] and moved.frames.tolist() == [4, 6, 7]
    assert moved.offsets.tolist() == [0, 1, 3]


def test_a_saved_set_loads_back_whole(tmp_path):
    d = Decision((0.25,) * 12, None, True)
    ps = PredictionSet.from_videos("AU", 8, {"b": ([2, 9], np.full((2, 12), 0.5), [0, 1])},
                                   provenance={"run": "r1", "split": "val"}, decision=d)
    back = PredictionSet.load(ps.save(tmp_path / "s.npz"))
    assert (back.track, back.edition, back.columns, back.videos) == (
        "AU", 8, ps.columns, ["b"])
    assert back.provenance == {"run": "r1", "split": "val"} and back.decision == d
    for name in ("offsets", "frames", "outputs", "imputed"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ps, name))
    exp = PredictionSet.from_videos("EXPR", 8, {"a": ([1], np.eye(8)[:1])},
                                    decision=Decision(None, (0.0,) * 7 + (1.0,), True))
    assert PredictionSet.load(exp.save(tmp_path / "e.npz")).decision.bias == (0.0,) * 7 + (1.0,)
    assert message(PredictionSet.load, tmp_path / "none.npz") == (
        f"{tmp_path / 'none.npz'}: not found, expected a prediction set written by abaw")
    # a set written before sets carried a decision (or any provenance) loads with empty ones
    meta = {"track": "VA", "edition": 8, "columns": ["valence", "arousal"], "videos": ["a"]}
    np.savez(tmp_path / "old.npz", meta=np.array(json.dumps(meta)), offsets=[0, 1], frames=[1],
             outputs=np.zeros((1, 2), np.float32), imputed=[False])
    old = PredictionSet.load(tmp_path / "old.npz")
    assert old.provenance == {} and old.decision == Decision()
    meta["decision"] = {"scale": 2}
    np.savez(tmp_path / "odd.npz", meta=np.array(json.dumps(meta)), offsets=[0, 1], frames=[1],
             outputs=np.zeros((1, 2), np.float32), imputed=[False])
    assert message(PredictionSet.load, tmp_path / "odd.npz").startswith(
        f"{tmp_path / 'odd.npz'}: field decision: found {{'scale': 2}}")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert message(PredictionSet.load, tmp_path / "bad.npz").startswith(
        f"{tmp_path / 'bad.npz'}: found a file that is no .npz")
