"""Feature extraction throughput: end to end (JPEG decode in workers -> model -> store) against
the same model on pre-decoded, pre-processed tensors in the same run, each the best of the same
number of runs. Target: >= 80 %. Exit status 1 on a missed target (`--quick`: a smoke run).

The models are the real classes with the released configs and preprocessing, randomly initialised
(throughput does not depend on the weights, and nothing is downloaded):
  efficientnet-b0 timm EfficientNet-B0 (CPU default)  dinov2-vit-s14  DINOv2 ViT-S/14
  dinov2-vit-b14  DINOv2 ViT-B/14                     clip-vit-b16    CLIP ViT-B/16 (vision
  tower, projected embedding)

    python eval/bench_features.py                                   # CPU, EfficientNet-B0
    python eval/bench_features.py --device cuda --precision bf16 --batch-size 256 \\
        --workers 8 --frames 20000 --models clip-vit-b16,dinov2-vit-b14
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import REPEAT, Targets, add_quick  # noqa: E402

from abaw.data.index import DatasetIndex, Media, Sequence  # noqa: E402
from abaw.features.extract import autocast, extract, resolve_device  # noqa: E402
from abaw.features.registry import create_backbone  # noqa: E402

IMAGENET = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])


def write_model(name: str, folder: Path) -> str:
    """A random model of the released config, saved like real weights; returns the registry
    entry that loads it."""
    import transformers as tf

    from abaw.features.backbone import quiet_transformers

    quiet_transformers()
    torch.manual_seed(0)
    if name.startswith("dinov2"):
        small = name == "dinov2-vit-s14"
        cfg = tf.Dinov2Config(hidden_size=384 if small else 768,
                              num_attention_heads=6 if small else 12, num_hidden_layers=12,
                              patch_size=14, image_size=518)
        tf.Dinov2Model(cfg).save_pretrained(folder)
        # facebook/dinov2-*: resize the short side to 256, centre-crop 224, bicubic, ImageNet stats
        tf.BitImageProcessor(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
                             resample=3, **IMAGENET).save_pretrained(folder)
        return "dinov2-vit-b14"
    if name == "clip-vit-b16":
        cfg = tf.CLIPConfig(vision_config=dict(patch_size=16, image_size=224), projection_dim=512)
        tf.CLIPModel(cfg).save_pretrained(folder)
        tf.CLIPImageProcessor().save_pretrained(folder)  # defaults = openai/clip-vit-base-patch16
        return "clip-vit-b16"
    if name == "efficientnet-b0":
        import timm
        from timm.models import save_for_hf

        # timm's own pretrained config of efficientnet_b0.ra_in1k (input size, crop, stats)
        save_for_hf(timm.create_model("efficientnet_b0.ra_in1k", pretrained=False), folder,
                    safe_serialization=True)
        return "efficientnet-b0"
    raise SystemExit(f"--models: found {name!r}, expected efficientnet-b0, dinov2-vit-s14, "
                     "dinov2-vit-b14 or clip-vit-b16")


def write_crops(root: Path, frames: int, videos: int = 8) -> DatasetIndex:
    """`videos` ids of 112x112 JPEG face-crop-sized images (every 10th frame has no crop)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (16, 112, 112, 3), dtype=np.uint8)
    index = DatasetIndex(root, 10, "bench")
    per = frames // videos
    index.sequences["EXPR"] = {}
    for v in range(videos):
        id = f"video{v:03d}"
        folder = root / "cropped_aligned" / id
        folder.mkdir(parents=True)
        n = int(per / 0.9) + 1
        rows = np.arange(1, n + 1)
        have = rows[rows % 10 != 0][:per]
        for f in have:
            Image.fromarray(base[f % 16]).save(folder / f"{f:05d}.jpg", quality=90)
        index.sequences["EXPR"][id] = Sequence(id, "EXPR", "train", rows, None)
        index.media[id] = Media(id, f"cropped_aligned/{id}", have.astype(np.int64))
    return index


def model_only(backbone, index, batch_size, precision, limit=4096) -> tuple[int, float]:
    """Frames/s of the model alone on the same batches (the first `limit` frames), decoded and
    preprocessed beforehand."""
    from PIL import Image

    batches = []
    for id, media in sorted(index.media.items()):
        if sum(len(x) for x in batches) >= limit:
            break
        images = []
        for f in media.crop_frames:
            with Image.open(index.image_path("EXPR", id, f)) as im:
                images.append(im.convert("RGB"))
        for s in range(0, len(images), batch_size):
            x = backbone.transform(images[s:s + batch_size])
            batches.append(x.pin_memory() if backbone.device.type == "cuda" else x)
    cast, _ = autocast(backbone.device, precision)
    n = sum(len(x) for x in batches)
    with cast:  # warm-up: kernels, allocator
        backbone.encode(batches[0].to(backbone.device)).float().cpu()
    sync(backbone.device)
    t0 = time.perf_counter()
    outs = []
    with cast:
        for x in batches:
            outs.append(backbone.encode(x.to(backbone.device, non_blocking=True)).float())
    torch.cat(outs).cpu()
    sync(backbone.device)
    return n, time.perf_counter() - t0


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="efficientnet-b0")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--frames", type=int, default=192)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    add_quick(ap)
    args = ap.parse_args()
    repeat = 1 if args.quick else REPEAT
    if args.quick:
        args.frames = min(args.frames, 48)
    targets = Targets(args.quick)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = write_crops(tmp / "data", args.frames)
        for name in args.models.split(","):
            entry = write_model(name, tmp / name)
            backbone = create_backbone(entry, weights=tmp / name, device=device)
            # each the best of `repeat` runs (a fresh store each time: extraction resumes)
            n_ref, t_ref = min((model_only(backbone, index, args.batch_size, args.precision)
                                for _ in range(repeat)), key=lambda r: r[1])
            t_e2e, summary = float("inf"), None
            for k in range(repeat):
                t0 = time.perf_counter()
                done = extract(index, backbone, tmp / f"store-{name}-{k}",
                               batch_size=args.batch_size, workers=args.workers,
                               precision=args.precision, quiet=True, rank=0, world=1)
                sync(device)
                took = time.perf_counter() - t0
                if took < t_e2e:
                    t_e2e, summary = took, done
            ref, e2e = n_ref / t_ref, summary["frames"] / t_e2e
            results.append(dict(model=name, device=str(device), precision=args.precision,
                                batch_size=args.batch_size, workers=args.workers,
                                frames=summary["frames"], model_only_fps=round(ref, 1),
                                end_to_end_fps=round(e2e, 1), ratio=round(e2e / ref, 3)))
            r = results[-1]
            print(f"{name:16s} {str(device):7s} frames {r['frames']:6d}  model only "
                  f"{ref:8.1f} frames/s  end to end {e2e:8.1f} frames/s")
            targets.check(f"{name} end to end", e2e / ref >= 0.8,
                          f"{e2e / ref:.2f} of the model-only rate (>= 0.80)")
    print(json.dumps(results))
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
