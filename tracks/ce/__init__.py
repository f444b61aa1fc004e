"""CE: 7 compound expressions per frame of the 56 C-EXPR-DB videos; scored by macro F1.

No training set is released. This spec trains on labelled compound data a user supplies (a CE
table with train/val sequences in the index); compound scores derived from a basic-expression
model (`derive`, which a recipe picks with `pipeline.derive_from = "EXPR"`) need no training.
"""

from abaw.core.track import Track
from tracks.ce.compound import derive

TRACK = Track("CE", window=64, derive=derive)
