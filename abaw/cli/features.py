"""`abaw features`: frozen-backbone features for every frame of an indexed dataset."""

import click

from abaw.cli.options import crop_folders, crop_options


@click.group("features")
def features():
    """Extract frozen-backbone features into a feature store."""


@features.command("extract")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--backbone", required=True, help="A name from `abaw models list`.")
@click.option("--weights", help="Weights folder or hub id (default: the registry's).")
@click.option("--split", "splits", multiple=True, type=click.Choice(["train", "val", "test"]),
              help="Only these splits (repeatable; default all).")
@click.option("--track", "tracks", multiple=True, help="Only ids of these tracks (repeatable).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Store folder (default: features/<backbone>).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--precision", default="auto", show_default=True,
              type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
              help="auto: bf16 (or fp16) autocast on GPU, fp32 on CPU.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1),
              help="Frames per batch (audio: chunks of 10-30 s, at most 8).")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(0),
              help="Decoding worker processes.")
@click.option("--layer", help="last, a layer index (e.g. -2) or mean:K (default: the registry's).")
@click.option("--pooling", help="cls, mean (or embed for CLIP) (default: the registry's).")
@click.option("--edition", type=int, help="Dataset edition (default: detected).")
@click.option("--inputs", help="Text backbones: the folder of text files per video, relative to "
              "ROOT (what a recipe's features.inputs names).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@crop_options
def extract(root, backbone, weights, splits, tracks, out, device, precision, batch_size, workers,
            layer, pooling, edition, inputs, quiet, crops, crops_work):
    """Features of every crop (visual) or of the audio mapped onto frames (audio) of ROOT."""
    import json

    from abaw.data import load_index
    from abaw.features.extract import extract as run_extract
    from abaw.features.extract import rank_and_world, resolve_device
    from abaw.features.registry import create_backbone, get_spec

    get_spec(backbone)  # an unknown name fails before anything loads
    dev = resolve_device(device)
    index = load_index(root, edition, crops=crop_folders(root, crops, crops_work))
    model = create_backbone(backbone, weights=weights, layer=layer, pooling=pooling, device=dev)
    rank, world = rank_and_world()
    summary = run_extract(index, model, out or f"features/{backbone}", tracks=list(tracks),
                          splits=list(splits), batch_size=batch_size, workers=workers,
                          precision=precision, quiet=quiet or rank > 0, inputs=inputs)
    if not quiet:
        click.echo(json.dumps(summary))


@features.command("prompts")
@click.option("--backbone", default="clip-vit-b16", show_default=True, help="A CLIP backbone.")
@click.option("--weights", help="Weights folder or hub id (default: the registry's).")
@click.option("--track", required=True, help="EXPR, CE, LSD (one prompt per class) or VA (9).")
@click.option("--edition", type=int, help="Edition whose class list to use (default: latest).")
@click.option("--template", default="a photo of a face showing {}.", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output .npy.")
def prompts(backbone, weights, track, edition, template, out):
    """Class-prompt text embeddings (C, E) for the prompt-contrastive losses."""
    from abaw import protocol
    from abaw.features.prompts import class_prompts, write_prompt_embeddings
    from abaw.features.registry import create_backbone, get_spec

    get_spec(backbone)
    texts = class_prompts(track, protocol.LATEST_EDITION if edition is None else edition,
                          template)
    emb = write_prompt_embeddings(create_backbone(backbone, weights=weights), texts, out)
    for i, text in enumerate(texts):
        click.echo(f"{i}\t{text}")
    click.echo(f"wrote {out}: {emb.shape[0]} x {emb.shape[1]}")
