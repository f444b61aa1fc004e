"""OS errors on the user's paths are one line naming the path: a folder without permission (in
the dataset, or where outputs go), a loop of symbolic links, a file where a folder is expected.
Nothing is written when a command stops on one.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from robust_cases import assert_one_line, denied
from robust_world import world

ANNOTATIONS = "8th ABAW Annotations/EXPR_Recognition_Challenge"


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


@pytest.fixture(scope="module")
def shared_data(w, tmp_path_factory):
    return Path(shutil.copytree(w.root, tmp_path_factory.mktemp("os") / "data",
                                ignore=shutil.ignore_patterns(".abaw-index")))


@pytest.fixture
def data(shared_data):
    """A private copy of the dataset, without its index cache (every command walks it); each
    test puts back what it changes."""
    shutil.rmtree(shared_data / ".abaw-index", ignore_errors=True)
    yield shared_data
    shutil.rmtree(shared_data / ".abaw-index", ignore_errors=True)


@contextlib.contextmanager
def swapped(target: Path, make):
    """`target` moved aside and `make(target)` put in its place for the block."""
    aside = target.with_name(target.name + ".aside")
    target.rename(aside)
    try:
        make(target)
        yield target
    finally:
        if target.is_symlink() or target.is_file():
            target.unlink()
        aside.rename(target)


def _readers(w, root, tmp):
    return {"index": ["data", "index", root], "check": ["data", "check", root],
            "eval": ["eval", "--split", "val", "--root", root, "--pred",
                     w.run / "predictions" / "val.npz"],
            "run": ["run", "--track", "expr", "--root", root, "--recipe", "demo", "--work",
                    tmp / "work", "--out", tmp / "subs", "--until", "index"]}


FOLDERS = [f"{ANNOTATIONS}/Train_Set", f"{ANNOTATIONS}/Validation_Set", ANNOTATIONS,
           "cropped_aligned", "cropped_aligned/01"]


@pytest.mark.parametrize("folder", FOLDERS)
@pytest.mark.parametrize("command", ["index", "check", "eval", "run"])
def test_a_dataset_folder_without_permission_is_one_line(w, data, tmp_path, capsys, folder,
                                                         command):
    target = data / folder
    with denied(target):
        line = assert_one_line(_readers(w, data, tmp_path)[command], capsys, target)
    assert "permission" in line
    assert not (data / ".abaw-index").exists() or command == "check"


@pytest.mark.parametrize("folder", ["cropped_aligned/01", f"{ANNOTATIONS}/Train_Set"])
@pytest.mark.parametrize("command", ["index", "eval", "run"])
def test_a_link_loop_in_the_dataset_is_one_line(w, data, tmp_path, capsys, folder, command):
    with swapped(data / folder, lambda t: t.symlink_to(t.name)) as target:   # points at itself
        line = assert_one_line(_readers(w, data, tmp_path)[command], capsys, target)
    assert "loop" in line or "link" in line


@pytest.mark.parametrize("command", ["index", "eval", "run"])
def test_a_link_to_a_moved_crop_folder_is_one_line(w, data, tmp_path, capsys, command):
    # skipping it would index the video as one without any face
    with swapped(data / "cropped_aligned" / "01", lambda t: t.symlink_to(t.name + ".moved")) as target:
        line = assert_one_line(_readers(w, data, tmp_path)[command], capsys, target)
    assert "not found" in line


@pytest.mark.parametrize("folder", [f"{ANNOTATIONS}/Train_Set", f"{ANNOTATIONS}/Validation_Set"])
@pytest.mark.parametrize("command", ["index", "eval", "run"])
def test_a_file_where_a_dataset_folder_is_expected_is_one_line(w, data, tmp_path, capsys,
                                                               folder, command):
    with swapped(data / folder, lambda t: t.write_text("not a folder\n")) as target:
        # named from the dataset root: the folder that should hold it
        assert_one_line(_readers(w, data, tmp_path)[command], capsys, target,
                        Path(folder).parent.as_posix())


def _writers(w, out: Path):
    val, test = w.run / "predictions" / "val.npz", w.run / "predictions" / "test.npz"
    return {
        "submit": ["submit", test, "--out", out, "--root", w.root],
        "smooth": ["smooth", test, "--tune-on", val, "--root", w.root, "--out", out / "s.npz"],
        "ensemble": ["ensemble", val, val, "--out", out / "e.npz"],
        "eval-report": ["eval", "--split", "val", "--root", w.root, "--pred", val, "--report",
                        out / "rep"],
        "predict": ["predict", w.run, "--split", "val", "--out", out / "p.npz"],
        "synth": ["data", "synth", out / "twin"],
    }


@pytest.mark.parametrize("command", ["submit", "smooth", "ensemble", "eval-report", "predict",
                                     "synth"])
def test_an_output_folder_without_permission_is_one_line(w, tmp_path, capsys, command):
    out = tmp_path / "out"
    out.mkdir()
    with denied(out):
        line = assert_one_line(_writers(w, out)[command], capsys, out)
    assert "permission" in line
    assert not any(out.iterdir())


@pytest.mark.parametrize("command", ["submit", "smooth", "ensemble", "eval-report", "predict",
                                     "synth"])
def test_an_output_under_a_file_is_one_line(w, tmp_path, capsys, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("x\n")
    assert_one_line(_writers(w, blocker / "out")[command], capsys, blocker)
    assert blocker.read_text() == "x\n"


@pytest.mark.parametrize("argv", [
    ["smooth", "{loop}", "--tune-on", "{val}", "--root", "{root}"],
    ["submit", "{loop}", "--out", "{tmp}/subs"],
    ["eval", "--split", "val", "--root", "{root}", "--pred", "{loop}"],
    ["ensemble", "{loop}", "{val}", "--out", "{tmp}/e.npz"],
    ["data", "index", "{loop}"],
    ["predict", "{loop}", "--split", "val"],
    ["train", "--track", "expr", "--root", "{root}", "--features", "{loop}", "--out", "{tmp}/r"],
], ids=lambda a: a[0])
def test_an_input_that_is_a_link_loop_is_one_line(w, tmp_path, capsys, argv):
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    vals = {"loop": loop, "val": w.run / "predictions" / "val.npz", "root": w.root,
            "tmp": tmp_path}
    assert_one_line([a.format(**vals) for a in argv], capsys, loop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop"]


def test_main_shows_path_errors_in_one_line_and_other_errors_in_full(monkeypatch, capsys):
    """An OSError naming a path is the user's environment: one line. An OSError naming no
    path, or an EOFError a reader let through (click would call it "aborted"), is a bug: shown
    in full, never exit 130."""
    import click

    from abaw.cli import LazyGroup, main

    @click.command("boom")
    @click.argument("kind")
    def boom(kind):
        if kind == "path":
            raise PermissionError(13, "Permission denied", "/some/where")
        if kind == "eof":
            raise EOFError("No data left in file")
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(LazyGroup, "get_command", lambda self, ctx, name: boom)
    line = assert_one_line(["boom", "path"], capsys, "/some/where")
    assert "permission denied (EACCES)" in line
    with pytest.raises(OSError):
        main(["boom", "io"])
    with pytest.raises(EOFError):
        main(["boom", "eof"])
