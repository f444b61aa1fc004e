"""Atomic files: a write interrupted half way leaves the old content and no temporary file."""

import pytest

from abaw.atomic import atomic_file, write_bytes


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
