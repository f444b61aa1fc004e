"""Feature extraction: every id of the index -> one row per frame in a FeatureStore.

- Visual: the face crop (or LSD image) of each row, decoded and preprocessed in data-loader
  workers, encoded in batches (bf16/fp16 autocast on GPU). Rows without an image are zeros with
  present=False, never invented.
- Audio: the raw video's audio is decoded in workers, encoded in chunks, and mapped onto the
  video frames by timestamp (`abaw.features.timeline`).
- Text: each id's text file (behaviour descriptions, transcripts) in the folder the recipe names,
  its segments embedded and spread over their frames (`abaw.features.text`).
- Batches never span two ids, so an id's features do not depend on which other ids ran: a resumed
  run (done ids skipped) writes byte-identical files.
- `torchrun`: ids are shared out by RANK / WORLD_SIZE (by raw video, so the two people of one
  video share its audio decode); each rank writes its own ids into the same store.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from abaw import protocol
from abaw.core.version import code_version
from abaw.errors import AbawError
from abaw.features.loaders import AudioTracks, ImageFiles, Preprocess, unbatched
from abaw.features.store import FeatureStore
from abaw.features.timeline import audio_rows

AUDIO_BATCH = 8  # most audio chunks per model call


@dataclass
class Job:
    id: str
    frames: np.ndarray                  # (N,) 1-based frame numbers: the rows of the stored file
    present: np.ndarray                 # (N,) visual: an image exists for the row
    paths: list[str] = field(default_factory=list)  # images of the present rows, in row order
    video: str | None = None            # raw video (audio)
    timestamps: np.ndarray | None = None  # decoded frame times from the index, if it has them
    inputs: str = ""                    # fingerprint of what the rows are made from


def input_fingerprint(job: Job, root) -> str:
    """What the stored rows of `job` depend on: its rows, which have an input, and the name, size
    and mtime of every file read (crops / images, or the raw video). A replaced crop changes it.
    Names are relative to the dataset root, so a moved tree keeps its features."""
    root = str(root).rstrip(os.sep) + os.sep
    h = hashlib.sha1(np.asarray(job.frames, np.int64).tobytes())
    h.update(np.asarray(job.present, bool).tobytes())
    if job.timestamps is not None:
        h.update(np.asarray(job.timestamps, np.float64).tobytes())
    for p in job.paths + ([job.video] if job.video else []):
        try:
            st = os.stat(p)
            stamp = f"{st.st_size}\t{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{p[len(root):] if p.startswith(root) else p}\t{stamp}\n".encode())
    return h.hexdigest()


def plan(index, kind: str, tracks=None, splits=None, text_dir=None) -> list[Job]:
    """One job per id of the chosen tracks and splits, sorted; its rows are the union of the
    frames its sequences list. `text_dir`: the folder of the ids' text files (kind "text")."""
    tracks = [t.upper() for t in (tracks or index.tracks())]
    frames: dict[str, set] = {}
    image_track: dict[str, str] = {}
    for track in tracks:
        for id, seq in index.sequences.get(track, {}).items():
            if splits and seq.split not in splits:
                continue
            if seq.images is not None:
                if kind in ("audio", "text"):
                    continue  # image rows (LSD) have no video, no transcript
                image_track[id] = track
            frames.setdefault(id, set()).update(int(f) for f in seq.frames)
    jobs = []
    for id in sorted(frames):
        rows = np.array(sorted(frames[id]), dtype=np.int64)
        media = index.media.get(id)
        if id in image_track:
            present = np.ones(len(rows), bool)
        else:
            present = index.has_crop(id, rows)
        job = Job(id, rows, present)
        if kind == "text":
            from abaw.features.text import text_file

            found = text_file(text_dir, id, index.edition) if text_dir is not None else None
            job.paths = [str(found)] if found else []
        elif kind == "audio":
            if media is not None and media.raw_video:
                job.video = str(Path(index.root) / media.raw_video)
                job.timestamps = media.timestamps
        elif id in image_track:
            job.paths = [str(index.image_path(image_track[id], id, f)) for f in rows[present]]
        elif present.any():
            # one Path per id, names from the protocol: 2.8M Path joins would take a minute
            folder = str(index.image_path(tracks[0], id, rows[present][0]).parent)
            job.paths = [os.path.join(folder, protocol.frame_name(int(f))) for f in rows[present]]
        jobs.append(job)
    return jobs


