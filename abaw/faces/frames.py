"""Decoded frames in batches, in data-loader workers: each worker decodes whole videos (PyAV,
`abaw.data.media.iter_frames`) and hands out batches of consecutive frames of one video, full
size for cropping and shrunk for the detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from abaw.data.media import iter_frames
from abaw.faces.detector import shrink


@dataclass
class Chunk:
    video: int                     # position in the dataset's video list
    start: int                     # 0-based index of the first frame (annotation line)
    frames: torch.Tensor           # (B, H, W, 3) uint8 RGB, full size
    small: torch.Tensor            # (B, h, w, 3) uint8 RGB, what the detector sees
    # (tensors, not arrays: from a worker they come through shared memory, not a pipe)
    factor: float                  # small -> full size
    times: np.ndarray              # (B,) float64 seconds (NaN where the container gives none)
    last: bool                     # the video's last chunk (it may hold no frame)
    error: str | None = None       # the video could not be decoded: why


class VideoChunks(torch.utils.data.IterableDataset):
    def __init__(self, videos: list[str], batch_size: int, max_side: int | None):
        self.videos, self.batch_size, self.max_side = list(videos), batch_size, max_side

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        me, workers = (info.id, info.num_workers) if info else (0, 1)
        for k in range(me, len(self.videos), workers):
            yield from self._video(k)

    def _video(self, k: int):
        import av

        from abaw.errors import AbawError

        frames, times, start = [], [], 0
        try:
            for i, t, img in iter_frames(self.videos[k]):
                if frames and img.shape != frames[0].shape:  # a size change mid-video
                    yield self._chunk(k, start, frames, times, False)
                    frames, times, start = [], [], i
                frames.append(img)
                times.append(np.nan if t is None else t)
                if len(frames) == self.batch_size:
                    yield self._chunk(k, start, frames, times, False)
                    frames, times, start = [], [], i + 1
        except (AbawError, av.error.FFmpegError, OSError) as e:
            empty = torch.zeros((0, 1, 1, 3), dtype=torch.uint8)
            yield Chunk(k, start, empty, empty, 1.0, np.zeros(0), True,
                        f"{self.videos[k]}: {str(e).splitlines()[0]}")
            return
        yield self._chunk(k, start, frames, times, True)

    def _chunk(self, k, start, frames, times, last) -> Chunk:
        full = np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)
        small, factor = shrink(full, self.max_side) if frames else (full, 1.0)
        return Chunk(k, start, torch.from_numpy(full), torch.from_numpy(np.ascontiguousarray(small)),
                     factor, np.asarray(times, np.float64), last)


def _as_is(chunk):
    return chunk


def chunks(videos: list[str], batch_size: int, max_side: int | None, workers: int):
    """Iterate `Chunk`s of every video; chunks of one video come in order, videos interleave."""
    loader = torch.utils.data.DataLoader(
        VideoChunks(videos, batch_size, max_side), batch_size=None, num_workers=workers,
        collate_fn=_as_is, prefetch_factor=2 if workers else None,
        persistent_workers=False)
    return iter(loader)
