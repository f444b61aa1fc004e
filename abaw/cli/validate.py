"""`abaw validate`: check a submission file, folder or zip before upload.

    abaw validate EXPR.txt --track expr --edition 8 --template ABAW_Expr_test_set_example.txt
    abaw validate sub.zip --track va --edition 3 --test-list VA_test_set_release.txt --root DATA

Exit status: 0 valid (warnings allowed), 1 invalid (every problem listed, grouped by kind; under
--strict warnings count), 2 usage error, 3 not checked (per-video files without the test videos
and their lengths: pass --root).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from abaw.cli.options import TrackChoice


def show_report(report, console=None) -> None:
    """The grouped report on screen: a summary line, then each kind with its count and examples."""
    from rich.console import Console
    from rich.text import Text

    from abaw.formats.report import KINDS

    console = console or Console(highlight=False, soft_wrap=True)
    style = {"valid": "bold green", "not checked": "bold yellow"}.get(report.verdict, "bold red")
    console.print(Text(report.summary(), style=style))
    for kind in sorted(KINDS, key=lambda k: not report.is_error(k)):    # errors, then warnings
        count = report.counts.get(kind, 0)
        if not count:
            continue
        level = "" if report.is_error(kind) else "warning (accepted, costs score): "
        console.print(Text(f"\n{level}{KINDS[kind]} [{kind}]: {count}",
                           style="bold red" if report.is_error(kind) else "bold yellow"))
        for p in report.examples.get(kind, []):
            console.print(Text(f"  {p}"))
        hidden = count - len(report.examples.get(kind, []))
        if hidden > 0:
            console.print(Text(f"  ... and {hidden} more", style="dim"))
    for what in report.unchecked:
        console.print(Text(f"not checked: {what}", style="yellow"))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"))


@click.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--track", "-t", required=True, type=TrackChoice(), help="Challenge track.")
@click.option("--edition", "-e", required=True, type=int, help="ABAW edition (1-10).")
@click.option("--template", type=click.Path(dir_okay=False, path_type=Path),
              help="The organisers' test-set template (editions 5+, CE).")
@click.option("--test-list", type=click.Path(dir_okay=False, path_type=Path),
              help="Test list: MTL / LSD release list, or the edition 1-3 id list.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root: test ids and per-video lengths (editions 1-3), or the rows "
                   "when no template is given.")
@click.option("--max-examples", default=10, show_default=True, type=click.IntRange(1),
              help="Examples kept per kind of problem (counts are always exact).")
@click.option("--strict", is_flag=True,
              help="Warnings (few decimals, constant columns, dummy values, classes never "
                   "predicted) are errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report.")
def validate(path, track, edition, template, test_list, root, max_examples, strict, as_json):
    """Check PATH (a file, a folder of per-video files, or a zip) and list every problem."""
    from abaw.formats.validator import validate as run

    report = run(path, track.name, edition, template=template, test_list=test_list,
                 root=root, cap=max_examples, strict=strict)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        show_report(report)
    # SystemExit passes through `abaw.cli.main`: 1 invalid, 3 not checked
    if report.verdict != "valid":
        sys.exit(1 if report.verdict == "invalid" else 3)
