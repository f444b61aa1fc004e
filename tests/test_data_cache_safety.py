"""The index cache never follows a link, deletes only its own files, and a damaged cache file
(truncated, bad CRC, empty, other arrays, another fingerprint) is rebuilt for every command that
loads the index, never trusted and never a traceback."""

from __future__ import annotations

import io
import json
import os
import shutil

import data_trees as D
import numpy as np
import pytest

from abaw.cli import main
from abaw.data import build, cache, load_index

FP_NAME = "0123456789abcdef0123.npz"      # a name exactly like the cache's own files


def tree(root):
    t = D.affwild(root, 10)
    D.templates(t, {"44-25-426x240": 4, "216": 3})        # the template's order, not sorted
    return t


def user_folder(path):
    """A user's folder of experiment files, some named like cache files."""
    path.mkdir(parents=True)
    for name in ("results.npz", "features.npz", FP_NAME, "notes.txt"):
        (path / name).write_bytes(b"the user's " + name.encode())
    return {p.name: p.read_bytes() for p in path.iterdir()}


def same_folder(path, before):
    return {p.name: p.read_bytes() for p in path.iterdir()} == before


LINKS = ["root-cache-link", "dangling-link", "link-to-file", "link-loop", "user-abaw-link",
         "user-index-link", "user-key-link"]


@pytest.mark.parametrize("where", LINKS)
def test_a_linked_cache_folder_is_never_followed(where, tmp_path, monkeypatch):
    root = tmp_path / "data"
    tree(root)
    theirs = tmp_path / "experiments"
    before = user_folder(theirs)
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    own = cache.cache_dirs(root)[1]                     # home/abaw/index/<key>
    link = root / ".abaw-index"
    if where == "root-cache-link":
        link.symlink_to(theirs, target_is_directory=True)
    elif where == "dangling-link":
        link.symlink_to(tmp_path / "nowhere", target_is_directory=True)
    elif where == "link-to-file":
        link.symlink_to(theirs / "notes.txt")
    elif where == "link-loop":
        link.symlink_to(link)
    else:
        link.symlink_to(theirs, target_is_directory=True)      # the root cache is unusable too
        level = {"user-abaw-link": own.parent.parent, "user-index-link": own.parent,
                 "user-key-link": own}[where]
        level.parent.mkdir(parents=True, exist_ok=True)
        level.symlink_to(theirs, target_is_directory=True)
    for _ in range(2):                                  # twice: build, then a changed tree
        index = load_index(root, 10)
        assert index.ids("EXPR", "test") == ["216", "44-25-426x240"]
        assert same_folder(theirs, before)
        D.crops(root, "216", [9])                       # a new crop: a new fingerprint
    if where in ("root-cache-link", "dangling-link", "link-to-file", "link-loop"):
        assert len(list(own.glob("*.npz"))) == 1        # the cache moved to the user's cache


def test_only_the_caches_own_files_are_deleted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    root = tmp_path / "data"
    tree(root)
    first = load_index(root, 10)
    folder = root / ".abaw-index"
    dropped = {"notes.txt": b"mine", "model.npz": b"mine", FP_NAME + ".bak": b"mine"}
    for name, data in dropped.items():
        (folder / name).write_bytes(data)
    (folder / "sub").mkdir()
    D.crops(root, "216", [9])
    second = load_index(root, 10)
    assert second.fingerprint != first.fingerprint
    names = {p.name for p in folder.iterdir()}
    assert f"{first.fingerprint}.npz" not in names and f"{second.fingerprint}.npz" in names
    assert all((folder / n).read_bytes() == d for n, d in dropped.items()) and "sub" in names


def test_a_folder_abaw_did_not_make_keeps_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    root = tmp_path / "data"
    tree(root)
    before = user_folder(root / ".abaw-index")
    load_index(root, 10)
    D.crops(root, "216", [9])
    load_index(root, 10)
    for name, data in before.items():
        assert (root / ".abaw-index" / name).read_bytes() == data


