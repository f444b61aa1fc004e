"""`abaw models`: the registered backbones and where their weights are expected."""

import click

from abaw.cli.options import FiniteRange


@click.group("models")
def models():
    """Registered backbones (transformers / timm / NumPy) and their weights."""


@models.command("list")
@click.option("--kind", type=click.Choice(["visual", "audio"]), help="Only this kind.")
def list_models(kind):
    """Every backbone: kind, output dim, default layer/pooling, where its weights go."""
    from rich.console import Console
    from rich.table import Table

    from abaw.features.registry import expected_folder, sorted_specs, weights_found, weights_home

    table = Table("name", "kind", "dim", "layer", "pooling")
    for header in ("hub id", "expected folder", "found", "note"):
        table.add_column(header, overflow="fold")
    for spec in sorted_specs():
        if kind and spec.kind != kind:
            continue
        table.add_row(spec.name, spec.kind, str(spec.dim), spec.layer, spec.pooling,
                      spec.hub_id or "-", str(expected_folder(spec.name)) if spec.hub_id else "-",
                      weights_found(spec), spec.note)
    console = Console(width=200)
    console.print(table)
    console.print(f"Weights folder: $ABAW_MODELS (now {weights_home()}). Fetch one with "
                  "`hf download <hub id> --local-dir <expected folder>`, or pass --weights DIR "
                  "(a save_pretrained folder, or a timm folder with config.json + "
                  "model.safetensors). HF_HUB_OFFLINE=1 is honoured. Entries whose hub id is "
                  "'(abaw models pretrain)' are trained on a dataset's training crops: "
                  "`abaw models pretrain ROOT --out <expected folder>`.", soft_wrap=True)


@models.command("tiny")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--backbone", "names", multiple=True, help="Only these (repeatable; default all).")
def tiny(folder, names):
    """Write tiny RANDOM weights of every backbone's real class into FOLDER/<name>.

    For offline demos and CI only (the features mean nothing): then run
    `ABAW_MODELS=FOLDER abaw features extract ...`.
    """
    from pathlib import Path

    from abaw.features.registry import get_spec, sorted_specs
    from abaw.features.tiny import write_tiny

    for name in names or [s.name for s in sorted_specs()]:
        get_spec(name)
        out = write_tiny(name, Path(folder) / name)
        click.echo(f"{name}: {out or 'no weights needed'}")


@models.command("pretrain")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) weights folder, e.g. $ABAW_MODELS/face-resnet18.")
@click.option("--edition", type=int, help="Dataset edition (default: detected).")
@click.option("--arch", default="resnet18", show_default=True,
              help="timm architecture (face-resnet18 expects a ResNet).")
@click.option("--size", "image_size", default=64, show_default=True, type=click.IntRange(16),
              help="Input size in pixels (square).")
@click.option("--epochs", default=4, show_default=True, type=click.IntRange(1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=2e-3, show_default=True, type=FiniteRange(0, min_open=True),
              help="Peak learning rate (one-cycle schedule, AdamW).")
@click.option("--max-frames", default=4000, show_default=True, type=click.IntRange(1),
              help="Training images, taken evenly over every training video.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--quiet", is_flag=True, help="No progress.")
def pretrain(root, out, edition, arch, image_size, epochs, batch_size, lr, max_frames, seed,
             quiet):
    """Train a face encoder on ROOT's TRAINING crops with its affect labels (never val/test).

    A timm CNN plus one linear head per labelled task (VA, EXPR, AU, MTL, LSD, CE); only the
    CNN is written to OUT as a timm weights folder (config.json + model.safetensors, and
    pretrain.json). Then: `abaw features extract ROOT --backbone face-resnet18 --weights OUT`.
    """
    from abaw.data import load_index
    from abaw.train.pretrain import pretrain as run_pretrain

    index = load_index(root, edition) if edition is not None else load_index(root)
    folder = run_pretrain(index, out, arch=arch, image_size=image_size, epochs=epochs,
                          batch_size=batch_size, lr=lr, seed=seed, max_frames=max_frames,
                          quiet=quiet)
    click.echo(str(folder))
