"""Train a face encoder on a dataset's training crops: a real timm CNN, saved as a timm weights
folder that `create_backbone("face-resnet18", weights=folder)` loads like any other weights.

Strong ABAW systems freeze a face CNN that was itself trained on affect labels (EmotiEffNet:
an EfficientNet trained on AffectNet) and train temporal heads on its features. Offline there are
no such weights, and a randomly initialised CNN gives useless features, so this step trains one:
the backbone plus one linear head per labelled task of the TRAIN split (VA: MSE + CCC, EXPR /
LSD / CE: class-weighted cross-entropy, AU: BCE; MTL rows feed their own three heads, masked per
task). Only the backbone is saved. Validation and test images are never read: an id that is in
the validation or test split of any track is left out whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from abaw import metrics
from abaw.atomic import atomic_folder
from abaw.core.layout import edition_for, layout
from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.models import losses as L

# ImageNet statistics: the inputs are ordinary RGB photos of faces, and every timm CNN expects them
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class Head:
    kind: str    # "va" (2 values) | "class" (one of `width` classes) | "binary" (`width` AUs)
    width: int


@dataclass
class TrainingRows:
    """The images pretraining reads and every label each one has (one image, several heads)."""

    paths: list[str]                                      # absolute, one per row
    heads: dict[str, Head] = field(default_factory=dict)
    targets: dict[str, np.ndarray] = field(default_factory=dict)  # head -> (N, K) NaN = no label
    tracks: dict[str, int] = field(default_factory=dict)  # track -> labelled rows it gave
    held_out_ids: int = 0                                 # ids left out: val/test in some track


HEAD_KIND = {"values": "va", "classes": "class", "binary": "binary"}


def _heads_of(track: str, edition: int) -> dict[str, tuple[Head, slice]]:
    """Heads one track's label columns feed, one per output block: name -> (head, label
    columns). A track of several blocks (MTL) names its heads TRACK_TASK."""
    lay = layout(track, edition_for(track, edition))
    several = len(lay.blocks) > 1
    return {f"{track}_{b.task}" if several else track: (Head(HEAD_KIND[b.kind], b.size), b.labels)
            for b in lay.blocks}


def training_rows(index, max_frames: int | None = None) -> TrainingRows:
    """Every TRAIN image with at least one label (crops that exist, LSD images), evenly
    subsampled to at most `max_frames`, in a fixed order (id, frame)."""
    held_out = {id for t in index.tracks() for id, s in index.sequences[t].items()
                if s.split != "train"}
    rows: dict[tuple, int] = {}
    keys, found = [], []          # found: (head, row key, label values)
    heads, tracks = {}, {}
    for track in index.tracks():
        for id in index.ids(track, "train"):
            seq = index.sequence(track, id)
            if seq.labels is None:
                continue
            image_rows = seq.images is not None
            if not image_rows and id in held_out:
                continue
            have = np.ones(len(seq.frames), bool) if image_rows else index.has_crop(id, seq.frames)
            heads_here = _heads_of(track, index.edition)
            masks = metrics.label_mask(layout(track, edition_for(track, index.edition)),
                                       seq.labels)
            labelled = np.zeros(len(seq.frames), bool)
            for m, (name, (head, cols)) in enumerate(heads_here.items()):
                keep = np.flatnonzero(have & masks[:, m])
                if len(keep) == 0:
                    continue
                heads.setdefault(name, head)
                labelled[keep] = True
                for i in keep:
                    key = (seq.images[i],) if image_rows else (id, int(seq.frames[i]))
                    found.append((name, key, seq.labels[i, cols]))
            tracks[track] = tracks.get(track, 0) + int(labelled.sum())
            for i in np.flatnonzero(labelled):
                key = (seq.images[i],) if image_rows else (id, int(seq.frames[i]))
                if key not in rows:
                    rows[key] = 0
                    keys.append((key, track, id, int(seq.frames[i])))
    if not keys:
        raise AbawError(f"index of {index.root}: no training image with a label (tracks "
                        f"{', '.join(index.tracks()) or 'none'}); expected train crops or LSD "
                        "images with annotations")
    keys.sort(key=lambda k: k[0])
    if max_frames and len(keys) > max_frames:  # evenly over (id, frame): every video keeps some
        keys = [keys[i] for i in np.unique(np.linspace(0, len(keys) - 1, max_frames).round()
                                           .astype(int))]
    for row, (key, *_) in enumerate(keys):
        rows[key] = row
    kept = {k[0] for k in keys}
    paths = [str(index.image_path(track, id, frame)) for _, track, id, frame in keys]
    targets = {n: np.full((len(keys), 1 if h.kind == "class" else h.width), np.nan, np.float32)
               for n, h in heads.items()}
    for name, key, values in found:
        if key in kept:
            targets[name][rows[key]] = values
    return TrainingRows(paths, heads, targets, tracks, len(held_out))


def load_image(path: str, size: int) -> np.ndarray:
    """(size, size, 3) uint8: the JPEG decoded by Pillow and resized the way timm's eval
    transform does for this data config (bilinear, antialiased, crop_pct 1)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.array(im.convert("RGB").resize((size, size), Image.BILINEAR))


