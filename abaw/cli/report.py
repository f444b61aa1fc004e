"""`abaw report`: the HTML report of a run, with its figures as PNG files.

    abaw report runs/expr/demo-20260101-120000            # -> <run>/report/index.html
    abaw report runs/va/default-... --out va-report/
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for index.html, the figures and report.json [default: RUN/report].")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root with the validation annotations [default: the run's].")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=None,
              help="Seed of the cross-fitting groups and the bootstrap draws [default: the "
                   "run's, as `abaw run` used].")
@click.option("--quiet", is_flag=True, help="Print only where the report is.")
def report(run, out, root, seed, quiet):
    """Write the report of RUN: curves, sweep, breakdowns, honest scores, provenance."""
    from abaw.report import write_report
    from abaw.report.tables import print_tables

    path, analysis = write_report(run, out, root, seed=seed,
                                  progress=None if quiet else click.echo)
    if not quiet:
        print_tables(analysis)
    click.echo(f"wrote {path}")
