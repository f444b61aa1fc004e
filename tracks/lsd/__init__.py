"""LSD: 6 basic expressions per image, trained on synthetic faces, validated on real ones; scored
by macro F1. Image level: each row is an independent image, so the window is 1 frame and the
head sees no temporal context (an MLP is the natural head).
"""

from abaw.core.track import Track

TRACK = Track("LSD", window=1)