def shard(jobs: list[Job], rank: int, world: int) -> list[Job]:
    """This rank's jobs. Audio jobs are grouped by raw video (the two people of a video share
    one decode), visual ones by id; groups go, longest first, to the least-loaded rank, so every
    rank gets about the same number of frames. Deterministic: every rank computes the same."""
    sizes: dict[str, int] = {}
    for j in jobs:
        sizes[j.video or j.id] = sizes.get(j.video or j.id, 0) + len(j.frames)
    load, mine = [0] * world, set()
    for key in sorted(sizes, key=lambda k: (-sizes[k], k)):
        r = load.index(min(load))
        load[r] += sizes[key]
        if r == rank:
            mine.add(key)
    return [j for j in jobs if (j.video or j.id) in mine]


def rank_and_world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise AbawError(f"--device: found {device}, but no CUDA device is visible; expected "
                            "auto or cpu")
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    elif device != "cpu":
        raise AbawError(f"--device: found {device!r}, expected auto, cpu or cuda")
    return torch.device(device)


def autocast(device: torch.device, precision: str):
    """bf16 (or fp16) autocast on GPU; full precision on CPU unless asked."""
    if precision == "auto":
        precision = "fp32" if device.type == "cpu" else (
            "bf16" if torch.cuda.is_bf16_supported() else "fp16")
    if precision == "fp32":
        return contextlib.nullcontext(), "fp32"
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if dtype is None:
        raise AbawError(f"--precision: found {precision!r}, expected auto, fp32, bf16 or fp16")
    return torch.autocast(device.type, dtype=dtype), precision


def progress(total: int, desc: str, quiet: bool):
    from tqdm import tqdm

    off = quiet or bool(os.environ.get("CI")) or total == 0
    # A log file gets a line every 30 s, not a carriage-return update per batch.
    interval = 0.1 if sys.stderr.isatty() else 30.0
    return tqdm(total=total, desc=desc, unit="frame", unit_scale=True, disable=off,
                dynamic_ncols=True, file=sys.stderr, mininterval=interval)


# --- visual ---------------------------------------------------------------------------------------

def extract_visual(backbone, jobs, store, device, batch_size, workers, precision, quiet,
                   on_done=None) -> int:
    paths, batches, per_job = [], [], []
    for job in jobs:
        first = len(paths)
        paths += job.paths
        own = [list(range(s, min(s + batch_size, len(paths))))
               for s in range(first, len(paths), batch_size)]
        batches += own
        per_job.append(len(own))
    loader = torch.utils.data.DataLoader(
        ImageFiles(paths), batch_sampler=batches, num_workers=workers,
        collate_fn=Preprocess(backbone.transform), pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None)
    cast, _ = autocast(device, precision)
    bar = progress(len(paths), backbone.name, quiet)
    batches_iter = iter(loader)
    try:
        for job, n_batches in zip(jobs, per_job, strict=True):
            outs = []
            for _ in range(n_batches):
                pixels, err = next(batches_iter)
                if err:
                    raise AbawError(f"{err}; expected a readable JPEG crop")
                with cast:
                    outs.append(backbone.encode(pixels.to(device, non_blocking=True)).float())
                bar.update(len(pixels))
            rows = np.zeros((len(job.frames), backbone.dim), np.float32)
            if outs:
                rows[job.present] = torch.cat(outs).cpu().numpy()  # (n_present, D)
            store.write(job.id, job.frames, rows, job.present, job.inputs)
            if on_done:
                on_done(job.id)
    finally:
        del batches_iter
        bar.close()
    return len(paths)


# --- audio ----------------------------------------------------------------------------------------

