"""A training objective: a weighted sum of named terms, each logged on its own.

A term reads columns of one model output (`outputs` or `embedding`) and columns of one batch
array (`labels`, or `teacher` for distillation), on the frames where the batch's `mask` and the
term's task mask are both True. A term with no valid frame in the (global) batch is skipped: it
adds 0 and is not logged for that step - this is how multi-task batches with missing labels work.
No host synchronisation happens here: skipping uses `torch.where`, and the logged values stay
tensors until the trainer reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from abaw.models.losses.reduce import global_count


@dataclass
class Term:
    name: str                                  # logged name, e.g. "EXPR_ce", "VA_ccc", "AU_kd"
    loss: Callable                             # (pred (N, K), target (N, J), mask (N,)) -> scalar
    cols: tuple[int, int] | None = None        # columns of the source output; None = all
    target_cols: tuple[int, int] | None = None  # columns of the target array; None = all
    mask_col: int | None = 0                   # column of batch[mask_key]; None = mask_key is (B, T)
    weight: float = 1.0
    source: str = "outputs"                    # key of the model output dict
    target: str = "labels"                     # key of the batch dict
    mask_key: str = "label_mask"               # key of the batch dict holding the task mask


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1, x.shape[-1]) if x.dim() > 2 else x.reshape(x.shape[0], -1)


def _cols(x: torch.Tensor, cols) -> torch.Tensor:
    return x if cols is None else x[:, cols[0]:cols[1]]


class Objective:
    def __init__(self, terms: list[Term]):
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"objective terms named twice: {names}")
        self.terms = list(terms)

    def set_progress(self, progress: float) -> None:
        """Training progress in [0, 1], for terms whose behaviour changes with it (V-NAW)."""
        for t in self.terms:
            if hasattr(t.loss, "progress"):
                t.loss.progress = progress

    def __call__(self, out: dict, batch: dict):
        """-> (total loss, {term name: (loss value, valid frames)}), all tensors."""
        frame_mask = batch["mask"].reshape(-1)                                   # (B*T,)
        total = torch.zeros((), device=frame_mask.device)
        logs = {}
        for t in self.terms:
            pred = _cols(_flat(out[t.source]), t.cols).float()                  # (N, K)
            target = torch.nan_to_num(_cols(_flat(batch[t.target]), t.target_cols).float())
            m = batch[t.mask_key]
            m = m[..., t.mask_col] if t.mask_col is not None else m
            mask = frame_mask & m.reshape(-1)
            n = global_count(mask)
            value = t.loss(pred, target, mask)
            total = total + torch.where(n > 0, t.weight * value, torch.zeros_like(value))
            logs[t.name] = (value.detach(), n)
        return total, logs
