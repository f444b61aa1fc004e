"""A damaged decision or prediction set is refused in one line that names where it came from
(its file once loaded, also after `replace`), the field, what was found and what was expected."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_core_contracts import message  # the one-line error a call raises

from abaw.core.decisions import Decision
from abaw.core.prediction_set import PredictionSet

COLS = ("valence", "arousal")


@pytest.mark.parametrize("name", ["thresholds", "bias"])
@pytest.mark.parametrize("value", [["0.5"], [True], [float("inf")], [float("nan")], "0.5", 0.5])
def test_a_decision_takes_lists_of_finite_numbers_only(name, value):
    assert message(Decision.from_dict, {name: value}, "p.npz: decision") == (
        f"p.npz: decision: field {name}: found {value!r}, expected a list of finite numbers or "
        "null")


def test_a_decision_takes_integers_and_floats():
    d = Decision.from_dict({"thresholds": [0, 0.5, 1], "bias": [2, -1.5]})
    assert d.thresholds == (0, 0.5, 1) and d.bias == (2, -1.5)


def test_arrays_of_the_wrong_rank_are_refused_naming_each_shape():
    base = ("VA", 8, COLS, ["a"], [0, 2])
    frames, outputs, imputed = np.array([1, 2]), np.zeros((2, 2)), np.zeros(2, bool)
    expected = "expected (N,), (N, columns), (N,)"
    assert message(PredictionSet, *base, frames[:, None], outputs, imputed) == (
        f"prediction set: found frames (2, 1), outputs (2, 2), imputed (2,), {expected}")
    assert message(PredictionSet, *base, frames, outputs, imputed[:, None]) == (
        f"prediction set: found frames (2,), outputs (2, 2), imputed (2, 1), {expected}")
    assert message(PredictionSet, *base, frames, outputs[:, :, None], imputed) == (
        f"prediction set: found frames (2,), outputs (2, 2, 1), imputed (2,), {expected}")


def test_the_video_named_twice_is_the_repeated_one():
    assert message(PredictionSet, "VA", 8, COLS, ["a", "b", "b"], [0, 1, 2, 3], [1, 1, 1],
                   np.zeros((3, 2)), np.zeros(3, bool)) == (
        "prediction set: video b appears twice, expected each video once")


@pytest.mark.parametrize("offsets,shown", [([0, 1, 2, 9], "0, 1, 2, 9"),
                                           ([0, 1, 2, 3, 9], "0, 1, 2, 3, ...")])
def test_wrong_offsets_show_the_first_four(offsets, shown):
    n = len(offsets) - 1
    text = message(PredictionSet, "VA", 8, COLS, [f"v{i}" for i in range(n)], offsets,
                   np.arange(n), np.zeros((n, 2)), np.zeros(n, bool))
    assert text.startswith(f"prediction set: offsets: found {len(offsets)} offsets ({shown}), ")


def save_meta(path, meta, n=1):
    np.savez(path, meta=np.array(json.dumps(meta) if isinstance(meta, dict) else meta),
             offsets=[0, n], frames=np.arange(1, n + 1), outputs=np.zeros((n, 2), np.float32),
             imputed=np.zeros(n, bool))
    return path


def test_a_damaged_meta_is_named_by_its_file(tmp_path):
    path = save_meta(tmp_path / "p.npz", "{not json")
    assert message(PredictionSet.load, path).startswith(f"{path}: array 'meta': found text that "
                                                         "is not JSON")
    path = save_meta(tmp_path / "q.npz", {"edition": 8, "columns": list(COLS), "videos": ["a"]})
    assert message(PredictionSet.load, path).startswith(f"{path}: meta: field track: missing")


def test_a_loaded_set_names_its_file_also_after_replace(tmp_path):
    path = save_meta(tmp_path / "p.npz", {"track": "va", "edition": 8, "columns": list(COLS),
                                          "videos": ["a"], "provenance": {}})
    ps = PredictionSet.load(path)
    assert ps.track == "VA"
    assert message(ps.index_of, "z") == f"{path}: video z is missing"
    assert message(ps.replace(outputs=np.ones((1, 2))).index_of, "z") == (
        f"{path}: video z is missing")
    assert message(ps.replace, frames=[1, 2]) == (
        f"{path}: offsets: found 2 offsets (0, 1), expected 2 rising from 0 to 2 (one more than "
        "the 1 videos, ending at the rows)")
