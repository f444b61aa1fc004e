"""Audio feature steps -> video frames: the mean of the steps inside each frame's display
interval, the nearest step when none falls inside.

Times are seconds on the container's clock (`abaw.data.media`: pts x time_base), for audio and
video alike, so a stream that starts late stays aligned. Aff-Wild2 has many variable-frame-rate
videos: frame k is placed at its own timestamp, never at (k - 1) / fps.
"""

from __future__ import annotations

import numpy as np

from abaw.errors import AbawError


def read_audio(path, sample_rate: int) -> tuple[np.ndarray, float]:
    """(mono float32 waveform at `sample_rate`, container time of its first sample); an empty
    waveform when the video has no audio stream (its frames then get no audio rows)."""
    import av

    from abaw.data.media import load_audio

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return np.zeros(0, np.float32), 0.0
    except (av.FFmpegError, OSError) as e:
        raise AbawError(f"{path}: found an unreadable video ({e}), expected a video PyAV can "
                        "open") from None
    return load_audio(path, sample_rate)


def windows_to_frames(starts, ends, centres, feats, max_gap: float):
    """Audio steps -> one row per frame window: the mean of the steps centred inside
    [start, end); a window with none takes the step nearest its middle if that step is at most
    `max_gap` away (a coarse audio grid), else the frame has no audio (row 0, present False).

    starts, ends: (N,) seconds; NaN start = a frame with no timestamp (present False).
    centres: (T,) sorted seconds; feats: (T, D). Returns rows (N, D) float32, present (N,) bool.
    """
    starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)
    centres, feats = np.asarray(centres, np.float64), np.asarray(feats)
    n, d = len(starts), feats.shape[1] if feats.ndim == 2 else 0
    rows = np.zeros((n, d), np.float32)
    present = np.zeros(n, bool)
    known = ~np.isnan(starts)
    if len(centres) == 0 or not known.any():
        return rows, present
    s, e = starts[known], ends[known]
    lo = np.searchsorted(centres, s, side="left")
    hi = np.searchsorted(centres, e, side="left")
    count = hi - lo
    csum = np.vstack([np.zeros((1, d)), np.cumsum(feats, axis=0, dtype=np.float64)])  # (T+1, D)
    mean = (csum[hi] - csum[lo]) / np.maximum(count, 1)[:, None]
    # nearest step to the middle of an empty window
    mid = (s + e) / 2
    right = np.searchsorted(centres, mid).clip(1, len(centres) - 1) if len(centres) > 1 \
        else np.zeros(len(mid), int)
    left = (right - 1).clip(0)
    nearest = np.where(np.abs(centres[left] - mid) <= np.abs(centres[right] - mid), left, right)
    close = np.abs(centres[nearest] - mid) <= max_gap
    out = np.where((count > 0)[:, None], mean, feats[nearest].astype(np.float64))
    ok = (count > 0) | close
    rows[known] = np.where(ok[:, None], out, 0.0)
    present[known] = ok
    return rows, present


def audio_rows(timestamps, frames, centres, feats, max_gap: float):
    """Rows for the 1-based `frames` of a video whose decoded frames have `timestamps`.

    Frame k is shown from its time until frame k+1's (`abaw.data.media.frame_times`, which
    extrapolates the last interval past the decoded frames, as annotation lengths may exceed the
    decoded count by a frame or two); past the audio, frames get no audio rows."""
    from abaw.data.media import frame_times

    frames = np.asarray(frames, dtype=np.int64)
    if len(timestamps) == 0:
        return windows_to_frames(np.full(len(frames), np.nan), np.full(len(frames), np.nan),
                                 centres, feats, max_gap)
    return windows_to_frames(frame_times(timestamps, frames), frame_times(timestamps, frames + 1),
                             centres, feats, max_gap)
