"""The template is the authority on rows: with --root and no --template the template found under
the root is used (never the index's sorted ids); templates are recognised by ordinal, track and
`test_set` whatever their spelling; edition 3's MTL list may sit at the root.

The twin's templates list their videos in an order that is not sorted (as real ones do), and the
hand-made trees here put `44-25-426x240` before `216`.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import data_trees as D
import numpy as np
import pytest

from abaw import protocol
from abaw.core.prediction_set import PredictionSet
from abaw.data import load_index
from abaw.data.layout import discover
from abaw.errors import AbawError
from abaw.formats import validate
from abaw.formats.package import submit


@pytest.fixture(scope="module")
def twin6(tmp_path_factory):
    from abaw.data.synth import synthesize

    return synthesize(tmp_path_factory.mktemp("tw") / "ed6", 6, size="tiny", seed=1, images=False)


def template_of(root, track):
    return next(root.rglob(protocol.template_name(track, 6)))


def videos_in_order(path):
    keys = [line.split(",", 1)[0] for line in path.read_text().splitlines()[1:]]
    return list(dict.fromkeys(k.rsplit("/", 1)[0] for k in keys))


TRACKS6 = ["VA", "EXPR", "AU", "CE"]


@pytest.mark.parametrize("track", TRACKS6)
@pytest.mark.parametrize("given", ["root", "template", "both"])
def test_the_templates_own_copy_is_valid(track, given, twin6, tmp_path):
    tpl = template_of(twin6, track)
    order = videos_in_order(tpl)
    if track != "CE":
        assert order != sorted(order)                  # the case a sorting writer got wrong
    copy = tmp_path / tpl.name
    shutil.copyfile(tpl, copy)                         # edition 6 templates hold dummy values
    kw = {"root": {"root": twin6}, "template": {"template": tpl},
          "both": {"root": twin6, "template": tpl}}[given]
    report = validate(copy, track, 6, **kw)
    assert report.valid, report.text_lines()
    assert "template_dummy" in report.counts           # well-formed and worthless: a warning


@pytest.mark.parametrize("track", ["VA", "EXPR", "AU"])
@pytest.mark.parametrize("given", ["root", "template"])
def test_two_swapped_videos_are_named(track, given, twin6, tmp_path):
    tpl = template_of(twin6, track)
    lines = tpl.read_text().splitlines()
    order = videos_in_order(tpl)
    a, b = order[0], order[1]
    block = {v: [s for s in lines[1:] if s.startswith(v + "/")] for v in order}
    swapped = [lines[0]] + block[b] + block[a] + [s for v in order[2:] for s in block[v]]
    sub = tmp_path / "swapped.txt"
    sub.write_text("\n".join(swapped) + "\n")
    kw = {"root": twin6} if given == "root" else {"template": tpl}
    report = validate(sub, track, 6, **kw)
    assert not report.valid and {k for k in report.counts if report.is_error(k)} == {"row_order"}
    text = " ".join(report.text_lines())
    assert f"'{a}/" in text and f"'{b}/" in text


def test_submit_with_only_the_root_writes_the_templates_rows(twin6, tmp_path):
    index = load_index(twin6, 6)
    for track in ("VA", "EXPR", "AU"):
        rng = np.random.default_rng(0)
        per = {i: (index.sequence(track, i).frames,
                   rng.random((len(index.sequence(track, i).frames),
                               len(protocol.rules(track, 6).names))))
               for i in index.ids(track, "test")}
        preds = PredictionSet.from_videos(track, 6, per, provenance={"run": f"r-{track}"})
        sub = submit(preds, tmp_path / "out", root=twin6)
        written = sub.written.path.read_text().splitlines()
        expected = template_of(twin6, track).read_text().splitlines()
        assert [s.split(",", 1)[0] for s in written] == [s.split(",", 1)[0] for s in expected]
        assert sub.written.path.name == template_of(twin6, track).name
        # each row holds its own video's prediction at its own frame, decoded by hand here
        for line in written[1:]:
            key, values = line.split(",", 1)
            video, name = key.rsplit("/", 1)
            frames, raw = per[video]
            out = raw[list(frames).index(int(name.split(".")[0]))]
            want = {"VA": lambda o: list(np.clip(o, -1, 1)), "EXPR": lambda o: [np.argmax(o)],
                    "AU": lambda o: list((o >= 0.5).astype(int))}[track](out)
            assert np.allclose([float(x) for x in values.split(",")], want, atol=5e-7), line


def test_no_template_anywhere_says_where_it_looked(twin6, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(twin6, root)
    template_of(root, "EXPR").unlink()
    with pytest.raises(AbawError) as e:
        validate(_any_file(tmp_path), "EXPR", 6, root=root)
    msg = str(e.value)
    assert "found no EXPR template" in msg and "*Expr*test_set*.txt" in msg
    assert protocol.template_name("EXPR", 6) in msg and "--template" in msg


def _any_file(tmp_path):
    path = tmp_path / "sub.txt"
    path.write_text("image_location\n")
    return path


# --- template names as teams' copies spell them ---------------------------------------------

ORDINAL = {5: "5th", 6: "6th", 8: "8th", 9: "9th"}
PREFIX = {5: "CVPR", 6: "CVPR", 8: "CVPR", 9: "ICCV"}


def name_variants():
    out = []
    for ed in (5, 6, 8, 9):
        for track in (("VA",) if ed == 9 else ("VA", "EXPR", "AU")):
            token = protocol.TEMPLATE_TRACK_TOKEN[track]
            for suffix in ("example", "sample"):
                for spelt in (token, token.upper()):
                    for place in ("root", "test_set_examples", "annotations"):
                        out.append((ed, track, f"{PREFIX[ed]}_{ORDINAL[ed]}_ABAW_{spelt}_"
                                               f"test_set_{suffix}.txt", place))
    return out


NAMES = name_variants()


@pytest.mark.parametrize("edition,track,name,place", NAMES,
                         ids=[f"{e}-{n}-{p}" for e, _, n, p in NAMES])
def test_an_editions_templates_are_found_by_ordinal_track_and_test_set(edition, track, name,
                                                                        place, tmp_path):
    t = D.affwild(tmp_path, edition)
    if edition in (6, 8, 9):
        D.ce(tmp_path)
    folder = {"root": tmp_path, "test_set_examples": tmp_path / "test_set_examples",
              "annotations": t.ann}[place]
    header = protocol.rules(track, edition).prediction_header
    D.write(folder / name, header + "\n44-25-426x240/00001.jpg,\n216/00001.jpg,\n")
    lay = discover(tmp_path)                            # the edition is detected, not given
    assert lay.edition == edition
    assert lay.templates[track] == (folder / name).resolve()
    assert not [p for p in lay.problems if p.severity == "error"]


@pytest.mark.parametrize("place", ["root", "annotations", "MTL_Challenge"])
@pytest.mark.parametrize("name", ["Multi_Task_Learning_Challenge_test_set_release.txt",
                                  "MTL_test_set.txt"])
def test_edition3_mtl_test_list_may_sit_at_the_root(place, name, tmp_path):
    t = D.affwild(tmp_path, 3)
    info = D.mtl(tmp_path, 3)
    listed = (info["folder"] / "MTL_test_set.txt").read_text()
    (info["folder"] / "MTL_test_set.txt").unlink()
    folder = {"root": tmp_path, "annotations": t.ann, "MTL_Challenge": info["folder"]}[place]
    D.write(folder / name, listed)
    lay = discover(tmp_path)
    assert lay.edition == 3 and lay.mtl_files["test"] == (folder / name).resolve()
    index = load_index(tmp_path, cache=False)
    assert index.ids("MTL", "test") == ["13", "14_right"]


@pytest.mark.parametrize("track,edition,what", [("EXPR", 6, "template"), ("MTL", 7, "test list"),
                                                ("LSD", 4, "test list")])
def test_without_template_or_root_the_error_says_what_to_pass(track, edition, what, tmp_path):
    with pytest.raises(AbawError) as e:
        validate(_any_file(tmp_path), track, edition)
    assert str(e.value) == (f"{track} edition {edition}: found no {what}, expected --template FILE "
                            "(the organisers' file) or --root DATASET")


def test_no_mtl_test_list_under_the_root_says_where_it_looked(tmp_path):
    D.affwild(tmp_path, 3)
    (D.mtl(tmp_path, 3)["folder"] / "MTL_test_set.txt").unlink()
    with pytest.raises(AbawError) as e:
        validate(_any_file(tmp_path), "MTL", 3, root=tmp_path)
    assert str(e.value) == (
        f"{tmp_path}: found no MTL test list (looked for *test*.txt beside the MTL files, or "
        "MTL_test_set.txt / Multi_Task_Learning_Challenge_test_set_release.txt under it), "
        "expected the organisers' file: pass --template FILE")


def test_a_template_given_by_name_is_looked_for_under_the_root(twin6, tmp_path):
    tpl = template_of(twin6, "EXPR")
    copy = tmp_path / "copy.txt"
    shutil.copyfile(tpl, copy)
    report = validate(copy, "EXPR", 6, template=tpl.name, root=twin6)
    assert report.valid and report.checked["template rows"] == len(tpl.read_text().splitlines()) - 1
    for root, under in ((None, ""), (twin6, f" or under {twin6}")):
        with pytest.raises(AbawError) as e:
            validate(copy, "EXPR", 6, template="no_such_template.txt", root=root)
        assert str(e.value) == (f"no_such_template.txt: found no such file in {Path.cwd()}{under}, "
                                "expected the organisers' template or test list")


# --- the rows file of --root, and files named under it ---------------------------------------

def test_root_is_indexed_as_the_edition_given(tmp_path):
    """A tree that editions 6, 8 and 10 share, with a template named without its edition: the
    edition given says which one it is (detecting it would ask for --edition)."""
    tree = D.affwild(tmp_path, 8)
    header = protocol.rules("EXPR", 8).prediction_header
    D.write(tree.ann / "Expr_test_set_example.txt",
            header + "\n" + "".join(f"216/{f:05d}.jpg,\n" for f in range(1, 13)))
    sub = tmp_path / "s.txt"
    sub.write_text(header + "\n" + "".join(f"216/{f:05d}.jpg,{f % 8}\n" for f in range(1, 13)))
    report = validate(sub, "EXPR", 8, root=tmp_path)
    assert report.valid and report.checked["template rows"] == 12, report.text_lines()


def test_a_test_list_given_by_name_is_looked_for_under_the_root(tmp_path):
    D.affwild(tmp_path, 3)
    listed = D.mtl(tmp_path, 3)["test"]
    sub = tmp_path / "s.txt"
    sub.write_text(protocol.MTL_HEADER + "\n" + "".join(
        f"{v}/{f:05d}.jpg,0.1,0.2,3,{','.join('0' * 12)}\n" for v, f in listed))
    report = validate(sub, "MTL", 3, test_list="MTL_test_set.txt", root=tmp_path)
    assert report.checked["template rows"] == len(listed) and report.errors == 0


def _index_copy(twin6, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(twin6, root)
    return load_index(root, 6, cache=False)


def test_an_index_whose_template_is_gone_says_where_it_looked(twin6, tmp_path):
    index = _index_copy(twin6, tmp_path)
    template_of(index.root, "EXPR").unlink()             # indexed, then deleted
    with pytest.raises(AbawError) as e:
        validate(_any_file(tmp_path), "EXPR", 6, root=index)
    assert str(e.value).startswith(f"{index.root}: found no EXPR template (looked for ")


def test_test_rows_from_two_files_ask_for_the_template(twin6, tmp_path):
    index = _index_copy(twin6, tmp_path)
    tpl = template_of(index.root, "EXPR")
    shutil.copyfile(tpl, tpl.with_name("other.txt"))
    seqs = index.sequences["EXPR"]
    first = index.ids("EXPR", "test")[0]
    seqs[first] = replace(seqs[first], source=str(tpl.with_name("other.txt")
                                                  .relative_to(index.root)))
    with pytest.raises(AbawError) as e:
        validate(_any_file(tmp_path), "EXPR", 6, root=index)
    assert str(e.value).startswith(f"index of {index.root}: found EXPR test rows from 2 files (")
    assert str(e.value).endswith("expected one template: pass --template FILE")
