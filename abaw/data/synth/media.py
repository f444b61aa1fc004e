"""Raw videos with sound, written with PyAV: what `batch1/`, `batch2/`, ... and the CE test
videos hold.

- Frame timing: constant rate, or variable (stretches at 30, 15, 10 or 7.5 fps) as in many
  Aff-Wild2 videos; the decoded timestamps are the truth, the fps in a name is not.
- Sound: a voice whose pitch and loudness follow the speaker's arousal, syllables at about 4 Hz
  (faster when aroused), silent pauses, a noise floor. With two people on screen they take turns.
  So audio carries arousal independently of the (noisy) face.
- Scene: the people's face crops pasted into a wider frame that moves with their heads; a person
  whose face was not found is not drawn.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageDraw

AUDIO_RATE = 16_000
TIME_BASE = Fraction(1, 90_000)
WIDTH, HEIGHT = 256, 144
FACE = 112                     # a face in the raw frame: the crop pasted at its own size
VFR_RATES = (30.0, 15.0, 10.0, 7.5)


def frame_times(rng: np.random.Generator, n: int, fps: float, vfr: bool) -> np.ndarray:
    """(n,) presentation time of each frame, seconds, on a 1/90000 grid (exact in the file)."""
    if not vfr:
        dt = np.full(n, 1.0 / fps)
    else:
        dt = np.empty(n)
        i = 0
        while i < n:   # stretches of 10-60 frames, each at its own rate
            k = int(rng.integers(10, 61))
            dt[i: i + k] = 1.0 / rng.choice(VFR_RATES)
            i += k
    t = np.concatenate([[0.0], np.cumsum(dt[:-1])])
    return np.round(t / float(TIME_BASE)) * float(TIME_BASE)


def speech(rng: np.random.Generator, times: np.ndarray, arousal: np.ndarray,
           rate: int = AUDIO_RATE) -> np.ndarray:
    """(samples,) float32 mono voice track. arousal: (speakers, frames) at `times`."""
    duration = float(times[-1]) + 0.2
    t = np.arange(int(duration * rate)) / rate
    speakers = arousal.shape[0]
    # who speaks when: turns of 1-4 s, with silent pauses of 0.3-1.5 s between some of them
    who = np.zeros(len(t), np.int64)
    voiced = np.ones(len(t), bool)
    pos = 0.0
    turn = 0
    while pos < duration:
        length = rng.uniform(1.0, 4.0)
        who[int(pos * rate): int((pos + length) * rate)] = turn % speakers
        pos += length
        if rng.random() < 0.5:
            pause = rng.uniform(0.3, 1.5)
            voiced[int(pos * rate): int((pos + pause) * rate)] = False
            pos += pause
        turn += 1
    a = np.stack([np.interp(t, times, arousal[s]) for s in range(speakers)])   # (S, samples)
    a = a[who, np.arange(len(t))]
    base = rng.uniform(100, 220, speakers)[who]                # each speaker's own pitch
    f0 = base * (1 + 0.35 * a) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(h * phase) / h for h in range(1, 6))
    syllable_rate = 3.5 + 1.5 * (a + 1) / 2
    syllables = np.sin(np.pi * np.cumsum(syllable_rate) / rate) ** 2
    loud = 0.04 + 0.2 * (a + 1) / 2
    out = voice * syllables * loud * voiced + rng.normal(0, 0.003, len(t))
    return np.clip(out, -1, 1).astype(np.float32)


class Scene:
    """Composes the raw frame of one video from its people's crops."""

    def __init__(self, rng: np.random.Generator, people: int):
        y = np.linspace(0, 1, HEIGHT)[:, None, None]
        top, bottom = rng.uniform(30, 220, (2, 3))
        self.background = (top * (1 - y) + bottom * y).repeat(WIDTH, 1).astype(np.uint8)
        mask = Image.new("L", (FACE, FACE), 0)
        ImageDraw.Draw(mask).ellipse([8, 2, FACE - 8, FACE - 2], fill=255)
        self.mask = mask
        self.slots = [WIDTH // 2] if people == 1 else [WIDTH // 4, 3 * WIDTH // 4]

    def frame(self, crops: list, motions: list) -> np.ndarray:
        """crops: one (112, 112, 3) array or None (no face) per person; motions: (dx, dy, roll)."""
        img = Image.fromarray(self.background)
        for x, crop, m in zip(self.slots, crops, motions, strict=True):
            if crop is None:
                continue
            img.paste(Image.fromarray(crop), (int(x - FACE / 2 + 2 * m[0]), int((HEIGHT - FACE) / 2 + 2 * m[1])),
                      self.mask)
        return np.asarray(img)


def write_video(path, frames, times: np.ndarray, audio: np.ndarray, fps: int,
                avi: bool = False) -> None:
    """Encode frames (iterable of (H, W, 3) uint8) at `times` with a mono `audio` track.

    mp4: H.264 + AAC. avi: MPEG-4 part 2 + 16-bit PCM (as in older Aff-Wild2 videos).
    Single-threaded encoders, so the same input gives the same bytes."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4" if avi else "libx264", rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"threads": "1"} if avi else {"threads": "1", "preset": "ultrafast",
                                                      "crf": "26"}
        video.codec_context.time_base = TIME_BASE if not avi else Fraction(1, fps)
        sound = out.add_stream("pcm_s16le" if avi else "aac", rate=AUDIO_RATE)
        sound.layout = "mono"
        for i, arr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            if avi:   # AVI has no per-frame timestamps: constant rate only
                frame.pts = i
            else:
                frame.pts, frame.time_base = int(round(times[i] / TIME_BASE)), TIME_BASE
            out.mux(video.encode(frame))
        out.mux(video.encode())
        chunk = 1024
        for s in range(0, len(audio), chunk):
            block = audio[s: s + chunk]
            if avi:
                data, fmt = (block * 32767).astype(np.int16)[None], "s16"
            else:
                data, fmt = block[None], "fltp"
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, s, Fraction(1, AUDIO_RATE)
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
