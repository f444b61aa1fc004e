"""`abaw ensemble`: combine prediction sets, weights tuned on validation.

    abaw ensemble a_test.npz b_test.npz --tune-on a_val.npz --tune-on b_val.npz --root DATA \\
        --out ens_test.npz --val-out ens_val.npz

`--tune-on` is given once per member, in the members' order. `--val-out` writes the validation
ensemble too, ready for `abaw smooth ens_test.npz --tune-on ens_val.npz`.
"""

from __future__ import annotations

from pathlib import Path

import click

from abaw.cli import smooth as common
from abaw.cli.options import FiniteRange
from abaw.errors import AbawError
from abaw.post.ensemble import METHODS, MIN_STEP
from abaw.post.impute import METHODS as IMPUTE

_path = click.Path(dir_okay=False, path_type=Path)


@click.command("ensemble")
@click.argument("preds", nargs=-1, required=True, type=_path)
@click.option("--tune-on", "val_preds", multiple=True, type=_path,
              help="Validation set of each member, in the same order (repeat the option).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root: validation annotations, and the frames each set must cover.")
@click.option("--edition", type=int, default=None, help="Edition of the dataset layout "
              "(detected when left out).")
@click.option("--out", type=_path, required=True, help="Output prediction set.")
@click.option("--method", type=click.Choice(METHODS), default=None,
              help="mean, weighted (tuned on --tune-on) or vote [default: weighted with "
                   "--tune-on, else mean].")
@click.option("--val-out", type=_path, default=None,
              help="Also write the validation ensemble (to tune smoothing on).")
@click.option("--step", type=FiniteRange(MIN_STEP, 1.0), default=0.05, show_default=True,
              help="Grid step of the weight search.")
@click.option("--impute", "impute_method", type=click.Choice(IMPUTE), default="linear",
              show_default=True, help="How frames without an output are filled first.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def ensemble(preds, val_preds, root, edition, out, method, val_out, step, impute_method, quiet):
    """Combine the prediction sets PRED... into one."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.data import load_index
    from abaw.post import ensemble as ens

    method = method or ("weighted" if val_preds else "mean")
    if val_preds and len(val_preds) != len(preds):
        raise AbawError(f"--tune-on: found {len(val_preds)} validation sets, expected "
                        f"{len(preds)} (one per PRED, in the same order)")
    if (method == "weighted" or val_out) and (not val_preds or root is None):
        raise AbawError(f"ensemble --method {method}: found no --tune-on/--root, expected a "
                        "validation set per member and the dataset root (or --method mean)")
    index = load_index(root, edition) if root is not None else None
    names = [str(p) for p in preds]
    sets = [common.completed(PredictionSet.load(p), index, impute_method) for p in preds]
    vals, weights, scores = None, None, None
    if method == "weighted" or val_out is not None:      # both need the validation sets
        pairs = [common.validation_set(p, index, impute_method) for p in val_preds]
        vals, truth = [v for v, _ in pairs], pairs[0][1]
        if method == "weighted":
            weights, scores = ens.tune_weights(vals, truth, [str(p) for p in val_preds], step)

    def build(members, member_names):
        if method == "vote":
            return ens.vote(members, member_names)
        result = ens.combine(members, weights, member_names, method)
        if scores is not None:
            info = {**result.provenance["ensemble"], "val_scores": scores}
            result = result.replace(ensemble=info)
        return result

    build(sets, names).save(out)
    if val_out is not None:
        build(vals, [str(p) for p in val_preds]).save(val_out)
    if not quiet:
        for g, w in (weights or {}).items():
            s = scores[g]
            click.echo(f"{g}: weights {', '.join(f'{x:.2f}' for x in w)}; validation "
                       f"{max(s['members']):.4f} (best member) -> {s['ensemble']:.4f}")
        click.echo(f"wrote {out}" + (f" and {val_out}" if val_out else ""))
