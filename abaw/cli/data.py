"""`abaw data`: check, index and synthesise an Aff-Wild2-style dataset tree."""

from __future__ import annotations

import sys

import click

from abaw.cli.options import crop_folders, crop_options
from abaw.errors import AbawError

_FRAME_COUNT = ("opencv_plus_one", "decoded")  # protocol UNSURE["frame_count"], default first


def _templates(values) -> dict:
    out = {}
    for v in values:
        track, sep, path = v.partition("=")
        if not sep or not path:
            raise AbawError(f"--template: found {v!r}, expected TRACK=FILE (e.g. VA=template.txt)")
        out[track.upper()] = path
    return out


_edition = click.option("--edition", type=int, default=None,
                        help="Edition 1-10 of the layout (detected when left out).")
_template = click.option("--template", "templates", multiple=True, metavar="TRACK=FILE",
                         help="Test template of a track (editions 5+), instead of the one found.")
_frame_count = click.option("--frame-count", type=click.Choice(_FRAME_COUNT), default=_FRAME_COUNT[0],
                            show_default=True,
                            help="Length of an editions 1-3 test video: OpenCV count + 1, or the "
                                 "decoded frames (protocol unsure 'frame_count').")


@click.group("data")
def data():
    """Synthesise, check and index an Aff-Wild2-style dataset tree."""


@data.command("check")
@click.argument("root", type=click.Path(file_okay=False))
@_edition
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_template
@_frame_count
@crop_options
def check(root, edition, as_json, templates, frame_count, crops, crops_work):
    """Summarise ROOT per track and split and list every problem; non-zero exit if unusable."""
    from abaw.data.check import check_dataset

    report = check_dataset(root, edition, _templates(templates), frame_count,
                           crops=crop_folders(root, crops, crops_work))
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict(), indent=1))
    else:
        _print(report)
    if not report.ok:
        sys.exit(1)  # the data can't be used as it is


def _print(report) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from abaw.core.layout import edition_for, layout

    console = Console(highlight=False)
    table = Table("track", "split", "videos", "frames", "valid labels", "frames without crop",
                  "ids without crops", "_left/_right pairs",
                  title=f"{report.root} — edition {report.edition}")
    for s in report.summary:
        table.add_row(s.track, s.split, str(s.videos), f"{s.frames:,}", f"{s.valid:,}",
                      f"{s.missing_crops:,}", str(s.no_crop_folder), str(s.pairs))
    console.print(table)
    for s in report.summary:
        if s.histogram:
            lay = layout(s.track, edition_for(s.track, report.edition))
            what = ("valid frames per class" if lay.block("classes") is not None
                    else "positive frames per AU")                  # as `check` counts them
            hist = "  ".join(f"{k} {v:,}" for k, v in s.histogram.items())
            console.print(f"{s.track} {s.split} ({what}): {hist}", soft_wrap=True)
    if report.crop_sources:       # where each video's crops come from (--json lists the ids)
        where = [f"{escape(folder)}/ {len(ids)} video{'s' * (len(ids) != 1)}"
                 for folder, ids in report.crop_sources.items()]
        console.print(f"face crops from: {', '.join(where)}", soft_wrap=True)
    errors = sum(p.severity == "error" for p in report.problems)
    warnings = len(report.problems) - errors
    for p in report.problems:
        style = "red" if p.severity == "error" else "yellow"
        console.print(f"[{style}]{p.severity}[/{style}] {escape(str(p))}", soft_wrap=True)
    verdict = "[green]usable[/green]" if report.ok else "[red]not usable as it is[/red]"
    console.print(f"{errors} errors, {warnings} warnings: {verdict}")


@data.command("index")
@click.argument("root", type=click.Path(file_okay=False))
@_edition
@_template
@_frame_count
@click.option("--probe-media", is_flag=True, help="Also read every raw video's frame timestamps.")
@crop_options
def index(root, edition, templates, frame_count, probe_media, crops, crops_work):
    """Build (or refresh) the cached index of ROOT and print how long it took."""
    import time

    from abaw.data import problems as P
    from abaw.data.build import build_index, load_index

    kw = dict(templates=_templates(templates), frame_count=frame_count, probe_media=probe_media,
              crops=crop_folders(root, crops, crops_work))
    t0 = time.perf_counter()
    idx, found = build_index(root, edition, rebuild=True, **kw)
    t1 = time.perf_counter()
    P.raise_first_error(found, root)
    load_index(root, edition, **kw)
    t2 = time.perf_counter()
    n_seq = sum(len(s) for s in idx.sequences.values())
    n_rows = sum(len(q.frames) for s in idx.sequences.values() for q in s.values())
    click.echo(f"edition {idx.edition}: {n_seq} sequences, {n_rows:,} rows, {len(idx.media)} "
               f"media ids; built in {t1 - t0:.2f} s, loaded from the cache in {t2 - t1:.3f} s "
               f"(fingerprint {idx.fingerprint}, {len(idx.problems)} warnings)"
               + "".join(f"; crops from {c}" for c in idx.crop_sources))


@data.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@_edition
@click.option("--size", type=click.Choice(["tiny", "small", "full"]), default="tiny",
              show_default=True, help="tiny: unit tests; small: the demo; full: Aff-Wild2 scale.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--images/--no-images", default=None,
              help="Write face crops, raw videos and LSD images [default: yes for tiny and "
                   "small, no for full].")
@click.option("--progress", is_flag=True, help="Show a progress bar.")
@click.option("--messy", is_flag=True, help="Lay it out as teams' copies of the releases are: "
              "nested and duplicated crop folders, other template names and places.")
@click.option("--features", "features", type=click.IntRange(1, 16384), default=None, metavar="D",
              help="Also write a feature store of width D carrying the twin's signal, without "
                   "images (into OUT/.features/twin-D; `abaw run --features` reads it). On an "
                   "existing twin of the same edition, size, seed and layout, only the store is "
                   "written.")
def synth(out, edition, size, seed, images, progress, messy, features):
    """Write a synthetic twin of the edition's dataset tree to OUT (deterministic by seed)."""
    import json
    from pathlib import Path

    from abaw import protocol
    from abaw.data.synth import synthesize

    edition = protocol.LATEST_EDITION if edition is None else edition   # 0 is not "not given"
    same = False
    if features is not None:      # a twin already there, the same one: only the store is new
        from abaw.data.synth.plan import TRUTH

        info = Path(out) / TRUTH / "info.json"
        keys = ("edition", "size", "seed", "messy")
        same = info.is_file() and {k: json.loads(info.read_text()).get(k) for k in keys} == {
            "edition": edition, "size": size, "seed": seed, "messy": True if messy else None}
    if not same:
        synthesize(out, edition=edition, size=size, seed=seed, images=images, progress=progress,
                   messy=messy)
        click.echo(f"wrote the edition {edition} {size}{' messy' * messy} twin to {out}")
    if features is not None:
        from abaw.features.twin import write_twin_features

        store = write_twin_features(out, features, progress=progress)
        click.echo(f"wrote the twin's features (width {features}) to {store}; train on them with "
                   f"`abaw run --root {out} --features {store}`")
