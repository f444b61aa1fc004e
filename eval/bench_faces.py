"""Face step throughput: end to end (PyAV decode and shrink in data-loader workers -> detector
-> tracking, alignment, JPEG crops -> crop tree, table and summary on disk) against the detector
alone on the same frames, decoded and shrunk beforehand, in the same run, each the best of the
same number of runs. Target: >= 80 %. Exit status 1 on a missed target (`--quick`: a smoke run).

Clips are made from the photograph that ships with scikit-image (`tests/faces_clips.py`): one
moving face, a stretch without it, variable frame rate. RetinaFace runs on randomly initialised
weights of its real architecture (speed does not depend on the weights; nothing is downloaded),
its threshold set so that it keeps about as many faces per frame as a real clip has.

    python eval/bench_faces.py                                   # CPU, Haar cascade, 320x240
    python eval/bench_faces.py --detector retinaface-mnet025 --device cuda --width 1280 \\
        --videos 8 --frames 600 --batch-size 64 --workers 8
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from faces_clips import moving_clip  # noqa: E402
from timing import REPEAT, Targets, add_quick  # noqa: E402

from abaw.data.media import iter_frames  # noqa: E402
from abaw.faces.detector import shrink  # noqa: E402
from abaw.faces.extract import CropSpec, extract, plan  # noqa: E402
from abaw.faces.registry import create_detector  # noqa: E402
from abaw.faces.retinaface import write_random  # noqa: E402
from abaw.features.extract import resolve_device  # noqa: E402

TARGET = 0.8


def detector_only(detector, videos, batch_size, max_side) -> tuple[int, float]:
    """Frames/s of `detector.detect` alone on the same batches, decoded and shrunk beforehand."""
    batches = []
    for v in videos:
        frames = np.stack([f for _, _, f in iter_frames(v)])
        for s in range(0, len(frames), batch_size):
            batches.append(shrink(frames[s:s + batch_size], max_side)[0])
    detector.detect(batches[0])          # warm-up: kernels, allocator, cascade
    sync(detector)
    t0 = time.perf_counter()
    for b in batches:
        detector.detect(b)
    sync(detector)
    return sum(len(b) for b in batches), time.perf_counter() - t0


def sync(detector):
    device = getattr(detector, "device", None)
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def calibrate(detector, video, max_side, faces_per_frame=2):
    """A random-weights RetinaFace keeps every anchor over its threshold: set the threshold to
    the score of each frame's k-th best anchor, so about k faces per frame survive."""
    from itertools import islice

    frames = np.stack([f for _, _, f in islice(iter_frames(video), 16)])
    small, _ = shrink(frames, max_side)
    with torch.inference_mode():
        x = torch.from_numpy(small).to(detector.device).permute(0, 3, 1, 2).flip(1).float()
        _, score, _ = detector.model(x - 115)
    detector.threshold = float(score.topk(faces_per_frame, dim=1).values[:, -1].median())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", default="haar")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--frames", type=int, default=60, help="per video")
    ap.add_argument("--width", type=int, default=320, help="frame width (height 3/4 of it)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-side", type=int, default=640)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    add_quick(ap)
    args = ap.parse_args()
    repeat = 1 if args.quick else REPEAT
    if args.quick:
        args.videos, args.frames = 1, 30
    targets = Targets(args.quick)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "videos").mkdir()
        videos = []
        for v in range(args.videos):
            path = tmp / "videos" / f"clip{v:02d}.mp4"
            moving_clip(path, args.frames, (args.frames // 3, args.frames // 3 + args.frames // 10),
                        width=args.width)
            videos.append(str(path))
        weights = None
        if args.detector == "retinaface-mnet025":
            weights = write_random(tmp / "weights")
        detector = create_detector(args.detector, weights=weights, device=str(device))
        if weights is not None:
            calibrate(detector, videos[0], args.max_side)
        # each the best of `repeat` runs (a fresh crop tree each time: extraction resumes)
        n, det = min((detector_only(detector, videos, args.batch_size, args.max_side)
                      for _ in range(repeat)), key=lambda r: r[1])
        e2e, summary = float("inf"), None
        for k in range(repeat):
            jobs = plan([tmp / "videos"], tmp / f"crops{k}")
            t0 = time.perf_counter()
            done = extract(jobs, detector, tmp / f"crops{k}", CropSpec(),
                           batch_size=args.batch_size, workers=args.workers,
                           max_side=args.max_side, quiet=True)
            took = time.perf_counter() - t0
            if took < e2e:
                e2e, summary = took, done
    det_rate = n / det
    e2e_rate = summary["frames"] / e2e
    ratio = e2e_rate / det_rate
    result = {"detector": args.detector, "device": str(device), "frames": summary["frames"],
              "size": f"{args.width}x{int(args.width * 3 / 4) // 2 * 2}",
              "faces_per_frame": round(summary["faces"] / max(summary["frames"], 1), 2),
              "batch": args.batch_size, "workers": args.workers,
              "detector_only_fps": round(det_rate, 1), "end_to_end_fps": round(e2e_rate, 1),
              "ratio": round(ratio, 3), "target": TARGET}
    print(json.dumps(result))
    targets.check("end to end", ratio >= TARGET,
                  f"{ratio:.0%} of the detector-only rate (>= {TARGET:.0%})")
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
