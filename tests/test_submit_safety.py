"""`abaw submit` never writes outside the folder it was given, never replaces a folder it did not
make, never loses another run's zip, and changes a zip and its manifest together or not at all
(a `kill -9` between any two steps is simulated in a child process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from formats_cases import VIDEOS, make_preds, write_list

from abaw.cli import main
from abaw.data.index import DatasetIndex, Sequence
from abaw.errors import AbawError
from abaw.formats import package
from abaw.formats import submissions as shelf
from abaw.formats.templates import sha256_file

REPO = Path(__file__).resolve().parents[1]


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def snapshot(root: Path, skip: Path | None = None) -> dict:
    """Every file and folder under root (outside `skip`) with its content's checksum."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            if skip is not None and (p == skip or skip in p.parents):
                continue
            out[p.relative_to(root).as_posix()] = (sha256_file(p) if p.is_file() and
                                                    not p.is_symlink() else "dir")
    return out


BAD_NAMES = ["", ".", "..", "../x", "../../notes", "../subs2/x", "/abs", "/tmp/evil", "a/b",
             "a\\b", "..\\x", "C:x", "c:\\x", "x\x00y", " x", "x ", ".hidden", "-rf", "a\nb",
             "名前", "a:b", "a*b", "x" * 129, "~", "~/x", "$HOME", "a|b", "a;b", "\\\\srv\\x",
             "x/", "./x", "x/.", "nul\x00", "\t", "a b"]
GOOD_NAMES = ["lsd_try1", "a.b", "A-1+2", "x" * 128, "_x", "9"]


@pytest.fixture()
def lsd(tmp_path):
    tpl = write_list(tmp_path, "LSD", 4)
    npz = make_preds("LSD", 4).save(tmp_path / "lsd.npz")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    return tpl, npz


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_a_name_is_a_plain_file_name_or_a_one_line_error(name, lsd, tmp_path, capsys):
    tpl, npz = lsd
    before = snapshot(tmp_path)
    code, out, err = run(["submit", str(npz), "--out", str(tmp_path / "subs"), "--test-list",
                          str(tpl), "--name", name], capsys)
    assert code == 2 and err.startswith("error: --name: found") and err.count("\n") == 1, err
    assert snapshot(tmp_path) == before                 # nothing written, anywhere


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_plain_names_are_taken(name, lsd, tmp_path, capsys):
    tpl, npz = lsd
    code, out, err = run(["submit", str(npz), "--out", str(tmp_path / "subs"), "--test-list",
                          str(tpl), "--name", name], capsys)
    assert code == 0, err
    assert (tmp_path / "subs" / f"{name}.zip").is_file()


def per_video_index(tmp_path):
    seqs = {"AU": {v: Sequence(v, "AU", "test", list(range(1, n + 1)), None)
                   for v, n in VIDEOS.items()}}
    return DatasetIndex(tmp_path, 3, "x", seqs)


@pytest.mark.parametrize("edition", [3, 8])
@pytest.mark.parametrize("what", ["folder", "empty-folder", "link", "file"])
def test_a_folder_abaw_did_not_make_is_never_replaced(what, edition, tmp_path):
    out = tmp_path / "subs"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "results.csv").write_text("a user's file")
    target = out / "mine"
    out.mkdir()
    if what == "folder":
        target.mkdir()
        (target / "draft.txt").write_text("a user's draft")
    elif what == "empty-folder":
        target.mkdir()
    elif what == "link":
        target.symlink_to(theirs, target_is_directory=True)
    else:
        target.write_text("a user's file")
    kw = dict(root=per_video_index(tmp_path)) if edition == 3 else \
        dict(template=write_list(tmp_path, "AU", 8))
    before = snapshot(tmp_path)
    with pytest.raises(AbawError, match="mine"):
        package.submit(make_preds("AU", edition), out, name="mine", **kw)
    assert snapshot(tmp_path) == before


