"""MTL: valence-arousal, expression and AUs together on s-Aff-Wild2's static frames; the score is
the sum P_VA + P_EXPR + P_AU. One model, three output blocks (2 + 8 + 12 columns); each row is
masked per task, so a row with only some tasks annotated still trains those.

Window length 1 by default: the listed frames of a video are sparse samples, not a contiguous
clip, so a temporal head would see neighbours that are seconds apart. A recipe may still set
`data.window` > 1 to let the head look at the neighbouring listed frames of the same video.
"""

from abaw import protocol
from abaw.train.track import Block, Track


def blocks(edition: int):
    return (Block("VA", "values", 2, (0, 2)),
            Block("EXPR", "classes", len(protocol.EXPR_CLASSES_8), (2, 3)),
            Block("AU", "binary", len(protocol.AUS_12), (3, 15)))


TRACK = Track("MTL", blocks, window=1)
