"""`abaw demo`: every track end to end on the synthetic twin, then one table.

No data and no downloads: the twin is generated (edition 8 for VA, EXPR, AU and CE; edition 4
for MTL and LSD), and the face encoder is timm's ResNet-18 with a seeded random initialisation,
read at its first stage with an 8x8 layout of the face kept (each track's `demo` recipe). CE has
no training set: its scores come from an EXPR model and are checked against the twin's hidden
test labels.
"""

import time
from pathlib import Path

import click

# track -> edition of the twin it runs on
DEMO_EDITIONS = {"va": 8, "expr": 8, "au": 8, "ce": 8, "mtl": 4, "lsd": 4}


def twin_for(key: str, base: Path, quiet: bool, size: str = "small", seed: int = 0) -> Path:
    """The twin the demo of track `key` (va, expr, ...) runs on, generated once (a finished tree
    has its marker file)."""
    from abaw.data.synth import synthesize

    edition = DEMO_EDITIONS[key]
    root = base / f"twin-ed{edition}-{size}-seed{seed}"
    marker = root / ".abaw-twin-complete"
    if not marker.is_file():
        if not quiet:
            click.echo(f"generating the {size} synthetic twin, edition {edition}: {root}")
        synthesize(root, edition=edition, size=size, seed=seed)
        marker.write_text("ok\n")
    return root


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Where the twin, runs and submissions go.")
@click.option("--tracks", default=",".join(DEMO_EDITIONS), show_default=True,
              help="Tracks to run, comma-separated.")
@click.option("--size", type=click.Choice(["tiny", "small"]), default="small", show_default=True,
              help="Twin size.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Twin and training seed.")
@click.option("--quiet", is_flag=True, help="Print only the table.")
def demo(out, tracks, size, seed, quiet):
    """Generate the synthetic twin and run every track from data to a validated zip."""
    from rich.console import Console
    from rich.table import Table

    from abaw import pipeline
    from abaw.errors import AbawError
    from tracks import get_track

    names = [t.strip().lower() for t in tracks.split(",") if t.strip()]
    unknown = [t for t in names if t not in DEMO_EDITIONS]
    if unknown:
        raise AbawError(f"--tracks: found {unknown[0]!r}, expected any of "
                        f"{', '.join(DEMO_EDITIONS)}")
    t0 = time.perf_counter()
    outcomes = []
    for track in map(get_track, names):
        root = twin_for(track.key, out, quiet, size, seed)
        outcomes.append(pipeline.run_track(
            track, root, recipe="demo", overrides=[f"run.seed={seed}"], work=out / "runs",
            out=out / "submissions", quiet=quiet))
    table = Table("track", "ed.", "scored on", "constant baseline", "raw", "post-processed",
                  "validated zip", title=f"abaw demo ({size} twin, {time.perf_counter() - t0:.0f} s)")
    for o in outcomes:
        table.add_row(o.track, str(o.edition), o.scored_on, pipeline.fmt(o.baseline),
                      pipeline.fmt(o.val_raw), pipeline.fmt(o.val_post), o.zip_path or "-")
    Console(width=160).print(table)