def extract_audio(backbone, jobs, store, device, batch_size, workers, precision, quiet,
                  on_done=None) -> int:
    groups: dict = {}
    for job in jobs:  # ids sharing a raw video (two people) share one decode
        groups.setdefault(job.video or f"\0{job.id}", []).append(job)
    videos = [k if not k.startswith("\0") else None for k in groups]
    need = [any(j.timestamps is None for j in g) for g in groups.values()]
    loader = torch.utils.data.DataLoader(
        AudioTracks(videos, backbone.sample_rate, need), batch_size=None, num_workers=workers,
        collate_fn=unbatched, prefetch_factor=2 if workers else None)
    cast, _ = autocast(device, precision)
    bar = progress(sum(len(j.frames) for j in jobs), backbone.name, quiet)
    items = iter(loader)
    try:
        for group in groups.values():
            wave, start, probed, err = next(items)
            if err:
                raise AbawError(err)
            with cast:  # chunks are 10-30 s of audio: a few per batch is plenty
                centres, feats = backbone.features(wave, min(batch_size, AUDIO_BATCH))
            for job in group:
                times = job.timestamps if job.timestamps is not None else probed
                if times is None:
                    rows = np.zeros((len(job.frames), backbone.dim), np.float32)
                    present = np.zeros(len(job.frames), bool)
                else:
                    rows, present = audio_rows(times, job.frames, centres + start, feats,
                                               backbone.hop_s)
                store.write(job.id, job.frames, rows, present, job.inputs)
                bar.update(len(job.frames))
                if on_done:
                    on_done(job.id)
    finally:
        del items
        bar.close()
    return sum(len(j.frames) for j in jobs)


# --- text -----------------------------------------------------------------------------------------

def extract_text(backbone, jobs, store, device, batch_size, workers, precision, quiet,
                 on_done=None) -> int:
    from abaw.features.text import text_rows

    bar = progress(sum(len(j.frames) for j in jobs), backbone.name, quiet)
    try:
        for job in jobs:
            rows, present = text_rows(backbone, job.frames, job.paths[0] if job.paths else None)
            store.write(job.id, job.frames, rows, present, job.inputs)
            bar.update(len(job.frames))
            if on_done:
                on_done(job.id)
    finally:
        bar.close()
    return sum(len(j.frames) for j in jobs)


# --- the whole step -------------------------------------------------------------------------------

def extract(index, backbone, out, tracks=None, splits=None, batch_size: int = 64,
            workers: int = 2, precision: str = "auto", quiet: bool = False, on_done=None,
            rank: int | None = None, world: int | None = None, inputs=None) -> dict:
    """Extract `backbone` features for the index into the store at `out`; returns a summary.
    `inputs`: a text backbone's folder of text files (relative to the dataset root).

    Ids already in the store and made from the same inputs are skipped (resume); an id whose
    crops or video changed is made again. `on_done(id)` is called after each id is written
    (progress hooks, tests that interrupt a run)."""
    known = index.tracks()
    for t in tracks or ():
        if t.upper() not in known:
            raise AbawError(f"--track: found {t!r}, expected one of {', '.join(known)} "
                            f"(the tracks indexed under {index.root})")
    env_rank, env_world = rank_and_world()
    rank = env_rank if rank is None else rank
    world = env_world if world is None else world
    text_dir = None
    if backbone.kind == "text":
        if not inputs:
            raise AbawError(f"features.inputs: found no folder for the text backbone "
                            f"{backbone.name}, expected e.g. {{{backbone.name} = \"transcripts\"}}")
        text_dir = Path(index.root) / inputs
    jobs = shard(plan(index, backbone.kind, tracks, splits, text_dir), rank, world)
    meta = backbone.meta()
    if text_dir is not None:
        meta["inputs"] = str(inputs)
    _, meta["precision"] = autocast(backbone.device, precision)
    meta["code_version"] = code_version()
    store = FeatureStore.create(out, meta)
    for j in jobs:
        j.inputs = input_fingerprint(j, index.root)
    pending = [j for j in jobs if not store.current(j.id, j.inputs)]
    run = {"visual": extract_visual, "audio": extract_audio, "text": extract_text}[backbone.kind]
    t0 = time.perf_counter()
    n = run(backbone, pending, store, backbone.device, batch_size, workers, precision, quiet,
            on_done) if pending else 0
    seconds = time.perf_counter() - t0
    missing = [] if text_dir is None else [j.id for j in jobs if not j.paths]
    return {"store": str(store.path), "ids": len(jobs), "done_before": len(jobs) - len(pending),
            "without_input": missing,
            "written": len(pending), "frames": n, "seconds": seconds,
            "frames_per_s": n / seconds if seconds > 0 else 0.0, "rank": rank, "world": world}
