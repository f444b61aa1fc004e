"""CE: 7 compound expressions per frame of the 56 C-EXPR-DB videos; scored by macro F1.

No training set is released. This spec trains on labelled compound data a user supplies (a CE
table with train/val sequences in the index); compound scores derived from a basic-expression
model are a separate path that needs no training.
"""

from abaw import protocol
from abaw.train.track import Block, Track


def blocks(edition: int):
    return (Block("CE", "classes", len(protocol.CE_CLASSES), (0, 1)),)


TRACK = Track("CE", blocks, window=64)
