"""The pieces the trainer and the predictor share: building the model and the optimiser, the
learning-rate schedule, moving batches to the device, mixed precision, and predicting windows back
to frames (with the official validation score on top)."""

from __future__ import annotations

import contextlib
import math
import os
import random

import numpy as np
import torch

from abaw import metrics
from abaw.core.layout import Layout
from abaw.errors import AbawError
from abaw.models import AffectModel, model_options
from abaw.train.blocks import activate
from abaw.train.config import Config
from abaw.train.windows import WindowSet, average_to_frames, prefetched


def build_model(cfg: Config, in_dims, out_dim, lay: Layout | None = None,
                streams: list[dict] | None = None) -> AffectModel:
    """The network `cfg` describes; `streams`: each feature store's meta (its kind, for the
    adapters; its tokens, for fusions that read a frame's patches); `lay`: the track's layout
    (where the VA block is, for polar outputs; how many tasks a discriminator tells apart)."""
    m = cfg.model
    head_opts = {"hidden": m.hidden, "layers": m.layers, "dropout": m.dropout, **m.head_options}
    if m.causal:
        head_opts["causal"] = True
    fusion_opts = dict(m.fusion_options)
    if m.causal and m.fusion and "causal" in model_options(m.fusion):
        fusion_opts.setdefault("causal", True)   # concat mixes frames one by one: always causal
    if m.horizon and not m.causal:
        raise AbawError(f"model.horizon: found {m.horizon} with model.causal = false, expected a "
                        "causal model (a delayed input with a two-sided head still sees ahead)")
    metas = streams or [{} for _ in in_dims]
    unknown = sorted(set(m.adapters) - {"visual", "audio", "text"})
    if unknown:
        raise AbawError(f"model.adapters: found stream kind {unknown[0]!r}, expected visual, "
                        "audio or text")
    polar = None
    if m.va_output == "polar":
        values = lay.block("values") if lay is not None else None
        if values is None or values.size != 2:
            raise AbawError(f"model.va_output: found \"polar\" for {cfg.track}, expected a track "
                            "with valence and arousal outputs (VA, MTL)")
        polar = values.columns.start
    tasks = len(lay.blocks) if (lay is not None and cfg.loss.task_discriminator > 0) else 0
    return AffectModel(in_dims, out_dim, head=m.head, head_options=head_opts, fusion=m.fusion,
                       fusion_dim=m.fusion_dim, fusion_options=fusion_opts, embed_dim=m.embed_dim,
                       adapters=[m.adapters.get(meta.get("kind", ""), "") for meta in metas],
                       adapter_options=[m.adapter_options.get(meta.get("kind", ""), {})
                                        for meta in metas],
                       in_tokens=[meta.get("tokens") for meta in metas], horizon=m.horizon,
                       polar=polar, tasks=tasks)


def stream_metas(stores) -> list[dict]:
    """What `build_model` reads of each feature store."""
    return [dict(s.meta) for s in stores]


def device_memory(device: torch.device) -> int:
    """Bytes of memory on `device` (the whole of it: what a run could use at best)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits(cfg: Config, in_dims, out_dim: int, window: int, device: torch.device,
               lay: Layout | None = None, streams: list[dict] | None = None) -> None:
    """Refuse, before allocating anything, a model or batch that cannot fit on `device`.

    A lower bound of what training holds: float32 weights, gradients and two optimiser moments
    (16 bytes a parameter, counted on the meta device, which allocates nothing); a batch of
    windows as float16 features on the host and float32 on the device; and per head layer a few
    (B, T, hidden) float32 activations kept for the backward pass."""
    with torch.device("meta"):
        model = build_model(cfg, in_dims, out_dim, lay, streams)      # as training builds it
        params = sum(p.numel() for p in model.parameters())
    frames = cfg.optim.batch_size * window
    need = (16 * params + frames * sum(in_dims) * 6
            + frames * cfg.model.hidden * cfg.model.layers * 4 * 8)
    have = device_memory(device)
    if need > have:
        raise AbawError(f"config: fields model.hidden ({cfg.model.hidden}), model.layers "
                        f"({cfg.model.layers}), optim.batch_size ({cfg.optim.batch_size}), "
                        f"data.window ({window}): found a model of {params:,} parameters and "
                        f"batches of {frames:,} frames needing at least {need / 2**30:,.1f} GiB, "
                        f"expected what fits in the {have / 2**30:,.1f} GiB of {device}")


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
def predict_frames(model, videos, lay: Layout, cfg: Config, device, window: int,
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
            yield which, activate(lay, out.float()).cpu().numpy()

    return average_to_frames(ws, batches(), lay.width)


def evaluate(model, videos, lay: Layout, cfg, device, window, stride, d=None) -> metrics.Score:
    """The official score of the model's plain decisions, pooled over the labelled videos. Under
    DDP (`d`) each rank predicts its share of the videos and the raw outputs of all ranks are
    gathered, so every rank scores the same pooled frames as one process would."""
    from abaw.train import distributed

    d = d or distributed.Dist()
    mine = distributed.share([vd.n for vd in videos], d.rank, d.world)
    outs_mine = predict_frames(model, [videos[i] for i in mine], lay, cfg, device, window,
                               stride) if mine else []
    pooled: dict = {}
    for part in distributed.gather_objects(d, dict(zip(mine, outs_mine, strict=True))):
        pooled.update(part)
    outs = [pooled[i] for i in range(len(videos))]
    scored = [(out, vd.labels) for vd, out in zip(videos, outs, strict=True)
              if vd.label_mask.any()]
    if not scored:
        raise AbawError(f"{lay.track}: no videos to score")
    return metrics.score_outputs(lay, np.concatenate([o for o, _ in scored]),
                                 np.concatenate([y for _, y in scored]))
