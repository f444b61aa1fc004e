"""The messy variant of a twin (`synthesize(..., messy=True)`, `abaw data synth OUT --messy`): the
same people, labels, crops and test rows, laid out the way teams' copies of the releases are.

- Crops nested: the extra crop folder of later editions, and a few videos of the main one, inside
  `cropped_aligned/cropped_aligned_new_50_vids/`.
- Crops duplicated: identical copies of a few videos' crops in `cropped_aligned/cropped_aligned/`
  (an archive unpacked twice).
- Test crops apart: the test videos' crops under
  `cropped_aligned_image_test/<folder>/cropped_aligned/`, the folder named with spaces and
  parentheses as a browser names a second download (`batch1 (1)`).
- Templates (editions 5+): one track's template under the other spelling seen in teams' code
  (`_sample` / `_example`), one (maybe the same) in a `test_set_examples/` folder. Test lists
  (editions 1-3): one in a `test_set/` folder.
- Edition 3: the MTL test list at the root, under its edition-3 name, beside the other lists.

Every variant is present in every messy tree that has crops / templates; which videos, track,
spelling and folder name is drawn from the seed (its own random stream), so a messy tree is
byte-identical by seed, and the default tree is untouched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.data.synth.layout import annotation_root
from abaw.data.synth.plan import MESSY, NEW_CROP_FOLDER, Plan

TEST_CROPS = "cropped_aligned_image_test"
# what a browser or an unpacker calls a second copy of a folder
COPY_NAMES = ("batch1 (1)", "batch2 (1)", "batch1 (2)", "test batch (1)")
SPELLINGS = ("_test_set_example.txt", "_test_set_sample.txt")
TEMPLATE_FOLDER = "test_set_examples"
LIST_FOLDER = "test_set"


def make_messy(root: Path, plan: Plan) -> None:
    """Rearrange a finished tree at `root` (nothing is added but identical crop copies)."""
    rng = np.random.default_rng([plan.seed, MESSY, 0])
    if (root / protocol.CROP_FOLDER).is_dir():
        _crops(root, plan, rng)
    _test_files(root, plan, rng)
    if plan.edition == 3:
        files = protocol.MTL_FILES[3]
        listed = root / annotation_root(3) / files["folder"] / protocol.MTL_TEST_LIST
        if listed.is_file():
            os.replace(listed, root / protocol.MTL_TEST_LIST_ED3)


def _pick(rng, ids: list, share: float) -> list:
    """At least one of `ids`, about `share` of them, sorted."""
    if not ids:
        return []
    k = min(len(ids), max(1, round(share * len(ids))))
    return sorted(rng.choice(ids, k, replace=False).tolist())


def _videos(folder: Path) -> list:
    return sorted(d.name for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []


def _crops(root: Path, plan: Plan, rng) -> None:
    main = root / protocol.CROP_FOLDER
    nested = main / NEW_CROP_FOLDER
    if (root / NEW_CROP_FOLDER).is_dir():
        os.replace(root / NEW_CROP_FOLDER, nested)
    test = {p.id for p in plan.persons if p.split == "test"}
    apart = root / TEST_CROPS / COPY_NAMES[int(rng.integers(len(COPY_NAMES)))] / protocol.CROP_FOLDER
    apart.mkdir(parents=True)
    for folder in (main, nested):
        for vid in [v for v in _videos(folder) if v in test]:
            os.replace(folder / vid, apart / vid)
    rest = [v for v in _videos(main) if v != NEW_CROP_FOLDER]
    moved = _pick(rng, rest, 0.1)
    for vid in moved:
        nested.mkdir(exist_ok=True)
        os.replace(main / vid, nested / vid)
    for vid in _pick(rng, [v for v in rest if v not in moved], 0.1):
        shutil.copytree(main / vid, main / protocol.CROP_FOLDER / vid)


def _test_files(root: Path, plan: Plan, rng) -> None:
    ed = protocol.EDITIONS[plan.edition]
    tracks = [t for t in ("VA", "EXPR", "AU") if t in ed.tracks]
    if ed.submission == "per_video":
        lists = [root / protocol.TEST_LISTS_ED3[t] for t in tracks]
        lists = [p for p in lists if p.is_file()]
        if lists:
            chosen = lists[int(rng.integers(len(lists)))]
            (root / LIST_FOLDER).mkdir()
            os.replace(chosen, root / LIST_FOLDER / chosen.name)
        return
    templates = [root / protocol.template_name(t, plan.edition) for t in tracks]
    templates = [p for p in templates if p.is_file()]
    if not templates:
        return
    renamed = templates[int(rng.integers(len(templates)))]
    old = next(s for s in SPELLINGS if renamed.name.endswith(s))
    new = renamed.with_name(renamed.name[: -len(old)] + SPELLINGS[1 - SPELLINGS.index(old)])
    os.replace(renamed, new)
    templates = [new if p == renamed else p for p in templates]
    moved = templates[int(rng.integers(len(templates)))]
    (root / TEMPLATE_FOLDER).mkdir()
    os.replace(moved, root / TEMPLATE_FOLDER / moved.name)
