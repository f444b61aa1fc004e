"""Curriculum schedules: what training shows changes over the epochs (`[curriculum]`).

`compound` (single -> compound expressions): the first `start` share of the epochs trains on the
windows as they are (one expression at a time); after that, a `share` of the batches is mixed:
each window is averaged half and half with the next window of the batch, and the loss is the
mean of the losses against either window's labels. A mixed window shows two expressions at once
and teaches the model to score both (with least-squares class scores, both halves), which is what
compound expressions are made of and what CE's pairing of basic scores reads.

The model a curriculum makes is the one its last phase trains: the epochs before it are warm-up,
validated and logged but never kept (`first_kept_epoch`). Kept by the validation score alone,
a compound curriculum validated on basic expressions would keep a model from before it started.
"""

from __future__ import annotations

import math

import numpy as np
import torch

MIXED_KEYS = ("labels", "label_mask", "teacher", "teacher_mask")


def second_phase(cfg) -> int | None:
    """The first epoch (0-based) of the mixed phase; None without one (no compound curriculum,
    nothing mixed, or a start after the last epoch)."""
    c = cfg.curriculum
    first = math.ceil(c.start * cfg.optim.epochs)
    return first if c.kind == "compound" and c.share > 0 and first < cfg.optim.epochs else None


def mixes(cfg, epoch: int, step: int, fold: int = 0) -> bool:
    """Whether the batch `step` of `epoch` is mixed (deterministic in seed, fold, epoch, step)."""
    first = second_phase(cfg)
    if first is None or epoch < first:
        return False
    return bool(np.random.default_rng([cfg.run.seed, fold, epoch, step, 7]).random()
                < cfg.curriculum.share)


def first_kept_epoch(cfg) -> int:
    """The first epoch (0-based) whose model may be kept and from which patience counts: the
    curriculum's last phase; 0 without one."""
    return second_phase(cfg) or 0


def mixed_pair(batch: dict) -> tuple[dict, dict]:
    """Two batches sharing the mixed inputs: the first keeps each window's labels, the second
    carries its partner's (the next window, cyclically). Frames count where both are real."""
    b = batch["mask"].shape[0]
    partner = torch.roll(torch.arange(b, device=batch["mask"].device), -1)   # (B,)
    mask = batch["mask"] & batch["mask"][partner]                           # (B, T)
    x = [0.5 * (v.float() + v[partner].float()) for v in batch["x"]]         # (B, T, D) each
    own = {**batch, "x": x, "mask": mask}
    other = {**batch, "x": x, "mask": mask}
    for key in MIXED_KEYS:
        if key in batch:
            other[key] = batch[key][partner]
    for half in (own, other):
        half["label_mask"] = half["label_mask"] & mask.unsqueeze(-1)
        if "teacher_mask" in half:
            half["teacher_mask"] = half["teacher_mask"] & mask
    return own, other


def mixed_loss(objective, out: dict, pair: tuple[dict, dict]):
    """Mean of the objective against either half's labels; logs averaged per term."""
    (la, loga), (lb, logb) = objective(out, pair[0]), objective(out, pair[1])
    logs = {k: ((loga[k][0] + logb[k][0]) / 2, loga[k][1] + logb[k][1]) for k in loga}
    return (la + lb) / 2, logs
