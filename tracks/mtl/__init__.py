"""MTL: valence-arousal, expression and AUs together on s-Aff-Wild2's static frames; the score is
the sum P_VA + P_EXPR + P_AU. One model, three output blocks (2 + 8 + 12 columns); each row is
masked per task, so a row with only some tasks annotated still trains those.

Window length 1 by default: the listed frames of a video are sparse samples, not a contiguous
clip, so a temporal head would see neighbours that are seconds apart. A recipe may still set
`data.window` > 1 to let the head look at the neighbouring listed frames of the same video.
"""

from abaw.core.track import Track

TRACK = Track("MTL", window=1)
