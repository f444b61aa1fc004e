"""Loader vs model step: can the window loader keep the model fed?

Loader: windows of T=256 frames, D=768 float16 features, memory-mapped from a feature store on
disk, assembled into shuffled batches of 32 (plus the conversion to torch tensors), in frames/s.
Step: forward + backward + AdamW step of a GRU, TCN and Transformer head on an in-memory batch of
the same shape, in frames/s, on the best device here. Target: loader >= 10x the step's rate.
Both rates are the best of the same number of runs. Exit status 1 on a missed target.

    python eval/bench_train.py [--videos 16] [--frames 2000] [--steps N] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from timing import REPEAT, Targets, add_quick

from abaw.data.index import DatasetIndex, Sequence
from abaw.features.store import FeatureStore
from abaw.models import AffectModel
from abaw.train.modeling import to_device
from abaw.train.windows import WindowSet, load_video
from tracks import get_track

D, T, B = 768, 256, 32
IMAGE_BATCH = 256


def build_store(root: Path, videos: int, frames: int):
    rng = np.random.default_rng(0)
    store = FeatureStore.create(root / "feats", {"backbone": "bench", "dim": D})
    seqs = {}
    for v in range(videos):
        vid = f"v{v:03d}"
        f = np.arange(1, frames + 1)
        present = rng.random(frames) > 0.05
        store.write(vid, f, rng.normal(size=(frames, D)).astype(np.float16), present)
        labels = rng.integers(0, 8, size=(frames, 1)).astype(np.float32)
        seqs[vid] = Sequence(vid, "EXPR", "train", f, labels)
    return DatasetIndex(root, 8, "bench", {"EXPR": seqs}), store


def loader_rate(index, store, batches: int, t: int = T, b: int = B) -> float:
    track = get_track("EXPR")
    videos = [load_video(index, track, i, [store], 8) for i in index.ids("EXPR", "train")]
    ws = WindowSet(videos, t, max(1, t // 2), labelled_only=True)
    order = np.random.default_rng(0).permutation(len(ws))
    for i in range(0, min(len(order), 4 * b), b):      # touch the pages once (warm cache)
        ws.batch(order[i:i + b])
    t0, n = time.perf_counter(), 0
    for k in range(batches):
        i = (k * b) % max(1, len(order) - b)
        batch = to_device(ws.batch(order[i:i + b]), "cpu")
        n += batch["x"][0].shape[0] * batch["x"][0].shape[1]
    return n / (time.perf_counter() - t0)


def step_rate(head: str, device, steps: int, t: int = T, b: int = B) -> float:
    torch.manual_seed(0)
    model = AffectModel([D], 8, head=head, head_options={"hidden": 256, "layers": 2}).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(b, t, D, device=device).half()
    mask = torch.ones(b, t, dtype=torch.bool, device=device)
    y = torch.randint(0, 8, (b * t,), device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast(
        "cpu", enabled=False)

    def one():
        with amp:
            out = model([x], mask)["outputs"]
        loss = torch.nn.functional.cross_entropy(out.float().reshape(-1, 8), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    if device.type == "cuda":
        one()                                          # warm-up (allocations, kernels)
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * b * t / (time.perf_counter() - t0)


def best_rate(fn, repeat):
    """The highest of `repeat` rates measured by `fn` (REPEAT by default), as `best_of` times."""
    return max(fn() for _ in range(REPEAT if repeat is None else repeat))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=16)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--steps", type=int, default=0, help="timed steps (default: 1 on CPU, 10 on GPU)")
    add_quick(ap)
    args = ap.parse_args()
    repeat = None
    if args.quick:
        args.videos, args.frames, args.batches, repeat = 4, 600, 8, 1
    targets = Targets(args.quick)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps = args.steps or (10 if device.type == "cuda" else 1)
    # the first optimiser step imports torch's compiler stack (seconds): not part of any step
    w = torch.zeros(1, requires_grad=True)
    w.sum().backward()
    torch.optim.AdamW([w]).step()
    with tempfile.TemporaryDirectory() as tmp:
        index, store = build_store(Path(tmp), args.videos, args.frames)
        size = args.videos * args.frames * D * 2 / 2**20
        load = best_rate(lambda: loader_rate(index, store, args.batches), repeat)
        print(f"loader: {load:,.0f} frames/s  (B={B}, T={T}, D={D}, float16 memory maps, "
              f"{size:.0f} MiB store, shuffled windows)")
        worst = None
        for head in ("gru", "tcn", "transformer"):
            rate = best_rate(lambda h=head: step_rate(h, device, steps), repeat)
            ratio = load / rate
            worst = ratio if worst is None else min(worst, ratio)
            print(f"step {head:<12} {rate:>12,.0f} frames/s on {device.type}   "
                  f"loader / step = {ratio:6.1f}x")
        # image-level tracks (LSD, MTL): single frames, shuffled across the whole store
        load1 = best_rate(lambda: loader_rate(index, store, args.batches, t=1, b=IMAGE_BATCH),
                          repeat)
        rate1 = best_rate(lambda: step_rate("mlp", device, steps * 20, t=1, b=IMAGE_BATCH), repeat)
        print(f"image level (T=1, B={IMAGE_BATCH}): loader {load1:,.0f} frames/s, step mlp "
              f"{rate1:,.0f} frames/s   loader / step = {load1 / rate1:6.1f}x")
        worst = min(worst, load1 / rate1)
        targets.check("loader / step", worst >= 10, f"slowest ratio {worst:.1f}x (>= 10x)")
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
