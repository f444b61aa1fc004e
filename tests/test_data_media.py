"""Video/audio with PyAV on a tiny variable-frame-rate mp4 written in the test."""

import numpy as np
import pytest
from data_trees import write, write_video

from abaw.data import media
from abaw.errors import AbawError

PTS_MS = [0, 33, 67, 200, 233, 500, 533, 567]  # gaps of 33 ms and of 133 / 267 ms: VFR


@pytest.fixture(scope="module")
def vfr(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "vfr.mp4", PTS_MS, audio_s=1.0)


def test_timestamps_follow_pts_not_a_constant_rate(vfr):
    ts = media.video_timestamps(vfr)
    np.testing.assert_allclose(ts, np.array(PTS_MS) / 1000, atol=1e-3)
    info = media.probe_video(vfr)
    assert info.frame_count == len(PTS_MS)
    np.testing.assert_allclose(info.fps, (len(PTS_MS) - 1) / 0.567, rtol=1e-2)


def test_organiser_length_convention(vfr):
    assert media.frame_count(vfr) == 8
    assert media.organiser_length(vfr) == 9  # OpenCV count + 1 (editions 1-3)
    assert media.organiser_length(vfr, "decoded") == 8
    with pytest.raises(AbawError, match="frame_count: found 'opencv', expected one of"):
        media.organiser_length(vfr, "opencv")


def test_audio_is_mono_16k_float32(vfr):
    x, start = media.load_audio(vfr)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(start) < 0.05
    assert abs(len(x) / media.SAMPLE_RATE - 1.0) < 0.1  # AAC adds a few ms of padding
    mid = x[2000:14000]
    spectrum = np.abs(np.fft.rfft(mid))
    assert abs(np.argmax(spectrum) * media.SAMPLE_RATE / len(mid) - 440) < 3
    np.testing.assert_allclose(np.sqrt(np.mean(mid ** 2)), 0.5 / np.sqrt(2), rtol=0.05)


def test_audio_window_to_frames_by_timestamp(vfr):
    ts = media.video_timestamps(vfr)
    # frames at 0.200, 0.233 and 0.500 s fall in [0.19, 0.51): frames 4, 5, 6 (1-based)
    assert media.audio_window_to_frames(ts, 0.19, 0.51).tolist() == [4, 5, 6]
    assert media.audio_window_to_frames(ts, 0.30, 0.45).tolist() == []  # the VFR gap
    first, stop = media.frames_for_audio_windows(ts, [0.0, 0.1, 0.45], 0.1)
    assert first.tolist() == [1, 4, 6] and stop.tolist() == [4, 4, 8]  # 0.500 and 0.533 s
    # with audio starting 0.2 s late on the container clock, window 0 covers [0.2, 0.3)
    first, stop = media.frames_for_audio_windows(ts, [0.0], 0.1, audio_start=0.2)
    assert (first.tolist(), stop.tolist()) == ([4], [6])


def test_audio_windows_for_frames_nearest_centre():
    ts = np.array([0.0, 0.0333, 0.0667, 0.21, 0.2333, 0.47])
    # windows of 0.1 s every 0.1 s: centres 0.05, 0.15, 0.25, ...; the nearest centre per frame
    got = media.audio_windows_for_frames(ts, [1, 2, 3, 4, 5, 6], hop_s=0.1, n_windows=4)
    assert got.tolist() == [0, 0, 0, 2, 2, 3]  # 0.47 s is nearest window 4, clipped to the last
    got = media.audio_windows_for_frames(ts, [4], hop_s=0.1, n_windows=50, audio_start=0.1)
    assert got.tolist() == [1]  # 0.21 s is 0.11 s into the audio: nearest centre 0.15
    assert media.audio_windows_for_frames(ts, [4], 0.02, 100).tolist() == [10]  # centre 0.21


def test_frame_times_past_the_decoded_frames():
    ts = np.array([0.0, 0.1, 0.3])
    np.testing.assert_allclose(media.frame_times(ts, [1, 3, 4, 5]), [0.0, 0.3, 0.5, 0.7])


def test_unreadable_and_audio_less_files(tmp_path):
    bad = write(tmp_path / "bad.mp4", b"not a video at all")
    with pytest.raises(AbawError) as e:
        media.frame_count(bad)
    assert str(bad) in str(e.value) and "expected a video PyAV can open" in str(e.value)
    silent = write_video(tmp_path / "silent.mp4", [0, 40, 80])
    with pytest.raises(AbawError, match="found no audio stream, expected one"):
        media.load_audio(silent)
