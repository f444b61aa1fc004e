"""Run folders are taken exclusively, and no command writes outside the folders it was given.

- Two `abaw run`s started in the same second get two folders (the second name gets a suffix),
  each with its own checkpoints; two trainings into one `--out` never share it.
- The filesystem around a run (a tree with sibling files, folders and a link) is walked before
  and after `abaw run` and the commands that read its results: only `--work`, `--out`, the
  dataset's index cache and the folders given to each command changed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from robust_cases import assert_one_line, run_cli
from robust_world import snapshot, world

from abaw.atomic import CLAIM, claim_folder, new_folder
from abaw.errors import AbawError


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


def test_runs_started_in_the_same_second_get_their_own_folders(w, tmp_path, monkeypatch,
                                                               capsys):
    import abaw.pipeline.run as run_module

    monkeypatch.setattr(run_module.time, "strftime", lambda fmt, *a: "20260101-120000")
    argv = ["run", "--track", "expr", "--root", w.root, "--recipe", "demo", "--work",
            tmp_path / "work", "--out", tmp_path / "subs", "--until", "train", "--quiet"]
    argv += sum((["--set", o] for o in w.overrides), [])
    for _ in range(2):
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
    runs = sorted(p.name for p in (tmp_path / "work" / "expr").iterdir())
    assert runs == ["demo-20260101-120000", "demo-20260101-120000-2"]
    for name in runs:                              # each trained on its own
        assert (tmp_path / "work" / "expr" / name / "last.safetensors").is_file()


def test_a_new_folder_is_never_shared_between_threads(tmp_path):
    made, start = [], threading.Barrier(8)

    def take():
        start.wait()
        made.append(new_folder(tmp_path, "same-name"))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 8 and all(p.is_dir() for p in made)


def test_a_folder_is_claimed_once(tmp_path):
    target = tmp_path / "run"
    wins = []
    start = threading.Barrier(8)

    def claim():
        start.wait()
        wins.append(claim_folder(target))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True] and (target / CLAIM).is_file()


def test_training_into_a_folder_another_training_took_is_refused(w, tmp_path, capsys):
    """As if another `abaw train --out` had started a moment before (its claim is there, no
    checkpoint yet): this one stops before writing, and --resume continues the run."""
    out = tmp_path / "r"
    assert claim_folder(out)
    argv = ["train", "--track", "expr", "--recipe", DEMO, "--root", w.root, "--features",
            w.store, "--out", out, "--quiet", "--set", "optim.epochs=1"]
    assert_one_line(argv, capsys, out, "--resume")
    assert sorted(p.name for p in out.iterdir()) == [CLAIM]
    code, _, err = run_cli([*argv, "--resume"], capsys)
    assert code == 0, err


def test_an_existing_run_is_still_refused_without_resume(w, tmp_path, capsys):
    run = w.copy_run(tmp_path)
    (run / CLAIM).unlink()                         # a run from before claims: its checkpoint
    argv = ["train", "--track", "expr", "--recipe", DEMO, "--root", w.root, "--features",
            w.store, "--out", run, "--quiet", "--set", "optim.epochs=1"]
    assert_one_line(argv, capsys, run)


def test_a_k_fold_training_claims_the_run_and_each_fold(w, tmp_path):
    from abaw.data import load_index
    from abaw.recipe import load_recipe
    from abaw.train.inputs import open_stores
    from abaw.train.trainer import train
    from tracks import get_track

    cfg = load_recipe(DEMO, ["optim.epochs=1", "run.folds=2"], track="EXPR").training()
    track, index, stores = get_track("expr"), load_index(w.root), open_stores(str(w.store))
    train(track, cfg, index, stores, tmp_path / "k", quiet=True)
    assert (tmp_path / "k" / CLAIM).is_file()
    assert all((tmp_path / "k" / f"fold{i}" / CLAIM).is_file() for i in range(2))
    with pytest.raises(AbawError, match="a run was started there already"):
        train(track, cfg, index, stores, tmp_path / "k", quiet=True)


DEMO = Path(__file__).resolve().parents[1] / "tracks" / "expr" / "recipes" / "demo.toml"


# --- the filesystem around a run ----------------------------------------------------------------

def _changed(before: dict, after: dict) -> set:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def _outside(paths: set, allowed: tuple[str, ...]) -> list:
    """The changed paths that are neither in an allowed folder nor a parent made for one."""
    return sorted(p for p in paths if not any(
        p == a or p.startswith(a + "/") or a.startswith(p + "/") for a in allowed))


def test_abaw_run_changes_nothing_outside_the_folders_it_was_given(w):
    cache = (w.root / ".abaw-index").relative_to(w.tree).as_posix()
    changed = _changed(w.before, w.after)
    assert _outside(changed, ("work", "subs", cache)) == []
    assert any(p.startswith("work/") for p in changed) and any(p.startswith("subs/")
                                                                for p in changed)
    assert not any(w.cwd.iterdir())                 # nothing in the working directory


def test_the_commands_after_a_run_change_nothing_outside_their_outputs(w, capsys, monkeypatch):
    monkeypatch.chdir(w.cwd)
    val, test = w.run / "predictions" / "val.npz", w.run / "predictions" / "test.npz"
    out = w.tree / "after"
    commands = [
        (["submit", w.run, "--out", out / "subs", "--root", w.root], "after/subs"),
        (["eval", "--split", "val", "--root", w.root, "--pred", w.run], None),
        (["eval", "--split", "val", "--root", w.root, "--pred", val, "--report", out / "rep"],
         "after/rep"),
        (["report", w.run, "--out", out / "report", "--quiet"], "after/report"),
        (["smooth", test, "--tune-on", val, "--root", w.root, "--out", out / "s" / "t.npz"],
         "after/s"),
        (["ensemble", test, test, "--out", out / "e" / "e.npz"], "after/e"),
        (["predict", w.run, "--split", "val", "--out", out / "p" / "v.npz"], "after/p"),
        (["data", "check", w.root], None),
        (["run", "--track", "expr", "--work", w.work, "--last"], None),
        (["submissions", w.subs], None),
    ]
    for argv, allowed in commands:
        before = snapshot(w.tree)
        code, _, err = run_cli(argv, capsys)
        assert code == 0, (argv[0], err)
        changed = _changed(before, snapshot(w.tree))
        assert _outside(changed, (allowed,) if allowed else ()) == [], argv[0]
    assert not any(w.cwd.iterdir())
