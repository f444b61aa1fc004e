"""Image-level training of a visual backbone on a dataset's training images, before extraction.

    train_image_stages(index, backbone, ["byol", "supervised"], out, ...)

The backbone's own network (a timm CNN or a transformers ViT / CLIP vision tower, as loaded by
`create_backbone`) is trained image by image and written as a weights folder of the same class,
so extraction loads it exactly like downloaded weights. Methods, applied in the order given,
`epochs` each, on the training split only (`abaw.train.pretrain.training_rows`):
- `byol` (Grill et al. 2020): two augmented views; an online encoder + projector + predictor
  regresses a slowly moving (EMA) copy's projection of the other view.
- `byel` (Lee et al., ABAW 4 LSD): BYOL plus an emotion classifier on the online representation
  (the class labels of `tasks`) and emotion-vector subtraction: the classifier's expected class
  vector (its weights averaged by its predicted probabilities) is taken out of the representation
  before the BYOL projection, so the self-supervised term aligns what the emotion does not explain.
- `mae`: masked image modelling: 3/4 of an 8 x 8 grid of the image is blanked, the encoder's
  embedding must restore the blanked cells of a 16 x 16 copy of the image through a linear decoder.
- `supervised`: one linear head per labelled task of `tasks` (VA: MSE + CCC, classes: weighted
  cross-entropy, AUs: BCE), as `abaw.train.pretrain` trains its face encoder.
After each epoch the state (network, method parts, optimiser) is saved beside the output, so an
interrupted stage resumes there; the weights folder appears whole at the end.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from abaw.atomic import atomic_folder
from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.train import checkpoint
from abaw.train.pretrain import Head, class_weights, head_loss, training_rows

METHODS = ("byol", "byel", "mae", "supervised")
EMA = 0.99          # BYOL's target network: tau = 1 - (1 - EMA) (cos(pi k / K) + 1) / 2
MASK_GRID, MASK_RATIO, RECON = 8, 0.75, 16


class Encoder(nn.Module):
    """A backbone's network as a trainable image encoder: (B, 3, H, W) -> (B, D)."""

    def __init__(self, backbone):
        super().__init__()
        self.net = backbone.model
        self.kind = ("timm" if backbone.model_id.startswith("timm:") else
                     "clip" if hasattr(self.net, "vision_model") else
                     "mae" if type(self.net).__name__ == "ViTMAEModel" else "vit")
        if self.kind == "mae":
            self.net.config.mask_ratio = 0.0      # every patch; masking is done on the pixels

    def forward(self, pixels):
        m = self.net
        if self.kind == "timm":
            return m.forward_head(m.forward_features(pixels), pre_logits=True)
        if self.kind == "clip":
            return m.vision_model(pixel_values=pixels).pooler_output
        return m(pixel_values=pixels).last_hidden_state[:, 0]


def _mlp(d_in, d_hidden, d_out):
    # LayerNorm, not BYOL's batch norm: the same with any batch size (BYOL needs no batch
    # statistics with a normalised projector; Richemond et al. 2020)
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.LayerNorm(d_hidden), nn.ReLU(),
                         nn.Linear(d_hidden, d_out))


class Learner(nn.Module):
    """The encoder and every part a method trains beside it (heads, projector, EMA copy)."""

    def __init__(self, encoder: Encoder, dim: int, heads: dict[str, Head]):
        super().__init__()
        self.encoder, self.heads_spec = encoder, heads
        self.heads = nn.ModuleDict({n: nn.Linear(dim, h.width) for n, h in heads.items()})
        self.projector, self.predictor = _mlp(dim, 256, 128), _mlp(128, 256, 128)
        self.target = None                      # made when a BYOL-style method starts
        self.decoder = nn.Linear(dim, 3 * RECON * RECON)

    def ensure_target(self):
        if self.target is None:
            self.target = copy.deepcopy(nn.ModuleList([self.encoder, self.projector]))
            self.target.requires_grad_(False)


def augment(im, rng):
    """A random view of a face image (PIL): shifted crop of 80-100 % of the side, horizontal
    flip, brightness and contrast within +-20 %."""
    from PIL import Image, ImageEnhance

    w, h = im.size
    s = rng.uniform(0.8, 1.0)
    cw, ch = int(w * s), int(h * s)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    im = im.crop((x, y, x + cw, y + ch)).resize((w, h), Image.BILINEAR)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
    return ImageEnhance.Contrast(im).enhance(rng.uniform(0.8, 1.2))


class Views(torch.utils.data.Dataset):
    """Row i -> (`count` augmented views, preprocessed by the backbone's own transform, and i)."""

    def __init__(self, paths, transform, seed: int):
        self.paths, self.transform, self.seed, self.epoch, self.count = paths, transform, seed, 0, 2

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image

        rng = np.random.default_rng([self.seed, self.epoch, i])
        with Image.open(self.paths[i]) as im:
            im = im.convert("RGB")
            views = [augment(im, rng) for _ in range(self.count)]
        return self.transform(views), i                                   # (count, 3, H, W)


