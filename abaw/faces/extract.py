"""Faces from raw videos: decode -> detect -> link into tracks -> align and crop -> pick each
annotation id's track -> crop tree + face table (`abaw.faces.output`).

- Decoding (and shrinking for the detector) runs in data-loader workers, detection in batches
  of consecutive frames in this process (on the GPU when there is one).
- Every face found is cropped as it comes (JPEG bytes kept in memory); once a video's last frame
  is in, its ids take their tracks and only their crops are written. Frames where an id's face
  was not found get no image: they are listed as missed in the table and the summary, never
  filled from a neighbouring frame and never a blank image.
- Resumable by video (a video with a summary is skipped) and sharded by RANK / WORLD_SIZE
  under `torchrun`: every rank computes the same split and writes its own videos.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.errors import AbawError
from abaw.faces import align, output
from abaw.faces.track import Linker, assign, stats

JPEG_QUALITY = 95


@dataclass
class VideoJob:
    path: str
    stem: str
    ids: list[str]            # annotation ids whose crops come from this video


def find_videos(inputs) -> list[Path]:
    """Video files given, and every video under the folders given (hidden and crop folders
    skipped), sorted."""
    found = []
    for item in inputs:
        p = Path(item)
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            for dirpath, dirnames, files in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                     and not d.startswith(protocol.CROP_FOLDER_PREFIX))
                found += [Path(dirpath) / f for f in files
                          if os.path.splitext(f)[1].lower() in protocol.VIDEO_EXTENSIONS]
        else:
            raise AbawError(f"{p}: found nothing, expected a video file or a folder of videos")
    return sorted(found)


def plan(inputs, out, ids=None, edition: int = protocol.LATEST_EDITION) -> list[VideoJob]:
    """One job per video. Without `ids`, each video's id is its file stem; with them, only their
    videos are taken (an id names its raw video once `_left` / `_right` are stripped)."""
    outside(out, inputs)
    videos = find_videos(inputs)
    by_stem: dict[str, Path] = {}
    for v in videos:
        if v.stem in by_stem and by_stem[v.stem] != v:
            raise AbawError(f"{v}: found a second video named {v.stem} (also {by_stem[v.stem]}), "
                            "expected one video per name")
        by_stem[v.stem] = v
    if not ids:
        return [VideoJob(str(p), s, [s]) for s, p in sorted(by_stem.items())]
    wanted: dict[str, list[str]] = {}
    for i in ids:
        stem = protocol.split_person(i, edition)[0]
        if stem not in by_stem:
            raise AbawError(f"--ids: found {i!r}, whose video {stem} is not among the "
                            f"{len(by_stem)} videos given; expected one of them")
        wanted.setdefault(stem, []).append(i)
    return [VideoJob(str(by_stem[s]), s, sorted(set(v))) for s, v in sorted(wanted.items())]


def outside(out, inputs) -> None:
    """Nothing is written into a dataset: `out` must not be inside a folder given."""
    out = Path(out).resolve()
    for item in inputs:
        root = Path(item).resolve()
        if root.is_dir() and (out == root or root in out.parents):
            raise AbawError(f"--out: found {out}, inside the dataset folder {root}; expected a "
                            "folder outside it (nothing is written into a dataset)")


def plan_ids(videos: dict[str, Path], out, root) -> list[VideoJob]:
    """One job per raw video of the ids given ({id: its raw video}, from a dataset's index, so a
    CE video and an Aff-Wild2 video of the same name are told apart by id)."""
    outside(out, [root])
    by_path: dict[Path, list[str]] = {}
    for i, v in videos.items():
        by_path.setdefault(Path(v), []).append(i)
    stems: dict[str, Path] = {}
    for v in sorted(by_path):
        if v.stem in stems:
            raise AbawError(f"{v}: found a second video named {v.stem} (also {stems[v.stem]}) "
                            "among those to crop, expected one video per name; pick one with "
                            "--track or --ids")
        stems[v.stem] = v
    return [VideoJob(str(v), v.stem, sorted(by_path[v])) for v in sorted(by_path,
                                                                         key=lambda p: p.stem)]


def read_ids(values) -> list[str]:
    """`--ids`: ids, comma-separated ids, or files holding one id a line."""
    out = []
    for v in values or ():
        p = Path(v)
        text = p.read_text() if p.is_file() else v
        out += [s.strip() for s in text.replace(",", "\n").splitlines() if s.strip()]
    return out


def shard(jobs: list[VideoJob], rank: int, world: int) -> list[VideoJob]:
    """This rank's videos: largest files first, each to the least-loaded rank (deterministic)."""
    load, mine = [0] * world, []
    for job in sorted(jobs, key=lambda j: (-os.path.getsize(j.path), j.stem)):
        r = load.index(min(load))
        load[r] += os.path.getsize(job.path)
        if r == rank:
            mine.append(job)
    return sorted(mine, key=lambda j: j.stem)


