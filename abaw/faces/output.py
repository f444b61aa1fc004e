"""What `abaw faces extract` leaves on disk for one video, and how to read it back.

    <out>/<id>/<NNNNN>.jpg        the crops of annotation id <id>: only frames where its face was
                                  found, named by `protocol.frame_name` (decoded frame i -> i + 1)
    <out>/<stem>.faces.csv        every decoded frame of video <stem>: one row per face found, or
                                  one row with face = -1 when none was (see COLUMNS)
    <out>/<stem>.faces.json       the summary, written last: which track each id took and why,
                                  its crops and its missed frames; its presence marks the video done

Crop folders are written whole (`atomic_folder`), then the table, then the summary, so an
interrupted video has no summary and is redone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from abaw import protocol
from abaw.atomic import atomic_file, atomic_folder, write_bytes
from abaw.data.cropsource import SUMMARY_SUFFIX, TABLE_SUFFIX

__all__ = ["SUMMARY_SUFFIX", "TABLE_SUFFIX"]   # the index reads them from abaw.data
LANDMARK_COLUMNS = [f"lm{k}_{a}" for k in range(1, 6) for a in "xy"]
COLUMNS = ["frame", "time", "face", "track", "score", "x1", "y1", "x2", "y2", *LANDMARK_COLUMNS,
           "aligned", "id", "kept"]
# frame: 1-based frame number (the crop's name); time: seconds on the container's clock;
# face: index in the frame, best score first (-1: no face in this frame); track: -1 when none;
# landmarks NaN for box-only detectors; aligned: the crop used the landmarks; id: the annotation
# id whose track this face is on ("" if none); kept: the crop was written for that id.


def table_path(out, stem: str) -> Path:
    return Path(out) / f"{stem}{TABLE_SUFFIX}"


def summary_path(out, stem: str) -> Path:
    return Path(out) / f"{stem}{SUMMARY_SUFFIX}"


def is_done(out, stem: str) -> bool:
    return summary_path(out, stem).is_file()


def ranges(frames: np.ndarray) -> list[list[int]]:
    """Sorted 1-based frame numbers -> inclusive [first, last] runs."""
    if len(frames) == 0:
        return []
    cut = np.nonzero(np.diff(frames) != 1)[0]
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut, [len(frames) - 1]])
    return [[int(frames[a]), int(frames[b])] for a, b in zip(starts, ends, strict=True)]


def write_crops(folder: Path, frames: np.ndarray, jpegs: list[bytes]) -> None:
    """One id's crop folder, whole: `frames` are 1-based frame numbers."""
    with atomic_folder(folder) as tmp:
        for f, data in zip(frames, jpegs, strict=True):
            (tmp / protocol.frame_name(int(f))).write_bytes(data)


def write_table(path: Path, rows: dict) -> None:
    import pandas as pd

    df = pd.DataFrame({c: rows[c] for c in COLUMNS})
    # pixels to 1/100, scores to 1e-4; times keep every digit of the container's clock
    df[["x1", "y1", "x2", "y2", *LANDMARK_COLUMNS]] = df[["x1", "y1", "x2", "y2",
                                                         *LANDMARK_COLUMNS]].round(2)
    df["score"] = df["score"].round(4)
    with atomic_file(path, "w") as fh:
        df.to_csv(fh, index=False, float_format="%.12g", lineterminator="\n")


def write_summary(path: Path, summary: dict) -> None:
    write_bytes(path, (json.dumps(summary, indent=1) + "\n").encode())


def read_table(out, stem: str):
    """The face table of video `stem` as a pandas DataFrame (the `COLUMNS`)."""
    import pandas as pd

    return pd.read_csv(table_path(out, stem), keep_default_na=False,
                       na_values={c: ["", "nan", "NaN"] for c in COLUMNS if c != "id"},
                       dtype={"id": str})


def read_summary(out, stem: str) -> dict:
    return json.loads(summary_path(out, stem).read_text())
