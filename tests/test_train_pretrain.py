"""`abaw models pretrain`: a timm ResNet trained on the TRAIN crops of the synthetic twin, saved as
a timm weights folder and loaded back through `create_backbone("face-resnet18", weights=...)`."""

import json

import numpy as np
import pytest
import torch

from abaw import protocol
from abaw.cli import main
from abaw.errors import AbawError
from abaw.features.extract import extract
from abaw.features.registry import create_backbone, expected_folder, get_spec, weights_found
from abaw.features.store import FeatureStore
from abaw.train import pretrain as pt

FAST = dict(image_size=32, epochs=1, batch_size=16, max_frames=40, quiet=True)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # module scope: set before the shared pretraining runs (the thread count changes the order
    # of float sums, so the same seed gives the same bytes only at the same thread count)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    from abaw.data import load_index
    from abaw.data.synth import synthesize

    made = {}

    def get(edition):
        if edition not in made:
            root = synthesize(tmp_path_factory.mktemp(f"ed{edition}") / "tree", edition=edition,
                              size="tiny", seed=0)
            made[edition] = load_index(root, edition)
        return made[edition]
    return get


@pytest.fixture(scope="module")
def trained(twin, tmp_path_factory):
    """Edition 8 pretrained once (seed 0), shared by the tests that only read it."""
    return pt.pretrain(twin(8), tmp_path_factory.mktemp("w") / "face", seed=0, **FAST)


def split_crops(index, want) -> set[str]:
    """Every crop path of the tracks' sequences in the splits `want`, built from the index."""
    paths = set()
    for track in index.tracks():
        for id, seq in index.sequences[track].items():
            if seq.split not in want:
                continue
            if seq.images is not None:
                paths |= {str(index.root / p) for p in seq.images}
                continue
            frames = seq.frames[index.has_crop(id, seq.frames)]
            paths |= {str(index.image_path(track, id, f)) for f in frames}
    return paths


def test_loads_back_as_face_resnet18_and_extracts(twin, trained, tmp_path):
    import timm
    from safetensors.torch import load_file

    index = twin(8)
    assert sorted(p.name for p in trained.iterdir()) == [".abaw-folder", "config.json",
                                                         "model.safetensors", "pretrain.json"]
    info = json.loads((trained / "pretrain.json").read_text())
    assert info["arch"] == "resnet18" and info["image_size"] == 32 and info["frames"] == 40
    assert info["index_fingerprint"] == index.fingerprint and info["seed"] == 0
    assert set(info["tracks"]) == {"VA", "EXPR", "AU"}
    assert set(info["final_train_losses"]) == {"VA", "EXPR", "AU"}
    b = create_backbone("face-resnet18", weights=trained)
    assert b.dim == 512 and b.model_id == "timm:resnet18"
    assert b.preprocessing["timm_data_config"]["input_size"] == (3, 32, 32)
    # the same weights put into a fresh timm model by hand give the same features
    ref = timm.create_model("resnet18", pretrained=False, num_classes=0).eval()
    ref.load_state_dict(load_file(trained / "model.safetensors"))
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(b.encode(x), ref(x))
    out = extract(index, b, tmp_path / "feats", tracks=["EXPR"], splits=["val"], workers=0,
                  quiet=True)
    store = FeatureStore(tmp_path / "feats")
    assert store.meta["backbone"] == "face-resnet18" and out["frames"] > 0
    for id in index.ids("EXPR", "val"):
        frames, feats, present = store.load(id)
        assert present.tolist() == index.has_crop(id, frames).tolist()
        assert np.isfinite(feats).all() and np.abs(feats[present]).sum(1).min() > 0


def test_every_trainable_weight_moved_from_its_seeded_start(trained):
    # The same seed gives the same initial network (seeded just before it is created); the saved
    # one must differ from it in every weight the optimiser steps (not only in the batch-norm
    # statistics that a forward pass in train mode updates by itself).
    import timm
    from safetensors.torch import load_file

    torch.manual_seed(0)
    start = timm.create_model("resnet18", pretrained=False, num_classes=0).state_dict()
    saved = load_file(trained / "model.safetensors")
    stepped = [n for n, t in start.items() if t.is_floating_point() and "running" not in n]
    assert len(stepped) > 40 and set(stepped) <= set(saved)
    unchanged = [n for n in stepped if torch.equal(saved[n], start[n])]
    assert not unchanged, unchanged[:5]


def test_same_seed_same_weights(twin, trained, tmp_path):
    again = pt.pretrain(twin(8), tmp_path / "again", seed=0, **FAST)
    other = pt.pretrain(twin(8), tmp_path / "other", seed=1, **FAST)
    weights = (trained / "model.safetensors").read_bytes()
    assert (again / "model.safetensors").read_bytes() == weights
    assert (other / "model.safetensors").read_bytes() != weights