@dataclass
class CropSpec:
    size: int = align.SIZE
    scales: tuple = (1.0,)
    framing: align.BoxFraming = align.BoxFraming()     # box-only detectors' crops

    def roots(self, out: Path) -> list[Path]:
        """The tree of each scale: the first is `out`, the others `<out>-x<scale>`."""
        return [out] + [out.parent / f"{out.name}-x{s:g}" for s in self.scales[1:]]


@dataclass
class VideoFaces:
    """Everything found in one video so far."""

    linker: Linker = field(default_factory=Linker)
    times: list = field(default_factory=list)           # per decoded frame
    rows: list = field(default_factory=list)            # per face: (frame, face, track, score,
    #                                                     box (4,), landmarks (5, 2), aligned)
    crops: list = field(default_factory=list)           # per face: [jpeg bytes per scale]
    width: int = 0

    def add(self, index: int, t: float, frame: np.ndarray, faces, spec: CropSpec) -> None:
        import cv2

        self.width = frame.shape[1]
        while len(self.times) < index:   # frames before a size change keep their place
            self.times.append(np.nan)
        self.times.append(t)
        tracks = self.linker.step(faces.boxes)
        for k in range(len(faces)):
            lm = None if faces.landmarks is None else faces.landmarks[k]
            jpegs, aligned = [], False
            for s in spec.scales:
                m, aligned = align.crop_matrix(faces.boxes[k], lm, spec.size, s, spec.framing)
                crop = align.warp(frame, m, spec.size)
                ok, buf = cv2.imencode(".jpg", crop[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY,
                                                                 JPEG_QUALITY])
                jpegs.append(buf.tobytes())
            self.rows.append((index, k, int(tracks[k]), float(faces.scores[k]), faces.boxes[k],
                              lm, aligned))
            self.crops.append(jpegs)


def finish(job: VideoJob, video: VideoFaces, out: Path, spec: CropSpec, meta: dict,
           edition: int) -> dict:
    """Write the video's crop folders, table and summary; returns the summary."""
    n = len(video.times)
    frame = np.array([r[0] for r in video.rows], np.int64) + protocol.FIRST_FRAME
    track = np.array([r[2] for r in video.rows], np.int64)
    boxes = np.array([r[4] for r in video.rows], np.float64).reshape(-1, 4)
    chosen = assign(job.ids, stats(frame, track, boxes), video.width, edition)
    owner = {t: i for i, (ts, _) in chosen.items() for t in ts}
    every = np.arange(n) + protocol.FIRST_FRAME
    ids_info = {}
    for i, (ts, rule) in chosen.items():
        mine = np.nonzero(np.isin(track, ts))[0]
        for root, k in zip(spec.roots(out), range(len(spec.scales)), strict=True):
            output.write_crops(root / i, frame[mine], [video.crops[d][k] for d in mine])
        missed = np.setdiff1d(every, frame[mine])
        ids_info[i] = {"tracks": ts, "rule": rule, "crops": int(len(mine)),
                       "missed": int(len(missed)), "missed_frames": output.ranges(missed)}
    output.write_table(output.table_path(out, job.stem), _table(video, owner, n))
    summary = {"video": job.path, "frames": n, **meta, "ids": ids_info}
    output.write_summary(output.summary_path(out, job.stem), summary)
    return summary


