"""`abaw predict RUN --split val|test`: raw outputs of a trained run as a prediction set."""

import click


@click.command("predict")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--split", required=True, type=click.Choice(["val", "test", "train"]))
@click.option("--root", type=click.Path(file_okay=False),
              help="Dataset root (default: the one the run was trained on).")
@click.option("--features", help="Feature store folder(s), comma-separated (default: the run's); "
                                 "they must come from the same backbones.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Output .npz (default: RUN/predictions/SPLIT.npz).")
@click.option("--device", help="auto, cpu, cuda or cuda:N (default: the run's).")
def predict(run, split, root, features, out, device):
    """Write RUN/predictions/SPLIT.npz: every frame of the split, imputed frames flagged."""
    from abaw.train.predict import predict_run, trained_track

    predict_run(trained_track(run), run, split, root=root, stores=features, out=out, device=device)
