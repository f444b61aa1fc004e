"""Class-prompt text embeddings from CLIP's text tower, for the prompt-contrastive losses
(`[loss] prompts = "prompts.npy"`): one row per class, in the protocol's class order.

VA has no classes: its 9 prompts describe the regions of the 3 x 3 valence-arousal grid in the
order the VA-grid soft labels use (row-major, valence first, low to high).
"""

from __future__ import annotations

import numpy as np

from abaw import protocol
from abaw.atomic import atomic_file
from abaw.errors import AbawError

TEMPLATE = "a photo of a face showing {}."
VA_LEVELS = (("negative", "neutral", "positive"), ("calm", "moderately aroused", "excited"))


def class_prompts(track: str, edition: int = protocol.LATEST_EDITION,
                  template: str = TEMPLATE) -> list[str]:
    if "{}" not in template:
        raise AbawError(f"--template: found {template!r}, expected a text with {{}} where the "
                        "class name goes")
    track = track.upper()
    if track == "VA":
        valence, arousal = VA_LEVELS
        return [template.format(f"{v} valence and {a} arousal") for v in valence for a in arousal]
    rules = protocol.rules(track, edition)
    if rules.kind != "single_label":
        raise AbawError(f"--track: found {track}, expected a class track (EXPR, CE, LSD) or VA")
    return [template.format(name.replace("_", " ").lower()) for name in rules.names]


def write_prompt_embeddings(backbone, prompts: list[str], out) -> np.ndarray:
    """(C, E) float32 text embeddings of `prompts`, saved to `out` (.npy) atomically."""
    if not hasattr(backbone, "encode_text"):
        raise AbawError(f"--backbone: found {backbone.name}, expected a CLIP backbone (it has "
                        "the text tower)")
    emb = np.asarray(backbone.encode_text(prompts), dtype=np.float32)
    with atomic_file(out) as fh:
        np.save(fh, emb, allow_pickle=False)
    return emb
