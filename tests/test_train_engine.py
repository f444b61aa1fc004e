"""The trainer and predictor end to end on a tiny planted-signal dataset."""

import json

import numpy as np
import pytest
import torch
from train_helpers import make_dataset, second_store, tiny_config

from abaw import metrics
from abaw.core.prediction_set import PredictionSet
from abaw.errors import AbawError
from abaw.train import checkpoint
from abaw.train.predict import predict_run
from abaw.train.trainer import train
from tracks import get_track

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    index, store = make_dataset(root, n_test=1)
    return index, store, second_store(root, index)


def chance(index, track, edition):
    """The official score of the best constant prediction (majority class / mean / all-zero)."""
    trues = [index.sequence(track, i).labels for i in index.ids(track, "val")]
    y = np.concatenate(trues)
    if track == "VA":
        return 0.0                                   # any constant has CCC 0
    if track == "AU":
        ok = metrics.valid_mask("AU", y)
        return max(metrics.score("AU", edition, np.full_like(y[ok], v), y[ok]).value for v in (0, 1))
    ok = metrics.valid_mask(track, y[:, 0])
    yy = y[ok, 0]
    major = np.bincount(yy.astype(int)).argmax()
    return metrics.score(track, edition, np.full(len(yy), major), yy).value


@pytest.mark.parametrize("track,head", [("EXPR", "mlp"), ("EXPR", "tcn"), ("EXPR", "gru"),
                                        ("EXPR", "transformer"), ("VA", "mamba"), ("AU", "bigru"),
                                        ("CE", "tcn")])
def test_short_training_drops_the_loss_and_beats_chance(data, tmp_path, track, head):
    index, store, _ = data
    res = train(get_track(track), tiny_config(track, **{"model.head": head}), index, [store], tmp_path, quiet=True)
    first, last = res.history[0]["train"], res.history[-1]["train"]
    name = next(iter(first))
    assert last[name] < 0.8 * first[name], f"{track}/{head}: loss {first[name]} -> {last[name]}"
    base = chance(index, track, 8)
    assert res.best_score > base + 0.2, f"{track}/{head}: {res.best_score} vs chance {base}"
    best = json.loads((tmp_path / "log.json").read_text())[res.best_epoch]["val"]
    assert best == res.best_score                    # selection is on the official val score


def test_image_level_and_multi_task_tracks(data, tmp_path):
    index, store, audio = data
    lsd = train(get_track("LSD"), tiny_config("LSD", **{"model.head": "mlp", "data.window": 0, "optim.batch_size": 64}),
                index, [store], tmp_path / "lsd", quiet=True)
    assert json.loads((tmp_path / "lsd" / "run.json").read_text())["window"] == 1
    assert lsd.best_score > chance(index, "LSD", 4) + 0.2
    with pytest.raises(AbawError, match="independent images"):
        train(get_track("LSD"), tiny_config("LSD", **{"data.window": 8}), index, [store], tmp_path / "lsd8", quiet=True)
    causal = tiny_config("VA", **{"model.causal": True, "model.head": "tcn", "model.fusion": "concat",
                                  "optim.epochs": 1})
    train(get_track(causal.track), causal, index, [store, audio], tmp_path / "causal", quiet=True)
    mtl = train(get_track("MTL"), tiny_config("MTL", **{"model.head": "mlp", "data.window": 0, "optim.epochs": 8}),
                index, [store], tmp_path / "mtl", quiet=True)
    terms = mtl.history[-1]["train"]
    assert set(terms) == {"VA_ccc", "EXPR_ce", "AU_bce"}      # each task logged on its own
    parts = mtl.history[mtl.best_epoch]["val_parts"]
    assert mtl.best_score == pytest.approx(parts["VA"] + parts["EXPR"] + parts["AU"])
    assert mtl.best_score > 1.0


