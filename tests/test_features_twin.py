"""`abaw features extract` on the synthetic twin (tiny) with every registered backbone (tiny
random weights of the real classes): one row per frame of every id, absent rows where the twin
has no face or no sound."""

import numpy as np
import pytest
import torch

from abaw.cli import main
from abaw.features.registry import get_spec, sorted_specs
from abaw.features.store import FeatureStore


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    from abaw.data import load_index
    from abaw.data.synth import synthesize

    root = synthesize(tmp_path_factory.mktemp("twin") / "tree", edition=10, size="tiny", seed=0)
    models = tmp_path_factory.mktemp("models")
    assert main(["models", "tiny", str(models)]) == 0
    return root, models, load_index(root, 10)


@pytest.mark.parametrize("name", [s.name for s in sorted_specs()])
def test_extract_on_the_twin(name, twin, tmp_path, monkeypatch):
    root, models, index = twin
    monkeypatch.setenv("ABAW_MODELS", str(models))
    out = tmp_path / name
    text = get_spec(name).kind == "text"
    if text:   # one video with a transcript, which covers its first ten frames only
        said = sorted(index.sequences["VA"])[0]
        (root / "said").mkdir(exist_ok=True)
        (root / "said" / f"{said}.txt").write_text("start,end,text\n1,10,she smiles\n")
    assert main(["features", "extract", str(root), "--backbone", name, "--out", str(out),
                 "--workers", "0", "--device", "cpu", "--batch-size", "64", "--quiet"]
                + (["--inputs", "said"] if text else [])) == 0
    store = FeatureStore(out)
    ids = sorted({i for seqs in index.sequences.values() for i in seqs})
    assert store.ids() == ids and store.meta["backbone"] == name
    for id in ids:
        frames, feats, present = store.load(id)
        rows = sorted({int(f) for seqs in index.sequences.values() if id in seqs
                       for f in seqs[id].frames})
        assert frames.tolist() == rows and feats.shape == (len(rows), store.dim)
        assert not feats[~present].any() and np.isfinite(feats).all()
        if store.meta["kind"] == "visual":
            assert present.tolist() == index.has_crop(id, frames).tolist()
        elif text:
            assert present.tolist() == [id == said and f <= 10 for f in frames.tolist()]
        else:
            assert present.mean() > 0.9  # every twin video has sound over its frames
