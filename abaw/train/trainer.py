"""The generic trainer: any track's head on cached features, one process or DDP.

    train(track, cfg, index, stores, run_dir)   # k folds -> run_dir/fold<i>/ each

Per epoch: windows shuffled by (seed, fold, epoch); global batches of `optim.batch_size` windows
(each DDP rank takes every world-th window of the batch); AdamW with warmup + cosine (the rate is
a function of the step, so resuming needs no scheduler state); bf16 autocast on GPU; gradient
clipping and accumulation; validation with the track's OFFICIAL metric (abaw.metrics) on rank 0;
the best epoch is kept (`best.safetensors`; with a curriculum, the best of its last phase),
early stopping after `optim.patience` epochs without improvement. Every epoch ends with
`last.safetensors` (model + optimiser + state, one atomic file); `resume=True` continues from it.
Each epoch reseeds every generator from (seed, fold, epoch), so a resumed run retraces the
uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from abaw import progress
from abaw.artifacts import Array, load_npy
from abaw.atomic import claim_folder
from abaw.core.track import Track
from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.train import checkpoint, curriculum, distributed
from abaw.train.blocks import LabelStats
from abaw.train.config import Config
from abaw.train.inputs import attach_teacher, feature_stats, load_videos, split_ids
from abaw.train.modeling import (
    autocast,
    build_model,
    check_fits,
    evaluate,
    lr_at,
    make_optimizer,
    seed_all,
    stream_metas,
    to_device,
)
from abaw.train.objectives import objective
from abaw.train.run_files import config_hash, diff, read_run_config, to_toml
from abaw.train.windows import WindowSet, prefetched


@dataclass
class TrainResult:
    run_dir: Path
    best_score: float
    best_epoch: int
    epochs_run: int
    history: list = field(default_factory=list)


@dataclass
class Session:
    """Everything one training run holds; built once by `_prepare`."""

    cfg: Config
    d: distributed.Dist
    run_dir: Path
    track: Track
    edition: int
    fold: int
    window: int
    pstride: int
    train_ids: list
    val_ids: list
    val_videos: list
    windows: WindowSet
    starts: list                 # first window of each global batch, in the shuffled order
    total_steps: int
    objective: object
    model: torch.nn.Module
    opt: torch.optim.Optimizer


def train(track: Track, cfg: Config, index, stores, run_dir, resume: bool = False,
          quiet: bool = False, on_step=None):
    """Train `track` as `cfg` says: one run, or every fold of a k-fold run into
    `run_dir/fold<i>`."""
    if cfg.track != track.name:
        raise AbawError(f"config: field track: found {cfg.track!r}, expected {track.name!r} (the "
                        "track being trained)")
    run_dir = Path(run_dir)
    d = distributed.setup(cfg.run.device, cfg.run.deterministic)
    _shape(track, cfg, index, stores, d.device)           # before any folder is made
    if cfg.run.folds > 1 and cfg.run.fold == -1:
        _claim(d, run_dir, resume)
        if d.main:
            checkpoint.atomic_write_text(run_dir / "config.toml", to_toml(cfg))
        return [train_one(track, replace(cfg, run=replace(cfg.run, fold=i)), index, stores,
                          run_dir / f"fold{i}", resume, quiet, on_step)
                for i in range(cfg.run.folds)]
    return train_one(track, cfg, index, stores, run_dir, resume, quiet, on_step)


def train_one(track: Track, cfg: Config, index, stores, run_dir, resume=False, quiet=False,
              on_step=None):
    s = _prepare(track, cfg, index, stores, Path(run_dir), resume)
    d, last_path = s.d, s.run_dir / "last.safetensors"
    state = {"epoch": 0, "step": 0, "best_score": -math.inf, "best_epoch": -1, "bad_epochs": 0,
             "history": [], "done": False}
    if resume and last_path.exists():
        state = checkpoint.restore(last_path, s.model, s.opt)
        _log(quiet, d, f"resuming {s.run_dir} after epoch {state['epoch']}")
    if d.main:
        _write_run_info(s, index, stores)
    distributed.barrier(d)
    net = s.model
    if d.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            s.model, device_ids=[d.device.index] if d.device.type == "cuda" else None)

    kept_from = curriculum.first_kept_epoch(cfg)     # a curriculum keeps a model of its last phase
    while not state["done"] and state["epoch"] < cfg.optim.epochs:
        t0 = time.time()
        with progress.bar(len(s.starts), f"epoch {state['epoch'] + 1}/{cfg.optim.epochs}",
                          quiet or not d.main, unit="batch") as bar:
            train_terms = _train_epoch(s, net, state, on_step, bar)
        score, parts = _validate(s, state["epoch"])
        counts = not math.isnan(score) and state["epoch"] >= kept_from
        improved = counts and score > state["best_score"]
        if improved:
            state["best_score"], state["best_epoch"], state["bad_epochs"] = score, state["epoch"], 0
        elif counts:
            state["bad_epochs"] += 1
        state["history"].append({"epoch": state["epoch"], "train": train_terms, "val": score,
                                 "val_parts": parts,
                                 "lr": lr_at(cfg, max(state["step"] - 1, 0), s.total_steps),
                                 "seconds": round(time.time() - t0, 3)})
        state["epoch"] += 1
        stop = cfg.optim.patience > 0 and state["bad_epochs"] >= cfg.optim.patience
        state["done"] = stop or state["epoch"] >= cfg.optim.epochs
        if d.main:
            _save(s, state, improved, score)
        distributed.barrier(d)
        terms = " ".join(f"{k} {v:.4f}" for k, v in train_terms.items())
        _log(quiet, d, f"epoch {state['epoch']}/{cfg.optim.epochs}  {terms}  val {score:.4f}  "
                       f"best {state['best_score']:.4f} @{state['best_epoch'] + 1}  "
                       f"{time.time() - t0:.1f}s" + ("  (early stop)" if stop else ""))

    if d.main and state["best_epoch"] >= 0 and not (s.run_dir / "predictions/val.npz").exists():
        from abaw.train.predict import predict_run
        predict_run(track, s.run_dir, "val", index=index, stores=stores, quiet=True)
    distributed.barrier(d)
    return TrainResult(s.run_dir, state["best_score"], state["best_epoch"], state["epoch"],
                       state["history"])


def _prepare(track: Track, cfg: Config, index, stores, run_dir: Path, resume: bool) -> Session:
    d = distributed.setup(cfg.run.device, cfg.run.deterministic)
    if cfg.run.deterministic and d.device.type == "cuda":
        # CPU kernels are already deterministic for a fixed thread count; the switch itself
        # imports the compiler stack (seconds), so it is only thrown where it matters
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    fold = max(cfg.run.fold, 0)
    edition, window = _shape(track, cfg, index, stores, d.device)
    _check_run_dir(cfg, run_dir, resume)
    _claim(d, run_dir, resume)

    train_ids, val_ids = split_ids(index, track, cfg.run.folds, fold, cfg.run.seed)
    train_v = load_videos(index, track, train_ids, stores, edition)
    val_v = load_videos(index, track, val_ids, stores, edition)
    n_out = track.out_dim(edition)
    if cfg.loss.teacher:
        attach_teacher(cfg.loss.teacher, train_v, n_out)
    stats = LabelStats(np.concatenate([v.labels for v in train_v]),
                       np.concatenate([v.label_mask & v.present[:, None] for v in train_v]))
    loss = objective(track.layout(edition), cfg.loss, stats, teacher=bool(cfg.loss.teacher),
                     prompts=_prompts(cfg))

    seed_all(cfg.run.seed * 1000 + fold)
    model = build_model(cfg, [st.dim for st in stores], n_out, track.layout(edition),
                        stream_metas(stores))
    if cfg.data.normalize:
        model.set_normalization(*feature_stats(train_v, cfg.data.norm_rows))
    model.to(d.device)
    windows = WindowSet(train_v, window, cfg.data.stride or max(1, window // 2), labelled_only=True,
                        skip=cfg.data.frame_skip, seed=cfg.run.seed * 1009 + fold)
    if len(windows) == 0:
        raise AbawError(f"{cfg.track}: no training window has a labelled frame with features")
    bs = cfg.optim.batch_size
    # global batches; a last one smaller than the number of processes is dropped
    starts = [i for i in range(0, len(windows), bs) if min(bs, len(windows) - i) >= d.world]
    total = math.ceil(len(starts) / cfg.optim.accumulate) * cfg.optim.epochs
    return Session(cfg, d, run_dir, track, edition, fold, window,
                   cfg.data.predict_stride or max(1, window // 2), train_ids, val_ids, val_v,
                   windows, starts, total, loss, model, make_optimizer(cfg, model))


def _shape(track: Track, cfg: Config, index, stores, device) -> tuple[int, int]:
    """(edition, window) of the run; refused when the window does not suit the track, or when
    the model and its batches cannot fit on the device."""
    edition = track.edition_for(index.edition)
    window = cfg.data.window or track.window
    if track.image_level and window != 1:
        raise AbawError(f"data.window: found {window}, expected 1 for {track.name}: its rows are "
                        "independent images, not frames of a video")
    check_fits(cfg, [st.dim for st in stores], track.out_dim(edition), window, device,
               track.layout(edition), stream_metas(stores))
    return edition, window


def _check_run_dir(cfg: Config, run_dir: Path, resume: bool) -> None:
    if (run_dir / "last.safetensors").exists() and not resume:
        raise AbawError(f"{run_dir}: a run is already there; pass --resume to continue it, or "
                        "choose another --out")
    if resume and (run_dir / "config.toml").is_file():
        key = diff(read_run_config(run_dir), cfg)
        if key is not None:
            raise AbawError(f"{run_dir / 'config.toml'}: field {key}: the resumed run was "
                            "trained with another value, expected the same recipe and --set")


def _claim(d, run_dir: Path, resume: bool) -> None:
    """A new run takes its folder exclusively: two trainings started into the same folder at the
    same moment (or one into a folder an interrupted run left) never mix their checkpoints."""
    if resume:
        return
    ok = claim_folder(run_dir) if d.main else True
    if not distributed.broadcast_floats(d, [float(ok)])[0]:
        raise AbawError(f"{run_dir}: a run was started there already; pass --resume to continue "
                        "it, or choose another --out")


def _prompts(cfg: Config):
    if not cfg.loss.prompts:
        return None
    p = Path(cfg.loss.prompts)
    if not p.is_file():
        raise AbawError(f"loss.prompts: found {p}, a file that does not exist; expected a .npy")
    prompts = load_npy(p, "class-prompt embeddings written by `abaw features prompts`",
                       Array("f", 2), mmap=False)
    if not cfg.model.embed_dim:
        raise AbawError(f"model.embed_dim: found 0 with loss.prompts, expected {prompts.shape[-1]}")
    if prompts.ndim != 2 or prompts.shape[1] != cfg.model.embed_dim:
        raise AbawError(f"{p}: found shape {prompts.shape}, expected (prompts, "
                        f"{cfg.model.embed_dim}) as model.embed_dim says")
    return prompts


def _train_epoch(s: Session, net, state: dict, on_step, bar=None) -> dict:
    cfg, d, epoch = s.cfg, s.d, state["epoch"]
    seed_all(cfg.run.seed * 1000003 + s.fold * 1009 + epoch)
    s.objective.set_progress(epoch / cfg.optim.epochs)
    s.windows.epoch = epoch
    order = np.random.default_rng([cfg.run.seed, s.fold, epoch]).permutation(len(s.windows))
    s.model.train()
    sums: dict = {}
    bs = cfg.optim.batch_size
    local = (order[i:i + bs][d.rank::d.world] for i in s.starts)   # this rank's share
    for micro, host in enumerate(prefetched(s.windows.batch, local), start=1):
        batch = to_device(host, d.device)
        pair = curriculum.mixed_pair(batch) if curriculum.mixes(cfg, epoch, micro, s.fold) else None
        sync = micro % cfg.optim.accumulate == 0 or micro == len(s.starts)
        ctx = net.no_sync() if (d.world > 1 and not sync) else contextlib.nullcontext()
        with ctx:
            with autocast(cfg, d.device):
                out = net(*((pair[0]["x"], pair[0]["mask"]) if pair else (batch["x"], batch["mask"])))
            loss, logs = (curriculum.mixed_loss(s.objective, out, pair) if pair
                          else s.objective(out, batch))
            (loss / cfg.optim.accumulate).backward()
        for name, (value, n) in logs.items():         # tensors: no host sync per step
            acc = sums.setdefault(name, [torch.zeros((), device=d.device)] * 2)
            acc[0] = acc[0] + torch.where(n > 0, value, torch.zeros_like(value))
            acc[1] = acc[1] + (n > 0).float()
        if sync:
            if cfg.optim.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(s.model.parameters(), cfg.optim.grad_clip)
            for g in s.opt.param_groups:
                g["lr"] = lr_at(cfg, state["step"], s.total_steps)
            s.opt.step()
            s.opt.zero_grad(set_to_none=True)
            state["step"] += 1
            if on_step is not None:
                on_step(state["step"])
        if bar is not None:
            bar.update(1)
            if not bar.disable and micro % 10 == 1:     # the loss is a host sync: shown bars only
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}", refresh=False)
    return {k: float(v[0] / v[1].clamp_min(1)) for k, v in sums.items()}


def _validate(s: Session, epoch: int) -> tuple[float, dict]:
    """The official validation score, the same on every rank (each predicts its share of the
    videos; the score is computed on all of them, pooled); NaN when this epoch is not
    validated."""
    cfg = s.cfg
    if (epoch + 1) % cfg.run.eval_every and epoch + 1 != cfg.optim.epochs:
        return math.nan, {}
    sc = evaluate(s.model, s.val_videos, s.track.layout(s.edition), cfg, s.d.device, s.window,
                  s.pstride, s.d)
    return sc.value, {k: float(v) for k, v in sc.parts.items()}


def _save(s: Session, state: dict, improved: bool, score: float) -> None:
    meta = {"state": state, "track": s.track.name, "edition": s.edition,
            "config_hash": config_hash(s.cfg)}
    if improved:
        checkpoint.save(s.run_dir / "best.safetensors", s.model,
                        {**meta, "epoch": state["epoch"] - 1, "score": score})
    checkpoint.save(s.run_dir / "last.safetensors", s.model, meta, s.opt)
    checkpoint.atomic_write_text(s.run_dir / "log.json", json.dumps(state["history"], indent=1))


def _write_run_info(s: Session, index, stores) -> None:
    s.run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.atomic_write_text(s.run_dir / "config.toml", to_toml(s.cfg))
    info = {"track": s.track.name, "edition": s.edition, "index_root": str(index.root),
            "index_crops": index.crop_sources, "index_fingerprint": index.fingerprint,
            "features": [str(st.path) for st in stores],
            "feature_meta": [st.meta for st in stores], "train_ids": s.train_ids,
            "val_ids": s.val_ids, "config_hash": config_hash(s.cfg), "code": code_version(),
            "window": s.window, "predict_stride": s.pstride}
    checkpoint.atomic_write_text(s.run_dir / "run.json", json.dumps(info, indent=2))


def _log(quiet: bool, d, text: str) -> None:
    if not quiet and d.main:
        print(text, file=sys.stderr, flush=True)
