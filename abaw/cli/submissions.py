"""`abaw submissions`: the zips of a submissions folder, their scores, and which were uploaded.

    abaw submissions                     # the ./submissions folder
    abaw submissions runs/subs --json
    abaw submissions --mark-uploaded submissions/expr_ed8_demo-20250301-101500.zip

Each row comes from a zip's manifest: track, edition, the run's validation scores, when it was
written, and the upload times recorded with --mark-uploaded (kept in the manifest). A zip that no
longer matches its manifest's checksum is flagged.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("submissions")
@click.argument("folder", required=False, default="submissions",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--mark-uploaded", "uploaded", type=click.Path(dir_okay=False, path_type=Path),
              help="Record that this zip was uploaded now (in its manifest).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def submissions(folder, uploaded, as_json):
    """List the submissions in FOLDER [default: submissions] with scores and upload marks."""
    from abaw.formats import submissions as shelf

    if uploaded is not None:
        m = shelf.mark_uploaded(uploaded)
        click.echo(f"{uploaded}: marked uploaded at {m['uploaded'][-1]}")
        return
    rows = shelf.listing(folder)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    last = max((r for r in rows if r["uploaded"]), key=lambda r: r["uploaded"][-1], default=None)
    table = Table("zip", "track", "ed.", "scores", "created", "uploaded", "state",
                  title=f"{folder} — {len(rows)} submissions")
    for r in rows:
        scores = "  ".join(f"{k} {v:.4f}" for k, v in r["scores"].items()) or "-"
        marks = (r["uploaded"][-1] + (" (last)" if r is last else "")) if r["uploaded"] else "-"
        table.add_row(r["zip"], str(r.get("track") or "?"), str(r.get("edition") or "?"), scores,
                      r["created"] or "?", marks, r["state"])
    Console(highlight=False).print(table)
