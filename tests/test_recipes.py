"""Every shipped recipe loads, names registered backbones, and builds a model that runs."""

from pathlib import Path

import pytest
import torch

from abaw.features.registry import get_spec
from abaw.recipe import load_recipe
from abaw.train.trainer import build_model
from tracks import NAMES, get_track

RECIPES = sorted(Path(__file__).parents[1].glob("tracks/*/recipes/*.toml"))


def test_every_track_has_default_and_demo_recipes():
    for name in NAMES:
        stems = {p.stem for p in RECIPES if p.parts[-3] == name}
        assert {"default", "demo"} <= stems, name


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: f"{p.parts[-3]}/{p.stem}")
def test_recipe_builds_a_model(path):
    torch.set_num_threads(1)
    cfg = load_recipe(path, track=path.parts[-3])
    source = cfg.pipeline.derive_from or cfg.track
    track = get_track(source)
    edition = track.edition_for(10)
    dims = [get_spec(b).dim for b in cfg.features.backbones]
    metas = [{"kind": get_spec(b).kind} for b in cfg.features.backbones]
    model = build_model(cfg, dims, track.out_dim(edition), track.layout(edition), metas).eval()
    t = 1 if track.name in ("MTL", "LSD") else 8
    xs = [torch.randn(2, t, d) for d in dims]
    out = model(xs, torch.ones(2, t, dtype=torch.bool))["outputs"]
    assert out.shape == (2, t, track.out_dim(edition))


def recipe_table():
    """eval/recipe_table.py as a module (eval/ holds scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "recipe_table", Path(__file__).parents[1] / "eval" / "recipe_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    return table


def test_every_recipe_without_its_key_ingredient_still_loads():
    """The recipe table's ablations (eval/recipe_table.py) are recipes too: each must pass the
    same checks, or the table's run dies after the recipe itself trained."""
    table = recipe_table()
    assert {f"{p.parts[-3]}/{p.stem}" for p in RECIPES if p.stem not in ("default", "demo")} == set(
        table.INGREDIENTS)
    for name, (_, _, without) in table.INGREDIENTS.items():
        key, recipe = name.split("/")
        load_recipe(Path(__file__).parents[1] / "tracks" / key / "recipes" / f"{recipe}.toml",
                    ["features.offline=true", *without], track=key)


def test_the_recipe_table_says_when_its_rows_came_from_another_twin():
    from abaw.data.synth import generator_digest

    table = recipe_table()
    now = generator_digest()
    assert table.generator_caption([{"twin_generator": now}] * 2) == ""
    said = table.generator_caption([{"twin_generator": now}, {"twin_generator": "0123abcd"}])
    assert "0123abcd" in said and now in said
    assert "unknown" in table.generator_caption([{}])        # a row that never said


def test_the_recipe_table_lists_a_shared_footnote_once():
    table = recipe_table()
    rows = [{"recipe": f"{t}/clip-finetune-tcn-transformer", "ablated": a, "score": 0.5 - a / 200,
             "test": 0.4, "baseline": 0.0, "seconds": 1.0, "valid": True}
            for t in ("va", "expr") for a in (False, True)]
    text, _ = table.table(rows)
    assert text.count(table.FINE_TUNING) == 1
    marks = [line.split("|")[7] for line in text.splitlines()
             if line.startswith(("| va/clip-finetune", "| expr/clip-finetune"))]
    assert marks == [" no (within noise) [1] "] * 2


def _verdict(table, name, gains, **drop):
    """The table's "helps here?" cell for one recipe whose ingredient gained `gains` per seed."""
    rows = [{"recipe": name, "seed": seed, "ablated": a, "score": 0.5, "test": 0.5 + g * (not a),
             "baseline": 0.0, "seconds": 1.0, "valid": True}
            for seed, g in enumerate(gains) for a in (False, True)]
    rows = [{k: v for k, v in r.items() if k not in drop} for r in rows]
    text, _ = table.table(rows)
    return next(line for line in text.splitlines() if line.startswith(f"| {name}")).split("|")[7]


def test_the_recipe_table_says_yes_or_no_only_when_most_seeds_agree():
    """A mean over seeds can be one seed's doing: the verdict counts the seeds that gained, and
    a footnote on why an ingredient does not help is left off where it does."""
    table = recipe_table()
    name = "expr/dual-transformer-safe-xattn"                          # has a footnote
    assert name in table.WHY_NOT
    assert _verdict(table, name, [0.10, 0.05, -0.05]) == " yes (2 of 3 seeds gain) "
    assert _verdict(table, name, [-0.10, -0.05, 0.05]) == " no (1 of 3 seeds gain) [1] "
    assert _verdict(table, name, [0.15, -0.02, -0.03]) == (
        " unclear (the seeds disagree; 1 of 3 seeds gain) [1] ")
    assert _verdict(table, name, [0.02, -0.01, -0.005]) == (
        " no (within noise; 1 of 3 seeds gain) [1] ")
    # rows without the seed they ran on (older results) are judged on the mean alone
    assert _verdict(table, name, [0.15, -0.02, -0.03], seed=True) == " yes "
