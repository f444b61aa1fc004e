"""A seed sweep (`--set run.seed=N`) and the feature cache: pretrained weights share one store,
random weights (a seeded initialisation) get one per seed; `abaw train --recipe NAME`."""

import json
import os
from pathlib import Path

import pytest
from test_data_check import run_cli

from abaw import pipeline
from abaw.features.registry import BACKBONES, feature_dim, get_spec
from abaw.pipeline.features import dataset_key, store_folder
from abaw.recipe import load_recipe
from tracks import get_track, recipe_path

REPO = Path(__file__).resolve().parents[1]

LSD = get_track("lsd")         # image rows: the smallest extraction of the tiny twin
FAST = ["features.workers=0"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import torch

    from abaw.data.synth import synthesize
    from abaw.features.tiny import write_tiny

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("seeds")
    root = synthesize(base / "ed4", edition=4, size="tiny", seed=0)
    return base, root, write_tiny("efficientnet-b0", base / "tiny-effnet")


def stores(work):
    return sorted(p for p in (work / "features").glob("*/*") if p.is_dir())


def features(root, work, seed, *over):
    pipeline.run_track(LSD, root, recipe="demo", overrides=[*FAST, *over, f"run.seed={seed}"],
                       work=work, until="features", quiet=True)


def test_random_weights_get_a_store_per_seed(env):
    base, root, _ = env
    work = base / "random"
    for seed in (0, 1):
        features(root, work, seed)               # seed 1 used to hit seed 0's store
    found = stores(work)
    assert [p.name for p in found] == ["resnet18-0-grid-random-seed0",
                                       "resnet18-0-grid-random-seed1"]
    metas = [json.loads((p / "meta.json").read_text()) for p in found]
    assert metas[0]["revision"] != metas[1]["revision"]          # two initialisations
    # the disk estimate's width (registry stages x grid) is the width the store has
    assert metas[0]["dim"] == feature_dim(get_spec("resnet18"), "0", "grid")


def test_pretrained_weights_share_one_store_across_seeds(env):
    base, root, weights = env
    work = base / "folder"
    over = ['features.backbones=["efficientnet-b0"]',
            f'features.weights={{"efficientnet-b0" = "{weights}"}}']
    features(root, work, 0, *over)
    (store,) = stores(work)
    made = {p.name: p.stat().st_mtime_ns for p in store.glob("*.npy")}
    features(root, work, 1, *over)
    assert stores(work) == [store]
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.npy")} == made   # not redone


def test_store_folders_name_what_the_rows_depend_on(tmp_path):
    demo = recipe_path(LSD, "demo")

    def folder(*over):
        return store_folder(load_recipe(demo, over), "resnet18", tmp_path, "data").name
    assert folder("run.seed=3") == "resnet18-0-grid-random-seed3"
    assert folder('features.weights={resnet18 = "pretrain"}', "run.seed=3") == \
        folder('features.weights={resnet18 = "pretrain"}') == "resnet18-0-grid-pretrain"
    (tmp_path / "w").mkdir()
    mine = folder(f'features.weights={{resnet18 = "{tmp_path / "w"}"}}', "run.seed=3")
    assert mine == folder(f'features.weights={{resnet18 = "{tmp_path / "w"}"}}')
    assert mine.startswith("resnet18-0-grid-w") and mine != folder(
        'features.weights={resnet18 = "someone/resnet"}')
    assert store_folder(load_recipe(demo), "resnet18", tmp_path, dataset_key(tmp_path)).parent \
        == tmp_path / "features" / dataset_key(tmp_path)


def test_stage_widths_in_the_registry_are_timm_s():
    import timm
    import torch

    checked = 0
    for spec in BACKBONES.values():
        if spec.stages and spec.hub_id.startswith("timm/"):
            with torch.device("meta"):                   # the architecture, no weights
                model = timm.create_model(spec.hub_id.split("/", 1)[1], pretrained=False)
            assert spec.stages == tuple(f["num_chs"] for f in model.feature_info), spec.name
            checked += 1
    assert checked >= 4


def test_train_takes_a_recipe_name_like_run(env, capsys, tmp_path):
    _, root, _ = env
    code, _, err = run_cli(capsys, "train", "--track", "lsd", "--recipe", "demo", "--root",
                           str(root), "--features", str(tmp_path / "none"), "--out",
                           str(tmp_path / "run"))
    assert code == 2 and "no feature store here" in err          # the recipe was found
    code, _, err = run_cli(capsys, "train", "--track", "lsd", "--recipe", "nosuch", "--root",
                           str(root), "--features", str(tmp_path / "none"), "--out",
                           str(tmp_path / "run"))
    shipped = sorted(p.stem for p in (REPO / "tracks" / "lsd" / "recipes").glob("*.toml"))
    assert code == 2 and err.strip() == ("error: --recipe: found 'nosuch', expected a TOML file "
                                         f"or a recipe name of lsd ({', '.join(shipped)})")
    assert not os.path.exists(tmp_path / "run")
