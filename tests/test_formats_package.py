"""`abaw submit` (write, validate, zip + manifest; refuse what does not validate) and the
`abaw validate` command (exit status 0 / 1 / 2, grouped text, --json)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from formats_cases import VIDEOS, id_list, make_preds, write_list

from abaw.cli import main
from abaw.data.index import DatasetIndex, Sequence
from abaw.errors import AbawError
from abaw.formats import package, validate, write_submission
from abaw.formats.report import Report


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_submit_packs_a_validated_file_with_its_manifest(tmp_path):
    tpl = write_list(tmp_path, "VA", 8)
    preds = make_preds("VA", 8).replace(post={"smooth": {"valence": 30}})
    npz = preds.save(tmp_path / "run" / "predictions" / "test.npz")
    sub = package.submit(tmp_path / "run", tmp_path / "out", template=tpl, fill="linear")
    with zipfile.ZipFile(sub.zip_path) as z:
        assert z.namelist() == [tpl.name]
        data = z.read(tpl.name)
    m = json.loads(sub.manifest_path.read_text())
    assert m == sub.manifest
    assert m["track"] == "VA" and m["edition"] == 8
    assert m["rows_from"]["sha256"] == sha(tpl.read_bytes())
    assert m["files"] == [{"name": tpl.name, "sha256": sha(data), "bytes": len(data)}]
    assert m["zip"]["sha256"] == sha(sub.zip_path.read_bytes())
    assert m["predictions"]["sha256"] == sha(npz.read_bytes())
    assert m["predictions"]["provenance"]["post"] == {"smooth": {"valence": 30}}
    assert m["post_processing"]["fill"] == "linear" and m["post_processing"]["decimals"] == 6
    assert m["post_processing"]["filled_frames"] == sum(sub.written.filled.values()) > 0
    assert m["validation"]["valid"] and m["code_version"]
    again = package.submit(preds, tmp_path / "out2", template=tpl, fill="linear")
    assert again.zip_path.read_bytes() == sub.zip_path.read_bytes()     # reproducible zip


def test_submit_per_video_from_an_index(tmp_path):
    seqs = {"AU": {v: Sequence(v, "AU", "test", list(range(1, n + 1)), None)
                   for v, n in VIDEOS.items()}}
    index = DatasetIndex(tmp_path, 3, "x", seqs)
    sub = package.submit(make_preds("AU", 3), tmp_path / "out", root=index, layout="annotation",
                         thresholds=0.4)
    with zipfile.ZipFile(sub.zip_path) as z:
        assert sorted(z.namelist()) == sorted(f"AU_Detection_Challenge/{v}.txt" for v in VIDEOS)
    assert set(sub.manifest["post_processing"]["au_thresholds"].values()) == {0.4}
    assert sub.manifest["post_processing"]["layout"] == "annotation"


def test_per_video_submission_checked_against_the_test_list_alone(tmp_path):
    """Without the dataset the ids are checked, and the frame counts reported unchecked."""
    written = write_submission(make_preds("VA", 2), tmp_path / "sub", test_list=list(VIDEOS),
                               lengths=dict(VIDEOS))
    report = validate(written.path, "VA", 2, test_list=id_list(tmp_path))
    assert report.verdict == "not checked" and report.errors == report.warnings == 0
    assert report.unchecked == ["the per-video lengths (pass --root: the dataset with the test "
                                "videos)"]
    report = validate(written.path, "VA", 2, test_list=id_list(tmp_path, [*VIDEOS, "999"]))
    assert report.verdict == "invalid"


def test_submit_refuses_what_does_not_validate(tmp_path, monkeypatch):
    tpl = write_list(tmp_path, "EXPR", 8)

    def broken(path, track, edition, **kw):
        r = Report(str(path), track, edition)
        r.add("header", path, 1, "'x'", "'y'")
        return r
    monkeypatch.setattr(package, "validate", broken)
    with pytest.raises(package.InvalidSubmission, match="nothing was packed") as e:
        package.submit(make_preds("EXPR", 8), tmp_path / "out", template=tpl)
    assert e.value.exit_code == 1 and e.value.report.counts["header"] == 1
    assert not list((tmp_path / "out").glob("*.zip"))
    assert not list((tmp_path / "out").glob("*.json"))


def test_submit_needs_a_template_or_root(tmp_path):
    with pytest.raises(AbawError, match="template"):
        package.submit(make_preds("CE", 7), tmp_path / "out")
    with pytest.raises(AbawError, match="predictions/test.npz"):
        package.submit(tmp_path, tmp_path / "out")


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_command_exit_status_and_output(tmp_path, capsys):
    tpl = write_list(tmp_path, "EXPR", 8)
    good = package.submit(make_preds("EXPR", 8), tmp_path / "out", template=tpl)
    ok = good.written.path
    code, out, _ = run(["validate", str(ok), "--track", "expr", "--edition", "8",
                        "--template", str(tpl)], capsys)
    assert code == 0 and "valid EXPR submission" in out
    code, out, _ = run(["validate", str(good.zip_path), "-t", "EXPR", "-e", "8",
                        "--template", str(tpl)], capsys)
    assert code == 0
    bad = tmp_path / "bad.txt"
    lines = ok.read_text().splitlines()
    bad.write_text("\n".join(lines[:1] + [s.rsplit(",", 1)[0] + ",Happiness" for s in lines[1:]])
                   + "\n")
    code, out, _ = run(["validate", str(bad), "--track", "expr", "--edition", "8",
                        "--template", str(tpl), "--max-examples", "2"], capsys)
    assert code == 1 and "class_name" in out and f"and {len(lines) - 3} more" in out
    code, out, _ = run(["validate", str(bad), "--track", "expr", "--edition", "8",
                        "--template", str(tpl), "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and not report["valid"]
    assert report["kinds"]["class_name"]["count"] == len(lines) - 1


@pytest.mark.parametrize("argv,words", [
    (["validate", "missing.txt", "--track", "va", "--edition", "8", "--template", "t"],
     "not found"),
    (["validate", "PATH", "--track", "va", "--edition", "8"], "expected --template"),
    (["validate", "PATH", "--track", "lsd", "--edition", "8", "--template", "t"], "track"),
    (["validate", "PATH", "--track", "va"], "Missing option"),
])
def test_validate_command_usage_errors_exit_2(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "PATH").write_text("x\n")
    code, out, err = run(argv, capsys)
    assert code == 2 and words in err + out


def test_submit_command(tmp_path, capsys):
    tpl = write_list(tmp_path, "LSD", 4)
    npz = make_preds("LSD", 4).save(tmp_path / "lsd.npz")
    code, out, _ = run(["submit", str(npz), "--out", str(tmp_path / "subs"), "--test-list",
                        str(tpl), "--name", "lsd_try1"], capsys)
    assert code == 0 and "lsd_try1.zip" in out
    assert (tmp_path / "subs" / "lsd_try1.manifest.json").is_file()
    code, out, err = run(["submit", str(npz), "--out", str(tmp_path / "subs"), "--test-list",
                          str(tpl), "--thresholds", "a,b"], capsys)
    assert code == 2 and "--thresholds" in err
