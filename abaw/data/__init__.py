"""Dataset layer: layout discovery per edition, bulk annotation parsing, the cached frame index,
video/audio access, the dataset check, and (in `abaw.data.synth`) the synthetic twin."""

from abaw.data.build import load_index

__all__ = ["load_index"]
