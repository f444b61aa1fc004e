"""`abaw eval`: official scores of predictions against a split's annotations.

    abaw eval --split val --track expr --root DATA --pred runs/expr_ed8
    abaw eval --split val --track va --root DATA --pred va_val.txt --edition 8 --json

--pred is a prediction set (.npz), a run directory (its predictions/<split>.npz; a k-fold run's
validation predictions out-of-fold), or predictions in the submission format (a file, a folder
of per-video files, or a zip). For prediction sets the breakdown follows the score: per class,
per AU or per video, and for a run the post-processed figures in-sample and cross-fitted with
bootstrap intervals; `--report DIR` writes them as an HTML page with figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from abaw.cli.options import TrackChoice
from abaw.errors import AbawError


def load_any(pred: Path, split: str, track: str | None, edition: int | None, root: Path):
    """(predictions, index): a PredictionSet (.npz or run directory) or an Official
    (submission-format files, read with the edition of --edition or of the dataset)."""
    from abaw.data import load_index
    from abaw.formats.package import RUN_PREDICTIONS, load_predictions
    from abaw.formats.reader import read_official
    from abaw.report.run import is_run, open_run

    if is_run(pred):                        # a run folder, k-fold ones too
        predictions = open_run(pred).predictions(split)
        return predictions, load_index(root, predictions.edition if edition is None else edition)
    if pred.suffix == ".npz" or (pred / RUN_PREDICTIONS.format(split=split)).is_file():
        predictions = load_predictions(pred, split)[0]
        return predictions, load_index(root, predictions.edition if edition is None else edition)
    if track is None:
        raise AbawError(f"{pred}: found predictions in the submission format, expected --track "
                        "to read them")
    index = load_index(root, edition)
    return read_official(pred, track, index.edition if edition is None else edition), index


def show(ev) -> None:
    from rich.table import Table

    from abaw.report.tables import make_console

    d = ev.to_dict()
    table = Table(title=f"{d['track']} edition {d['edition']} — {d['split']} ({d['metric']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("score", f"{d['score']:.4f}", style="bold")
    for name, value in d["parts"].items():
        table.add_row(name, f"{value:.4f}")
    table.add_row("frames used", f"{d['frames_used']:,}")
    table.add_row("frames masked (not annotated)", f"{d['frames_masked']:,}")
    table.add_row("videos scored", f"{d['videos']:,}")
    table.add_row("frames filled (no prediction)", f"{d['filled_frames']:,}")
    table.add_row("predictions ignored (invalid frames)", f"{d['ignored_predictions']:,}")
    if d["missing_videos"]:
        table.add_row("videos missing (skipped)", f"{len(d['missing_videos'])}: "
                      + ", ".join(d["missing_videos"][:5]))
    make_console().print(table)


@click.command("eval")
@click.option("--split", default="val", show_default=True, type=click.Choice(["val", "train"]),
              help="Annotated split to score against.")
@click.option("--track", "-t", type=TrackChoice(), default=None,
              help="Track [default: the prediction set's].")
@click.option("--root", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root with the split's annotations.")
@click.option("--pred", required=True, type=click.Path(exists=True, path_type=Path),
              help="Prediction set (.npz), run directory, or submission-format file/folder/zip.")
@click.option("--edition", "-e", type=int, default=None,
              help="Edition whose metric to use [default: the predictions' or the dataset's].")
@click.option("--allow-missing", is_flag=True,
              help="Skip annotated videos without predictions instead of failing.")
@click.option("--fill", type=click.Choice(["nearest", "linear", "ffill", "error"]),
              default="nearest", show_default=True,
              help="How annotated frames without a prediction are filled.")
@click.option("--thresholds", default=None,
              help="AU thresholds: a number, a comma list, or a JSON file [default: the set's "
                   "tuned thresholds, else 0.5].")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write the HTML report (figures, tables) into this folder.")
def evaluate(split, track, root, pred, edition, allow_missing, fill, thresholds, as_json,
             report_dir):
    """Score --pred on --split of the dataset at --root with the official metric."""
    from abaw.cli.submit import parse_thresholds
    from abaw.core.prediction_set import PredictionSet
    from abaw.formats.evaluate import evaluate_predictions

    name = track.name if track else None
    predictions, index = load_any(pred, split, name, edition, root)
    ev = evaluate_predictions(index, predictions, track=name, split=split,
                              edition=edition, allow_missing=allow_missing, fill=fill,
                              thresholds=parse_thresholds(thresholds))
    if as_json:
        click.echo(json.dumps(ev.to_dict(), indent=2))
    else:
        show(ev)
    if as_json or thresholds is not None or allow_missing or \
            not isinstance(predictions, PredictionSet):
        if report_dir:
            raise AbawError("--report: found it with --json, --thresholds, --allow-missing or "
                            "submission-format predictions, expected a prediction set or run "
                            "folder scored as it is")
        return
    analysis, run = breakdown(pred, predictions, index, split, fill)
    from abaw.report.tables import print_tables

    print_tables(analysis)
    if report_dir:
        from abaw.report import render

        title = f"{analysis.track} edition {analysis.edition} — {pred} ({split})"
        click.echo(f"wrote {render(report_dir, analysis, title, run)}")


def breakdown(pred: Path, predictions, index, split: str, fill: str):
    """(analysis, run folder or None): a run's post-processing scored in-sample and
    cross-fitted; a bare prediction set as it is. Annotated frames the set lacks are filled by
    the `fill` policy, as for the score above."""
    import numpy as np

    from abaw.post import impute as imp
    from abaw.post.truth import ValTruth
    from abaw.report.analysis import analyse
    from abaw.report.run import is_run, open_run

    truth = ValTruth.from_index(index, predictions.track, split)
    full = imp.complete(predictions, truth.frames(), method=None)
    if full.provenance.get("completed_rows"):
        lost = ~np.isfinite(full.outputs).all(axis=1)     # only the added rows
        predictions = full.replace(outputs=imp.fill(full.outputs, full.frames, full.offsets,
                                                    lost, fill))
    if is_run(pred):
        run = open_run(pred)
        return analyse(predictions, truth, run.post(), run.tune_options(), run.folds), run
    return analyse(predictions, truth), None