def test_a_curriculum_keeps_a_model_of_its_last_phase(data, tmp_path, monkeypatch):
    """Validation falls every epoch (as basic-expression F1 may once compound mixing starts):
    without a curriculum the first epoch is kept and patience stops early; with one, the
    kept model and the patience both start where its last phase starts (epoch 3 of 6)."""
    from abaw.train import trainer

    index, store, _ = data
    monkeypatch.setattr(trainer, "_validate", lambda s, epoch: (1.0 - 0.1 * epoch, {}))
    sets = {"model.head": "mlp", "optim.patience": 1}
    plain = train(get_track("EXPR"), tiny_config("EXPR", **sets), index, [store],
                  tmp_path / "plain", quiet=True)
    assert (plain.best_epoch, len(plain.history)) == (0, 2)
    mixed = tiny_config("EXPR", **sets, **{"curriculum.kind": "compound",
                                           "curriculum.start": 0.5})
    res = train(get_track("EXPR"), mixed, index, [store], tmp_path / "mixed", quiet=True)
    assert (res.best_epoch, len(res.history)) == (3, 5)
    assert checkpoint.load(tmp_path / "mixed" / "best.safetensors")[1]["epoch"] == 3


def test_resume_after_an_interruption_matches_the_uninterrupted_run(data, tmp_path):
    index, store, _ = data
    cfg = tiny_config("EXPR", **{"model.head": "transformer", "model.dropout": 0.1,
                                 "optim.epochs": 4})
    full = train(get_track(cfg.track), cfg, index, [store], tmp_path / "full", quiet=True)

    def kill(step):
        if step == 13:                               # in the middle of the second epoch
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(get_track(cfg.track), cfg, index, [store], tmp_path / "cut", quiet=True, on_step=kill)
    assert checkpoint.load(tmp_path / "cut" / "last.safetensors")[1]["state"]["epoch"] == 1
    with pytest.raises(AbawError, match="--resume"):
        train(get_track(cfg.track), cfg, index, [store], tmp_path / "cut", quiet=True)
    resumed = train(get_track(cfg.track), cfg, index, [store], tmp_path / "cut", resume=True, quiet=True)
    for name in ("best.safetensors", "last.safetensors"):
        a = checkpoint.load(tmp_path / "full" / name)[0]
        b = checkpoint.load(tmp_path / "cut" / name)[0]
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    timeless = [[{k: v for k, v in e.items() if k != "seconds"} for e in r.history]
                for r in (resumed, full)]
    assert timeless[0] == timeless[1]
    changed = tiny_config("EXPR", **{"model.head": "transformer", "model.dropout": 0.1,
                                     "optim.epochs": 4, "optim.lr": 0.5})
    with pytest.raises(AbawError, match="optim.lr"):
        train(get_track(changed.track), changed, index, [store], tmp_path / "cut", resume=True, quiet=True)


def test_kfold_splits_by_video(data, tmp_path):
    index, store, _ = data
    cfg = tiny_config("VA", **{"run.folds": 3, "optim.epochs": 1, "model.head": "mlp"})
    results = train(get_track(cfg.track), cfg, index, [store], tmp_path, quiet=True)
    assert len(results) == 3
    vals, pool = [], set(index.ids("VA", "train") + index.ids("VA", "val"))
    for i in range(3):
        info = json.loads((tmp_path / f"fold{i}" / "run.json").read_text())
        assert not set(info["train_ids"]) & set(info["val_ids"])
        assert set(info["train_ids"]) | set(info["val_ids"]) == pool
        vals += info["val_ids"]
    assert sorted(vals) == sorted(pool)               # each video held out exactly once
    sets = predict_run(get_track("VA"), tmp_path, "test", index=index, quiet=True)
    assert len(sets) == 3 and all((tmp_path / f"fold{i}/predictions/test.npz").is_file() for i in range(3))


def test_predict_writes_every_frame_with_raw_outputs_and_imputed_flags(data, tmp_path):
    index, store, _ = data
    train(get_track("EXPR"), tiny_config("EXPR", **{"optim.epochs": 2}), index, [store], tmp_path, quiet=True)
    assert (tmp_path / "predictions" / "val.npz").is_file()          # written by train
    predict_run(get_track("EXPR"), tmp_path, "test", index=index, quiet=True)
    loaded = PredictionSet.load(tmp_path / "predictions" / "test.npz")
    assert loaded.track == "EXPR" and len(loaded.columns) == 8
    vid = index.ids("EXPR", "test")[0]
    frames, out, imputed = loaded.video(vid)
    assert np.array_equal(frames, index.sequence("EXPR", vid).frames)   # every frame, in order
    assert np.allclose(out.sum(1), 1, atol=1e-5) and (out >= 0).all()  # probabilities
    _, _, present = store.load(vid)
    assert np.array_equal(imputed, ~present)
    predict_run(get_track("EXPR"), tmp_path, "train", index=index, quiet=True)
    _, _, imp1 = PredictionSet.load(tmp_path / "predictions" / "train.npz").video("001-video")
    assert imp1[40:46].all()                          # frames with no row in the store at all


