"""Every recipe file runs as shipped: `abaw run --recipe TRACK/NAME` end to end on the tiny twin,
with tiny random models of its backbones' real classes in $ABAW_MODELS (written by `abaw models
tiny`, as a user without weights would), to a zip the validator accepts. Nothing is made by hand
and nothing of the recipe is changed but its epochs. A new recipe file is tested automatically.
"""

import json
from pathlib import Path

import pytest

from abaw.cli import main
from abaw.formats.validator import validate
from abaw.pipeline.stages import makes
from abaw.recipe import load_recipe
from tracks import get_track

RECIPES = sorted(Path(__file__).parents[1].glob("tracks/*/recipes/*.toml"))
EDITION = {"va": 8, "expr": 8, "au": 8, "ce": 8, "mtl": 4, "lsd": 4}
SHRINK = ["optim.epochs=1", "stages.image_epochs=1"]


def name_of(path: Path) -> str:
    return f"{path.parts[-3]}/{path.stem}"


def cli(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import os

    import torch

    from abaw.data.synth import synthesize

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("recipes")
    assert cli(["models", "tiny", str(base / "models")]) in (0, None)
    old = os.environ.get("ABAW_MODELS")
    os.environ["ABAW_MODELS"] = str(base / "models")
    roots = {ed: synthesize(base / f"ed{ed}", edition=ed, size="tiny", seed=1) for ed in (8, 4)}
    yield base, roots
    if old is None:
        os.environ.pop("ABAW_MODELS", None)
    else:
        os.environ["ABAW_MODELS"] = old


def write_texts(root: Path, folder: str) -> None:
    """One text file per annotation id of `root`, two segments each (the format of
    abaw/features/text.py)."""
    from abaw.data import load_index

    index = load_index(root)
    (root / folder).mkdir(exist_ok=True)
    for id in sorted({i for seqs in index.sequences.values() for i in seqs}):
        (root / folder / f"{id}.txt").write_text("1,40,the person smiles\n41,9999,frowns\n")


@pytest.mark.parametrize("path", [pytest.param(p, id=name_of(p)) for p in RECIPES])
def test_recipe_runs_as_shipped(env, path, capsys):
    base, roots = env
    key, name = path.parts[-3], path.stem
    root, work, out = roots[EDITION[key]], base / "work", base / "submissions"
    for folder in load_recipe(path, SHRINK, track=key).features.inputs.values():
        write_texts(root, folder)   # the text files a user makes for a text backbone
    code = cli(["run", "--recipe", f"{key}/{name}", "--root", str(root), "--work", str(work),
                "--out", str(out), "--quiet", *[a for s in SHRINK for a in ("--set", s)]])
    err = capsys.readouterr().err
    assert code in (0, None), err[-2000:]
    runs = sorted((work / key).glob(f"{name}-*/summary.json"))
    summary = json.loads(runs[-1].read_text())
    report = validate(summary["zip_path"], key.upper(), summary["edition"], root=root)
    assert report.valid, report.problems()[:3]
    # what the recipe's stages make is where `makes` says (what a preflight check reads)
    cfg = load_recipe(path, SHRINK, track=key)
    source = get_track(cfg.pipeline.derive_from or key)
    for made, stage in makes(cfg, source, root, work, EDITION[key]).items():
        assert made.exists(), f"stage {stage}: {made} was not made"
