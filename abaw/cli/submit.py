"""`abaw submit`: write the official file(s) from a prediction set, validate them, zip + manifest.

    abaw submit runs/expr_ed8 --template CVPR_8th_ABAW_Expr_test_set_example.txt --out submissions
    abaw submit test.npz --root DATA --edition 3 --layout annotation

PRED is a prediction set (.npz) or a run directory (its predictions/test.npz). Nothing is packed
unless the written files validate (exit status 1, with the validator's report); warnings are
shown. The zip is `<out>/<track>_ed<N>_<run>.zip` (manifest beside it) and never replaces another
run's; `abaw submissions` lists them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from abaw.errors import AbawError
from abaw.formats.render import MAX_DECIMALS, MIN_DECIMALS


def parse_thresholds(text: str | None):
    """--thresholds: a number, a comma-separated list (AU order), or a JSON file (list or dict)."""
    if text is None:
        return None
    path = Path(text)
    if path.suffix == ".json" or path.is_file():
        from abaw.artifacts import read_json

        return read_json(path, "AU thresholds for --thresholds: a list, or AU -> threshold",
                         kind=(list, dict))
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise AbawError(f"--thresholds: found {text!r}, expected a number, a comma-separated "
                        "list or a JSON file") from None
    return values[0] if len(values) == 1 else values


@click.command("submit")
@click.argument("pred", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("submissions"), show_default=True, help="Folder for the zip.")
@click.option("--template", type=click.Path(dir_okay=False, path_type=Path),
              help="The organisers' template (editions 5+, CE).")
@click.option("--test-list", type=click.Path(dir_okay=False, path_type=Path),
              help="MTL / LSD release list, or the edition 1-3 id list.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root: per-video lengths (editions 1-3) or the test rows.")
@click.option("--edition", type=int, default=None,
              help="Edition whose format to write [default: the prediction set's].")
@click.option("--fill", type=click.Choice(["nearest", "linear", "ffill", "error"]),
              default="nearest", show_default=True,
              help="How frames the prediction set lacks are filled (reported in the manifest).")
@click.option("--thresholds", default=None,
              help="AU thresholds: a number, a comma list in AU order, or a JSON file "
                   "[default: the set's tuned thresholds, else 0.5].")
@click.option("--decimals", default=6, show_default=True,
              type=click.IntRange(MIN_DECIMALS, MAX_DECIMALS),
              help="Decimals of valence / arousal.")
@click.option("--layout", type=click.Choice(["track", "annotation", "none"]), default=None,
              help="Editions 1-3: per-video files under VA/, under VA_Set/, or at the top level "
                   "[default: track].")
@click.option("--name", default=None,
              help="Base name of the zip, a plain file name [default: <track>_ed<N>_<run>].")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def submit(pred, out_dir, template, test_list, root, edition, fill, thresholds, decimals, layout,
           name, as_json):
    """Write, validate and pack a submission from PRED."""
    from abaw.formats.package import InvalidSubmission
    from abaw.formats.package import submit as run

    try:
        sub = run(pred, out_dir, template=template, test_list=test_list, root=root,
                  edition=edition, fill=fill, thresholds=parse_thresholds(thresholds),
                  decimals=decimals, layout=layout, name=name)
    except InvalidSubmission as e:
        if getattr(e, "report", None) is not None:
            from abaw.cli.validate import show_report
            show_report(e.report)
        raise
    if as_json:
        click.echo(json.dumps(sub.manifest, indent=2))
        return
    m = sub.manifest
    filled = m["post_processing"]["filled_frames"]
    if sub.report.warnings:
        from abaw.cli.validate import show_report
        show_report(sub.report)
    click.echo(f"{m['track']} edition {m['edition']}: {sub.report.summary()}")
    click.echo(f"filled {filled:,} frames missing from the predictions "
               f"({m['post_processing']['fill']})")
    click.echo(f"wrote {sub.zip_path} and {sub.manifest_path}")