def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _save(path, arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _meta(arrays, change):
    meta = json.loads(arrays["meta"].tobytes().decode())
    change(meta)
    return {**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}


def damage_cases(path):
    """(name, damage(path)) for a good cache file at `path`."""
    data = path.read_bytes()
    n = len(data)
    cases = [(f"truncated-{k}", lambda p, k=k: p.write_bytes(data[:k]))
             for k in sorted({0, 1, 10, 30, 100, n // 4, n // 2, n - 100, n - 22, n - 1})]
    cases += [(f"flipped-{k}", lambda p, k=k: p.write_bytes(
        data[:k] + bytes([data[k] ^ 0x5A]) + data[k + 1:]))
        for k in sorted({26, 40, n // 3, n // 2, 2 * n // 3, n - 60, n - 10})]
    a = _arrays(path)
    first = next(k for k in a if k.endswith(".frames"))
    labels = next(k for k in a if k.endswith(".labels") and len(a[k]))
    cases += [
        ("text", lambda p: p.write_text("not a cache")),
        ("npy-not-npz", lambda p: np.save(open(p, "wb"), np.arange(3))),
        ("other-arrays", lambda p: _save(p, {"x": np.arange(3)})),
        ("array-missing", lambda p: _save(p, {k: v for k, v in a.items() if k != first})),
        ("frames-long", lambda p: _save(p, {**a, first: np.r_[a[first], 1]})),
        ("labels-short", lambda p: _save(p, {**a, labels: a[labels][:-1]})),
        ("labels-1d", lambda p: _save(p, {**a, labels: a[labels].ravel()})),
        ("crops-long", lambda p: _save(p, {**a, "media.crop_frames": np.r_[a[
            "media.crop_frames"], 7]})),
        ("meta-garbage", lambda p: _save(p, {**a, "meta": np.frombuffer(b"{no", np.uint8)})),
        ("meta-old-version", lambda p: _save(p, _meta(a, lambda m: m.update(version=1)))),
        ("meta-other-fingerprint", lambda p: _save(p, _meta(a, lambda m: m.update(
            fingerprint="f" * 20)))),
        ("meta-rows-wrong", lambda p: _save(p, _meta(a, lambda m: m["tracks"]["VA"][
            "rows"][0].__setitem__(3, 999)))),
        ("meta-no-tracks", lambda p: _save(p, _meta(a, lambda m: m.pop("tracks")))),
        ("a-folder", lambda p: (p.unlink(), p.mkdir())),
    ]
    return cases


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean") / "data"
    tree(root)
    index = load_index(root, 10)
    cache_file = root / ".abaw-index" / f"{index.fingerprint}.npz"
    return root, index, cache_file


N_DAMAGE = 31   # len(damage_cases(...)) on the fixture: 10 truncations, 7 flips, 14 others


@pytest.mark.parametrize("k", range(N_DAMAGE))
def test_a_damaged_cache_is_rebuilt_never_trusted(k, clean, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    src, want, _ = clean
    root = tmp_path / "data"
    shutil.copytree(src, root)
    cache_file = root / ".abaw-index" / f"{want.fingerprint}.npz"
    cases = damage_cases(cache_file)
    assert len(cases) == N_DAMAGE
    name, damage = cases[k]
    damage(cache_file)
    rebuilt = []
    real = build.Builder.run
    monkeypatch.setattr(build.Builder, "run", lambda self, p: rebuilt.append(1) or real(self, p))
    got = load_index(root, 10)
    assert rebuilt == [1], name                          # not served from the damaged file
    assert got.fingerprint == want.fingerprint and got.ids("VA", "train") == want.ids("VA", "train")
    np.testing.assert_array_equal(got.sequence("VA", "102").labels,
                                  want.sequence("VA", "102").labels)
    assert load_index(root, 10).fingerprint == want.fingerprint   # and the cache is good again
    if cache_file.is_file():
        damage(cache_file)                               # damaged again, for a command
    sub = tmp_path / "sub.txt"                           # that loads the index
    rows = (root / "ABAW Annotations" / "ABAW_Expr_test_set_example.txt").read_text().splitlines()
    sub.write_text("\n".join(rows[:1] + [r + str(i % 8) for i, r in enumerate(rows[1:])]) + "\n")
    try:
        code = main(["validate", str(sub), "-t", "expr", "-e", "10", "--root", str(root)])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err and "aborted" not in out.err, out.err


def test_the_case_count_is_what_the_fixture_makes(clean, tmp_path):
    shutil.copyfile(clean[2], tmp_path / "c.npz")
    assert len(damage_cases(tmp_path / "c.npz")) == N_DAMAGE
    assert os.path.getsize(clean[2]) > 200
