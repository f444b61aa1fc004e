"""The stages a recipe asks `abaw run` to make, the offline encoders, text inputs, and the
`--recipe TRACK/NAME` form of the command line."""

import numpy as np
import pytest
import torch

from abaw.errors import AbawError
from abaw.pipeline import stages
from abaw.recipe import load_recipe
from tracks import get_track, recipe_path

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    from abaw.data import load_index
    from abaw.data.synth import synthesize

    base = tmp_path_factory.mktemp("stages")
    return base, load_index(synthesize(base / "ed4", edition=4, size="tiny", seed=2))


def test_offline_encoders_keep_the_recipe_but_its_backbones():
    cfg = load_recipe(recipe_path(get_track("va"), "maven-polar"), ["features.offline=true"])
    demo = load_recipe(recipe_path(get_track("va"), "demo")).features
    before = load_recipe(recipe_path(get_track("va"), "maven-polar"))
    stages.offline_encoders(cfg, get_track("va"))
    f = cfg.features
    assert f.backbones == ["resnet18", "logmel", "text-hash"]
    assert (f.weights, f.layers, f.pooling) == (demo.weights, demo.layers, demo.pooling)
    assert f.inputs == {"text-hash": "transcripts"}
    assert cfg.model == before.model and cfg.loss == before.loss and cfg.post == before.post


def test_prompt_stage_embeds_the_tracks_prompts_with_the_recipes_text_tower(twin, tmp_path,
                                                                             monkeypatch):
    from abaw.features.prompts import class_prompts
    from abaw.features.registry import create_backbone
    from abaw.features.tiny import write_tiny

    base, index = twin
    write_tiny("clip-vit-b16", tmp_path / "models" / "clip-vit-b16")
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    cfg = load_recipe(None, ['features.backbones=["clip-vit-b16"]', "stages.prompts=true"],
                      track="LSD")
    lsd = get_track("lsd")
    made = stages.prepare(cfg, lsd, index, tmp_path / "work")
    emb = np.load(made.loss.prompts)
    tower = create_backbone("clip-vit-b16")
    ref = tower.encode_text(class_prompts("LSD", 4))
    assert np.allclose(emb, ref, atol=1e-5) and emb.shape == (6, 16)
    assert made.model.embed_dim == tower.model.config.projection_dim == 16   # from the tower
    assert cfg.loss.prompts == "" and cfg.model.embed_dim == 0              # the recipe untouched
    assert stages.makes(cfg, lsd, index.root, tmp_path / "work", 4) == {
        stages.Path(made.loss.prompts): "prompts"}
    stamp = stages.Path(made.loss.prompts).stat().st_mtime_ns
    stages.prepare(cfg, lsd, index, tmp_path / "work")                       # made: skipped
    assert stages.Path(made.loss.prompts).stat().st_mtime_ns == stamp


def test_a_given_prompt_file_sets_the_embedding_width(twin, tmp_path):
    _, index = twin
    np.save(tmp_path / "p.npy", np.zeros((6, 24), np.float32))
    cfg = load_recipe(None, [f'loss.prompts="{tmp_path / "p.npy"}"'], track="LSD")
    assert stages.prepare(cfg, get_track("lsd"), index, tmp_path).model.embed_dim == 24
    cfg.loss.prompts = str(tmp_path / "missing.npy")
    with pytest.raises(AbawError, match="missing.npy.*does not exist"):
        stages.prepare(cfg, get_track("lsd"), index, tmp_path)


