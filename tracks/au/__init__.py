"""AU: 12 action units per frame (8 in edition 1), each 0/1; scored by the mean F1 over AUs.

Default loss: BCE with a per-AU positive weight (negatives / positives in training), because most
AUs are active in a small share of frames. Thresholds stay at 0.5 here; tuning them per AU on
validation is post-processing.
"""

from abaw.core.track import Track

TRACK = Track("AU", window=64)
