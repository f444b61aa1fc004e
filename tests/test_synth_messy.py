"""The messy twin: the default twin's own files, laid out as teams' copies of the releases are
(nested and duplicated crop folders, a second-download folder, other template names and places,
edition 3's MTL list at the root); it indexes to exactly the default twin's sequences and crops."""

import dataclasses
import re
import shutil
from collections import Counter

import numpy as np
import pytest
from test_synth import digest

from abaw import protocol
from abaw.data import load_index
from abaw.data.check import check_dataset
from abaw.data.synth import synthesize
from abaw.data.synth.messy import make_messy
from abaw.data.synth.plan import make_plan

INFO = ".truth/info.json"
COPIES = "cropped_aligned/cropped_aligned/"


@pytest.fixture(scope="module")
def ed8(tmp_path_factory):
    base = tmp_path_factory.mktemp("messy")
    return (synthesize(base / "plain", 8, "tiny", seed=0),
            synthesize(base / "messy", 8, "tiny", seed=0, messy=True))


def same_index(plain, messy):
    """The two trees index to the same sequences, labels and crop frames."""
    a, b = (load_index(t, cache=False, strict=False) for t in (plain, messy))
    assert a.edition == b.edition
    for track, seqs in a.sequences.items():
        assert set(seqs) == set(b.sequences[track]), track
        for id_, s in seqs.items():
            t = b.sequences[track][id_]
            assert (s.split, s.frames.tolist()) == (t.split, t.frames.tolist())
            np.testing.assert_array_equal(s.labels, t.labels)
    assert set(a.media) == set(b.media)
    for id_, m in a.media.items():
        assert m.crop_frames.tolist() == b.media[id_].crop_frames.tolist(), id_
    return a, b


def test_the_messy_tree_is_the_default_tree_rearranged(ed8):
    plain, messy = (digest(t) for t in ed8)
    kept = Counter(h for p, h in messy.items() if not p.startswith(COPIES) and p != INFO)
    assert kept == Counter(h for p, h in plain.items() if p != INFO)
    copies = [p for p in messy if p.startswith(COPIES)]
    assert copies and all(messy[p] == plain["cropped_aligned/" + p[len(COPIES):]] for p in copies)
    paths = "\n".join(messy)
    assert "cropped_aligned/cropped_aligned_new_50_vids/" in paths
    assert re.search(r"^cropped_aligned_image_test/[^/]* \(\d\)/cropped_aligned/[^/]+/\d{5}\.jpg$",
                     paths, re.M)
    spelt = {p for p in messy if p.endswith(".txt") and "test_set_" in p} - set(plain)
    assert any(p.startswith("test_set_examples/") for p in spelt)
    assert any(p.endswith("_test_set_sample.txt") for p in spelt)   # edition 8 says _example


def test_the_messy_tree_indexes_like_the_default_one(ed8):
    plain, messy = ed8
    a, b = same_index(plain, messy)
    test_ids = {i for t in ("VA", "EXPR", "AU") for i in a.ids(t, "test")}
    assert {b.media[i].crop_dir.rsplit("/", 1)[0] for i in test_ids} == {
        str(p.relative_to(messy)) for p in (messy / "cropped_aligned_image_test").glob("*/*")}
    moved = {i for i, m in b.media.items() if m.crop_dir != a.media[i].crop_dir} - test_ids
    assert moved and all(b.media[i].crop_dir.startswith("cropped_aligned/cropped_aligned_new_50_vids/")
                         for i in moved)
    report = check_dataset(messy)
    assert report.ok and check_dataset(plain).problems == []
    copies = [p for p in report.problems if p.file.startswith(COPIES)]
    assert copies == report.problems and all(p.severity == "warning" for p in copies)
    assert set(report.crop_sources) == {m.crop_dir.rsplit("/", 1)[0] for m in b.media.values()}


def test_edition3_mtl_list_at_the_root_and_a_test_list_in_a_folder(tmp_path):
    plain = synthesize(tmp_path / "plain", 3, "tiny", seed=2, images=False)
    messy = synthesize(tmp_path / "messy", 3, "tiny", seed=2, images=False, messy=True)
    assert (messy / protocol.MTL_TEST_LIST_ED3).is_file()
    assert not list(messy.rglob(protocol.MTL_TEST_LIST))
    assert [p.name for p in (messy / "test_set").iterdir()] in [
        [n] for n in protocol.TEST_LISTS_ED3.values()]
    a, b = same_index(plain, messy)
    assert b.ids("MTL", "test") == a.ids("MTL", "test") != []
    # without images the test lengths are unknown: the same problems, named where they are now
    assert sorted(p.replace("test_set/", "") for p in b.problems) == sorted(a.problems)


def test_the_seed_chooses_and_the_same_seed_gives_the_same_bytes(ed8, tmp_path):
    plan = make_plan(8, "tiny", 0)
    layouts = []
    for seed in (0, 0, 1, 2, 3):
        copy = shutil.copytree(ed8[0], tmp_path / f"s{len(layouts)}")
        make_messy(copy, dataclasses.replace(plan, seed=seed))
        layouts.append(digest(copy))
    assert layouts[0] == layouts[1]
    assert layouts[0] == {p: h for p, h in digest(ed8[1]).items() if p != INFO} | {
        INFO: layouts[0][INFO]}
    assert len({tuple(sorted(d)) for d in layouts}) > 2