def test_nothing_outside_the_out_folder_changes_over_many_submits(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.txt").write_text("x")
    tpl = write_list(tmp_path / "data", "EXPR", 8)
    out = tmp_path / "subs"
    before = snapshot(tmp_path, skip=out)
    for k in range(4):
        package.submit(_set("EXPR", 8, f"runs/expr/r{k % 2}", seed=k), out, template=tpl)
    package.submit(make_preds("AU", 3), out, root=per_video_index(tmp_path))
    assert snapshot(tmp_path, skip=out) == before
    assert sorted(p.name for p in out.glob("*.zip")) == [
        "au_ed3_test.zip", "expr_ed8_r0.zip", "expr_ed8_r1.zip"]


def _set(track, edition, run, seed=0, **prov):
    preds = make_preds(track, edition, seed=seed)
    preds.provenance.update(run=run, **prov)
    return preds


def test_zips_are_named_by_run_and_never_replace_another_runs(tmp_path, capsys):
    tpl = write_list(tmp_path, "VA", 8)
    out = tmp_path / "subs"
    first = package.submit(_set("VA", 8, "runs/va/good", val_score=0.61,
                                post={"scores": {"raw": 0.55, "tuned": 0.6}}), out, template=tpl)
    assert first.zip_path.name == "va_ed8_good.zip"
    assert first.manifest["scores"] == {"val": 0.61, "post.raw": 0.55, "post.tuned": 0.6}
    kept = first.zip_path.read_bytes()
    other = package.submit(_set("VA", 8, "elsewhere/good", seed=1), out, template=tpl)
    assert other.zip_path.name == "va_ed8_good-2.zip"          # same name, another run
    assert first.zip_path.read_bytes() == kept
    again = package.submit(_set("VA", 8, "runs/va/good", seed=2), out, template=tpl)
    assert again.zip_path == first.zip_path                   # the same run, submitted again
    with pytest.raises(AbawError, match="choose another --name; nothing was overwritten"):
        package.submit(_set("VA", 8, "runs/va/worse", seed=3), out, template=tpl,
                       name="va_ed8_good")
    (out / "mine.zip").write_bytes(b"a zip abaw did not write")
    with pytest.raises(AbawError, match="a file abaw did not write"):
        package.submit(_set("VA", 8, "runs/va/x"), out, template=tpl, name="mine")
    assert (out / "mine.zip").read_bytes() == b"a zip abaw did not write"
    npz = make_preds("VA", 8).save(tmp_path / "runs" / "r7" / "predictions" / "test.npz")
    code, text, err = run(["submit", str(tmp_path / "runs" / "r7"), "--out", str(out),
                           "--template", str(tpl)], capsys)
    assert code == 0 and "va_ed8_test.zip" in text, err          # provenance run 'test'
    assert npz.is_file()


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_zips_have_ordinary_permissions(umask, tmp_path):
    old = os.umask(umask)
    try:
        sub = package.submit(make_preds("EXPR", 8), tmp_path / "subs",
                             template=write_list(tmp_path, "EXPR", 8))
    finally:
        os.umask(old)
    for p in (sub.zip_path, sub.manifest_path, sub.written.path):
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p


CHILD = """
import os, sys
from abaw.formats.package import submit
from abaw.core.prediction_set import PredictionSet
k, count, real = int(sys.argv[1]), [0], os.replace
def replace(a, b):
    count[0] += 1
    if count[0] == k:
        os._exit(9)                       # like kill -9: no cleanup runs
    real(a, b)
os.replace = replace
submit(PredictionSet.load(sys.argv[2]), sys.argv[3], template=sys.argv[4])
print(count[0])
"""


def child(k, npz, out, tpl) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, str(k), str(npz), str(out), str(tpl)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_kill_between_any_two_steps_keeps_the_zip_and_manifest_together(tmp_path):
    tpl = write_list(tmp_path, "VA", 8)
    old_set = _set("VA", 8, "runs/va/r1", seed=0).save(tmp_path / "old.npz")
    new_set = _set("VA", 8, "runs/va/r1", seed=5).save(tmp_path / "new.npz")
    assert child(10 ** 6, old_set, tmp_path / "probe", tpl).returncode == 0
    probe = child(10 ** 6, new_set, tmp_path / "probe", tpl)      # over an existing submission
    steps = int(probe.stdout)
    assert probe.returncode == 0 and steps >= 4
    outcomes = set()
    first = tmp_path / "first"
    assert child(10 ** 6, old_set, first, tpl).returncode == 0
    for k in range(1, steps + 2):
        out = tmp_path / f"out{k}"
        shutil.copytree(first, out, symlinks=True)
        old = json.loads((out / "va_ed8_r1.manifest.json").read_text())["zip"]["sha256"]
        res = child(k, new_set, out, tpl)
        assert res.returncode == (9 if k <= steps else 0), res.stderr
        shelf.recover(out)                           # what the next submit / listing does first
        zip_sha = sha256_file(out / "va_ed8_r1.zip")
        manifest = json.loads((out / "va_ed8_r1.manifest.json").read_text())
        assert manifest["zip"]["sha256"] == zip_sha, k      # a pair, whatever the step
        outcomes.add("old" if zip_sha == old else "new")
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")], k
        with zipfile.ZipFile(out / "va_ed8_r1.zip") as z:
            assert z.testzip() is None
    assert outcomes == {"old", "new"}


def test_submissions_lists_scores_and_upload_marks(tmp_path, capsys):
    tpl = write_list(tmp_path, "EXPR", 8)
    out = tmp_path / "subs"
    a = package.submit(_set("EXPR", 8, "runs/expr/a", val_score=0.41), out, template=tpl)
    b = package.submit(_set("EXPR", 8, "runs/expr/b", seed=1, val_score=0.44), out, template=tpl)
    code, text, err = run(["submissions", str(out), "--mark-uploaded", str(b.zip_path)], capsys)
    assert code == 0 and "marked uploaded" in text, err
    code, text, _ = run(["submissions", str(out), "--json"], capsys)
    rows = {r["zip"]: r for r in json.loads(text)}
    assert set(rows) == {a.zip_path.name, b.zip_path.name}
    assert rows[b.zip_path.name]["uploaded"] and not rows[a.zip_path.name]["uploaded"]
    assert rows[a.zip_path.name]["scores"] == {"val": 0.41}
    assert {r["state"] for r in rows.values()} == {"ok"} and rows[a.zip_path.name]["track"] == "EXPR"
    code, text, _ = run(["submissions", str(out)], capsys)
    assert code == 0 and "(last)" in text and "0.4400" in text
    a.zip_path.write_bytes(a.zip_path.read_bytes() + b"x")
    code, text, _ = run(["submissions", str(out), "--json"], capsys)
    assert {r["zip"]: r["state"] for r in json.loads(text)}[a.zip_path.name] == "zip changed"
    code, _, err = run(["submissions", str(out), "--mark-uploaded", str(a.zip_path)], capsys)
    assert code == 2 and "differs from its manifest" in err
