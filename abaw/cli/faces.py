"""`abaw faces`: face detectors, and face crops from raw videos."""

import click

from abaw.cli.options import FiniteRange


@click.group("faces")
def faces():
    """Detect, align, track and crop faces in raw videos."""


@faces.command("list")
def list_detectors():
    """Every detector: landmark count, where its weights come from, whether they are here."""
    from rich.console import Console
    from rich.table import Table

    from abaw.faces.registry import (
        DEFAULT_DETECTOR,
        DETECTORS,
        expected_folder,
        fetch_command,
        weights_found,
    )

    table = Table("name", "landmarks", "found")
    for header in ("weights from", "fetch", "note"):
        table.add_column(header, overflow="fold")
    for spec in DETECTORS.values():
        source = (f"pip package {spec.package}" if spec.hub_id is None else
                  f"{spec.hub_id} or {expected_folder(spec.name)}")
        name = spec.name + (" (default)" if spec.name == DEFAULT_DETECTOR else "")
        table.add_row(name, str(spec.landmarks), weights_found(spec), source,
                      fetch_command(spec), spec.note)
    Console(width=200).print(table)


@faces.command("extract")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True),
                metavar="VIDEOS_OR_ROOT...")
@click.option("--out", type=click.Path(file_okay=False),
              help="Crop tree to write (outside the dataset): OUT/<id>/<NNNNN>.jpg + tables "
                   "[default for a dataset root: WORK/faces/<dataset>/, where `abaw run` and "
                   "`abaw data` look for crops].")
@click.option("--work", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Work folder of the default --out.")
@click.option("--track", "tracks", multiple=True,
              help="For a dataset root: only the videos of this track (repeatable, e.g. CE).")
@click.option("--detector", default=None, help="A name from `abaw faces list` "
                                               "(default: retinaface-mnet025).")
@click.option("--weights", help="Weights file, folder or hub id (default: the registry's).")
@click.option("--ids", "ids", multiple=True,
              help="Annotation ids (repeatable, comma-separated, or a file with one a line): "
                   "only their videos; X_left / X_right take the left / right person of video X.")
@click.option("--threshold", type=FiniteRange(0.0, 1.0),
              help="Score threshold (default: the detector's).")
@click.option("--size", default=112, show_default=True, type=click.IntRange(16),
              help="Crop side in pixels.")
@click.option("--scale", "scales", multiple=True, type=FiniteRange(0.2, 5.0),
              help="Field of view (repeatable): the first goes to OUT, others to OUT-x<scale> "
                   "[default: 1.0].")
@click.option("--max-side", default=640, show_default=True, type=click.IntRange(0),
              help="Frames are shrunk to this longer side for detection (0: never).")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0),
              help="Decoding worker processes.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--edition", type=int, help="Edition whose person suffixes apply (default: latest).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def extract(inputs, out, work, tracks, detector, weights, ids, threshold, size, scales, max_side,
            batch_size, workers, device, edition, quiet):
    """Face crops of every video given (files, or folders searched for videos).

    Given one dataset root, the ids are its annotation ids (`_left` / `_right` the two people of
    a video; CE's test videos) unless --ids says otherwise, and OUT defaults to
    WORK/faces/<dataset>/, and a box-only detector's crops are framed like the dataset's own
    crops (measured on its videos that have both). Resumable: videos with a summary in OUT are
    skipped. Under torchrun the videos are shared out by RANK / WORLD_SIZE.
    """
    import json

    from abaw import protocol
    from abaw.errors import AbawError
    from abaw.faces.extract import CropSpec, plan, plan_ids, read_ids
    from abaw.faces.extract import extract as run_extract
    from abaw.faces.framing import for_dataset
    from abaw.faces.registry import DEFAULT_DETECTOR, create_detector, get_spec
    from abaw.features.extract import rank_and_world, resolve_device
    from abaw.pipeline.features import faces_folder

    name = detector or DEFAULT_DETECTOR
    get_spec(name)
    wanted = read_ids(ids)
    index = dataset_index(inputs, edition)
    if index is not None:
        wanted = dataset_ids(index, tracks, wanted)
        out = out or str(faces_folder(index.root, work))
        jobs = plan_ids({i: index.root / index.media[i].raw_video for i in wanted}, out,
                        index.root)
        edition = index.edition
    elif tracks:
        raise AbawError(f"--track: found {', '.join(tracks)}, expected it only with one dataset "
                        "root as input (it picks that dataset's videos)")
    if out is None:
        raise AbawError("--out: found none, expected a folder to write the crops to (it has a "
                        "default only when the input is one dataset root)")
    edition = edition or protocol.LATEST_EDITION
    if index is None:
        jobs = plan(inputs, out, wanted, edition)
    dev = resolve_device(device)
    model = create_detector(name, weights=weights, device=str(dev), threshold=threshold)
    rank, _ = rank_and_world()
    framing, line = for_dataset(index, model, max_side or None)
    if line and not quiet and rank == 0:
        click.echo(line, err=True)
    summary = run_extract(jobs, model, out, CropSpec(size, tuple(scales or (1.0,)), framing),
                          batch_size=batch_size, workers=workers, max_side=max_side or None,
                          quiet=quiet or rank > 0, edition=edition)
    if not quiet:
        click.echo(json.dumps(summary))


def dataset_index(inputs, edition):
    """The index of the one dataset root given, or None when the inputs are videos or folders
    of videos that are not a dataset."""
    from pathlib import Path

    from abaw.data import load_index
    from abaw.errors import AbawError

    if len(inputs) != 1 or not Path(inputs[0]).is_dir():
        return None
    try:
        index = load_index(inputs[0], edition, strict=False)
    except AbawError:
        return None                          # a folder of videos, not a dataset
    return index if index.tracks() else None     # videos named like CE's, nothing annotated


def dataset_ids(index, tracks, wanted) -> list[str]:
    """The annotation ids with a raw video: those asked for (--ids), else those of the tracks
    given (all when none)."""
    from abaw.errors import AbawError

    names = [t.upper() for t in tracks] or index.tracks()
    for t in names:
        if t not in index.sequences:
            raise AbawError(f"--track: found {t}, expected one of {', '.join(index.tracks())} "
                            f"(the tracks of {index.root})")
    for i in wanted:
        if index.media.get(i) is None or not index.media[i].raw_video:
            raise AbawError(f"--ids: found {i!r}, expected an id of {index.root} with a raw "
                            "video")
    ids = sorted(wanted) or sorted({i for t in names for i in index.sequences[t]
                                    if index.media.get(i) is not None
                                    and index.media[i].raw_video})
    if not ids:
        raise AbawError(f"{index.root}: found no raw video for any id of "
                        f"{', '.join(names)}, expected videos to detect faces in")
    return ids
