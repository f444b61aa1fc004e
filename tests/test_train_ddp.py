"""DDP with 2 gloo processes trains the same model as 1 process on the same global batch, and
scores it the same: each rank predicts its share of the validation videos, and the official metric
is computed once on the outputs of both, pooled (not as the mean of the two ranks' scores)."""

import os
import socket

import torch
import torch.multiprocessing as mp
from train_helpers import make_dataset, tiny_config

from abaw.train import checkpoint
from abaw.train.trainer import train
from tracks import get_track

torch.set_num_threads(1)
# Optimisers import torch's compiler stack on first use (seconds); do it once here, before the
# workers are forked, so they inherit it instead of each paying for it.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
SETS = {"model.head": "tcn", "optim.epochs": 2, "optim.batch_size": 8, "optim.accumulate": 2}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, index, store_path, out, tracks):
    import torch.distributed as dist

    from abaw.features.store import FeatureStore
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    try:
        for track in tracks:
            train(get_track(track), tiny_config(track, **SETS), index, [FeatureStore(store_path)], f"{out}/{track}",
                  quiet=True)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


TRACKS = ("VA", "EXPR")   # pooled CCC across ranks; class-weighted CE


def test_two_gloo_processes_match_one(tmp_path):
    # three validation videos: both ranks hold some, and a mean of per-rank scores is not the
    # pooled score
    index, store = make_dataset(tmp_path / "data", n_videos=5, n_frames=64, n_val=3)
    # one start for both tracks, forked before this process trains anything (no threads yet):
    # starting fresh interpreters costs more than the training itself
    mp.start_processes(_worker, args=(2, _free_port(), index, str(store.path),
                                      str(tmp_path / "two"), TRACKS),
                       nprocs=2, join=True, start_method="fork")
    for track in TRACKS:
        _compare(tmp_path, track, index, store)


def _compare(tmp_path, track, index, store):
    single = train(get_track(track), tiny_config(track, **SETS), index, [store], tmp_path / "one" / track, quiet=True)
    a, meta_a = checkpoint.load(tmp_path / "one" / track / "last.safetensors")
    b, meta_b = checkpoint.load(tmp_path / "two" / track / "last.safetensors")
    model_keys = [k for k in a if k.startswith("model.")]
    worst = max(float((a[k] - b[k]).abs().max()) for k in model_keys)
    assert worst <= 1e-5, f"{track}: DDP weights differ from one process by {worst}"
    assert meta_a["state"]["step"] == meta_b["state"]["step"] > 0
    for ha, hb in zip(meta_a["state"]["history"], meta_b["state"]["history"], strict=True):
        for k, v in ha["train"].items():      # the logged loss is the global batch's on every rank
            assert abs(v - hb["train"][k]) < 1e-5
    assert abs(single.best_score - meta_b["state"]["best_score"]) < 1e-6
    for ha, hb in zip(single.history, meta_b["state"]["history"], strict=True):
        assert abs(ha["val"] - hb["val"]) < 1e-6, f"{track}: validation score of 2 ranks"
