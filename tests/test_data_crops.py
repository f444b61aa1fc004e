"""A crop that can't be decoded (0 bytes, cut short, not a JPEG: an interrupted copy) is reported
with its path by `abaw data check` (not usable), and the index never lists it as a frame with a
face, so no later step stops on it. Real JPEGs of any size and quality are usable."""

from __future__ import annotations

import io

import data_trees as D
import numpy as np
import pytest
from PIL import Image

from abaw.cli import main
from abaw.data import build, load_index
from abaw.data.crops import unusable_crop
from abaw.errors import AbawError


def jpeg(size=112, quality=90, seed=0) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


GOOD = jpeg()
PNG = io.BytesIO()
Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(PNG, "PNG")

BROKEN = {
    "empty": b"",
    "one-byte": GOOD[:1],
    "start-marker-only": GOOD[:2],
    **{f"cut-at-{f}": GOOD[:int(len(GOOD) * f)] for f in (0.05, 0.25, 0.5, 0.75, 0.95)},
    "last-byte-missing": GOOD[:-1],
    "last-two-bytes-missing": GOOD[:-2],
    "zeros": bytes(len(GOOD)),
    "text": b"this is not an image\n",
    "png-named-jpg": PNG.getvalue(),
    "html-error-page": b"<html><body>404</body></html>",
    "big-cut": jpeg(size=400, quality=100)[:20000],
}
USABLE = {
    "stub": D.JPEG_STUB,
    **{f"q{q}-{s}px": jpeg(size=s, quality=q, seed=q) for q in (10, 50, 95) for s in (48, 112, 256)},
    "padded-after-end": GOOD + bytes(32),
}


def tree_with(root, data: bytes):
    t = D.affwild(root, 10)
    D.templates(t, {"44-25-426x240": 4, "216": 3})
    (root / "cropped_aligned" / "102" / "00002.jpg").write_bytes(data)
    return root / "cropped_aligned" / "102" / "00002.jpg"


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_crop_is_reported_and_never_indexed(name, tmp_path, capsys):
    bad = tree_with(tmp_path, BROKEN[name])
    try:
        code = main(["data", "check", str(tmp_path)])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr().out
    assert code == 1 and "not usable" in out
    assert "error cropped_aligned/102/00002.jpg: found" in out, out
    index = build.load_index(tmp_path, 10, cache=False, strict=False)
    assert 2 not in index.media["102"].crop_frames.tolist()
    assert index.media["102"].crop_frames.tolist() == [1, 4, 5]
    with pytest.raises(AbawError, match="cropped_aligned/102/00002.jpg"):
        load_index(tmp_path, 10, cache=False)
    assert unusable_crop(bad) is not None


@pytest.mark.parametrize("name", list(USABLE))
def test_a_decodable_crop_is_usable(name, tmp_path):
    crop = tree_with(tmp_path, USABLE[name])
    assert unusable_crop(crop) is None
    if name != "stub":
        with Image.open(crop) as im:
            im.load()                                   # PIL agrees: it decodes
    index = load_index(tmp_path, 10, cache=False)
    assert index.media["102"].crop_frames.tolist() == [1, 2, 4, 5]


def test_many_broken_crops_of_one_video_are_one_problem(tmp_path):
    tree_with(tmp_path, b"")
    for f in (1, 4):
        (tmp_path / "cropped_aligned" / "102" / f"{f:05d}.jpg").write_bytes(b"")
    index = build.load_index(tmp_path, 10, cache=False, strict=False)
    broken = [p for p in index.problems if "102" in p and "crops of '102' like it" in p]
    assert len(broken) == 1 and "(3 crops of '102' like it)" in broken[0]
    assert index.media["102"].crop_frames.tolist() == [5]