def _byol(learner: Learner, v1, v2, subtract=None) -> torch.Tensor:
    def online(v):
        y = learner.encoder(v)
        return learner.predictor(learner.projector(y - subtract(y) if subtract else y))

    with torch.no_grad():
        enc, proj = learner.target
        y1, y2 = enc(v1), enc(v2)
        if subtract is not None:
            y1, y2 = y1 - subtract(y1), y2 - subtract(y2)
        t1, t2 = proj(y1), proj(y2)
    p1, p2 = online(v1), online(v2)
    cos = F.cosine_similarity(p1, t2.detach(), dim=-1) + F.cosine_similarity(p2, t1.detach(), dim=-1)
    return (2 - cos).mean() * 2


def _heads(learner: Learner, feats, rows, targets, weights, kinds=None):
    total, used = 0.0, 0
    for name, head in learner.heads_spec.items():
        if kinds is not None and head.kind not in kinds:
            continue
        loss = head_loss(head, learner.heads[name](feats), targets[name][rows], weights.get(name))
        if loss is not None:
            total, used = total + loss, used + 1
    return total if used else None


def _emotion_vector(learner: Learner, y):
    """The class heads' weights averaged by their predicted probabilities: (B, D)."""
    parts = [F.softmax(learner.heads[n](y), -1) @ learner.heads[n].weight
             for n, h in learner.heads_spec.items() if h.kind == "class"]
    return sum(parts) if parts else torch.zeros_like(y)


def _mae(learner: Learner, v, gen) -> torch.Tensor:
    b = v.shape[0]
    keep = torch.rand(b, 1, MASK_GRID, MASK_GRID, generator=gen) >= MASK_RATIO     # (B,1,G,G)
    cells = F.interpolate(keep.float(), size=v.shape[-2:], mode="nearest")
    recon = learner.decoder(learner.encoder(v * cells)).view(b, 3, RECON, RECON)
    target = F.adaptive_avg_pool2d(v, RECON)
    hidden = F.interpolate((~keep).float(), size=(RECON, RECON), mode="nearest")  # (B,1,R,R)
    return (((recon - target) ** 2) * hidden).sum() / (3 * hidden.sum()).clamp_min(1.0)


