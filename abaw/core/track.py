"""The Track spec: what every stage knows about a track beyond the protocol table.

Each `tracks/<name>/__init__.py` defines one `TRACK`. The output layout comes from the protocol
(`abaw.core.layout`); a spec adds only what the protocol does not say: the default window, the
index table its sequences come from, and, for a track without training data (CE), how its
predictions derive from another track's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from abaw import protocol
from abaw.core.layout import Layout, edition_for, layout


@dataclass(frozen=True)
class Track:
    name: str                      # protocol track, e.g. "EXPR"
    window: int = 64               # default window length in frames
    index_track: str = ""          # table in the DatasetIndex; "" = name
    # (a prediction set of the model's track, edition) -> a set of this track: CE's compound
    # scores from a basic-expression model (`pipeline.derive_from` in a recipe chooses it)
    derive: Callable | None = None

    @property
    def index_name(self) -> str:
        return self.index_track or self.name

    @property
    def image_level(self) -> bool:
        """Rows are independent images, not frames of a video: window 1, nothing to smooth."""
        return self.name in protocol.IMAGE_TRACKS

    @property
    def key(self) -> str:
        """The name of its package and folders (`tracks/<key>`, `runs/<key>`)."""
        return self.name.lower()

    def edition_for(self, index_edition: int) -> int:
        """The index's edition when it runs this track, else the latest edition that does."""
        return edition_for(self.name, index_edition)

    def layout(self, edition: int) -> Layout:
        return layout(self.name, edition)

    def out_dim(self, edition: int) -> int:
        return self.layout(edition).width

    def columns(self, edition: int) -> tuple[str, ...]:
        return self.layout(edition).names
