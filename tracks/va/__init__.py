"""VA: valence and arousal per frame, in [-1, 1]; scored by the mean CCC of the two.

Default loss: 1 - CCC per dimension (the metric itself, differentiable over the batch), which
beats MSE because CCC also rewards matching the spread of the annotations. Windows of 64 frames
give the head about 2 s of context at 30 fps.
"""

from abaw.core.track import Track

TRACK = Track("VA", window=64)
