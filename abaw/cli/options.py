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
