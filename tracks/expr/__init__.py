"""EXPR: one basic expression per frame, 8 classes (7 in editions 1-2); scored by macro F1.

Default loss: cross-entropy with inverse-frequency class weights from the training histogram
(Neutral and Other outnumber Fear ~15 to 1), so the rare classes count in the macro F1.
"""

from abaw.core.track import Track

TRACK = Track("EXPR", window=64)