def test_only_training_images_are_read(twin, tmp_path, monkeypatch):
    read = []
    real = pt.load_image
    monkeypatch.setattr(pt, "load_image", lambda path, size: read.append(path) or real(path, size))
    for edition in (8, 4):
        index = twin(edition)
        train, held = split_crops(index, {"train"}), split_crops(index, {"val", "test"})
        assert train and held
        rows = pt.training_rows(index)
        assert set(rows.paths) <= train and not set(rows.paths) & held
        read.clear()
        pt.pretrain(index, tmp_path / f"ed{edition}", **FAST)
        assert len(read) == FAST["max_frames"] // 16 * 16 and set(read) <= set(rows.paths)
        if edition == 4:  # LSD: the synthetic training folder only, never the real images
            lsd = [p for p in rows.paths if "cropped_aligned" not in p]
            assert lsd and all(protocol.LSD_FOLDERS["train"] in p for p in lsd)


def test_every_label_of_a_frame_reaches_its_head(twin):
    index = twin(8)
    rows = pt.training_rows(index)
    at = {p: i for i, p in enumerate(rows.paths)}
    checked = {"VA": 0, "EXPR": 0, "AU": 0}
    for track in checked:
        for id in index.ids(track, "train"):
            seq = index.sequence(track, id)
            valid, crop = index.valid(track, id), index.has_crop(id, seq.frames)
            for i, f in enumerate(seq.frames):
                row = at.get(str(index.image_path(track, id, f)))
                if not crop[i] or row is None:  # no image, or no track labels this image
                    assert row is None and not (crop[i] and valid[i])
                    continue
                got = rows.targets[track][row]
                if valid[i]:
                    np.testing.assert_array_equal(got, seq.labels[i])
                    checked[track] += 1
                else:  # a sentinel: no loss for this head on this image
                    assert np.isnan(got).all()
    assert min(checked.values()) > 0
    several = sum(1 for r in range(len(rows.paths))
                  if sum(not np.isnan(rows.targets[t][r]).any() for t in checked) == 3)
    assert several > 0  # one image, three heads


def test_edition_4_trains_mtl_and_lsd_heads(twin, tmp_path):
    index = twin(4)
    rows = pt.training_rows(index)
    assert set(rows.heads) == {"MTL_VA", "MTL_EXPR", "MTL_AU", "LSD"}
    assert rows.heads["MTL_EXPR"].width == 8 and rows.heads["LSD"].width == 6
    id = index.ids("MTL", "train")[0]
    seq, masks = index.sequence("MTL", id), index.mtl_valid(id)
    at = {p: i for i, p in enumerate(rows.paths)}
    for i, f in enumerate(seq.frames):
        row = at[str(index.image_path("MTL", id, f))]
        for task, cols in (("VA", slice(0, 2)), ("EXPR", slice(2, 3)), ("AU", slice(3, 15))):
            got = rows.targets[f"MTL_{task}"][row]
            if masks[task][i]:
                np.testing.assert_array_equal(got, seq.labels[i, cols])
            else:
                assert np.isnan(got).all()
    out = pt.pretrain(index, tmp_path / "w", **FAST)
    b = create_backbone("face-resnet18", weights=out)
    extract(index, b, tmp_path / "f", tracks=["LSD"], splits=["val"], workers=0, quiet=True)
    assert FeatureStore(tmp_path / "f").ids() == ["val"]


def test_missing_weights_name_the_pretrain_command(tmp_path, monkeypatch):
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    spec = get_spec("face-resnet18")
    assert weights_found(spec) == "missing"
    with pytest.raises(AbawError) as e:
        create_backbone("face-resnet18")
    msg = str(e.value)
    assert "\n" not in msg and str(expected_folder("face-resnet18")) in msg
    assert f"abaw models pretrain ROOT --out {tmp_path / 'models' / 'face-resnet18'}" in msg
    # logmel still needs nothing
    assert create_backbone("logmel").dim == 64


def test_cli_pretrain_and_its_mistakes(twin, tmp_path, capsys, monkeypatch):
    root = str(twin(8).root)
    out = tmp_path / "models" / "face-resnet18"
    argv = ["models", "pretrain", root, "--out", str(out), "--size", "32", "--epochs", "1",
            "--max-frames", "16", "--batch-size", "16", "--quiet"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out)
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))  # the default folder now
    assert create_backbone("face-resnet18").location == str(out)
    for bad, expect in [(argv, "expected a new or empty folder"),
                        (argv[:4] + [str(tmp_path / "x"), "--arch", "resnet99"], "--arch")]:
        with pytest.raises(SystemExit) as e:
            main(bad)
        err = capsys.readouterr().err.strip()
        assert e.value.code != 0 and expect in err and "\n" not in err
    with pytest.raises(SystemExit):
        main(["features", "extract", root, "--backbone", "face-resnet18", "--weights",
              str(tmp_path / "nothing"), "--out", str(tmp_path / "s"), "--quiet"])
    assert "abaw models pretrain ROOT --out" in capsys.readouterr().err


def test_a_failed_run_leaves_nothing(twin, tmp_path, monkeypatch):
    import timm.models

    def broken(model, folder, **kw):
        (folder / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(timm.models, "save_for_hf", broken)
    with pytest.raises(OSError):
        pt.pretrain(twin(8), tmp_path / "w", **dict(FAST, max_frames=16))
    assert list(tmp_path.iterdir()) == []
