"""Predict a split with a trained run: `<run>/predictions/<split>.npz`, a PredictionSet.

Rows: every frame of every sequence of the split (the index's rows: annotation lines, or the
template's rows for a test set). Outputs are the RAW outputs of the track (VA values, class
probabilities, AU probabilities; MTL the three side by side), averaged over overlapping windows.
Frames where no feature store has input (no face crop, no audio) still get the model's output
from their context, flagged `imputed=True` so post-processing can fill or ignore them.
A k-fold run predicts with each fold's model into `<run>/fold<i>/predictions/`.
"""

from __future__ import annotations

from pathlib import Path

from abaw.core.prediction_set import PredictionSet
from abaw.core.track import Track
from abaw.errors import AbawError
from abaw.features.store import IDENTITY_KEYS
from abaw.train import checkpoint, inputs
from abaw.train.run_files import config_hash, read_run_config, read_run_info

SPLITS = ("train", "val", "test")


def fold_dirs(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.glob("fold*") if (p / "run.json").is_file())


def trained_track(run_dir) -> Track:
    """The spec of the track a run folder was trained on (what `abaw predict RUN` predicts)."""
    from tracks import get_track

    run_dir = Path(run_dir)
    folds = fold_dirs(run_dir)
    where = folds[0] if folds and not (run_dir / "config.toml").is_file() else run_dir
    return get_track(read_run_config(where).track)


def _check_stores(run_dir: Path, info: dict, stores) -> None:
    saved = info["feature_meta"]
    if len(stores) != len(saved):
        raise AbawError(f"--features: found {len(stores)} stores, expected {len(saved)} as the run "
                        f"{run_dir} was trained with ({', '.join(info['features'])})")
    for store, meta in zip(stores, saved, strict=True):
        for k in IDENTITY_KEYS:
            if store.meta.get(k) != meta.get(k):
                raise AbawError(f"{store.path / 'meta.json'}: field {k}: found "
                                f"{store.meta.get(k)!r}, expected {meta.get(k)!r} as in the "
                                f"features {run_dir} was trained on")


def predict_run(track: Track, run_dir, split: str, index=None, stores=None, root=None, out=None,
                quiet: bool = False, device: str | None = None):
    """Predict `split` of `track`'s index table with the best checkpoint of a run trained on
    `track`; returns the PredictionSet (or a list, one per fold). `root` / `stores` default to
    those the run was trained on. A spec with another index table predicts its sequences (an
    EXPR model over the CE videos: `replace(expr, index_track="CE")`)."""
    import torch

    from abaw.data import load_index
    from abaw.train import distributed
    from abaw.train.modeling import build_model, predict_frames, stream_metas

    run_dir = Path(run_dir)
    if split not in SPLITS:
        raise AbawError(f"--split: found {split!r}, expected one of {', '.join(SPLITS)}")
    folds = fold_dirs(run_dir)
    if folds and not (run_dir / "run.json").is_file():
        return [predict_run(track, f, split, index, stores, root, None, quiet, device)
                for f in folds]
    info = read_run_info(run_dir)
    cfg = read_run_config(run_dir)
    if cfg.track != track.name:
        raise AbawError(f"{run_dir / 'config.toml'}: field track: found {cfg.track!r}, expected "
                        f"{track.name!r} (the track to predict)")
    if index is None:
        index = load_index(root or info["index_root"], None, crops=info.get("index_crops", ()))
    stores = inputs.open_stores(stores if stores is not None else info["features"])
    _check_stores(run_dir, info, stores)
    edition = track.edition_for(index.edition)
    tensors, meta = checkpoint.load(run_dir / "best.safetensors")
    model = build_model(cfg, [s.dim for s in stores], track.out_dim(edition),
                        track.layout(edition), stream_metas(stores))
    checkpoint.load_model(model, tensors, run_dir / "best.safetensors")
    dev = distributed.setup(device or cfg.run.device, cfg.run.deterministic).device
    model.to(dev)

    ids = index.ids(track.index_name, split)
    if not ids:
        raise AbawError(f"index of {index.root}: no {track.index_name} sequences in split {split}")
    videos = inputs.load_videos(index, track, ids, stores, edition, with_labels=(split != "test"))
    with torch.no_grad():
        outs = predict_frames(model, videos, track.layout(edition), cfg, dev, info["window"],
                              info["predict_stride"])
    per_video = {vd.id: (vd.frames, o, ~vd.present) for vd, o in zip(videos, outs, strict=True)}
    prov = {"track": track.name, "edition": edition, "run": str(run_dir), "split": split,
            "config_hash": config_hash(cfg), "checkpoint": "best",
            "best_epoch": meta.get("epoch"), "val_score": meta.get("score"),
            "features": [s.name for s in stores], "index_fingerprint": index.fingerprint}
    ps = PredictionSet.from_videos(track.name, edition, per_video, track.columns(edition), prov)
    path = Path(out) if out else run_dir / "predictions" / f"{split}.npz"
    ps.save(path)
    if not quiet:
        print(f"wrote {path} ({len(ps.videos)} sequences, {len(ps)} rows, "
              f"{int(ps.imputed.sum())} imputed)")
    return ps