def train_image_stages(index, backbone, methods: list[str], out, tasks=(), epochs: int = 3,
                       frames: int = 4000, lr: float = 1e-4, batch_size: int = 32, seed: int = 0,
                       quiet: bool = False) -> Path:
    """Train `backbone` (from `create_backbone`) by `methods` in order; write its weights folder
    at `out` (with `stages.json`); return `out`."""
    from abaw.features.extract import progress

    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise AbawError(f"stages.image: found {bad or methods!r}, expected a list of "
                        f"{', '.join(METHODS)}")
    out = Path(out)
    data = training_rows(index, frames)
    wanted = {t.upper() for t in tasks}
    heads = {n: h for n, h in data.heads.items()
             if not wanted or n.split("_")[0] in wanted or n.split("_")[-1] in wanted}
    if any(m in ("byel", "supervised") for m in methods) and not heads:
        raise AbawError(f"stages.image_tasks: found {sorted(wanted)}, expected tracks with "
                        f"training labels here ({', '.join(sorted(data.heads))})")
    torch.manual_seed(seed)
    encoder = Encoder(backbone)
    encoder.net.train().requires_grad_(True)
    views = Views(data.paths, backbone.transform, seed)
    with torch.no_grad():
        dim = encoder.eval()(views[0][0][:1]).shape[-1]
    learner = Learner(encoder.train(), dim, heads)
    targets = {n: torch.from_numpy(t) for n, t in data.targets.items()}
    weights = {n: class_weights(data.targets[n][:, 0], h.width)
               for n, h in heads.items() if h.kind == "class"}
    partial = out.with_name(out.name + ".partial")
    state = {"method": 0, "epoch": 0, "losses": []}
    saved = None
    if (partial / "state.safetensors").is_file():          # resume where it stopped
        tensors, meta = checkpoint.load(partial / "state.safetensors")
        if meta.get("methods") == methods:
            if any(k.startswith("model.target.") for k in tensors):
                learner.ensure_target()
            learner.load_state_dict(checkpoint.model_state(tensors))
            state, saved = meta["state"], (tensors, meta)
    t0 = time.perf_counter()
    while state["method"] < len(methods):
        method = methods[state["method"]]
        if method in ("byol", "byel"):
            learner.ensure_target()
        views.count = 2 if method in ("byol", "byel") else 1
        opt = torch.optim.AdamW([p for p in learner.parameters() if p.requires_grad], lr=lr,
                                weight_decay=0.05)
        if saved is not None and 0 < state["epoch"] < epochs:
            checkpoint.restore_optimizer(opt, saved[0], saved[1]["optimizer"])
        saved = None
        while state["epoch"] < epochs:
            # every draw of an epoch (order, augmentation, masks) from (seed, method, epoch):
            # a resumed stage retraces the uninterrupted one
            views.epoch = state["method"] * 1000 + state["epoch"]
            loader = torch.utils.data.DataLoader(
                views, batch_size=batch_size, shuffle=True, drop_last=len(views) > batch_size,
                generator=torch.Generator().manual_seed(seed * 7919 + views.epoch))
            gen = torch.Generator().manual_seed(seed * 7919 + views.epoch + 1)
            torch.manual_seed(seed * 7919 + views.epoch + 2)      # dropout and the like
            total = max(1, epochs * len(loader))
            bar = progress(len(loader) * batch_size, f"{method} {state['epoch'] + 1}/{epochs}",
                           quiet)
            sums = []
            for step, (pair, rows) in enumerate(loader):
                k = state["epoch"] * len(loader) + step
                for g in opt.param_groups:      # one cycle: warm up, then cosine down
                    g["lr"] = lr * min(1.0, (k + 1) / max(1, total // 10)) * 0.5 * (
                        1 + np.cos(np.pi * k / total))
                v1, v2 = pair[:, 0], pair[:, -1]
                if method == "supervised":
                    loss = _heads(learner, learner.encoder(v1), rows, targets, weights)
                elif method == "mae":
                    loss = _mae(learner, v1, gen)
                else:
                    loss = _byol(learner, v1, v2, (lambda y: _emotion_vector(learner, y))
                                 if method == "byel" else None)
                    if method == "byel":
                        cls = _heads(learner, learner.encoder(v1), rows, targets, weights,
                                     kinds=("class",))
                        loss = loss if cls is None else loss + cls
                if loss is None:
                    continue
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if learner.target is not None and method in ("byol", "byel"):
                    tau = 1 - (1 - EMA) * (np.cos(np.pi * k / total) + 1) / 2
                    with torch.no_grad():
                        online = nn.ModuleList([learner.encoder, learner.projector])
                        for t, o in zip(learner.target.parameters(), online.parameters(),
                                        strict=True):
                            t.mul_(tau).add_(o.detach(), alpha=1 - tau)
                sums.append(float(loss.detach()))
                bar.update(len(rows))
            bar.close()
            state["epoch"] += 1
            state["losses"].append([method, round(float(np.mean(sums)) if sums else 0.0, 4)])
            partial.mkdir(parents=True, exist_ok=True)
            checkpoint.save(partial / "state.safetensors", learner,
                            {"state": state, "methods": methods}, opt)
            if not quiet:
                print(f"{backbone.name} {method} epoch {state['epoch']}/{epochs}: loss "
                      f"{state['losses'][-1][1]:.4f}", flush=True)
        state = {"method": state["method"] + 1, "epoch": 0, "losses": state["losses"]}
    info = {"backbone": backbone.name, "from": str(backbone.location), "methods": methods,
            "tasks": sorted(heads), "epochs": epochs, "frames": len(data.paths), "lr": lr,
            "batch_size": batch_size, "seed": seed, "losses": state["losses"],
            "index_fingerprint": index.fingerprint, "seconds": round(time.perf_counter() - t0, 1),
            "code_version": code_version()}
    encoder.net.eval()
    with atomic_folder(out) as tmp:
        save_weights(backbone, tmp)
        (tmp / "stages.json").write_text(json.dumps(info, indent=2) + "\n")
    import shutil

    shutil.rmtree(partial, ignore_errors=True)
    return out


def save_weights(backbone, folder: Path) -> None:
    """The backbone's (trained) network as a weights folder `create_backbone` loads: a timm
    folder with the same data config, or a transformers folder with its processor (and the
    tokenizer of a CLIP model, whose text tower is saved unchanged)."""
    net = backbone.model
    if backbone.model_id.startswith("timm:"):
        from timm.models import save_for_hf

        save_for_hf(net, folder, safe_serialization=True,
                    data_config=backbone.preprocessing["timm_data_config"])
        return
    from transformers import AutoImageProcessor, AutoTokenizer

    if type(net).__name__ == "ViTMAEModel":
        net.config.mask_ratio = 0.75           # the class's own default, as released
    net.save_pretrained(folder)
    AutoImageProcessor.from_pretrained(backbone.source).save_pretrained(folder)
    if hasattr(net, "text_model"):
        AutoTokenizer.from_pretrained(backbone.source).save_pretrained(folder)
