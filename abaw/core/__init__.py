"""The torch-free core every stage stands on: what travels between the stages.

- `layout`: each track's output blocks and post-processing groups, derived from the protocol;
- `decisions`: the decision rules (clip, argmax + class bias, AU thresholds) and `Decision`;
- `prediction_set`: `PredictionSet`, the raw outputs between predict, post and write;
- `track`: the `Track` spec each `tracks/<name>` package defines;
- `version`: the code version artifacts record.

Imports only NumPy, the standard library and `abaw.protocol` / `errors` / `atomic`.
"""

from abaw.core.decisions import Decision, decide
from abaw.core.layout import Block, Group, Layout, layout
from abaw.core.prediction_set import PredictionSet
from abaw.core.track import Track

__all__ = ["Block", "Decision", "Group", "Layout", "PredictionSet", "Track", "decide", "layout"]
