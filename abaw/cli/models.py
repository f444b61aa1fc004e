"""`abaw models`: the registered backbones and where their weights are expected."""

import click


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
                  "model.safetensors). HF_HUB_OFFLINE=1 is honoured.", soft_wrap=True)


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
