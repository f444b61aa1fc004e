"""What the data-loader workers do: decode JPEGs and apply the backbone's own preprocessing,
decode a video's audio (and read its frame times). Errors come back as values, not exceptions:
an exception raised in a worker would reach the user as a traceback."""

from __future__ import annotations

import os

import numpy as np
import torch

from abaw.errors import AbawError
from abaw.features.timeline import read_audio


class ImageFiles(torch.utils.data.Dataset):
    """One image per item, decoded in a worker; an unreadable file comes back as a message."""

    def __init__(self, paths):
        # one NumPy byte array, not a list of str: forked workers would touch (and so copy)
        # every Python object's refcount
        self.paths = np.array([os.fsencode(p) for p in paths], dtype=bytes)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image

        path = os.fsdecode(self.paths[i])
        try:
            with Image.open(path) as im:
                return im.convert("RGB"), ""
        except (OSError, ValueError) as e:
            return None, f"{path}: cannot decode the image ({e})"


class Preprocess:
    """collate_fn: the backbone's own transform on a batch of images, in the worker."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, items):
        errors = [err for _, err in items if err]
        if errors:
            return None, errors[0]
        return self.transform([im for im, _ in items]), ""


class AudioTracks(torch.utils.data.Dataset):
    """Decodes one video's audio (and its frame times when the index has none) per item."""

    def __init__(self, videos, sample_rate, need_times):
        self.videos, self.sample_rate, self.need_times = videos, sample_rate, need_times

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, i):
        video = self.videos[i]
        if video is None:
            return np.zeros(0, np.float32), 0.0, None, ""
        from abaw.data.media import video_timestamps

        try:
            wave, start = read_audio(video, self.sample_rate)
            times = video_timestamps(video) if self.need_times[i] else None
        except AbawError as e:
            return None, 0.0, None, str(e)
        return wave, start, times, ""


def unbatched(item):
    """collate_fn for one video per item: keep the NumPy arrays as they are."""
    return item


