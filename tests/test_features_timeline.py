"""Audio steps -> video frames: hand-computed windows, and a variable-frame-rate video whose tone
changes with time, so only a timestamp-true mapping finds the right tone on every frame."""

import fractions

import numpy as np
import pytest

from abaw.features.timeline import audio_rows, read_audio, windows_to_frames

SR = 16000


def write_video(path, times, tone_at=None, size=32, audio=True):
    """An H.264 mp4 whose frame i is shown at times[i] (a 1 ms clock allows any rate) and whose
    mono 16 kHz AAC track plays the frequency tone_at(t) at time t."""
    import av

    ms = fractions.Fraction(1, 1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=1000)
        vs.width = vs.height = size
        vs.pix_fmt = "yuv420p"
        vs.time_base = ms
        if audio:
            aus = c.add_stream("aac", rate=SR)
            aus.layout = "mono"
        for i, t in enumerate(times):
            img = np.full((size, size, 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), ms
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if audio:
            n = int((times[-1] + 0.2) * SR)
            t = np.arange(n) / SR
            freq = np.vectorize(tone_at)(t)
            wave = (0.5 * np.sin(2 * np.pi * np.cumsum(freq) / SR)).astype(np.float32)
            for s in range(0, n, 1024):
                af = av.AudioFrame.from_ndarray(wave[None, s:s + 1024], format="flt",
                                                layout="mono")
                af.sample_rate, af.pts = SR, s
                for p in aus.encode(af):
                    c.mux(p)
            for p in aus.encode():
                c.mux(p)
    return path


def test_window_mean_and_nearest_fallback_by_hand():
    centres = np.array([0.00, 0.01, 0.02, 0.03, 0.20])
    feats = np.array([[1.0], [3.0], [5.0], [7.0], [9.0]])
    starts = np.array([0.000, 0.025, 0.10, 0.19, 0.50, np.nan])
    ends = np.array([0.025, 0.050, 0.15, 0.30, 0.60, np.nan])
    rows, present = windows_to_frames(starts, ends, centres, feats, max_gap=0.1)
    # [0, .025): steps 0,1,2 -> 3;  [.025, .05): step 3 -> 7;  [.1, .15): none, middle .125 ->
    # nearest .2 (0.075 away) -> 9;  [.19, .3): step .2 -> 9;  [.5, .6): nearest .2 is .35 away
    # -> no audio;  no timestamp -> no audio
    np.testing.assert_allclose(rows[:, 0], [3, 7, 9, 9, 0, 0])
    assert present.tolist() == [True, True, True, True, False, False]


def test_frames_past_the_decoded_ones_are_extrapolated_then_cut_at_the_audio_end():
    ts = np.array([0.0, 0.1, 0.2])
    centres = (np.arange(45) + 0.5) / 100  # steps at 5, 15, ..., 445 ms: audio ends at 0.45 s
    feats = np.arange(45, dtype=np.float64)[:, None]
    rows, present = audio_rows(ts, [1, 3, 4, 5, 9], centres, feats, max_gap=0.01)
    # frame 3 -> [0.2, 0.3): steps 20..29; frame 4 -> [0.3, 0.4), one interval past the last
    # decoded frame: steps 30..39; frame 5 -> [0.4, 0.5): steps 40..44; frame 9: past the audio
    np.testing.assert_allclose(rows[:, 0], [4.5, 24.5, 34.5, 42.0, 0.0], atol=1e-4)
    assert present.tolist() == [True, True, True, True, False]


def tone(t):
    return 500.0 if int(t / 0.25) % 2 == 0 else 2000.0  # switches every 250 ms


@pytest.fixture(scope="module")
def vfr_video(tmp_path_factory):
    rng = np.random.default_rng(3)
    # 30 fps, then 7.5 fps, then jittery 12-25 fps: what Aff-Wild2's variable-rate videos do
    steps = np.concatenate([np.full(20, 1 / 30), np.full(6, 1 / 7.5), rng.uniform(0.04, 0.08, 15)])
    times = np.round(np.concatenate([[0.0], np.cumsum(steps)]), 3)
    return write_video(tmp_path_factory.mktemp("vfr") / "vfr.mp4", times, tone), times


def test_variable_frame_rate_audio_is_mapped_by_timestamp(vfr_video):
    from abaw.data.media import video_timestamps
    from abaw.features.registry import create_backbone

    path, times = vfr_video
    ts = video_timestamps(path)
    np.testing.assert_allclose(ts, times, atol=1e-3)
    logmel = create_backbone("logmel")
    wave, start = read_audio(path, logmel.sample_rate)
    centres, feats = logmel.features(wave)
    frames = np.arange(1, len(times) + 1)
    rows, present = audio_rows(ts, frames, centres + start, feats, logmel.hop_s)
    assert present.all()
    # independent reference: the mel band whose centre frequency is nearest the tone
    from abaw.features.audio import hz_to_mel

    edges = np.linspace(hz_to_mel(125.0), hz_to_mel(7500.0), 66)
    band_hz = 700 * (np.exp(edges[1:-1] / 1127.0) - 1)
    low, high = np.argmin(abs(band_hz - 500)), np.argmin(abs(band_hz - 2000))
    # frames well inside one tone segment (the display interval does not cross a switch)
    ends = np.append(times[1:], times[-1] + 0.05)
    inside = np.floor(times / 0.25 + 0.04) == np.floor(ends / 0.25 - 0.04)
    expected = np.where(np.floor(times / 0.25).astype(int) % 2 == 0, low, high)
    picked = np.where(rows[:, low] > rows[:, high], low, high)
    assert inside.sum() >= 20
    assert (picked[inside] == expected[inside]).all()
    # a constant-rate assumption (frame k at (k-1)/30) lands on the wrong tone for some frames
    naive = np.where(np.floor(np.arange(len(times)) / 30 / 0.25).astype(int) % 2 == 0, low, high)
    assert (naive[inside] != expected[inside]).any()


def test_video_without_audio_gives_no_audio_rows(tmp_path):
    path = write_video(tmp_path / "mute.mp4", [0.0, 0.04, 0.08], audio=False)
    wave, _ = read_audio(path, SR)
    assert len(wave) == 0
    rows, present = audio_rows(np.array([0.0, 0.04, 0.08]), [1, 2, 3], np.zeros(0),
                               np.zeros((0, 4)), 0.02)
    assert rows.shape == (3, 4) and not present.any()