def test_image_stage_resumes_where_it_stopped_and_ends_as_if_uninterrupted(twin, tmp_path,
                                                                          monkeypatch):
    from abaw.features.registry import create_backbone
    from abaw.features.tiny import write_tiny
    from abaw.train.image_stages import train_image_stages

    _, index = twin
    weights = write_tiny("resnet50", tmp_path / "tiny")
    kw = dict(tasks=["LSD"], epochs=2, frames=48, batch_size=16, seed=3, quiet=True)
    once = train_image_stages(index, create_backbone("resnet50", weights=weights),
                              ["byel", "supervised"], tmp_path / "once", **kw)
    calls = {"n": 0}
    real = torch.optim.AdamW.step

    def crash(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:                      # during the second epoch of byel
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", crash)
    with pytest.raises(KeyboardInterrupt):
        train_image_stages(index, create_backbone("resnet50", weights=weights),
                           ["byel", "supervised"], tmp_path / "twice", **kw)
    assert not (tmp_path / "twice").exists() and (tmp_path / "twice.partial").is_dir()
    monkeypatch.setattr(torch.optim.AdamW, "step", real)
    twice = train_image_stages(index, create_backbone("resnet50", weights=weights),
                               ["byel", "supervised"], tmp_path / "twice", **kw)
    a = create_backbone("resnet50", weights=once)
    b = create_backbone("resnet50", weights=twice)
    assert a.fingerprint() == b.fingerprint() != create_backbone("resnet50", weights=weights).fingerprint()
    assert not (tmp_path / "twice.partial").exists()
    with pytest.raises(AbawError, match="stages.image"):
        train_image_stages(index, a, ["simclr"], tmp_path / "x", **kw)


def test_text_files_give_each_frame_its_segments_embedding(twin, tmp_path):
    from abaw.features.extract import extract
    from abaw.features.registry import create_backbone
    from abaw.features.store import FeatureStore
    from abaw.features.text import read_segments

    base, index = twin
    ids = index.ids("MTL", "train")
    folder = index.root / "behaviour"
    folder.mkdir(exist_ok=True)
    frames = index.sequence("MTL", ids[0]).frames
    a, b = int(frames[0]), int(frames[len(frames) // 2])
    (folder / f"{ids[0]}.txt").write_text(f"start,end,text\n{a},{b},smiles widely\n"
                                          f"# a comment\n{b},{b},frowns\n")
    hashing = create_backbone("text-hash")
    summary = extract(index, hashing, tmp_path / "store", tracks=["MTL"], quiet=True,
                      inputs="behaviour")
    store = FeatureStore(tmp_path / "store")
    f, x, present = store.load(ids[0])
    smile, frown = hashing.encode_text(["smiles widely", "frowns"])
    inside = (f >= a) & (f < b)
    assert np.allclose(x[inside], smile, atol=1e-3) and np.allclose(x[f == b], frown, atol=1e-3)
    assert present.tolist() == ((f >= a) & (f <= b)).tolist()
    assert not store.load(ids[1])[2].any() and ids[1] in summary["without_input"]
    assert store.meta["inputs"] == "behaviour"
    (folder / "bad.txt").write_text("1,2,fine\n5,x,oops\n")
    with pytest.raises(AbawError, match=r"bad.txt:2: found '5,x,oops', expected start,end,text"):
        read_segments(folder / "bad.txt")


def test_recipe_names_its_track_on_the_command_line(capsys):
    from abaw.cli import main

    def run(argv):
        try:
            return main(argv)
        except SystemExit as e:
            return e.code

    assert run(["run", "--track", "va", "--recipe", "expr/vnaw", "--last"]) == 2
    assert "found track expr, expected va" in capsys.readouterr().err
    assert run(["run", "--recipe", "vnaw", "--last"]) == 2
    assert "expected --track T or --recipe TRACK/NAME" in capsys.readouterr().err


def test_missing_weights_say_how_a_run_names_a_folder(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from abaw.features.registry import create_backbone
    from abaw.recipe import load_recipe as load

    monkeypatch.setenv("ABAW_MODELS", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(AbawError) as e:
        create_backbone("wavlm-base-plus")
    text = str(e.value)
    assert str(tmp_path / "wavlm-base-plus") in text and "hf download microsoft/wavlm-base-plus" in text
    # the `abaw run` form it suggests is one that command takes
    setting = text.split("`abaw run --set '")[1].split("'`")[0]
    cfg = load(None, [setting.replace("DIR", str(tmp_path))], track="VA")
    assert cfg.features.weights == {"wavlm-base-plus": str(tmp_path)}
