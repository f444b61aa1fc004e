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

    table = Table("name", "kind", "dim", "layer", "pooling", "hub id", "expected folder", "found",
                  "note")
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
