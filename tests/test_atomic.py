"""Atomic files and folders: a write interrupted half way leaves the old content and no
temporary file."""

import pytest

from abaw.atomic import MARKER, atomic_file, atomic_folder, write_bytes
from abaw.errors import AbawError


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "sub" / "set.npz"
    assert write_bytes(target, b"old") == target          # parents are made
    with pytest.raises(RuntimeError), atomic_file(target) as fh:
        fh.write(b"half of a new")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["set.npz"]


def test_a_clean_write_replaces_the_file(tmp_path):
    target = tmp_path / "params.json"
    write_bytes(target, b"old")
    with atomic_file(target, "w", fsync=True) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]


def test_a_folder_appears_whole_or_keeps_the_old_one(tmp_path):
    target = tmp_path / "out" / "EXPR"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "a.txt"]
    with atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b.txt"]
    assert [p.name for p in target.parent.iterdir()] == ["EXPR"]   # no temporary or old folder
    (tmp_path / "file").write_text("x")
    with pytest.raises(AbawError, match="found a file, expected a folder"), \
            atomic_folder(tmp_path / "file"):
        pass
