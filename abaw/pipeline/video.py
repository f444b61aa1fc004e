"""`predict_video`: any raw video through a trained run, to a per-frame CSV.

    faces (abaw.faces: detect, track, align, crop) -> features (the run's backbones, rebuilt from
    the identity its feature stores recorded) -> the run's model -> its post-processing
    (`post.json`, when `abaw run` tuned one) -> CSV

The CSV has one row per decoded frame, numbered as the organisers number frames (decoded frame i,
0-based, is frame i + 1: the annotation line / crop name convention), its time on the video's
clock, `face` (1: a face was found and cropped), the track's named outputs (valence, arousal;
class probabilities under the class names; AU probabilities under the AU names), and the decisions
(`expression`: the class chosen; `<AU>_active`: 0/1 at the tuned thresholds). A frame without a
face has `face` 0 and empty output cells: the model's context-filled values are not shown as a
prediction of a face that was not there.

A run whose recipe derives its track from another (CE from EXPR) writes the derived track's
columns, as `abaw run` derives its submission.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from abaw.errors import AbawError

HUB_PREFIX = "hf-hub:"


def run_info(run_dir: Path) -> dict:
    """The `run.json` of a run (of its first fold for a k-fold run)."""
    from abaw.train.predict import fold_dirs

    folds = fold_dirs(run_dir)
    where = run_dir if (run_dir / "run.json").is_file() or not folds else folds[0]
    path = where / "run.json"
    if not path.is_file():
        raise AbawError(f"{path}: not found, expected a run folder written by `abaw train` or "
                        "`abaw run`")
    return json.loads(path.read_text())


def predict_video(run_dir, video, out, *, detector: str | None = None, weights=None,
                  threshold: float | None = None, device: str = "auto",
                  quiet: bool = False) -> dict:
    """Write the per-frame CSV of `video` predicted by the run at `run_dir`; returns a summary."""
    from abaw.faces.extract import CropSpec, plan
    from abaw.faces.extract import extract as extract_faces
    from abaw.faces.registry import DEFAULT_DETECTOR, create_detector
    from abaw.features.extract import resolve_device

    run_dir, video = Path(run_dir), Path(video)
    if not video.is_file():
        raise AbawError(f"--video: found no file {video}, expected a video file")
    info = run_info(run_dir)
    dev = str(resolve_device(device))
    with tempfile.TemporaryDirectory(prefix="abaw-video-") as tmp:
        faces = Path(tmp) / "faces"
        jobs = plan([video], faces)
        found = create_detector(detector or DEFAULT_DETECTOR, weights=weights, device=dev,
                                threshold=threshold)
        framing = _box_framing(info, found, quiet)
        extract_faces(jobs, found, faces, CropSpec(framing=framing), workers=0, quiet=quiet,
                      rank=0, world=1)
        table, ps, track = _predict(run_dir, info, video, jobs[0].stem, faces, Path(tmp), dev,
                                    quiet)
    rows = _write(ps, track, table, out)
    return {"csv": str(out), "track": track.name, "frames": rows,
            "with_face": int((~ps.imputed).sum()), "detector": found.name,
            "box_framing": None if found.landmarks else asdict(framing)}


def _box_framing(info: dict, detector, quiet: bool):
    """A box-only detector's crops framed like the crops the run trained on, measured on the
    run's dataset when it is here (`abaw.faces.framing`); the default margin otherwise."""
    from abaw.data import load_index
    from abaw.faces.framing import for_dataset

    index = None
    if not detector.landmarks:
        try:
            index = load_index(info["index_root"], None, crops=info.get("index_crops", ()))
        except (AbawError, KeyError, TypeError):
            index = None                     # the run's dataset is not on this machine
    framing, line = for_dataset(index, detector)
    if line and not quiet:
        print(line, file=sys.stderr)
    return framing


