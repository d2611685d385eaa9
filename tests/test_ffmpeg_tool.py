"""The one place that runs ffmpeg: raw samples streamed in blocks, with and without reading ahead
(the leveller's measuring pass reads ahead so ffmpeg and Python work at the same time)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from rkaudio.audio import ffmpeg_tool
from rkaudio.core.errors import ToolError

import media_helpers as mh

RATE = 8000


@pytest.fixture(scope="module")
def noise_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    return mh.write_wav(tmp_path_factory.mktemp("stream") / "noise.wav", rng.uniform(-0.5, 0.5, RATE * 5), RATE)


def _args(path: Path) -> list[str]:
    return [*ffmpeg_tool.input_args(path), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"]


@pytest.mark.parametrize("ahead", [0, 1, 3])
def test_blocks_hold_every_sample_in_order(noise_wav: Path, ahead: int) -> None:
    expected = np.round(mh.decode(noise_wav)[0][:, 0] * 32768).astype("<i2").tobytes()
    blocks = list(ffmpeg_tool.stream_raw(_args(noise_wav), block_bytes=3000, what="streaming", ahead=ahead))
    assert all(len(b) == 3000 for b in blocks[:-1]) and 0 < len(blocks[-1]) <= 3000
    assert b"".join(blocks) == expected


def test_stopping_early_stops_ffmpeg_and_the_reader(noise_wav: Path) -> None:
    before = threading.active_count()
    stream = ffmpeg_tool.stream_raw(_args(noise_wav), block_bytes=1000, what="streaming", ahead=2)
    assert len(next(stream)) == 1000
    stream.close()
    assert threading.active_count() == before


def test_a_failing_run_raises_with_its_message(tmp_path: Path) -> None:
    bad = tmp_path / "not-audio.wav"
    bad.write_bytes(b"this is not a WAV file" * 100)
    with pytest.raises(ToolError, match="while streaming"):
        list(ffmpeg_tool.stream_raw(_args(bad), block_bytes=1000, what="streaming", ahead=2))


def test_the_checker_of_a_piped_run_yields_the_cores_to_the_encoder(noise_wav: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # An ffmpeg that notes its own scheduling priority as it finishes: the consumer (which reads
    # pipe:0) must run at a lower priority than the producer, so it never slows the encoder.
    notes = tmp_path / "nice.txt"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\n"{ffmpeg_tool.executable()}" "$@"\ncode=$?\n'
                       f'case "$*" in *pipe:0*) role=consumer;; *) role=producer;; esac\n'
                       f'echo "$role $(nice)" >> "{notes}"\nexit $code\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("RKAUDIO_FFMPEG", str(wrapper))
    producer = [*ffmpeg_tool.input_args(noise_wav), "-c:a", "libmp3lame", "-f", "mp3", ffmpeg_tool.PIPE]
    consumer = ["-f", "mp3", "-i", "pipe:0", "-f", "null", "-"]
    ffmpeg_tool.run_piped(producer, consumer, what="encoding")
    niceness = dict(line.split() for line in notes.read_text().splitlines())
    assert int(niceness["consumer"]) >= int(niceness["producer"]) + 1


def test_the_limiter_holds_the_ceiling_with_either_resampler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # soxr oversamples for the limiter where ffmpeg has it; ffmpeg's own resampler otherwise.
    from rkaudio.audio.assembly import Mix, Part, render

    voice = mh.speech(4.0, rate=44100)
    loud = mh.write_wav(tmp_path / "loud.wav", voice * (0.99 / np.abs(voice).max()), 44100)
    assert mh.true_peak_dbtp(mh.decode(loud)[0]) > -0.5
    for soxr in (True, False):
        monkeypatch.setattr(ffmpeg_tool, "has_soxr", lambda soxr=soxr: soxr)
        render(Mix(programme=[Part(loud, 0.0)], channels=1, limiter_dbtp=-3.0), f"{soxr}.mp3", tmp_path)
        assert mh.true_peak_dbtp(mh.decode(tmp_path / f"{soxr}.mp3")[0]) <= -3.0 + 0.5
