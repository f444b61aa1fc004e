"""The default training objective of a track, built block by block from the loss config.

values  -> CCC (`ccc`), MSE (`mse`) or both; with 9 VA-region prompts, the soft-prompt term
classes -> CE with class weights from the training histogram (`ce`), focal, V-NAW, or the
           squared error to the one-hot target (`mse`: least-squares class scores); with one
           prompt per class, the text-guided contrastive term
binary  -> BCE with per-column positive weights (negatives / positives in training), or the
           binary focal loss (`focal`)
any     -> distillation from a teacher's outputs when one is given (also on unlabelled frames);
           a task discriminator (which tasks are annotated at a frame) when weighted > 0
Several blocks (MTL) are summed with `loss.task_weights`; each term is logged as TASK_term.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from abaw.core.layout import Layout
from abaw.errors import AbawError
from abaw.models import losses as L

MAIN = {"values": ("ccc", "mse", "ccc+mse"), "classes": ("ce", "focal", "vnaw", "mse"),
        "binary": ("bce", "focal")}
DEFAULT_MAIN = {"values": "ccc", "classes": "ce", "binary": "bce"}


def objective(lay: Layout, cfg, stats, teacher: bool = False,
              prompts: np.ndarray | None = None) -> L.Objective:
    """The objective of a track's layout `lay` from the loss config `cfg` (LossConfig) and the
    training label statistics."""
    blocks = lay.blocks
    kinds = {b.kind for b in blocks}
    if cfg.main and not any(cfg.main in MAIN[k] for k in kinds):
        allowed = sorted({m for k in kinds for m in MAIN[k]})
        raise AbawError(f"loss.main: found {cfg.main!r}, expected one of {', '.join(allowed)} "
                        f"for track {lay.track}")
    prompt_t = None if prompts is None else torch.as_tensor(np.asarray(prompts), dtype=torch.float32)
    prompt_used = False
    terms = []
    for i, b in enumerate(blocks):
        out = (b.columns.start, b.columns.stop)
        labels = (b.labels.start, b.labels.stop)
        pre = f"{b.task}_" if len(blocks) > 1 else ""
        w = float(cfg.task_weights.get(b.task, 1.0))
        main = cfg.main if cfg.main in MAIN[b.kind] else DEFAULT_MAIN[b.kind]
        common = dict(cols=out, target_cols=labels, mask_col=i)
        valid = stats.mask[:, i]
        if b.kind == "values":
            if "ccc" in main:
                terms.append(L.Term(pre + "ccc", L.ccc_loss, weight=w, **common))
            if "mse" in main:
                terms.append(L.Term(pre + "mse", L.mse, weight=w, **common))
            if prompt_t is not None and len(prompt_t) == 9 and b.size == 2:
                fn = partial(L.prompt_grid, prompts=prompt_t, temperature=cfg.prompt_temperature,
                             sigma=cfg.grid_sigma)
                terms.append(L.Term(pre + "grid", fn, cols=None, target_cols=labels, mask_col=i,
                                    weight=w * cfg.prompt_weight, source="embedding"))
                prompt_used = True
        elif b.kind == "classes":
            cw = L.class_weights(stats.labels[valid, b.labels.start], b.size, cfg.class_weights)
            fn = {"ce": partial(L.cross_entropy, class_weight=cw,
                                label_smoothing=cfg.label_smoothing),
                  "focal": partial(L.focal, gamma=cfg.focal_gamma, class_weight=cw),
                  "vnaw": L.VNAWLoss(cfg.vnaw_lambda, cw, cfg.label_smoothing),
                  "mse": partial(L.one_hot_squared_error, class_weight=cw)}[main]
            terms.append(L.Term(pre + main, fn, weight=w, **common))
            if prompt_t is not None and len(prompt_t) == b.size:
                fn = partial(L.prompt_contrastive, prompts=prompt_t,
                             temperature=cfg.prompt_temperature)
                terms.append(L.Term(pre + "prompt", fn, cols=None, target_cols=labels,
                                    mask_col=i, weight=w * cfg.prompt_weight, source="embedding"))
                prompt_used = True
        else:
            pw = L.pos_weights(stats.labels[valid, b.labels]) if cfg.pos_weights else None
            fn = (partial(L.binary_focal, gamma=cfg.focal_gamma, pos_weight=pw) if main == "focal"
                  else partial(L.binary_cross_entropy, pos_weight=pw))
            terms.append(L.Term(pre + main, fn, weight=w, **common))
        if teacher:
            fn = {"values": L.distill_values, "binary": L.distill_binary,
                  "classes": partial(L.distill_classes, temperature=cfg.kd_temperature)}[b.kind]
            terms.append(L.Term(pre + "kd", fn, cols=out, target_cols=out, mask_col=None,
                                weight=w * cfg.kd_weight, target="teacher", mask_key="teacher_mask"))
    if cfg.task_discriminator > 0:
        # every frame of a window is an example: which of the blocks are annotated there
        terms.append(L.Term("tasks", L.binary_cross_entropy, cols=None, target_cols=None,
                            mask_col=None, weight=cfg.task_discriminator, source="tasks",
                            target="label_mask", mask_key="mask"))
    if prompt_t is not None and not prompt_used:
        sizes = [b.size for b in blocks if b.kind == "classes"]
        raise AbawError(f"loss.prompts {cfg.prompts}: found {len(prompt_t)} prompt embeddings, "
                        f"expected one per class ({', '.join(map(str, sizes)) or 'no class block'}) "
                        "or 9 VA regions")
    return L.Objective(terms)
