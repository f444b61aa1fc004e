"""`abaw demo`: every track end to end on the synthetic twin, then one table and one report per
track.

No data and no downloads: the twin is generated (edition 8 for VA, EXPR, AU and CE; edition 4
for MTL and LSD), and the face encoder is timm's ResNet-18 with a seeded random initialisation,
read at its first stage with an 8x8 layout of the face kept (each track's `demo` recipe). CE has
no training set: its scores come from an EXPR model and are checked against the twin's hidden
test labels. The twin's hidden test labels also score every other track's written submission:
the column that says which validation figure to believe.
"""

import shutil
import time
from pathlib import Path

import click

# track -> edition of the twin it runs on
DEMO_EDITIONS = {"va": 8, "expr": 8, "au": 8, "ce": 8, "mtl": 4, "lsd": 4}
MARKER = ".abaw-twin-complete"
NOTES = (
    "raw: the validation score as predicted; the kept epoch is the best on these videos",
    "in-sample: post-processing tuned and scored on the same validation videos (optimistic)",
    "cross-fitted: each validation video post-processed by parameters tuned on the others "
    "(the estimate)",
    "hidden test: the written submission on the twin's hidden test labels (what the "
    "estimates estimate)",
    "CE has no validation data: its raw and baseline are on the hidden test, and its "
    "post-processing is tuned on the EXPR validation set",
    "[low, high]: 90% bootstrap interval over videos (LSD: images)",
)


def twin_for(key: str, base: Path, quiet: bool, size: str = "small", seed: int = 0) -> Path:
    """The twin the demo of track `key` (va, expr, ...) runs on, generated once (a finished tree
    has its marker file, naming the plan and the generator it was made by; a tree of another
    plan or generator is made again)."""
    from abaw.data.synth import SIZES, generator_digest, synthesize
    from abaw.progress import shown

    edition = DEMO_EDITIONS[key]
    root = base / f"twin-ed{edition}-{size}-seed{seed}"
    marker = root / MARKER
    plan = f"{SIZES[size]!r}\ngenerator {generator_digest()}\n"
    if marker.is_file() and marker.read_text() == plan:
        return root
    if marker.is_file():                    # made by an earlier version of the twin
        shutil.rmtree(root)
    if not quiet:
        click.echo(f"generating the {size} synthetic twin, edition {edition}: {root}")
    synthesize(root, edition=edition, size=size, seed=seed, progress=shown(quiet))
    marker.write_text(plan)
    return root


def table(outcomes, title: str):
    """The demo's table: every score with what it is (see NOTES)."""
    from rich.table import Table
    from rich.text import Text

    from abaw.pipeline import fmt

    def with_iv(value, iv):
        return fmt(value) + (f" [{iv[0]:.4f}, {iv[1]:.4f}]" if value is not None and iv else "")

    t = Table("track", "ed.", "constant baseline", "raw", "in-sample", "cross-fitted",
              "hidden test", "validated zip", title=title, title_justify="left")
    for o in outcomes:
        ce = o.scored_on != "val"
        cells = [o.track, str(o.edition), fmt(o.baseline) + (" (test)" if ce else ""),
                 with_iv(o.val_raw, o.intervals.get("raw")) + (" (test)" if ce else ""),
                 "-" if ce else fmt(o.val_post),
                 "-" if ce else with_iv(o.val_crossfit, o.intervals.get("crossfit")),
                 with_iv(o.hidden_test, o.intervals.get("test")), o.zip_path or "-"]
        t.add_row(*map(Text, cells))        # plain text: "[a, b]" is not markup
    return t


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Where the twin, runs, submissions and reports go.")
@click.option("--tracks", default=",".join(DEMO_EDITIONS), show_default=True,
              help="Tracks to run, comma-separated.")
@click.option("--size", type=click.Choice(["tiny", "small"]), default="small", show_default=True,
              help="Twin size.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Twin and training seed.")
@click.option("--quiet", is_flag=True, help="Print only the table.")
def demo(out, tracks, size, seed, quiet):
    """Generate the synthetic twin and run every track from data to a validated zip."""
    from abaw import pipeline
    from abaw.errors import AbawError
    from abaw.report import write_report
    from abaw.report.tables import make_console
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
    seconds = time.perf_counter() - t0
    reports = [write_report(o.run_dir, out / "reports" / key)[0]
               for key, o in zip(names, outcomes, strict=True)]
    console = make_console()
    console.print(table(outcomes, f"abaw demo ({size} twin, seed {seed}, {seconds:.0f} s)"))
    for note in NOTES:
        console.print(f"  {note}", markup=False)
    for path in reports:
        console.print(f"report: {path}", markup=False)
