"""`abaw models list` and `abaw features extract` on a dataset tree, as a user runs them."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from test_features_timeline import write_video

from abaw.cli import main
from abaw.features.registry import BACKBONES
from abaw.features.store import FeatureStore


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """An edition-10 tree (annotations + crops with a missing frame) with real JPEGs and raw
    videos in batch1/."""
    import data_trees
    from PIL import Image

    root = tmp_path_factory.mktemp("tree")
    data_trees.affwild(root, 10)
    rng = np.random.default_rng(0)
    for p in sorted((root / "cropped_aligned").rglob("*.jpg")):
        Image.fromarray(rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)).save(p)
    for stem, n in [("1-30-1280x720", 7), ("5-60-1920x1080", 6), ("102", 5)]:
        write_video(root / "batch1" / f"{stem}.mp4", np.arange(n) / 25, lambda t: 600.0)
    return root


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_models_list_shows_every_backbone_without_torch():
    probe = ("import sys\nfrom abaw.cli import main\ntry:\n    main(['models', 'list'])\n"
             "except SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120).stdout
    for name, spec in BACKBONES.items():
        assert name in out and str(spec.dim) in out
    assert "hf download" in out and "TORCH False" in out


@pytest.mark.parametrize("name", ["vit-b16", "logmel"])
def test_features_extract_fills_a_store(name, tree, tmp_path, capsys, monkeypatch):
    # `abaw models tiny` writes where `create_backbone` looks by default ($ABAW_MODELS/<name>)
    code, out, _ = run(["models", "tiny", str(tmp_path / "models"), "--backbone", name], capsys)
    assert code == 0 and name in out
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    code, out, err = run(["features", "extract", str(tree), "--backbone", name,
                          "--out", str(tmp_path / "s"), "--edition", "10", "--workers", "0",
                          "--split", "train", "--device", "cpu"], capsys)
    assert code == 0, err
    store = FeatureStore(tmp_path / "s")
    assert store.ids() == ["1-30-1280x720", "5-60-1920x1080_left", "5-60-1920x1080_right"]
    frames, feats, present = store.load("1-30-1280x720")
    assert frames.tolist() == list(range(1, 8))
    if name == "logmel":
        assert present.all()
    else:
        assert present.tolist() == [f != 3 for f in range(1, 8)]  # frame 3 has no crop
    assert '"written": 3' in out


def test_user_mistakes_are_one_line(tree, tmp_path, capsys, monkeypatch):
    from huggingface_hub import constants

    code, _, err = run(["features", "extract", str(tree), "--backbone", "dino"], capsys)
    assert code == 2 and err.count("\n") == 1 and "expected one of clip-vit-b16" in err
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    code, _, err = run(["features", "extract", str(tree), "--backbone", "wavlm-base-plus",
                        "--edition", "10", "--device", "cpu"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "hf download microsoft/wavlm-base-plus --local-dir" in err
    code, _, err = run(["features", "extract", str(tree), "--backbone", "logmel",
                        "--edition", "10", "--device", "tpu"], capsys)
    assert code == 2 and "--device: found 'tpu'" in err
    code, _, err = run(["features", "extract", str(tree), "--backbone", "logmel",
                        "--edition", "10", "--track", "LSD", "--out", str(tmp_path / "x")],
                       capsys)
    assert code == 2 and err.count("\n") == 1 and "--track: found 'LSD'" in err


def test_prompt_embeddings_follow_the_protocol_class_order(tmp_path, capsys, monkeypatch):
    from abaw import protocol
    from abaw.features.prompts import class_prompts
    from abaw.features.registry import create_backbone

    code, _, _ = run(["models", "tiny", str(tmp_path / "m"), "--backbone", "clip-vit-b16"],
                     capsys)
    monkeypatch.setenv("ABAW_MODELS", str(tmp_path / "m"))
    code, out, err = run(["features", "prompts", "--track", "EXPR", "--edition", "10",
                          "--out", str(tmp_path / "p.npy")], capsys)
    assert code == 0, err
    emb = np.load(tmp_path / "p.npy", allow_pickle=False)
    texts = class_prompts("EXPR", 10)
    assert len(texts) == len(protocol.expr_classes(10)) == emb.shape[0]
    assert texts[1] == "a photo of a face showing anger." and "0\ta photo of a face" in out
    np.testing.assert_allclose(emb, create_backbone("clip-vit-b16").encode_text(texts),
                               rtol=1e-5, atol=1e-6)
    va = class_prompts("VA")  # row-major, valence first: index 3 * i_valence + i_arousal
    assert len(va) == 9 and "negative valence and excited" in va[2] and "positive" in va[6]
    code, _, err = run(["features", "prompts", "--track", "AU", "--out", "x.npy"], capsys)
    assert code == 2 and "expected a class track" in err
