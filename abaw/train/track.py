"""The Track spec: everything the generic trainer and predictor know about a track.

A track is a few output blocks; each block is one task with one kind of output:

    VA    values  (2)          CCC loss,       outputs as they are
    EXPR  classes (8; 7 ed.1-2) cross-entropy, softmax probabilities
    AU    binary  (12; 8 ed.1) BCE,            sigmoid probabilities
    MTL   VA + EXPR + AU side by side (2 + 8 + 12 columns), each task masked on its own

From the blocks follow the label masks (the sentinels, through `abaw.metrics.valid_mask`), the
activation of raw outputs, the decoding for the official metric and the default loss. Track
packages (`tracks/<name>`) define one `TRACK` each and may replace `build_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from abaw import metrics, protocol
from abaw.errors import AbawError


@dataclass(frozen=True)
class Block:
    task: str                   # VA | EXPR | AU | LSD | CE: its sentinel and its metric
    kind: str                   # values | classes | binary
    size: int                   # output columns
    labels: tuple[int, int]     # label columns [start, stop) of `Sequence.labels`


@dataclass
class LabelStats:
    """The training labels, for class weights and positive weights."""

    labels: np.ndarray          # (N, L) float32 with sentinels
    mask: np.ndarray            # (N, M) bool, one column per block


@dataclass
class Track:
    name: str                                        # protocol track, e.g. "EXPR"
    blocks: Callable[[int], tuple[Block, ...]]       # edition -> output blocks
    window: int = 64                                 # default window length
    image_level: bool = False                        # rows are independent images: window 1
    index_track: str = ""                            # table in the DatasetIndex; "" = name
    build_loss: Callable | None = None               # (track, loss_cfg, stats, edition, **aux)
    notes: str = ""                                  # why the defaults are what they are
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def index_name(self) -> str:
        return self.index_track or self.name

    def edition_for(self, index_edition: int) -> int:
        """The index's edition when it runs this track, else the latest edition that does."""
        if self.name in protocol.tracks_of(index_edition, include_extensions=True):
            return index_edition
        eds = protocol.editions_with(self.name)
        if not eds:
            raise AbawError(f"track: found {self.name}, expected one of the protocol's tracks")
        return max(eds)

    def blocks_of(self, edition: int) -> tuple[Block, ...]:
        if edition not in self._cache:
            self._cache[edition] = tuple(self.blocks(edition))
        return self._cache[edition]

    def out_dim(self, edition: int) -> int:
        return sum(b.size for b in self.blocks_of(edition))

    def columns(self, edition: int) -> tuple[str, ...]:
        cols = protocol.rules(self.name, edition).names
        if len(cols) != self.out_dim(edition):
            raise AbawError(f"track {self.name}: found {self.out_dim(edition)} outputs, expected "
                            f"{len(cols)} ({','.join(cols)})")
        return cols

    def _spans(self, edition):
        start = 0
        for b in self.blocks_of(edition):
            yield b, start, start + b.size
            start += b.size

    # --- labels ------------------------------------------------------------------------------
    def label_mask(self, labels: np.ndarray | None, n: int, edition: int) -> np.ndarray:
        """(N, M) True where block m's ground truth is annotated (sentinels and NaN excluded)."""
        blocks = self.blocks_of(edition)
        if labels is None:
            return np.zeros((n, len(blocks)), bool)
        cols = []
        for b in blocks:
            y = labels[:, b.labels[0]:b.labels[1]]
            cols.append(metrics.valid_mask(b.task, y if b.kind != "classes" else y[:, 0]))
        return np.stack(cols, axis=1)

    # --- outputs -----------------------------------------------------------------------------
    def activate(self, raw: torch.Tensor, edition: int) -> torch.Tensor:
        """Raw outputs (..., K) -> values / probabilities, as a prediction set stores them."""
        parts = []
        for b, s, e in self._spans(edition):
            x = raw[..., s:e]
            parts.append(torch.softmax(x, -1) if b.kind == "classes" else
                         torch.sigmoid(x) if b.kind == "binary" else x)
        return torch.cat(parts, dim=-1)

    def decode(self, probs: np.ndarray, edition: int):
        """Activated outputs (N, K) -> what `abaw.metrics.score` takes (one array, or a dict by
        task for several blocks). Thresholds here are the plain defaults (argmax, 0.5, clip);
        tuned ones belong to post-processing."""
        out = {}
        for b, s, e in self._spans(edition):
            x = probs[:, s:e]
            out[b.task] = (x.argmax(1) if b.kind == "classes" else
                           (x >= 0.5).astype(np.int64) if b.kind == "binary" else np.clip(x, -1, 1))
        return out if len(out) > 1 else next(iter(out.values()))

    def truth(self, labels: np.ndarray, edition: int):
        out = {}
        for b in self.blocks_of(edition):
            y = labels[:, b.labels[0]:b.labels[1]]
            out[b.task] = y[:, 0] if b.kind == "classes" else y
        return out if len(out) > 1 else next(iter(out.values()))

    def objective(self, loss_cfg, stats: LabelStats, edition: int, teacher: bool = False,
                  prompts: np.ndarray | None = None):
        from abaw.train.objectives import default_objective
        build = self.build_loss or default_objective
        return build(self, loss_cfg, stats, edition, teacher=teacher, prompts=prompts)
