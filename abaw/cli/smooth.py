"""`abaw smooth`: impute and smooth a prediction set with parameters tuned on validation.

    abaw smooth test.npz --tune-on val.npz --root DATA          # tune on val, apply to test
    abaw smooth test.npz --params val.post.json --root DATA     # apply saved parameters

Writes the new set (default `<PRED>.smooth.npz`) with the parameters in its provenance, and the
parameters beside it (`<OUT stem>.post.json`).
"""

from __future__ import annotations

from pathlib import Path

import click

from abaw.errors import AbawError
from abaw.post.impute import METHODS
from abaw.post.smooth import DEFAULT_WINDOWS, KINDS

_path = click.Path(dir_okay=False, path_type=Path)


def completed(ps, index, method: str):
    """`ps` with a row for every frame the index lists for its videos (imputed by `method`)."""
    from abaw.post import impute as imp

    if index is None:
        return imp.impute(ps, method) if imp.missing_rows(ps).any() else ps
    seqs = index.sequences.get(ps.track, {})
    return imp.complete(ps, {v: seqs[v].frames for v in ps.videos if v in seqs}, method)


def validation_set(path, index, method: str):
    """(the validation set at `path` completed to every annotated frame, its ValTruth)."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.post.impute import complete
    from abaw.post.tune import ValTruth

    val = PredictionSet.load(path)
    truth = ValTruth.from_index(index, val.track, "val")
    lacking = sorted(set(truth.per_video) - set(val.videos))
    if lacking:
        raise AbawError(f"{path}: found no predictions for {len(lacking)} validation videos "
                        f"(e.g. {', '.join(lacking[:3])}), expected every {val.track} val video")
    return complete(val, truth.frames(), method), truth


def parse_list(text: str, what: str, cast=str) -> tuple:
    try:
        return tuple(cast(t.strip()) for t in text.split(",") if t.strip())
    except ValueError:
        raise AbawError(f"--{what}: found {text!r}, expected a comma-separated list") from None


@click.command("smooth")
@click.argument("pred", type=_path)
@click.option("--tune-on", "val_pred", type=_path,
              help="Validation prediction set of the same model: parameters are tuned on it.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Dataset root: validation annotations, and the frames each set must cover.")
@click.option("--edition", type=int, default=None, help="Edition of the dataset layout "
              "(detected when left out).")
@click.option("--out", type=_path, default=None, help="Output prediction set "
              "[default: PRED with .smooth.npz].")
@click.option("--params", "params_path", type=_path,
              help="Apply these saved parameters (a .post.json) instead of tuning.")
@click.option("--kinds", default=",".join(KINDS), show_default=True,
              help="Smoothing kinds to try.")
@click.option("--windows", default=",".join(map(str, DEFAULT_WINDOWS)), show_default=True,
              help="Windows to try, in frames.")
@click.option("--impute", "impute_method", type=click.Choice(METHODS), default="linear",
              show_default=True, help="How frames without an output are filled.")
@click.option("--use-imputed", is_flag=True, help="Let imputed frames count in smoothing windows.")
@click.option("--no-thresholds", is_flag=True, help="Keep AU thresholds at 0.5.")
@click.option("--no-bias", is_flag=True, help="Do not tune a class bias.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def smooth(pred, val_pred, root, edition, out, params_path, kinds, windows, impute_method,
           use_imputed, no_thresholds, no_bias, quiet):
    """Impute and smooth PRED, with parameters tuned on --tune-on (or loaded from --params)."""
    from abaw.core.prediction_set import PredictionSet
    from abaw.data import load_index
    from abaw.post.params import PostParams
    from abaw.post.tune import tune

    ps = PredictionSet.load(pred)
    index = load_index(root, edition) if root is not None else None
    if params_path is not None:
        params = PostParams.load(params_path)
    else:
        if val_pred is None or index is None:
            raise AbawError("smooth: found no --tune-on/--root, expected a validation set and the "
                            "dataset root to tune on (or --params FILE to apply saved parameters)")
        val, truth = validation_set(val_pred, index, impute_method)
        say = None if quiet else click.echo
        params = tune(val, truth, kinds=parse_list(kinds, "kinds"),
                      windows=parse_list(windows, "windows", int), impute=impute_method,
                      ignore_imputed=not use_imputed, thresholds=not no_thresholds,
                      bias=not no_bias, progress=say)
    result = params.apply(completed(ps, index, params.impute or impute_method))
    out = out or pred.with_name(pred.name.removesuffix(".npz") + ".smooth.npz")
    result.save(out)
    saved = params.save(out.with_name(out.name.removesuffix(".npz") + ".post.json"))
    if not quiet:
        if params.scores:
            click.echo(f"validation {params.track}: {params.scores['raw']:.4f} -> "
                       f"{params.scores['tuned']:.4f}")
        click.echo(f"wrote {out} ({len(result):,} rows) and {saved}")
