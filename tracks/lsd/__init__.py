"""LSD: 6 basic expressions per image, trained on synthetic faces, validated on real ones; scored
by macro F1. Image level: each row is an independent image, so the window is 1 frame and the
head sees no temporal context (an MLP is the natural head).
"""

from abaw import protocol
from abaw.train.track import Block, Track


def blocks(edition: int):
    return (Block("LSD", "classes", len(protocol.LSD_CLASSES), (0, 1)),)


TRACK = Track("LSD", blocks, window=1, image_level=True)
