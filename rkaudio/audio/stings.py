"""Intro and outro stings that rkaudio synthesises itself, so every new show has working ones.

A sting here is a short bell-like arpeggio: each note a few harmonics with their own decay. pydub
suits this well: the clips are seconds long, so holding them in memory costs nothing.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # pydub looks for ffmpeg on import; rkaudio never lets pydub run it (see write_sting).
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.generators import Sine

from ..core.files import atomic_path, temp_name
from . import ffmpeg_tool

SAMPLE_RATE = 44100
#: A major pentatonic phrase (C5 D5 E5 G5 A5 C6), warm without being a jingle.
NOTES_HZ = (523.25, 587.33, 659.25, 783.99, 880.00, 1046.50)
#: Partials of each note: (multiple of the fundamental, level dB, decay to silence in ms).
PARTIALS = ((1.0, 0.0, 1800), (2.0, -9.0, 900), (3.0, -16.0, 500), (0.5, -14.0, 2200))


def _note(freq: float, length_ms: int) -> AudioSegment:
    note = AudioSegment.silent(duration=length_ms, frame_rate=SAMPLE_RATE)
    for multiple, level, decay in PARTIALS:
        tone = Sine(freq * multiple, sample_rate=SAMPLE_RATE).to_audio_segment(duration=length_ms, volume=level)
        # pydub fades in dB, so a fade to silence is an exponential decay, like a struck bell.
        tone = tone.fade(to_gain=-60, start=8, duration=min(decay, length_ms - 8)).fade_in(8)
        note = note.overlay(tone)
    return note


def sting(kind: str = "intro", seconds: float = 3.0) -> AudioSegment:
    """A stereo sting: rising for an intro, falling for an outro."""
    notes = NOTES_HZ if kind == "intro" else tuple(reversed(NOTES_HZ))
    total_ms = int(seconds * 1000)
    step_ms = int(total_ms * 0.55 / len(notes))
    out = AudioSegment.silent(duration=total_ms, frame_rate=SAMPLE_RATE)
    for i, freq in enumerate(notes):
        out = out.overlay(_note(freq, total_ms - i * step_ms).pan(-0.3 + 0.6 * i / (len(notes) - 1)),
                          position=i * step_ms)
    return out.set_channels(2).fade_out(min(600, total_ms // 3)).apply_gain(-6.0 - out.max_dBFS)


def write_sting(path: Path, kind: str = "intro", seconds: float = 3.0) -> Path:
    """Write a sting as FLAC (or any format ffmpeg infers from the suffix), atomically."""
    wav = io.BytesIO()
    sting(kind, seconds).export(wav, format="wav")
    path.parent.mkdir(parents=True, exist_ok=True)
    src = temp_name(path.with_suffix(".wav"))
    try:
        src.write_bytes(wav.getvalue())
        with atomic_path(path) as tmp:
            ffmpeg_tool.run(["-y", "-i", f"file:{src}", "-map_metadata", "-1",
                             "-f", path.suffix.lstrip(".") or "flac", f"file:{tmp}"],
                            what=f"writing {path.name}")
    finally:
        src.unlink(missing_ok=True)
    return path
