"""The twin's feature stores written without images (`abaw data synth --features D`): the rows
an extraction would write, the presence its crops would give, the store's identity and resume,
a signal a linear model reads, and `abaw run --features` training on them."""

import json

import numpy as np
import pytest

from abaw.cli import main
from abaw.errors import AbawError
from abaw.features.store import FeatureStore, require_same_identity
from abaw.features.twin import default_store, write_twin_features

DIM = 24


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    from abaw.data import load_index
    from abaw.data.synth import synthesize

    root = synthesize(tmp_path_factory.mktemp("twin") / "tree", edition=8, size="tiny", seed=3)
    store = FeatureStore(write_twin_features(root, DIM))
    return root, load_index(root, 8), store


def test_rows_and_presence_are_those_an_extraction_writes(twin):
    from abaw.features.extract import input_fingerprint, plan

    root, index, store = twin
    # the extraction plan of the same tree (with images): its ids, rows and crops
    jobs = {j.id: j for j in plan(index, "visual", tracks=["VA", "EXPR", "AU"])}
    assert store.ids() == sorted(jobs) and len(jobs) >= 6
    faceless = 0
    for id, job in jobs.items():
        frames, feats, present = store.load(id)
        np.testing.assert_array_equal(frames, job.frames)
        np.testing.assert_array_equal(present, job.present)    # a crop exactly where a face is
        assert feats.dtype == np.float16 and feats.shape == (len(frames), DIM)
        assert not np.asarray(feats[~present]).any() and np.abs(feats[present]).sum(1).min() > 0
        assert store.inputs(id) == input_fingerprint(job.__class__(id, frames, present), root)
        faceless += int((~present).sum())
    assert faceless > 0
    assert store.meta["dim"] == DIM and store.meta["revision"] == "ed8-tiny-seed3"
    require_same_identity([store, FeatureStore(store.path)])


def test_a_linear_model_reads_the_labels_from_the_rows(twin):
    """Least squares on the training ids' rows predicts validation valence and expression."""
    root, index, store = twin

    def rows(track, split, col=0):
        xs, ys = [], []
        for id in index.ids(track, split):
            seq = index.sequence(track, id)
            frames, feats, present = store.load(id)
            pos = np.searchsorted(frames, seq.frames)
            y = seq.labels[:, col]
            keep = present[pos] & (y > (-2 if track == "VA" else -0.5))
            xs.append(np.asarray(feats[pos[keep]], np.float64))
            ys.append(y[keep])
        x = np.concatenate(xs)
        return np.concatenate([x, np.ones((len(x), 1))], 1), np.concatenate(ys)

    x, y = rows("VA", "train")
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    xv, yv = rows("VA", "val")
    assert np.corrcoef(xv @ w, yv)[0, 1] > 0.45   # annotation lag and drift keep it well below 1
    x, y = rows("EXPR", "train")
    onehot = np.eye(8)[y.astype(int)]
    w = np.linalg.lstsq(x, onehot, rcond=None)[0]
    xv, yv = rows("EXPR", "val")
    majority = np.bincount(yv.astype(int)).max() / len(yv)
    print("EXPR", np.mean(np.argmax(xv @ w, 1) == yv), majority)
    assert np.mean(np.argmax(xv @ w, 1) == yv) > majority + 0.15


def test_same_seed_same_bytes_and_a_lost_file_is_written_again(twin, tmp_path):
    root, _, store = twin
    first = sorted(store.path.glob("*.npy"))
    stamps = {p.name: p.stat().st_mtime_ns for p in first}
    lost = first[0]
    before = lost.read_bytes()
    lost.unlink()
    assert write_twin_features(root, DIM) == store.path
    assert lost.read_bytes() == before                      # deterministic
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in first[1:])   # resumed, not redone
    other = FeatureStore(write_twin_features(root, DIM, out=tmp_path / "noisier", noise=2.0))
    assert other.meta["preprocessing"] != store.meta["preprocessing"]
    with pytest.raises(AbawError, match="preprocessing"):
        require_same_identity([store, other])
    with pytest.raises(AbawError, match="preprocessing"):   # another identity never mixes in
        write_twin_features(root, DIM, out=store.path, noise=2.0)


def test_bad_input_is_one_line(tmp_path, twin):
    root, _, _ = twin
    with pytest.raises(AbawError, match="info.json: found no such file"):
        write_twin_features(tmp_path, 8)
    for dim in (0, -3, True, 2.5):
        with pytest.raises(AbawError, match="expected a positive feature width"):
            write_twin_features(root, dim)


def test_cli_adds_a_store_to_an_existing_twin(twin, tmp_path, capsys):
    root, _, _ = twin
    info = json.loads((root / ".truth" / "info.json").read_text())
    assert main(["data", "synth", str(root), "--edition", str(info["edition"]), "--size",
                 info["size"], "--seed", str(info["seed"]), "--features", "8"]) == 0
    assert FeatureStore(default_store(root, 8)).dim == 8
    assert "--features" in capsys.readouterr().out
    # another seed on that folder: the twin itself would be written, and the folder is not empty
    with pytest.raises(SystemExit) as exit:
        main(["data", "synth", str(root), "--edition", "8", "--size", "tiny", "--seed", "4",
              "--features", "8"])
    assert exit.value.code != 0 and "found an existing folder" in capsys.readouterr().err


def test_run_trains_on_a_given_store_and_refuses_one_that_lacks_ids(twin, tmp_path):
    import torch

    from abaw import pipeline
    from tracks import get_track

    torch.set_num_threads(1)
    root, index, store = twin
    fast = ["optim.epochs=1", 'post.kinds=["mean"]', "post.windows=[1, 5]", "data.window=32"]
    out = pipeline.run_track(get_track("va"), root, recipe="demo", overrides=fast,
                             work=tmp_path / "runs", out=tmp_path / "subs", quiet=True,
                             features=str(store.path))
    run = json.loads((tmp_path / "runs" / "va").glob("*/run.json").__next__().read_text())
    assert run["features"] == [str(store.path)] and out.zip_path
    assert not (tmp_path / "runs" / "features").exists()         # nothing was extracted
    partial = FeatureStore.create(tmp_path / "partial", store.meta)
    some = store.ids()[0]
    frames, feats, present = store.load(some)
    partial.write(some, frames, feats, present)
    with pytest.raises(AbawError, match="found no features for"):
        pipeline.run_track(get_track("va"), root, recipe="demo", overrides=fast,
                           work=tmp_path / "runs2", quiet=True, features=str(partial.path))


def test_preflight_with_given_stores_needs_no_crops(tmp_path):
    """The full twin has no images: with its store given, nothing is extracted, so the check
    before a run must not ask for face crops (it still does without the store)."""
    from abaw.data.synth import synthesize
    from abaw.pipeline.preflight import PreflightFailed, preflight
    from tracks import get_track

    root = synthesize(tmp_path / "bare", edition=8, size="tiny", seed=3, images=False)
    store = write_twin_features(root, DIM)
    kw = dict(recipe="demo", work=tmp_path / "runs", out=tmp_path / "subs")
    with pytest.raises(PreflightFailed, match="face crop"):
        preflight(get_track("va"), root, **kw)
    done = preflight(get_track("va"), root, features=str(store), **kw)
    assert any("given store" in line for line in done.checked)
    with pytest.raises(PreflightFailed, match="no feature store here"):
        preflight(get_track("va"), root, features=str(tmp_path / "none"), **kw)
