"""Damaged feature stores, checkpoints and run folders given to the commands that read them: one
line naming the file, never a traceback, never "aborted".

- feature stores (`meta.json`, an id's `.rows.npz`, its `.npy`) in `train`, `predict` and
  `features extract` (which remakes an id whose files are damaged: it must succeed);
- checkpoints (`best.safetensors` in `predict`, `last.safetensors` in `train --resume`);
- a run folder's `run.json`, `config.toml`, `log.json`, `post.json` and `summary.json` in
  `predict`, `eval`, `report` and `run --last`, each where the command reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from robust_cases import (
    BEST_VARIANTS,
    FEATURES_VARIANTS,
    LAST_VARIANTS,
    ROWS_VARIANTS,
    STORE_META_VARIANTS,
    assert_one_line,
    checkpoint_variants,
    config_variants,
    features_variants,
    log_variants,
    post_variants,
    rows_variants,
    run_cli,
    run_json_variants,
    store_meta_variants,
    summary_variants,
)
from robust_world import world


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


def _val_id(w) -> str:
    import json

    return json.loads((w.run / "run.json").read_text())["val_ids"][0]


def _recipe() -> Path:
    from tracks import get_track, recipe_path

    return recipe_path(get_track("expr"), "demo")


def _train(w, store, out):
    return ["train", "--track", "expr", "--recipe", _recipe(), "--root", w.root, "--features",
            store, "--out", out, "--quiet", *sum((["--set", o] for o in w.overrides
                                                   if o.startswith("optim.")), [])]


def _predict(w, run, store, out):
    argv = ["predict", run, "--split", "val", "--out", out]
    return argv + (["--features", store] if store is not None else [])


def _extract(w, store):
    return ["features", "extract", w.root, "--backbone", "efficientnet-b0", "--weights",
            w.weights, "--out", store, "--workers", "0", "--split", "val", "--track", "EXPR",
            "--quiet"]


# --- feature stores -----------------------------------------------------------------------------

def test_the_undamaged_store_and_run_pass(w, tmp_path, capsys):
    store = w.copy_store(tmp_path)
    for argv in (_train(w, store, tmp_path / "r"), _predict(w, w.run, store, tmp_path / "p.npz"),
                 _extract(w, store)):
        code, _, err = run_cli(argv, capsys)
        assert code == 0, (argv[0], err)


@pytest.mark.parametrize("name", STORE_META_VARIANTS)
def test_a_damaged_store_meta_is_one_line(w, tmp_path, capsys, name):
    store = w.copy_store(tmp_path)
    meta = store / "meta.json"
    meta.write_bytes(dict(store_meta_variants((w.store / "meta.json").read_bytes()))[name])
    for argv in (_train(w, store, tmp_path / "r"), _predict(w, w.run, store, tmp_path / "p.npz"),
                 _extract(w, store)):
        assert_one_line(argv, capsys, meta)
    assert not (tmp_path / "r").exists() and not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("kind,name", [("rows", n) for n in ROWS_VARIANTS]
                         + [("features", n) for n in FEATURES_VARIANTS])
def test_damaged_features_are_one_line_in_train_and_predict_and_remade_by_extract(
        w, tmp_path, capsys, kind, name):
    store = w.copy_store(tmp_path)
    vid = _val_id(w)
    suffix, variants = {"rows": (".rows.npz", rows_variants),
                        "features": (".npy", features_variants)}[kind]
    target = store / f"{vid}{suffix}"
    target.write_bytes(dict(variants(target.read_bytes()))[name])
    assert_one_line(_train(w, store, tmp_path / "r"), capsys, target)
    assert_one_line(_predict(w, w.run, store, tmp_path / "p.npz"), capsys, target)
    code, _, err = run_cli(_extract(w, store), capsys)     # the damaged id is made again
    assert code == 0 and "Traceback" not in err, err
    from abaw.features.store import FeatureStore

    frames, feats, present = FeatureStore(store).load(vid)
    assert feats.shape == (len(frames), FeatureStore(store).dim)


# --- checkpoints --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BEST_VARIANTS)
def test_a_damaged_best_checkpoint_is_one_line_in_predict(w, tmp_path, capsys, name):
    run = w.copy_run(tmp_path)
    best = run / "best.safetensors"
    best.write_bytes(dict(checkpoint_variants(best.read_bytes(), last=False))[name])
    assert_one_line(_predict(w, run, None, tmp_path / "p.npz"), capsys, best)
    assert not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("name", LAST_VARIANTS)
def test_a_damaged_last_checkpoint_is_one_line_when_resuming(w, tmp_path, capsys, name):
    run = w.copy_run(tmp_path)
    last = run / "last.safetensors"
    last.write_bytes(dict(checkpoint_variants(last.read_bytes(), last=True))[name])
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    assert_one_line([*_train(w, w.store, run), "--resume"], capsys, last)
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before   # nothing rewritten


def test_resuming_the_undamaged_run_passes(w, tmp_path, capsys):
    run = w.copy_run(tmp_path)
    code, _, err = run_cli([*_train(w, w.store, run), "--resume"], capsys)
    assert code == 0, err


# --- run folders --------------------------------------------------------------------------------

def _readers(w, run, tmp_path) -> dict:
    return {"predict": _predict(w, run, None, tmp_path / "p.npz"),
            "eval": ["eval", "--split", "val", "--root", w.root, "--pred", run],
            "report": ["report", run, "--out", tmp_path / "rep", "--quiet"]}


RUN_JSON_CASES = [n for n, _ in run_json_variants(
    b'{"track": "EXPR", "edition": 8, "index_root": "r", "features": ["f"], "feature_meta": '
    b'[{}], "train_ids": ["a"], "val_ids": ["b"], "window": 4, "predict_stride": 2}')]
LOG_CASES = [n for n, _ in log_variants(b'[{"epoch": 0, "train": {"ce": 1.0}, "val": 0.5}]')]
POST_CASES = [n for n, _ in post_variants(
    b'{"track": "EXPR", "edition": 8, "smooth": {"EXPR": {"kind": "mean", "window": 5}}}')]
SUMMARY_CASES = [n for n, _ in summary_variants(
    b'{"track": "EXPR", "edition": 8, "run_dir": "r", "zip_path": "z.zip"}')]
CONFIG_CASES = [n for n, _ in config_variants(
    b'track = "EXPR"\n\n[data]\nwindow = 64\n[model]\nhead = "tcn"\nhidden = 64\ndropout = 0.1\n'
    b'head_options = {}\n[loss]\nlabel_smoothing = 0.0\n[optim]\nlr = 0.002\nepochs = 1\n'
    b'batch_size = 16\n[run]\nseed = 0\n[post]\nkinds = ["mean"]\nwindows = [1, 5]\n'
    b'impute = "linear"\nbias = true\n')]


@pytest.mark.parametrize("name", RUN_JSON_CASES)
def test_a_damaged_run_json_is_one_line(w, tmp_path, capsys, name):
    run = w.copy_run(tmp_path)
    target = run / "run.json"
    target.write_bytes(dict(run_json_variants(target.read_bytes()))[name])
    for argv in _readers(w, run, tmp_path).values():
        assert_one_line(argv, capsys, target)


@pytest.mark.parametrize("name", CONFIG_CASES)
def test_a_damaged_config_toml_is_one_line_where_it_is_read(w, tmp_path, capsys, name):
    run = w.copy_run(tmp_path)
    target = run / "config.toml"
    text, noticed = dict(config_variants(target.read_bytes()))[name]
    target.write_text(text)
    for command, argv in _readers(w, run, tmp_path).items():
        if command in noticed:
            assert_one_line(argv, capsys, target)
        elif name == "unknown-section":               # tolerated: a key no command reads
            code, _, err = run_cli(argv, capsys)
            assert code == 0, (command, err)


@pytest.mark.parametrize("file,name", [("log.json", n) for n in LOG_CASES]
                         + [("post.json", n) for n in POST_CASES])
def test_a_damaged_log_or_post_json_is_one_line_in_eval_and_report(w, tmp_path, capsys, file,
                                                                   name):
    run = w.copy_run(tmp_path)
    target = run / file
    variants = log_variants if file == "log.json" else post_variants
    target.write_bytes(dict(variants(target.read_bytes()))[name])
    readers = _readers(w, run, tmp_path)
    for command in ("eval", "report"):
        assert_one_line(readers[command], capsys, target)


@pytest.mark.parametrize("name", SUMMARY_CASES)
def test_a_damaged_summary_is_one_line_in_run_last_and_report(w, tmp_path, capsys, name):
    work = tmp_path / "work"
    run = w.copy_run(work / "expr")
    target = run / "summary.json"
    data, everyone = dict(summary_variants(target.read_bytes()))[name]
    target.write_bytes(data)
    assert_one_line(["run", "--track", "expr", "--work", work, "--last"], capsys, target)
    if everyone:                                      # what the report reads too
        assert_one_line(_readers(w, run, tmp_path)["report"], capsys, target)
