"""`abaw protocol`: the protocol table as a team reads it, per edition or per track."""

import click

from abaw.errors import AbawError


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
    editions = sorted(p.EDITIONS) if edition is None else [edition]
    for n in editions:
        p.tracks_of(n)      # an unknown edition (0 included) is the one-line edition error
    if track is not None:
        track = track.upper()
        known = sorted({t for n in editions for t in p.tracks_of(n, include_extensions=True)})
        if track not in known:
            where = f" in edition {edition}" if edition is not None else ""
            raise AbawError(f"--track: found {track!r}, expected one of {', '.join(known)}{where}")
    table = Table("ed.", "venue", "track", "annotation folder", "submission", "header", "metric",
                  show_lines=False)
    for n in editions:
        ed = p.EDITIONS[n]
        for t in p.tracks_of(n, include_extensions=True):
            if track is not None and t != track:
                continue
            r = p.rules(t, n)
            table.add_row(str(n), ed.venue, t, r.task_folder or "-", r.submission,
                          r.prediction_header or "-", r.metric)
    console.print(table)
