"""The learning bars of the default demo recipes on the `small` twin (slow: `make test-slow`).

Each track runs the same path as `make demo` (random-init ResNet-18 first-stage features with an
8x8 layout, a small head, tuned post-processing) and must reach its bar and beat the best
constant prediction by a clear margin.
"""

import pytest

from abaw import pipeline
from abaw.cli.demo import twin_for
from tracks import get_track

BARS = {"va": 0.5, "expr": 0.5, "au": 0.6, "mtl": 1.6, "lsd": 0.5, "ce": 0.4}
MARGIN = 0.15  # above the constant baseline


@pytest.mark.slow
@pytest.mark.parametrize("track", list(BARS))
def test_demo_recipe_reaches_its_bar(track, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "learning-bars"
    root = twin_for(track, base, quiet=True)
    out = pipeline.run_track(get_track(track), root, recipe="demo", work=base / "runs",
                             out=base / "submissions", quiet=True)
    print(f"{track}: baseline {out.baseline:.3f}, raw {out.val_raw:.3f}, post {out.val_post:.3f}")
    assert out.val_post >= BARS[track]
    assert out.val_post >= out.baseline + MARGIN