def _predict(run_dir: Path, info: dict, video: Path, stem: str, faces: Path, tmp: Path,
             device: str, quiet: bool):
    """(face table, post-processed prediction set, the track of its columns)."""
    from abaw.data.crops import crop_frames
    from abaw.data.index import DatasetIndex, Media, Sequence
    from abaw.faces import output
    from abaw.features.extract import extract as extract_features
    from abaw.features.registry import create_backbone
    from abaw.features.store import FeatureStore
    from abaw.pipeline.folds import fold_predictions
    from abaw.train.predict import trained_track

    track = trained_track(run_dir)
    n = int(output.read_summary(faces, stem)["frames"])
    table = output.read_table(faces, stem)
    crops = crop_frames(faces / stem)[0] if (faces / stem).is_dir() else np.zeros(0, np.int64)
    name = track.index_name
    seq = Sequence(stem, name, "test", np.arange(1, n + 1, dtype=np.int64), None, video.name)
    index = DatasetIndex(video.parent.resolve(), int(info["edition"]), f"video:{video.name}",
                         {name: {stem: seq}},
                         {stem: Media(stem, str(faces / stem), crops, video.name,
                                      face_table=str(output.table_path(faces, stem)))})
    stores = []
    for k, meta in enumerate(info["feature_meta"]):
        if meta.get("kind") == "text":
            raise AbawError(f"{run_dir}: found a text backbone {meta['backbone']} in the run, "
                            "expected visual or audio ones: a video has no transcript here")
        where = str(meta.get("weights") or "")
        backbone = create_backbone(meta["backbone"], weights=where.removeprefix(HUB_PREFIX) or None,
                                   layer=meta.get("layer"), pooling=meta.get("pooling"),
                                   device=device)
        folder = tmp / "features" / f"{k}-{meta['backbone']}"
        extract_features(index, backbone, folder, tracks=[name], workers=0, quiet=quiet,
                         rank=0, world=1)
        stores.append(FeatureStore(folder))
    ps = fold_predictions(track, run_dir, "test", index, stores)
    ps, track = _post(run_dir, ps, track)
    return table, ps, track


def _post(run_dir: Path, ps, track):
    """The run's post-processing, and the derived track of a deriving recipe (as `abaw run`)."""
    import tomllib

    from abaw.post.params import PostParams
    from tracks import get_track

    post = run_dir / "post.json"
    params = PostParams.load(post) if post.is_file() else None
    recipe = run_dir / "recipe.toml"
    derived = ""
    if recipe.is_file():
        cfg = tomllib.loads(recipe.read_text())
        derived = cfg.get("track", "") if cfg.get("pipeline", {}).get("derive_from") else ""
    if derived and derived.upper() != track.name:
        target = get_track(derived)
        if params is not None:
            params = PostParams(params.track, params.edition, params.impute,
                                params.ignore_imputed, params.smooth)   # smoothing only
            ps = params.apply(ps)
        return target.derive(ps, target.edition_for(ps.edition)), target
    return (params.apply(ps) if params is not None else ps), track


def _write(ps, track, table, out) -> int:
    """The CSV; returns its rows."""
    import pandas as pd

    from abaw.atomic import atomic_file
    from abaw.core.decisions import decide_blocks

    lay = track.layout(ps.edition)
    face = ~ps.imputed
    times = table.drop_duplicates("frame").set_index("frame")["time"]
    df = pd.DataFrame({"frame": ps.frames, "time": times.reindex(ps.frames).to_numpy(),
                       "face": face.astype(int)})
    for j, col in enumerate(ps.columns):
        df[col] = np.where(face, ps.outputs[:, j], np.nan)
    decided = decide_blocks(lay, ps.outputs, ps.decision)
    for b in lay.blocks:
        d = decided[b.task]
        if b.kind == "classes":
            names = np.asarray(b.names, dtype=object)
            df["expression"] = np.where(face, names[d], "")
        elif b.kind == "binary":
            for j, n in enumerate(b.names):
                active = pd.array(d[:, j].astype(int), dtype="Int64")   # integers with gaps
                active[~face] = pd.NA
                df[f"{n}_active"] = active
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "w") as fh:
        df.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
    return len(df)
