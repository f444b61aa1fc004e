"""The report of a run: one HTML page with its figures, the same figures as PNG files, and the
numbers as JSON.

    write_report("runs/expr/demo-...", out="report/")   # -> report/index.html

What it shows: training curves (per fold), the post-processing sweep, the breakdown of the
validation decisions (confusion matrix and per class; per AU; VA density, CCC per video and
timelines), the validation scores as predicted, in-sample and cross-fitted with bootstrap
intervals (`abaw.report.analysis`), and the provenance of the run and its submission.
"""

from __future__ import annotations

import json
from pathlib import Path

from abaw.artifacts import read_text
from abaw.atomic import write_bytes

FIGURES = ("training.png", "sweep.png", "confusion.png", "aus.png", "va_density.png",
           "va_per_video.png", "va_timelines.png")


def load_truth(index, track: str):
    """The validation truth of `track` from a DatasetIndex."""
    from abaw.post.truth import ValTruth

    return ValTruth.from_index(index, track, "val")


def run_analysis(run, root=None, k=None, seed: int | None = None, draws=None, progress=None):
    """The analysis of a RunFolder's validation predictions (truth from its dataset). `seed`
    (default: the run's) seeds the cross-fitting groups and the bootstrap draws; the cross-fitted
    set the run saved is read when it was made with the same k and seed."""
    from abaw.data import load_index
    from abaw.post.crossfit import K
    from abaw.report.analysis import analyse
    from abaw.uncertainty import DRAWS

    seed = run.seed if seed is None else seed
    k = k or K
    val = run.predictions("val")
    index = load_index(root or run.info.get("index_root"), crops=run.info.get("index_crops", ()))
    truth = load_truth(index, val.track)
    held_out = run.saved("val.crossfit")
    record = held_out.provenance.get("crossfit", {}) if held_out is not None else {}
    if record.get("k") != k or record.get("seed") != seed:
        held_out = None
    return analyse(val, truth, run.post(), run.tune_options(), run.folds, k=k, seed=seed,
                   draws=draws or DRAWS, progress=progress, held_out=held_out)


def draw_figures(a, run=None) -> list:
    """[(section, file name, png, caption)] for what the analysis and the run hold."""
    from abaw.report import figures as fg

    out = []
    if run is not None and any(f.history for f in run.folds):
        out.append(("Training", "training.png", fg.training(run.folds),
                    "loss terms and validation score per epoch; ★ the epoch kept"))
    post = run.post() if run is not None else None
    curves = (post.scores.get("sweep") if post is not None else None) or {}
    if curves:
        out.append(("Post-processing", "sweep.png", fg.sweep(curves, post.smooth),
                    "each output group's share of the score against the smoothing window, "
                    "tuned on all of validation (in-sample); ★ the choice"))
    if a.classes:
        out.append(("Classes", "confusion.png", fg.confusion(a.classes),
                    "validation decisions after post-processing"))
    if a.aus:
        out.append(("Action units", "aus.png", fg.aus(a.aus),
                    "validation decisions after post-processing at the tuned thresholds"))
    if a.va:
        va_pairs = {v: (p["VA"], t["VA"]) if isinstance(p, dict) else (p, t)
                    for v, (p, t) in a.pairs.items()}
        out.append(("Valence and arousal", "va_density.png", fg.va_density(va_pairs),
                    "predicted against true, all validation frames"))
        out.append(("Valence and arousal", "va_per_video.png", fg.va_per_video(a.va),
                    "CCC of each validation video"))
        out.append(("Valence and arousal", "va_timelines.png",
                    fg.va_timelines(a.decided, a.truth, fg.timeline_videos(a.va)),
                    "the longest validation videos: prediction, label, imputed frames shaded"))
    return out


def provenance(run) -> dict:
    out = {"run": str(run.path), "track": run.track, "folds": len(run.folds)}
    info = run.info
    for key in ("edition", "index_root", "index_fingerprint", "features", "config_hash",
                "code", "window", "predict_stride"):
        if key in info:
            out[f"run.{key}"] = info[key]
    for key, value in (run.summary or {}).items():
        out[f"summary.{key}"] = value
    m = run.manifest or {}
    for key in ("created", "code_version", "metric", "rows_from"):
        if key in m:
            out[f"manifest.{key}"] = m[key]
    return out


def write_report(run_dir, out=None, root=None, k=None, seed: int | None = None, draws=None,
                 progress=None):
    """Write `<out>/index.html`, its figures and `report.json` (default out: <run>/report);
    returns (index.html path, the analysis)."""
    from abaw.report.run import open_run

    run = open_run(run_dir)
    a = run_analysis(run, root, k, seed, draws, progress)
    out = Path(out) if out else run.path / "report"
    title = f"{a.track} edition {a.edition} — {run.path.name}"
    return render(out, a, title, run), a


def render(out, a, title: str, run=None) -> Path:
    """The page, figures and JSON of an analysis (and of its run, when there is one)."""
    from abaw.report import html

    out = Path(out)
    figs = draw_figures(a, run)
    for _, name, png, _ in figs:
        write_bytes(out / name, png)
    prov = provenance(run) if run is not None else {}
    data = {**a.to_dict(), "figures": [name for _, name, _, _ in figs], "provenance": prov}
    write_bytes(out / "report.json", (json.dumps(data, indent=1) + "\n").encode())
    config_text = read_text(run.path / "config.toml", "a run's config.toml") if run else ""
    # the page last: its presence says the folder is complete
    return write_bytes(out / "index.html", html.page(title, a, figs, prov, config_text).encode())
