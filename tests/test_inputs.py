"""Every documented input: audio formats, video containers, channel counts and sample rates.

Each finished episode must be a 44.1 kHz MP3 on target, under the ceiling, as long as the input.
"""

from __future__ import annotations

import functools
from math import gcd
from pathlib import Path

import numpy as np
import pytest

import media_helpers as mh
from conftest import run_subprocess

NO_STINGS = ("--intro", "none", "--outro", "none")
SECONDS = 5.0


def finish(source: Path, show: Path, *extra: str) -> tuple[dict, Path]:
    out = run_subprocess("process", "--no-transcribe", source, "--slug", "ep", "--json", "--quiet", *NO_STINGS, *extra)
    assert out.code == 0, out
    return out.json, show / "feed" / "media" / "ep.mp3"


def _programme(rate: int, channels: int, speech: np.ndarray, speech_rate: int) -> np.ndarray:
    """Speech at about -26 LUFS, laid out over ``channels`` with some difference between them."""
    from scipy.signal import resample_poly

    div = gcd(rate, speech_rate)
    mono = resample_poly(speech, rate // div, speech_rate // div)[: int(SECONDS * rate)]
    mono = mh.at_loudness(mono, rate, -26.0)
    gains = {1: [1.0], 2: [1.0, 0.7], 6: [0.8, 0.6, 1.0, 0.1, 0.4, 0.4]}[channels]
    return np.stack([g * mono for g in gains], axis=1)


@pytest.fixture(scope="session")
def format_sources(media_dir: Path, speech_base: np.ndarray) -> dict[str, Path]:
    """The same stereo 48 kHz speech, encoded into each audio format."""
    folder = media_dir / "formats"
    folder.mkdir()
    wav = mh.write_wav(folder / "source.wav", _programme(48000, 2, speech_base, 48000), 48000)
    encodings = {
        "wav": [],
        "flac": [],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
        "m4a": ["-c:a", "aac", "-b:a", "128k"],
        "aac": ["-c:a", "aac", "-b:a", "128k"],  # raw ADTS AAC
        "ogg": ["-c:a", "libvorbis", "-q:a", "4"],
        "opus": ["-c:a", "libopus", "-b:a", "96k"],
    }
    return {ext: mh.convert(wav, folder / f"episode.{ext}", *args) for ext, args in encodings.items()}


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "m4a", "aac", "ogg", "opus"])
def test_audio_formats(show: Path, format_sources: dict[str, Path], ext: str) -> None:
    source = format_sources[ext]
    report, out = finish(source, show)
    assert report["slug"] == "ep"
    m = mh.assert_delivered(out, -16.0)
    assert m.channels == 2
    assert m.duration == pytest.approx(SECONDS, abs=0.1)


# --- video: the audio track is what gets finished -------------------------------------------------

VIDEO_CODECS = {
    "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"],
    "mkv": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libvorbis"],
    "webm": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k",
             "-c:a", "libopus", "-b:a", "96k"],
}
TONE_HZ = 1000.0


@pytest.fixture(scope="session")
def video_sources(media_dir: Path) -> dict[str, Path]:
    """Small videos (64x48 test pattern) whose audio track is a 1 kHz tone, video stream first."""
    folder = media_dir / "video"
    folder.mkdir()
    rate = 48000
    x = mh.tone(TONE_HZ, 4.0, rate, amplitude=0.1)
    audio = mh.write_wav(folder / "track.wav", np.stack([x, x], axis=1), rate)
    made = {}
    for ext, codecs in VIDEO_CODECS.items():
        path = folder / f"clip.{ext}"
        mh.ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=4", "-i", audio,
                  "-map", "0:v", "-map", "1:a", *codecs, "-shortest", path)
        made[ext] = path
    return made


@pytest.mark.parametrize("ext", sorted(VIDEO_CODECS))
def test_video_containers_use_the_audio_track(show: Path, video_sources: dict[str, Path], ext: str) -> None:
    source = video_sources[ext]
    info = mh.describe(source)
    assert info.video_streams == 1 and info.audio_streams == 1
    report, out = finish(source, show)
    m = mh.assert_delivered(out, -16.0)
    assert m.duration == pytest.approx(4.0, abs=0.15)
    data, rate = mh.decode(out)
    assert mh.dominant_frequency(data, rate) == pytest.approx(TONE_HZ, abs=5)
    assert mh.describe(out).video_streams == 0


# --- channel counts and sample rates --------------------------------------------------------------

QUICK = {(8000, 1), (48000, 2), (96000, 6)}
LAYOUTS = [
    pytest.param(rate, ch, id=f"{rate}Hz-{ch}ch",
                 marks=() if (rate, ch) in QUICK else pytest.mark.slow)
    for rate in (8000, 22050, 48000, 96000) for ch in (1, 2, 6)
]


@pytest.fixture(scope="session")
def layout_sources(media_dir: Path, speech_base: np.ndarray):
    """``layout_sources(rate, channels)``: a WAV of speech in that layout, made on first use."""
    folder = media_dir / "layouts"
    folder.mkdir()

    @functools.cache
    def make(rate: int, channels: int) -> Path:
        return mh.write_wav(folder / f"speech-{rate}-{channels}ch.wav",
                            _programme(rate, channels, speech_base, 48000), rate)

    return make


@pytest.mark.parametrize("rate,channels", LAYOUTS)
def test_channels_and_sample_rates(show: Path, layout_sources, rate: int, channels: int) -> None:
    source = layout_sources(rate, channels)
    info = mh.describe(source)
    assert (info.sample_rate, info.channels) == (rate, channels)
    _, out = finish(source, show)
    m = mh.assert_delivered(out, -16.0)
    assert m.channels == 2
    assert m.duration == pytest.approx(SECONDS, abs=0.1)


@pytest.mark.parametrize("rate,channels", [(22050, 6), (96000, 2)])
def test_any_input_to_mono(show: Path, layout_sources, rate: int, channels: int) -> None:
    _, out = finish(layout_sources(rate, channels), show, "--channels", "1")
    m = mh.assert_delivered(out, -19.0)
    assert m.channels == 1
    info = mh.describe(out)
    assert (info.sample_rate, info.layout, info.bitrate_kbps) == (44100, "mono", 96)


@pytest.mark.slow
@pytest.mark.parametrize("ext", ["flac", "ogg"])
def test_multichannel_compressed(show: Path, layout_sources, ext: str, tmp_path: Path) -> None:
    """A 5.1 file in a compressed container (with a real channel layout) is downmixed too."""
    wav = layout_sources(48000, 6)
    args = ["-c:a", "libvorbis"] if ext == "ogg" else []
    source = mh.convert(wav, tmp_path / f"surround.{ext}", *args)
    assert mh.describe(source).channels == 6
    _, out = finish(source, show)
    mh.assert_delivered(out, -16.0)
