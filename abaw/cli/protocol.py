"""`abaw protocol`: the protocol table as a team reads it, per edition or per track."""

import click


@click.command("protocol")
@click.option("--edition", type=int, help="Only this edition (1-10).")
@click.option("--track", help="Only this track (VA, EXPR, AU, MTL, LSD, CE, ERI, EMI, AH, VD).")
@click.option("--unsure", is_flag=True, help="List the unsure facts and the choice taken.")
def protocol(edition, track, unsure):
    """Show tracks, folders, headers, classes, submission kind and metric per edition."""
    from rich.console import Console
    from rich.table import Table

    from abaw import protocol as p

    console = Console()
    if unsure:
        table = Table("fact", "default", "alternatives", "why", show_lines=True)
        for key, c in p.UNSURE.items():
            table.add_row(key, c.default, ", ".join(c.alternatives), c.why)
        console.print(table)
        return
    editions = [edition] if edition else sorted(p.EDITIONS)
    table = Table("ed.", "venue", "track", "annotation folder", "submission", "header", "metric",
                  show_lines=False)
    for n in editions:
        ed = p.EDITIONS.get(n)
        if ed is None:
            p.rules("VA", n)  # raises the one-line edition error
        for t in p.tracks_of(n, include_extensions=True):
            if track and t != track.upper():
                continue
            r = p.rules(t, n)
            table.add_row(str(n), ed.venue, t, r.task_folder or "-", r.submission,
                          r.prediction_header or "-", r.metric)
    console.print(table)
