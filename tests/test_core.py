"""The torch-free core: layouts read from the protocol, the decision rules, and a prediction set's
typed decision on disk (sets saved before it existed load with what their provenance implied)."""

import json

import numpy as np
import pytest

from abaw import protocol
from abaw.core.decisions import Decision, decide, resolve_thresholds
from abaw.core.layout import layout
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError


@pytest.mark.parametrize("track,edition,blocks", [
    ("VA", 8, [("VA", "values", 2, (0, 2))]),
    ("EXPR", 2, [("EXPR", "classes", 7, (0, 1))]),
    ("EXPR", 10, [("EXPR", "classes", 8, (0, 1))]),
    ("AU", 1, [("AU", "binary", 8, (0, 8))]),
    ("AU", 8, [("AU", "binary", 12, (0, 12))]),
    ("LSD", 4, [("LSD", "classes", 6, (0, 1))]),
    ("CE", 8, [("CE", "classes", 7, (0, 1))]),
    ("MTL", 7, [("VA", "values", 2, (0, 2)), ("EXPR", "classes", 8, (2, 3)),
                ("AU", "binary", 12, (3, 15))]),
])
def test_layouts_follow_the_protocol(track, edition, blocks):
    lay = layout(track, edition)
    assert [(b.task, b.kind, b.size, (b.labels.start, b.labels.stop)) for b in lay.blocks] == blocks
    assert lay.names == protocol.rules(track, edition).names       # the columns, in order
    assert lay.width == len(lay.names)
    starts = [b.columns.start for b in lay.blocks]
    assert starts == list(np.cumsum([0] + [b.size for b in lay.blocks[:-1]]))


def test_groups_split_valence_from_arousal_and_keep_blocks_whole():
    assert {g: (s.kind, s.columns) for g, s in layout("MTL", 4).groups.items()} == {
        "valence": ("values", slice(0, 1)), "arousal": ("values", slice(1, 2)),
        "EXPR": ("classes", slice(2, 10)), "AU": ("binary", slice(10, 22))}
    assert list(layout("CE", 8).groups) == ["CE"]
    with pytest.raises(AbawError, match="found ERI for edition 8"):
        layout("ERI", 8)
    with pytest.raises(AbawError, match="intensity outputs"):
        layout("ERI", 5)


def test_split_gives_what_the_metric_takes():
    y = np.array([[0.5, -0.2, 3, *([1, 0] * 6)], [0.1, 0.9, -1, *([0, 1] * 6)]], np.float32)
    parts = layout("MTL", 7).split(y, cast=True)
    assert parts["EXPR"].tolist() == [3, -1] and parts["EXPR"].dtype == np.int64
    assert parts["AU"].shape == (2, 12) and parts["AU"].dtype == np.int8
    np.testing.assert_array_equal(parts["VA"], y[:, :2])
    assert layout("EXPR", 8).split(y[:, 2:3]).tolist() == [3, -1]     # one array for one block


def test_decide_applies_thresholds_and_an_unfolded_bias_only():
    lay = layout("MTL", 7)
    out = np.zeros((2, 22), np.float32)
    out[:, :2] = [[1.5, -0.3], [-2.0, 0.4]]
    out[:, 2:10] = np.eye(8)[[0, 1]] * 0.5 + 0.05                     # argmax 0, then 1
    out[:, 10:] = 0.55
    plain = decide(lay, out)
    np.testing.assert_array_equal(plain["VA"], np.float32([[1.0, -0.3], [-1.0, 0.4]]))
    assert plain["EXPR"].tolist() == [0, 1] and plain["AU"].all()
    bias = [0.0] * 7 + [5.0]                                           # favours "Other"
    tuned = decide(lay, out, Decision(thresholds=[0.6] * 12, bias=bias))
    assert tuned["EXPR"].tolist() == [7, 7] and not tuned["AU"].any()
    folded = decide(lay, out, Decision(bias=bias, folded=True))      # already in the outputs
    assert folded["EXPR"].tolist() == [0, 1]


def test_thresholds_resolve_from_a_number_a_list_or_names():
    names = protocol.AUS_12
    assert resolve_thresholds(0.3, names) == (0.3,) * 12
    assert resolve_thresholds(dict.fromkeys(names, 0.7), names) == (0.7,) * 12
    with pytest.raises(AbawError, match="missing names"):
        resolve_thresholds({"AU1": 0.2}, names)


def test_a_decision_travels_with_the_set(tmp_path):
    ps = PredictionSet.from_videos("AU", 8, {"v": ([1, 2], np.full((2, 12), 0.5))},
                                   decision=Decision(thresholds=np.linspace(0.1, 0.9, 12)))
    back = PredictionSet.load(ps.save(tmp_path / "a.npz"))
    assert back.decision == ps.decision and back.decision.thresholds[-1] == pytest.approx(0.9)
    assert back.replace(outputs=back.outputs).decision == ps.decision
    assert back.replace(decision=Decision()).decision == Decision()


def test_a_set_saved_before_decisions_loads_with_what_its_provenance_said(tmp_path):
    ps = PredictionSet.from_videos("MTL", 7, {"v": ([1], np.full((1, 22), 0.5))})
    tuned = dict(zip(protocol.AUS_12, np.linspace(0.2, 0.8, 12).tolist(), strict=True))
    old = {"track": "MTL", "edition": 7, "columns": list(ps.columns), "videos": ["v"],
           "provenance": {"run": "r", "au_thresholds": tuned,
                          "post": {"smooth": {}, "bias": [1.0] + [0.0] * 7, "applied": True}}}
    path = tmp_path / "old.npz"
    np.savez(path, meta=np.array(json.dumps(old)), offsets=ps.offsets, frames=ps.frames,
             outputs=ps.outputs, imputed=ps.imputed)
    back = PredictionSet.load(path)
    assert back.decision == Decision(tuple(tuned.values()), (1.0,) + (0.0,) * 7, folded=True)
    assert back.provenance == {"run": "r", "post": {"smooth": {}, "bias": [1.0] + [0.0] * 7}}
    old["provenance"] = {"run": "r"}                     # nothing tuned: decide plainly
    np.savez(path, meta=np.array(json.dumps(old)), offsets=ps.offsets, frames=ps.frames,
             outputs=ps.outputs, imputed=ps.imputed)
    assert PredictionSet.load(path).decision == Decision()


def test_a_video_without_rows_keeps_its_place_in_a_set_built_video_by_video():
    ps = PredictionSet.from_videos("AU", 8, {"a": ([1, 2], np.full((2, 12), 0.25)),
                                            "empty": ([], []),
                                            "b": ([7], np.full((1, 12), 0.75))})
    assert ps.videos == ["a", "empty", "b"] and ps.offsets.tolist() == [0, 2, 2, 3]
    assert ps.outputs.shape == (3, 12) and ps.outputs[2, 0] == 0.75