class FaceImages(torch.utils.data.Dataset):
    """Row i -> (augmented (3, S, S) tensor, i). Augmentation: random shift by up to S/8
    (replicated edges), horizontal flip (the AUs scored are bilateral), brightness/contrast."""

    def __init__(self, paths: list[str], size: int):
        self.paths, self.size = paths, size
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        s = self.size
        x = torch.from_numpy(load_image(self.paths[i], s)).permute(2, 0, 1).float() / 255
        pad = max(1, s // 8)
        x = F.pad(x[None], (pad,) * 4, mode="replicate")[0]  # (3, S + 2p, S + 2p)
        dy, dx = torch.randint(0, 2 * pad + 1, (2,)).tolist()
        x = x[:, dy:dy + s, dx:dx + s]
        if torch.rand(()) < 0.5:
            x = x.flip(2)
        gain, bias = 1 + 0.4 * (torch.rand(2) - 0.5)
        x = ((x - 0.5) * gain + 0.5 * bias).clamp(0, 1)
        return (x - self.mean) / self.std, i


def head_loss(head: Head, out: torch.Tensor, y: torch.Tensor, weight=None):
    """The loss of one head on the rows that have its label; None when no row has one."""
    have = ~torch.isnan(y).any(1)
    if not have.any():
        return None
    out, y = out[have], y[have]
    if head.kind == "va":
        ccc = L.ccc_loss(out, y, torch.ones(len(y), dtype=torch.bool)) if len(y) > 1 else 0
        return F.mse_loss(out, y) + ccc
    if head.kind == "class":
        return F.cross_entropy(out, y[:, 0].long(), weight=weight)
    return F.binary_cross_entropy_with_logits(out, y)


def class_weights(y: np.ndarray, k: int) -> torch.Tensor:
    """The trainer's inverse-frequency weights over the labelled rows (the weighted mean of the
    cross-entropy does not depend on their scale)."""
    return L.class_weights(y[~np.isnan(y)], k, "inverse")


def pretrain(index, out, arch: str = "resnet18", image_size: int = 64, epochs: int = 4,
             batch_size: int = 64, lr: float = 2e-3, seed: int = 0, max_frames: int = 4000,
             quiet: bool = False) -> Path:
    """Train `arch` with a head per labelled task of `index`'s train split; write the backbone
    as a timm weights folder at `out` (new or empty) with `pretrain.json`; return `out`."""
    import timm
    from timm.models import save_for_hf

    from abaw.features.extract import progress

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AbawError(f"--out {out}: found an existing {'folder with files' if out.is_dir() else 'file'}"
                        ", expected a new or empty folder for the trained weights")
    for name, value in (("--size", image_size), ("--epochs", epochs),
                        ("--batch-size", batch_size), ("--max-frames", max_frames)):
        if not isinstance(value, int) or value < (16 if name == "--size" else 1):
            raise AbawError(f"{name}: found {value!r}, expected an integer >= "
                            f"{16 if name == '--size' else 1}")
    if arch not in timm.list_models():
        raise AbawError(f"--arch: found {arch!r}, expected a timm model name (e.g. resnet18, "
                        "resnet10t, efficientnet_b0)")
    data = training_rows(index, max_frames)
    torch.manual_seed(seed)
    backbone = timm.create_model(arch, pretrained=False, num_classes=0)
    heads = torch.nn.ModuleDict({n: torch.nn.Linear(backbone.num_features, h.width)
                                 for n, h in data.heads.items()})
    weights = {n: class_weights(data.targets[n][:, 0], h.width)
               for n, h in data.heads.items() if h.kind == "class"}
    targets = {n: torch.from_numpy(t) for n, t in data.targets.items()}
    loader = torch.utils.data.DataLoader(
        FaceImages(data.paths, image_size), batch_size=batch_size, shuffle=True, drop_last=True
        if len(data.paths) > batch_size else False, generator=torch.Generator().manual_seed(seed))
    params = list(backbone.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    steps = epochs * len(loader)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.15)
    # channels-last convolutions are about twice as fast on CPU
    backbone = backbone.to(memory_format=torch.channels_last).train()
    t0, losses = time.perf_counter(), {}
    for epoch in range(epochs):
        sums, counts = {}, {}
        bar = progress(len(loader) * batch_size, f"pretrain {epoch + 1}/{epochs}", quiet)
        for x, rows in loader:
            feats = backbone(x.contiguous(memory_format=torch.channels_last))  # (B, D)
            total = 0
            for name, head in data.heads.items():
                loss = head_loss(head, heads[name](feats), targets[name][rows], weights.get(name))
                if loss is not None:
                    total = total + loss
                    sums[name] = sums.get(name, 0.0) + float(loss.detach())
                    counts[name] = counts.get(name, 0) + 1
            if not torch.is_tensor(total):
                continue
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            sched.step()
            bar.update(len(x))
        bar.close()
        losses = {n: round(sums[n] / counts[n], 4) for n in sums}
        if not quiet:
            print(f"pretrain epoch {epoch + 1}/{epochs}: " + ", ".join(
                f"{n} {v:.3f}" for n, v in losses.items()), flush=True)
    seconds = time.perf_counter() - t0
    backbone = backbone.to(memory_format=torch.contiguous_format).eval()
    info = {"arch": arch, "image_size": image_size, "epochs": epochs, "batch_size": batch_size,
            "lr": lr, "seed": seed, "max_frames": max_frames, "edition": index.edition,
            "index_fingerprint": index.fingerprint, "tracks": data.tracks,
            "heads": {n: h.kind for n, h in data.heads.items()}, "frames": len(data.paths),
            "held_out_ids": data.held_out_ids, "final_train_losses": losses,
            "seconds": round(seconds, 1), "code_version": code_version(),
            "timm": timm.__version__, "torch": torch.__version__}
    with atomic_folder(out) as tmp:      # a folder appears complete or not at all
        save_for_hf(backbone, tmp, safe_serialization=True, data_config={
            "input_size": (3, image_size, image_size), "mean": MEAN, "std": STD, "crop_pct": 1.0,
            "crop_mode": "center", "interpolation": "bilinear"},
            model_config={"pretrained_cfg": {"tag": "abaw_face", "origin_url": "", "paper_ids": ""}})
        (tmp / "pretrain.json").write_text(json.dumps(info, indent=2) + "\n")
    if not quiet:
        print(f"pretrain: {len(data.paths)} images x {epochs} epochs in {seconds:.0f} s -> {out}",
              flush=True)
    return out
