"""Small templates, test lists and prediction sets for the writer / validator / eval tests.

Built by hand from the protocol facts (independent of the writers): two people in one video
(`_left` / `_right`), a plain-number video, a name with a dash suffix, frames without a face.
The videos are in the order a real template has them, which is not sorted by id: a writer or
validator that sorts ids gets these templates wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.core.prediction_set import PredictionSet

VIDEOS = {"122-60-1920x1080-1": 12, "10-60-1280x720_left": 14, "10-60-1280x720_right": 14,
          "105": 17}
assert list(VIDEOS) != sorted(VIDEOS)
MTL_FRAMES = {"7-25-1920x1080": [3, 4, 9, 10, 11, 30, 31], "88": [1, 2, 5, 6, 7, 8, 40, 41],
              "9-15-1280x720_left": [12, 13, 14, 15, 16]}
LSD_IMAGES = 23


def key(video: str, frame: int) -> str:
    return f"{video}/{frame:05d}.jpg"


def template_text(track: str, edition: int, style: str = "empty", videos=None) -> str:
    """The organisers' template: header, then `<video>/<NNNNN>.jpg,` + empty or dummy values."""
    r = protocol.rules(track, edition)
    dummy = {"VA": "0.5,-0.5", "AU": ",".join(["0"] * len(r.names))}.get(r.track, "0")
    tail = "" if style == "empty" else dummy
    lines = [r.prediction_header]
    for v, n in (videos or VIDEOS).items():
        lines += [f"{key(v, f)},{tail}" for f in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def mtl_list_text(with_header: bool = True) -> str:
    lines = [protocol.MTL_HEADER] if with_header else []
    for v, frames in MTL_FRAMES.items():
        lines += [f"{key(v, f)}," for f in frames]
    return "\n".join(lines) + "\n"


def lsd_list_text() -> str:
    return "\n".join([protocol.LSD_HEADER] + [f"{i}.jpg" for i in range(LSD_IMAGES)]) + "\n"


def write_list(tmp: Path, track: str, edition: int, style: str = "empty") -> Path:
    """The template / test list a team would be given for (track, edition)."""
    track = track.upper()
    if track == "MTL":
        text = mtl_list_text()
    elif track == "LSD":
        text = lsd_list_text()
    else:
        text = template_text(track, edition, style)
    path = Path(tmp) / f"{track}_ed{edition}_{style}_template.txt"
    path.write_text(text)
    return path


def write_folder(tmp: Path, files: dict) -> Path:
    """`tmp/sub` holding `files` (relative name -> bytes): a submission given as a folder."""
    root = tmp / "sub"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def id_list(tmp: Path, videos=None) -> Path:
    path = Path(tmp) / "test_list.txt"
    path.write_text("\n".join(videos or VIDEOS) + "\n")
    return path


def required_rows(track: str) -> dict[str, np.ndarray]:
    track = track.upper()
    if track == "MTL":
        return {v: np.array(f) for v, f in MTL_FRAMES.items()}
    if track == "LSD":
        return {"test": np.arange(1, LSD_IMAGES + 1)}
    return {v: np.arange(1, n + 1) for v, n in VIDEOS.items()}


def raw_outputs(track: str, edition: int, n: int, rng) -> np.ndarray:
    k = len(protocol.rules(track, edition).names)
    if track.upper() == "VA":
        return rng.uniform(-1.2, 1.2, (n, 2))          # some outside [-1, 1]: the writer clips
    return rng.random((n, k))


def make_preds(track: str, edition: int, drop: float = 0.25, seed: int = 0,
               rows: dict | None = None) -> PredictionSet:
    """A prediction set over the required rows with a fraction of frames dropped (no face)."""
    rng = np.random.default_rng(seed)
    per = {}
    for v, frames in (rows or required_rows(track)).items():
        keep = rng.random(len(frames)) >= drop
        keep[0] = True
        per[v] = (frames[keep], raw_outputs(track, edition, int(keep.sum()), rng))
    return PredictionSet.from_videos(track, edition, per, provenance={"run": "test"})
