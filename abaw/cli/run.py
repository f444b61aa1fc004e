"""`abaw run`: the whole path for one track (what `make track=X submit` calls)."""

from pathlib import Path

import click

from abaw.cli.options import TrackChoice


@click.command("run")
@click.option("--track", type=TrackChoice(),
              help="The track to run [default: the one a --recipe TRACK/NAME names].")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root [default: the demo's synthetic twin for the track].")
@click.option("--edition", type=int, help="Edition of the dataset layout (detected when omitted).")
@click.option("--recipe", help="A recipe name in tracks/<track>/recipes/, TRACK/NAME (e.g. "
              "va/capnet-causal), or a TOML file [default: default].")
@click.option("--template", type=click.Path(dir_okay=False, path_type=Path),
              help="The organisers' test-set template (editions 5+) [default: found in --root].")
@click.option("--test-list", type=click.Path(dir_okay=False, path_type=Path),
              help="The organisers' test-id list (editions 1-3) [default: found in --root].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set optim.epochs=5 (repeatable).")
@click.option("--features", "features", metavar="STORE[,STORE]",
              help="Feature store folders to train on instead of extracting the recipe's "
              "backbones (e.g. the twin's: abaw data synth OUT --features 768).")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="Where features, models and runs are kept.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("submissions"), show_default=True, help="Where the zip is written.")
@click.option("--offline-encoders", is_flag=True,
              help="Keep the recipe but replace its backbones by the offline encoders that learn "
              "on the twin (the track demo's visual encoder, log-mel audio, hashed text).")
@click.option("--until", type=click.Choice(["index", "features", "train", "submit"]),
              default="submit", show_default=True, help="Stop after this step.")
@click.option("--last", is_flag=True, help="Only print the scores of the last run of the track.")
@click.option("--check", is_flag=True, help="Only check what the steps will need (recipe, data, "
              "templates, weights, files, crops, folders, disk) and list every problem; exit 1 "
              "if any. Nothing is run or written.")
@click.option("--crops", "crops", multiple=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="A crop folder outside the dataset (`abaw faces extract --out`); its crops "
              "replace the tree's for the ids it holds (repeatable, the first wins) [default: "
              "WORK/faces/<dataset>/ when `abaw faces extract ROOT` has written it].")
@click.option("--quiet", is_flag=True, help="Print only the result.")
def run(track, root, edition, recipe, template, test_list, overrides, features, work, out,
        offline_encoders, until, last, check, crops, quiet):
    """Index, features, train, predict, tune post-processing, ensemble, write, validate, zip."""
    from abaw import pipeline
    from abaw.errors import AbawError
    from tracks import NAMES, get_track

    if recipe and "/" in recipe and not Path(recipe).is_file():
        key, _, name = recipe.partition("/")
        if key.lower() in NAMES:
            if track is not None and track.key != key.lower():
                raise AbawError(f"--recipe {recipe}: found track {key}, expected {track.key} as "
                                "given by --track")
            track, recipe = get_track(key), name
    if track is None:
        raise AbawError("--track: found none, expected --track T or --recipe TRACK/NAME")
    if offline_encoders:
        overrides = (*overrides, "features.offline=true")

    if last:
        o = pipeline.last_outcome(track, work)
    else:
        if root is None:
            from abaw.cli.demo import twin_for

            root = twin_for(track.key, Path("demo"), quiet)
            recipe = recipe or "demo"
        if check:
            from abaw.pipeline.features import crop_sources
            from abaw.pipeline.preflight import preflight

            done = preflight(track, root, edition=edition, recipe=recipe, overrides=overrides,
                             template=template, test_list=test_list, work=work, out=out,
                             until=until, crops=crop_sources(root, crops, work),
                             features=features)
            click.echo(f"{track.name}: every check passed in {done.seconds:.1f} s")
            for line in done.checked:
                click.echo(f"  {line}")
            return
        o = pipeline.run_track(track, root, edition=edition, recipe=recipe, overrides=overrides,
                               template=template, test_list=test_list, work=work, out=out,
                               until=until, quiet=quiet, crops=crops, features=features)
        if until != "submit":
            return
    for line in o.lines():
        click.echo(line)
