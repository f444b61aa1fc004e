"""Options several commands share."""

from __future__ import annotations

import click


class TrackChoice(click.Choice):
    """`--track`: one of the track packages (any case), given to the command as its `Track` spec:
    the one place a track name is looked up."""

    name = "track"

    def __init__(self):
        from tracks import NAMES

        super().__init__(NAMES, case_sensitive=False)

    def convert(self, value, param, ctx):
        from tracks import get_track

        return value if not isinstance(value, str) else get_track(value)


class FiniteRange(click.FloatRange):
    """A float option within [min, max] that is a number: click's FloatRange lets NaN through
    (every comparison with it is false)."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        import math

        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


def crop_options(f):
    """`--crops DIR` (repeatable) and `--work`: where a command reads face crops from besides the
    dataset tree (`abaw.data.cropsource`)."""
    f = click.option("--work", "crops_work", type=click.Path(file_okay=False), default="runs",
                     show_default=True,
                     help="Work folder whose faces/<dataset>/ crops are used when --crops is "
                          "not given (where `abaw faces extract ROOT` writes).")(f)
    return click.option("--crops", "crops", multiple=True, type=click.Path(file_okay=False),
                        metavar="DIR",
                        help="A crop folder outside the dataset (`abaw faces extract --out`); "
                             "its crops replace the tree's for the ids it holds (repeatable, "
                             "the first wins).")(f)


def crop_folders(root, crops, work) -> list:
    """The crop sources a command reads for the dataset at `root` (see `crop_options`)."""
    from abaw.pipeline.features import crop_sources

    return crop_sources(root, crops, work)
