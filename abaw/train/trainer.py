"""The generic trainer: any track's head on cached features, one process or DDP.

    train(cfg, index, stores, run_dir)   # k folds -> run_dir/fold<i>/ each

Per epoch: windows shuffled by (seed, fold, epoch); global batches of `optim.batch_size` windows
(each DDP rank takes every world-th window of the batch); AdamW with warmup + cosine (the rate is
a function of the step, so resuming needs no scheduler state); bf16 autocast on GPU; gradient
clipping and accumulation; validation with the track's OFFICIAL metric (abaw.metrics) on rank 0;
the best epoch is kept (`best.safetensors`), early stopping after `optim.patience` epochs without
improvement. Every epoch ends with `last.safetensors` (model + optimiser + state, one atomic
file); `resume=True` continues from it. Each epoch reseeds every generator from (seed, fold,
epoch), so a resumed run retraces the uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from abaw import metrics
from abaw.errors import AbawError
from abaw.models import AffectModel, model_options
from abaw.train import checkpoint, distributed
from abaw.train.config import Config, config_hash, diff, load_config, to_toml
from abaw.train.inputs import attach_teacher, feature_stats, load_videos, split_ids
from abaw.train.track import LabelStats
from abaw.train.windows import WindowSet, average_to_frames, prefetched

CODE_VERSION = "abaw-train-1"


@dataclass
class TrainResult:
    run_dir: Path
    best_score: float
    best_epoch: int
    epochs_run: int
    history: list = field(default_factory=list)


def build_model(cfg: Config, in_dims, out_dim) -> AffectModel:
    m = cfg.model
    head_opts = {"hidden": m.hidden, "layers": m.layers, "dropout": m.dropout, **m.head_options}
    if m.causal:
        head_opts["causal"] = True
    fusion_opts = dict(m.fusion_options)
    if m.causal and m.fusion and "causal" in model_options(m.fusion):
        fusion_opts.setdefault("causal", True)   # concat mixes frames one by one: always causal
    return AffectModel(in_dims, out_dim, head=m.head, head_options=head_opts, fusion=m.fusion,
                       fusion_dim=m.fusion_dim, fusion_options=fusion_opts, embed_dim=m.embed_dim)


def make_optimizer(cfg: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.dim() >= 2]        # weights, not biases / norms
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.optim.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    o = cfg.optim
    if o.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=0.9)
    cls = torch.optim.AdamW if o.optimizer == "adamw" else torch.optim.Adam
    return cls(groups, lr=o.lr)


def lr_at(cfg: Config, step: int, total: int) -> float:
    o = cfg.optim
    warm = int(o.warmup * total)
    if step < warm:
        return o.lr * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    factor = {"cosine": 0.5 * (1 + math.cos(math.pi * p)), "linear": 1 - p, "constant": 1.0}
    return o.lr * factor[o.schedule]


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def to_device(batch: dict, device) -> dict:
    out = {}
    for k, v in batch.items():
        if k == "x":
            out[k] = [torch.from_numpy(x).to(device, non_blocking=True) for x in v]
        else:
            out[k] = torch.from_numpy(v).to(device, non_blocking=True)
    return out


def autocast(cfg: Config, device: torch.device):
    if device.type == "cuda" and cfg.optim.amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_frames(model, videos, track, edition, cfg: Config, device, window: int,
                   stride: int) -> list[np.ndarray]:
    """Activated outputs (N, K) per video: windows every `stride` frames, overlaps averaged."""
    model.eval()
    ws = WindowSet(videos, window, stride)
    bs = max(1, cfg.optim.batch_size)

    def batches():
        chunks = [np.arange(i, min(i + bs, len(ws))) for i in range(0, len(ws), bs)]
        for which, host in zip(chunks, prefetched(ws.batch, chunks), strict=True):
            b = to_device(host, device)
            with autocast(cfg, device):
                out = model(b["x"], b["mask"])["outputs"]
            yield which, track.activate(out.float(), edition).cpu().numpy()

    return average_to_frames(ws, batches(), track.out_dim(edition))


def evaluate(model, videos, track, edition, cfg, device, window, stride) -> metrics.Score:
    outs = predict_frames(model, videos, track, edition, cfg, device, window, stride)
    col = metrics.MetricCollector(track.name, edition)
    for vd, out in zip(videos, outs, strict=True):
        if vd.label_mask.any():
            col.add(vd.id, track.decode(out, edition), track.truth(vd.labels, edition))
    return col.compute()


def train(cfg: Config, index, stores, run_dir, resume: bool = False, quiet: bool = False,
          on_step=None):
    """Train one run (or every fold of a k-fold run into `run_dir/fold<i>`)."""
    run_dir = Path(run_dir)
    if cfg.run.folds > 1 and cfg.run.fold == -1:
        d = distributed.setup(cfg.run.device, cfg.run.deterministic)
        if d.main:
            run_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.atomic_write_text(run_dir / "config.toml", to_toml(cfg))
        results = []
        for i in range(cfg.run.folds):
            sub = replace(cfg, run=replace(cfg.run, fold=i))
            results.append(train_one(sub, index, stores, run_dir / f"fold{i}", resume, quiet, on_step))
        return results
    return train_one(cfg, index, stores, run_dir, resume, quiet, on_step)


def _log(quiet: bool, d, text: str) -> None:
    if not quiet and d.main:
        print(text, file=sys.stderr, flush=True)


def train_one(cfg: Config, index, stores, run_dir, resume=False, quiet=False, on_step=None):
    from tracks import get_track
    run_dir = Path(run_dir)
    d = distributed.setup(cfg.run.device, cfg.run.deterministic)
    dev = d.device
    if cfg.run.deterministic and dev.type == "cuda":
        # CPU kernels are already deterministic for a fixed thread count; the switch itself
        # imports the compiler stack (seconds), so it is only thrown where it matters
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    fold = max(cfg.run.fold, 0)
    track = get_track(cfg.track)
    edition = track.edition_for(index.edition)
    window = cfg.data.window or track.window
    if track.image_level and window != 1:
        raise AbawError(f"data.window: found {window}, expected 1 for {track.name}: its rows are "
                        "independent images, not frames of a video")
    stride = cfg.data.stride or max(1, window // 2)
    pstride = cfg.data.predict_stride or max(1, window // 2)

    last_path = run_dir / "last.safetensors"
    if last_path.exists() and not resume:
        raise AbawError(f"{run_dir}: a run is already there; pass --resume to continue it, or "
                        "choose another --out")
    if resume and (run_dir / "config.toml").is_file():
        saved = load_config(run_dir / "config.toml")
        key = diff(saved, cfg)
        if key is not None:
            raise AbawError(f"{run_dir / 'config.toml'}: field {key}: the resumed run was "
                            "trained with another value, expected the same recipe and --set")

    train_ids, val_ids = split_ids(index, track, cfg.run.folds, fold, cfg.run.seed)
    train_v = load_videos(index, track, train_ids, stores, edition)
    val_v = load_videos(index, track, val_ids, stores, edition)
    n_out = track.out_dim(edition)
    if cfg.loss.teacher:
        attach_teacher(cfg.loss.teacher, train_v, n_out)
    prompts = None
    if cfg.loss.prompts:
        p = Path(cfg.loss.prompts)
        if not p.is_file():
            raise AbawError(f"loss.prompts: found {p}, a file that does not exist; expected a .npy")
        prompts = np.load(p, allow_pickle=False)
        if prompts.ndim != 2 or (cfg.model.embed_dim and prompts.shape[1] != cfg.model.embed_dim):
            raise AbawError(f"{p}: found shape {prompts.shape}, expected (prompts, "
                            f"{cfg.model.embed_dim or 'model.embed_dim'})")
        if not cfg.model.embed_dim:
            raise AbawError(f"model.embed_dim: found 0 with loss.prompts, expected {prompts.shape[1]}")
    stats = LabelStats(np.concatenate([v.labels for v in train_v]),
                       np.concatenate([v.label_mask & v.present[:, None] for v in train_v]))
    objective = track.objective(cfg.loss, stats, edition, teacher=bool(cfg.loss.teacher),
                                prompts=prompts)

    seed_all(cfg.run.seed * 1000 + fold)
    model = build_model(cfg, [s.dim for s in stores], n_out)
    if cfg.data.normalize:
        model.set_normalization(*feature_stats(train_v, cfg.data.norm_rows))
    model.to(dev)
    opt = make_optimizer(cfg, model)
    windows = WindowSet(train_v, window, stride, labelled_only=True)
    if len(windows) == 0:
        raise AbawError(f"{cfg.track}: no training window has a labelled frame with features")
    bs = cfg.optim.batch_size
    # global batches; a last one smaller than the number of processes is dropped
    starts = [i for i in range(0, len(windows), bs) if min(bs, len(windows) - i) >= d.world]
    steps_per_epoch = math.ceil(len(starts) / cfg.optim.accumulate)
    total_steps = steps_per_epoch * cfg.optim.epochs

    state = {"epoch": 0, "step": 0, "best_score": -math.inf, "best_epoch": -1, "bad_epochs": 0,
             "history": [], "done": False}
    if resume and last_path.exists():
        tensors, meta = checkpoint.load(last_path)
        model.load_state_dict(checkpoint.model_state(tensors))
        checkpoint.restore_optimizer(opt, tensors, meta["optimizer"])
        state = meta["state"]
        _log(quiet, d, f"resuming {run_dir} after epoch {state['epoch']}")
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        checkpoint.atomic_write_text(run_dir / "config.toml", to_toml(cfg))
        info = {"track": track.name, "edition": edition, "index_root": str(index.root),
                "index_fingerprint": index.fingerprint, "features": [str(s.path) for s in stores],
                "feature_meta": [s.meta for s in stores], "train_ids": train_ids,
                "val_ids": val_ids, "config_hash": config_hash(cfg), "code": CODE_VERSION,
                "window": window, "predict_stride": pstride}
        checkpoint.atomic_write_text(run_dir / "run.json", json.dumps(info, indent=2))
    distributed.barrier(d)

    net = model
    if d.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None)
    if state["done"]:
        _log(quiet, d, f"{run_dir}: already finished")

    while not state["done"] and state["epoch"] < cfg.optim.epochs:
        epoch = state["epoch"]
        t0 = time.time()
        seed_all(cfg.run.seed * 1000003 + fold * 1009 + epoch)
        objective.set_progress(epoch / cfg.optim.epochs)
        order = np.random.default_rng([cfg.run.seed, fold, epoch]).permutation(len(windows))
        model.train()
        sums: dict = {}
        local = (order[i:i + bs][d.rank::d.world] for i in starts)   # this rank's share
        for micro, host in enumerate(prefetched(windows.batch, local), start=1):
            batch = to_device(host, dev)
            sync = micro % cfg.optim.accumulate == 0 or micro == len(starts)
            ctx = net.no_sync() if (d.world > 1 and not sync) else contextlib.nullcontext()
            with ctx:
                with autocast(cfg, dev):
                    out = net(batch["x"], batch["mask"])
                loss, logs = objective(out, batch)
                (loss / cfg.optim.accumulate).backward()
            for name, (value, n) in logs.items():
                s = sums.setdefault(name, [torch.zeros((), device=dev), torch.zeros((), device=dev)])
                s[0] += torch.where(n > 0, value, torch.zeros_like(value))
                s[1] += (n > 0).float()
            if sync:
                if cfg.optim.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
                for g in opt.param_groups:
                    g["lr"] = lr_at(cfg, state["step"], total_steps)
                opt.step()
                opt.zero_grad(set_to_none=True)
                state["step"] += 1
                if on_step is not None:
                    on_step(state["step"])
        train_terms = {k: float(v[0] / v[1].clamp_min(1)) for k, v in sums.items()}

        last_epoch = epoch + 1 == cfg.optim.epochs
        score_value, parts = math.nan, {}
        if (epoch + 1) % cfg.run.eval_every == 0 or last_epoch:
            if d.main:
                sc = evaluate(model, val_v, track, edition, cfg, dev, window, pstride)
                score_value, parts = sc.value, {k: float(v) for k, v in sc.parts.items()}
            score_value = distributed.broadcast_floats(d, [score_value])[0]
        improved = not math.isnan(score_value) and score_value > state["best_score"]
        if improved:
            state["best_score"], state["best_epoch"], state["bad_epochs"] = score_value, epoch, 0
        elif not math.isnan(score_value):
            state["bad_epochs"] += 1
        state["history"].append({"epoch": epoch, "train": train_terms, "val": score_value,
                                 "val_parts": parts, "lr": lr_at(cfg, max(state["step"] - 1, 0),
                                                                 total_steps),
                                 "seconds": round(time.time() - t0, 3)})
        state["epoch"] = epoch + 1
        stop = cfg.optim.patience > 0 and state["bad_epochs"] >= cfg.optim.patience
        state["done"] = stop or state["epoch"] >= cfg.optim.epochs
        if d.main:
            meta = {"state": state, "track": track.name, "edition": edition,
                    "config_hash": config_hash(cfg)}
            if improved:
                checkpoint.save(run_dir / "best.safetensors", model,
                                {**meta, "epoch": epoch, "score": score_value})
            checkpoint.save(last_path, model, meta, opt)
            checkpoint.atomic_write_text(run_dir / "log.json", json.dumps(state["history"], indent=1))
        distributed.barrier(d)
        terms = " ".join(f"{k} {v:.4f}" for k, v in train_terms.items())
        _log(quiet, d, f"epoch {epoch + 1}/{cfg.optim.epochs}  {terms}  val {score_value:.4f}  "
                       f"best {state['best_score']:.4f} @{state['best_epoch'] + 1}  "
                       f"{time.time() - t0:.1f}s" + ("  (early stop)" if stop else ""))

    if d.main and not (run_dir / "predictions" / "val.npz").exists() and state["best_epoch"] >= 0:
        from abaw.train.predict import predict_run
        predict_run(run_dir, "val", index=index, stores=stores, quiet=True)
    distributed.barrier(d)
    return TrainResult(run_dir, state["best_score"], state["best_epoch"], state["epoch"],
                       state["history"])