def test_predicted_outputs_follow_their_frames(data, tmp_path):
    # A per-frame head: the output at a frame is the model of that frame's features alone. The
    # reference runs the saved model once over each whole video, its rows placed by frame number
    # here; `predict` (windows, batches, averaging, gaps in the store) must give the same rows.
    from abaw.train.modeling import build_model
    from abaw.train.run_files import read_run_config

    index, store, _ = data
    track = get_track("EXPR")
    train(track, tiny_config("EXPR", **{"model.head": "mlp", "optim.epochs": 2}), index, [store],
          tmp_path, quiet=True)
    tensors, _ = checkpoint.load(tmp_path / "best.safetensors")
    model = build_model(read_run_config(tmp_path), [store.dim], track.out_dim(8))
    model.load_state_dict(checkpoint.model_state(tensors))
    model.eval()
    for split in ("train", "val", "test"):
        ps = predict_run(track, tmp_path, split, index=index, quiet=True)
        for vid in index.ids("EXPR", split):
            frames, out, _ = ps.video(vid)
            want = index.sequence("EXPR", vid).frames
            assert frames.tolist() == want.tolist()
            stored, feats, present = store.load(vid)
            x = np.zeros((len(want), store.dim), np.float32)
            mask = np.zeros(len(want), bool)
            at = {int(f): i for i, f in enumerate(want)}
            for f, row, p in zip(stored, np.asarray(feats, np.float32), present, strict=True):
                x[at[int(f)]], mask[at[int(f)]] = row, p
            with torch.no_grad():
                logits = model(torch.from_numpy(x)[None], torch.from_numpy(mask)[None])["outputs"]
            ref = torch.softmax(logits[0].float(), dim=-1).numpy()
            np.testing.assert_allclose(out, ref, atol=2e-5, err_msg=f"{split} {vid}")


def test_multimodal_fusion_distillation_and_prompt_losses(data, tmp_path):
    index, store, audio = data
    teacher = train(get_track("EXPR"), tiny_config("EXPR", **{"optim.epochs": 2}), index, [store], tmp_path / "t",
                    quiet=True)
    predict_run(get_track("EXPR"), teacher.run_dir, "train", index=index, quiet=True)
    prompts = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    np.save(tmp_path / "prompts.npy", prompts)
    cfg = tiny_config("EXPR", **{"model.fusion": "bi_cross_attention", "model.fusion_dim": 16,
                                 "model.embed_dim": 6, "loss.main": "vnaw",
                                 "loss.teacher": str(tmp_path / "t/predictions/train.npz"),
                                 "loss.prompts": str(tmp_path / "prompts.npy"),
                                 "optim.epochs": 6})
    res = train(get_track(cfg.track), cfg, index, [store, audio], tmp_path / "s", quiet=True)
    assert set(res.history[0]["train"]) == {"vnaw", "prompt", "kd"}
    assert res.best_score > chance(index, "EXPR", 8) + 0.2
    np.save(tmp_path / "grid.npy", np.random.default_rng(1).normal(size=(9, 6)).astype(np.float32))
    va = train(get_track("VA"), tiny_config("VA", **{"model.embed_dim": 6, "loss.prompts": str(tmp_path / "grid.npy"),
                                    "loss.main": "ccc+mse", "optim.epochs": 2}),
               index, [store], tmp_path / "va", quiet=True)
    assert set(va.history[0]["train"]) == {"ccc", "mse", "grid"}
    with pytest.raises(AbawError, match="expected one per class"):
        bad = tiny_config("EXPR", **{"model.embed_dim": 6, "loss.prompts": str(tmp_path / "grid.npy")})
        train(get_track(bad.track), bad, index, [store], tmp_path / "bad", quiet=True)


def test_predict_refuses_features_of_another_backbone(data, tmp_path):
    index, store, audio = data
    train(get_track("VA"), tiny_config("VA", **{"optim.epochs": 1, "model.head": "mlp"}), index, [store], tmp_path,
          quiet=True)
    with pytest.raises(AbawError, match="backbone"):
        predict_run(get_track("VA"), tmp_path, "test", index=index, stores=[audio], quiet=True)
