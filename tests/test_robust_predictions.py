"""Damaged prediction sets given to every command that reads one: one line naming the file.

Variants (`robust_cases.prediction_set_variants`): truncations at 10 offsets, a flipped byte in
each member's signature and data and in the archive's end, six files that are no .npz, each
array missing, an extra array, wrong dtypes and shapes, and a broken JSON header (cut, not JSON,
each field missing or of a wrong type or value). Each goes through submit, eval, smooth (as the
set and as its tuning set), ensemble and report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from robust_cases import (
    PREDICTION_SET_VARIANTS,
    assert_one_line,
    prediction_set_variants,
    run_cli,
)
from robust_world import world


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


@pytest.fixture(scope="module")
def damaged_sets(w):
    good = (w.run / "predictions" / "val.npz").read_bytes()
    return dict(prediction_set_variants(good))


def _commands(w, pred: Path, out: Path) -> dict:
    val, test = w.run / "predictions" / "val.npz", w.run / "predictions" / "test.npz"
    return {
        "submit": ["submit", pred, "--out", out / "subs", "--root", w.root],
        "eval": ["eval", "--split", "val", "--root", w.root, "--pred", pred],
        "smooth": ["smooth", pred, "--tune-on", val, "--root", w.root, "--out", out / "s.npz"],
        "smooth-tune-on": ["smooth", test, "--tune-on", pred, "--root", w.root,
                           "--out", out / "s.npz"],
        "ensemble": ["ensemble", pred, val, "--out", out / "e.npz"],
    }


COMMANDS = ["submit", "eval", "smooth", "smooth-tune-on", "ensemble"]


def test_the_undamaged_set_passes_every_command(w, tmp_path, capsys):
    """The harness is right: the same commands on the good sets succeed."""
    for name, argv in _commands(w, w.run / "predictions" / "val.npz", tmp_path).items():
        if name == "submit":
            argv[1] = w.run / "predictions" / "test.npz"
        code, _, err = run_cli(argv, capsys)
        assert code == 0, (name, err)


@pytest.mark.parametrize("name", PREDICTION_SET_VARIANTS)
def test_a_damaged_set_is_one_line_in_every_command(w, damaged_sets, tmp_path, capsys, name):
    pred = tmp_path / "damaged.npz"
    pred.write_bytes(damaged_sets[name])
    before = pred.read_bytes()
    for command in COMMANDS:
        assert_one_line(_commands(w, pred, tmp_path)[command], capsys, pred)
    assert pred.read_bytes() == before                       # never "repaired" in place
    assert not (tmp_path / "subs").exists() or not any((tmp_path / "subs").glob("*.zip"))


@pytest.mark.parametrize("name", PREDICTION_SET_VARIANTS[::3])
def test_a_run_with_a_damaged_validation_set_is_one_line_in_eval_and_report(
        w, damaged_sets, tmp_path, capsys, name):
    run = tmp_path / w.run.name
    shutil.copytree(w.run, run, ignore=shutil.ignore_patterns("*.safetensors"))
    pred = run / "predictions" / "val.npz"
    pred.write_bytes(damaged_sets[name])
    assert_one_line(["eval", "--split", "val", "--root", w.root, "--pred", run], capsys, pred)
    assert_one_line(["report", run, "--out", tmp_path / "rep", "--quiet"], capsys, pred)
    assert not (tmp_path / "rep").exists()


def test_variant_names_match_the_real_sets(damaged_sets):
    assert sorted(damaged_sets) == sorted(PREDICTION_SET_VARIANTS)