def _table(video: VideoFaces, owner: dict, n: int) -> dict:
    """Columns of the face table: the faces, plus one row per frame without any."""
    with_face = {r[0] for r in video.rows}
    rows = [(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in video.rows]
    rows += [(i, -1, -1, np.nan, np.full(4, np.nan), None, False)
             for i in range(n) if i not in with_face]
    rows.sort(key=lambda r: (r[0], r[1]))
    nan_lm = np.full((5, 2), np.nan)
    lm = np.array([nan_lm if r[5] is None else r[5] for r in rows], np.float64).reshape(-1, 10)
    box = np.array([r[4] for r in rows], np.float64).reshape(-1, 4)
    idx = np.array([r[0] for r in rows], np.int64)
    ids = [owner.get(r[2], "") if r[2] >= 0 else "" for r in rows]
    cols = {"frame": idx + protocol.FIRST_FRAME, "time": np.asarray(video.times, np.float64)[idx],
            "face": [r[1] for r in rows], "track": [r[2] for r in rows],
            "score": [r[3] for r in rows], "aligned": [bool(r[6]) for r in rows], "id": ids,
            "kept": [bool(i) for i in ids]}
    cols.update({c: box[:, k] for k, c in enumerate(["x1", "y1", "x2", "y2"])})
    cols.update({c: lm[:, k] for k, c in enumerate(output.LANDMARK_COLUMNS)})
    return cols


def _declared_frames(path) -> int:
    """For the progress bar only: an unreadable video counts 0 here and is reported once the
    others are done."""
    from abaw.data.media import frame_count

    try:
        return frame_count(path)
    except AbawError:
        return 0


def extract(jobs: list[VideoJob], detector, out, spec: CropSpec | None = None,
            batch_size: int = 32, workers: int = 2, max_side: int | None = 640,
            quiet: bool = False, rank: int | None = None, world: int | None = None,
            edition: int = protocol.LATEST_EDITION, on_done=None) -> dict:
    """Run the face step on `jobs` into `out`; returns a summary. Videos already done are
    skipped; `on_done(stem)` is called after each video is written."""
    from abaw.faces.frames import chunks
    from abaw.features.extract import progress, rank_and_world

    spec = spec or CropSpec()
    out = Path(out)
    env_rank, env_world = rank_and_world()
    rank = env_rank if rank is None else rank
    world = env_world if world is None else world
    mine = shard(jobs, rank, world)
    pending = [j for j in mine if not output.is_done(out, j.stem)]
    meta = {"detector": detector.name, "weights": detector.location,
            "landmarks": detector.landmarks, "threshold": getattr(detector, "threshold", None),
            "detect_max_side": max_side, "crop_size": spec.size, "crop_scales": list(spec.scales),
            "box_framing": None if detector.landmarks else asdict(spec.framing),
            "crop_trees": [str(r) for r in spec.roots(out)]}
    out.mkdir(parents=True, exist_ok=True)
    bar = progress(sum(_declared_frames(j.path) for j in pending), "faces", quiet)
    state: dict[int, VideoFaces] = {}
    errors, frames, faces = [], 0, 0
    t0 = time.perf_counter()
    try:
        for chunk in chunks([j.path for j in pending], batch_size, max_side, workers):
            job = pending[chunk.video]
            video = state.setdefault(chunk.video, VideoFaces())
            if chunk.error:
                errors.append(chunk.error)
                state.pop(chunk.video)
                continue
            if len(chunk.frames):
                full = chunk.frames.numpy()
                found = detector.detect(chunk.small.numpy())
                for j, f in enumerate(found):
                    f = f.scaled(chunk.factor) if chunk.factor != 1.0 else f
                    video.add(chunk.start + j, float(chunk.times[j]), full[j], f, spec)
                    faces += len(f)
                frames += len(chunk.frames)
                bar.update(len(chunk.frames))
            if chunk.last:
                finish(job, state.pop(chunk.video), out, spec, meta, edition)
                if on_done:
                    on_done(job.stem)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    if errors:
        raise AbawError(f"{errors[0]} (and {len(errors) - 1} more videos not decoded; the "
                        "others are done and are skipped when run again)" if len(errors) > 1
                        else f"{errors[0]}; expected a decodable video")
    return {"out": str(out), "videos": len(mine), "done_before": len(mine) - len(pending),
            "written": len(pending), "frames": frames, "faces": faces, "seconds": seconds,
            "frames_per_s": frames / seconds if seconds > 0 else 0.0, "rank": rank,
            "world": world}
