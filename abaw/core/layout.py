"""Each track's output layout, derived from the protocol table: blocks of columns, one per task.

    VA    values  (2)              valence, arousal
    EXPR  classes (8; 7 ed. 1-2)   class probabilities
    AU    binary  (12; 8 ed. 1)    AU probabilities
    LSD   classes (6), CE classes (7)
    MTL   VA + EXPR + AU side by side (2 + 8 + 12), each task masked on its own

A block names its task (whose sentinel masks its labels and whose metric scores it), its kind,
its output columns, and its label columns in the index's label arrays (a class block has one
label column, the class index; the others one per output). Decoded submission values have the
label layout too (MTL: v, a, class, 12 AUs).

The output *groups* are what post-processing smooths, tunes and weights together: valence and
arousal each on their own (their CCCs are separate terms of the score), a block's classes
together (argmax couples them), the AUs together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from abaw import protocol
from abaw.errors import AbawError

# what `abaw.metrics.score` takes: one array for a track of one block, a dict by task for several
Scored: TypeAlias = NDArray | dict[str, NDArray]

KINDS = ("values", "classes", "binary")
_KIND_OF = {"regression": "values", "single_label": "classes", "multi_label": "binary"}
# MTL's three tasks, in the column order of the protocol's MTL names
_MTL_PARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("VA", "values", protocol.VA_NAMES), ("EXPR", "classes", protocol.EXPR_CLASSES_8),
    ("AU", "binary", protocol.AUS_12))


@dataclass(frozen=True)
class Block:
    task: str                     # VA | EXPR | AU | LSD | CE: its sentinel and its metric
    kind: str                     # values | classes | binary
    columns: slice                # output columns of the block
    labels: slice                 # label columns (a class block: the one class-index column)
    names: tuple[str, ...]        # the output columns' names

    @property
    def size(self) -> int:
        return self.columns.stop - self.columns.start


@dataclass(frozen=True)
class Group:
    name: str                     # valence | arousal | the class block's task | AU
    kind: str                     # the kind of its block
    columns: slice                # output columns
    block: Block


@dataclass(frozen=True)
class Layout:
    track: str
    edition: int
    blocks: tuple[Block, ...]
    groups: dict[str, Group] = field(default_factory=dict, compare=False)   # name -> Group

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for b in self.blocks for n in b.names)

    @property
    def width(self) -> int:
        return sum(b.size for b in self.blocks)

    @property
    def label_width(self) -> int:
        return self.blocks[-1].labels.stop

    @property
    def image_level(self) -> bool:
        """Rows are independent images, not frames of a video: nothing to smooth along."""
        return self.track in protocol.IMAGE_TRACKS

    def block(self, kind: str) -> Block | None:
        """The (first) block of `kind`, or None."""
        return next((b for b in self.blocks if b.kind == kind), None)

    def check_width(self, n_columns: int) -> None:
        if n_columns != self.width:
            raise AbawError(f"{self.track} prediction set: found {n_columns} output columns, "
                            f"expected {self.width}")

    def split(self, values: ArrayLike, cast: bool = False) -> Scored:
        """Rows in the label layout (labels, or decoded submission values) -> what
        `abaw.metrics.score` takes: one array for one block, a dict by task for several.
        A class block gives its index column; `cast`: class indices as int64, 0/1 as int8."""
        v = np.asarray(values)
        out = {}
        for b in self.blocks:
            x = v[:, b.labels]
            if b.kind == "classes":
                x = x[:, 0].astype(np.int64) if cast else x[:, 0]
            elif b.kind == "binary" and cast:
                x = x.astype(np.int8)
            out[b.task] = x
        return out if len(out) > 1 else next(iter(out.values()))


def edition_for(track: str, edition: int) -> int:
    """`edition` when it runs `track`, else the latest edition that does (the layout a dataset
    of another edition is read with)."""
    track = track.upper()
    if track in protocol.tracks_of(edition, include_extensions=True):
        return edition
    eds = protocol.editions_with(track)
    if not eds:
        raise AbawError(f"track: found {track}, expected one of the protocol's tracks")
    return max(eds)


@cache
def layout(track: str, edition: int) -> Layout:
    """The output layout of `track` in `edition` (an edition that did not run it is an error)."""
    r = protocol.rules(track, edition)
    if r.kind == "multi_task":
        parts = _MTL_PARTS
    elif r.kind in _KIND_OF:
        parts = (("VA" if r.kind == "regression" else "AU" if r.kind == "multi_label"
                  else r.track, _KIND_OF[r.kind], r.names),)
    else:
        raise AbawError(f"track {r.track}: found {r.kind} outputs, expected per-frame values, "
                        "classes or AUs")
    blocks, col, lab = [], 0, 0
    for task, kind, names in parts:
        n_labels = 1 if kind == "classes" else len(names)
        blocks.append(Block(task, kind, slice(col, col + len(names)), slice(lab, lab + n_labels),
                            tuple(names)))
        col, lab = col + len(names), lab + n_labels
    out = Layout(r.track, edition, tuple(blocks), _groups(blocks))
    if out.names != r.names:          # the protocol's column order is the layout's
        raise AbawError(f"track {r.track}: found columns {','.join(out.names)}, expected "
                        f"{','.join(r.names)}")
    return out


def _groups(blocks: list[Block]) -> dict[str, Group]:
    out = {}
    for b in blocks:
        if b.kind == "values":          # valence and arousal: one group each
            for i, name in enumerate(b.names):
                at = b.columns.start + i
                out[name] = Group(name, b.kind, slice(at, at + 1), b)
        else:
            out[b.task] = Group(b.task, b.kind, b.columns, b)
    return out
