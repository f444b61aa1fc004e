"""`abaw train`: train a track's head on cached features from a recipe.

    abaw train --track expr --recipe R.toml --root DATA --features STORE[,STORE2] --out RUN \
        [--set optim.lr=3e-4 ...] [--resume]
    torchrun --nproc_per_node=N -m abaw train ...       (DDP, the same command)
"""

import click

from abaw.cli.options import TrackChoice


@click.command("train")
@click.option("--track", required=True, type=TrackChoice(), help="The track to train.")
@click.option("--recipe", help="A recipe name in tracks/<track>/recipes/ or a TOML file (default: "
              "the track's default recipe, else built-in defaults).")
@click.option("--root", required=True, type=click.Path(file_okay=False), help="Dataset root.")
@click.option("--edition", type=int, help="Edition of the dataset (detected when omitted).")
@click.option("--features", required=True,
              help="Feature store folder(s), comma-separated; each is one input stream.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set optim.lr=3e-4 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--quiet", is_flag=True, help="No per-epoch lines.")
def train(track, recipe, root, edition, features, out, overrides, resume, quiet):
    """Train a head on cached features; selects the epoch with the best official val score."""
    from abaw.data import load_index
    from abaw.recipe import load_recipe
    from abaw.train.inputs import open_stores
    from abaw.train.trainer import train as run_training
    from tracks import recipe_path, resolve_recipe

    recipe = recipe_path(track) if recipe is None else resolve_recipe(track, recipe)
    cfg = load_recipe(recipe, overrides, track=track.name).training()
    stores = open_stores(features)
    index = load_index(root, edition)
    results = run_training(track, cfg, index, stores, out, resume=resume, quiet=quiet)
    _finish(results, quiet)


def _finish(results, quiet):
    import torch.distributed as dist

    main = not dist.is_initialized() or dist.get_rank() == 0
    if main:
        for r in results if isinstance(results, list) else [results]:
            click.echo(f"{r.run_dir}: best validation score {r.best_score:.4f} at epoch "
                       f"{r.best_epoch + 1} of {r.epochs_run}")
    if dist.is_initialized():
        dist.destroy_process_group()
