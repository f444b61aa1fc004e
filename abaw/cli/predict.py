"""`abaw predict RUN --split val|test`: raw outputs of a trained run as a prediction set;
`abaw predict RUN --video clip.mp4`: any video through the run, to a per-frame CSV."""

import click


@click.command("predict")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--split", type=click.Choice(["val", "test", "train"]),
              help="A split of the run's dataset: writes a prediction set (.npz).")
@click.option("--video", type=click.Path(dir_okay=False),
              help="A video file: faces, features, the model and the post-processing, to a "
                   "per-frame CSV.")
@click.option("--root", type=click.Path(file_okay=False),
              help="Dataset root (default: the one the run was trained on).")
@click.option("--crops", "crops", multiple=True, type=click.Path(file_okay=False), metavar="DIR",
              help="With --split: crop folders outside the dataset (default: the run's).")
@click.option("--features", help="Feature store folder(s), comma-separated (default: the run's); "
                                 "they must come from the same backbones.")
@click.option("--detector", help="With --video: a face detector from `abaw faces list` "
                                 "(default: retinaface-mnet025).")
@click.option("--detector-weights", help="With --video: the detector's weights file, folder or "
                                         "hub id (default: the registry's).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Output file (default: RUN/predictions/SPLIT.npz, or VIDEO's name with "
                   ".csv beside it).")
@click.option("--device", help="auto, cpu, cuda or cuda:N (default: the run's).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def predict(run, split, video, root, crops, features, detector, detector_weights, out, device,
            quiet):
    """Write RUN/predictions/SPLIT.npz (every frame of the split, imputed frames flagged), or the
    per-frame CSV of a video (frames without a face: face = 0 and no values)."""
    from pathlib import Path

    from abaw.errors import AbawError

    if (split is None) == (video is None):
        raise AbawError("predict: found " + ("both --split and --video" if split else "neither "
                        "--split nor --video") + ", expected one of them")
    if video is not None:
        import json

        from abaw.pipeline.video import predict_video

        if root or crops or features:
            raise AbawError("--video: found --root, --crops or --features, expected none of "
                            "them (the video's faces and features are made from the video)")
        out = out or str(Path(video).with_suffix(".csv"))
        summary = predict_video(run, video, out, detector=detector, weights=detector_weights,
                                device=device or "auto", quiet=quiet)
        click.echo(json.dumps(summary))
        return
    from abaw.data import load_index
    from abaw.pipeline.video import run_info
    from abaw.train.predict import predict_run, trained_track

    index = None
    if crops:
        index = load_index(root or run_info(Path(run))["index_root"], None, crops=crops)
    predict_run(trained_track(run), run, split, index=index, root=root, stores=features, out=out,
                device=device)
