"""Recordings for the leveller's tests and benchmark: real speech from the committed clips, several
voices at different levels, room tone between the turns, a music bed; and the independent
measurements the tests assert on (pyloudnorm, never rkaudio's own meter).

Each recording is built in memory from a few seconds of each clip, written as a WAV into the
test's own folder, and described by its `Layout`: where each turn, pause and music bed sits, so a
test can measure the same stretch of the input and of the finished MP3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyloudnorm

import media_helpers as mh

SPEECH_DIR = mh.REPO / "tests" / "data" / "speech"
#: Three clearly different voices (Festival HTS female, Flite male, eSpeak NG).
VOICES = ("kindness_programme", "bridges_across_difference", "tracking_cohesion")
RATE = 48000
#: Every turn is first brought to this loudness, then offset by its voice's level.
BASE_LUFS = -20.0
#: Room tone (pink noise) runs under the whole recording at this RMS level.
ROOM_TONE_DBFS = -60.0


@dataclass
class Layout:
    """Where things are in a generated recording (seconds)."""

    turns: list[tuple[float, float, int]] = field(default_factory=list)   # start, end, voice
    pauses: list[tuple[float, float]] = field(default_factory=list)       # between turns
    music: list[tuple[float, float]] = field(default_factory=list)
    duration: float = 0.0


_CLIPS: dict[str, np.ndarray] = {}


def clip(name: str) -> np.ndarray:
    """A committed speech clip, mono float at `RATE`, its leading and trailing silence trimmed."""
    if name not in _CLIPS:
        data, _ = mh.decode(SPEECH_DIR / f"{name}.flac", rate=RATE, channels=1)
        x = data[:, 0]
        loud = np.flatnonzero(np.abs(x) > 0.01)
        _CLIPS[name] = x[loud[0]:loud[-1] + 1]
    return _CLIPS[name]


def pink_noise(seconds: float, dbfs: float, seed: int = 7) -> np.ndarray:
    """Pink noise (1/f power) at an RMS level."""
    n = int(seconds * RATE)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / np.sqrt(np.mean(x ** 2)) * 10 ** (dbfs / 20)


def music_bed(seconds: float, lufs: float) -> np.ndarray:
    """A steady music bed: sustained chords (a few harmonics each) changing every two seconds."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    chords = ((220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63), (196.0, 246.94, 329.63))
    x = np.zeros(n)
    step = int(2.0 * RATE)
    for k in range(0, n, step):
        seg = slice(k, min(n, k + step))
        for f in chords[(k // step) % len(chords)]:
            for h, a in ((1, 1.0), (2, 0.4), (3, 0.2)):
                x[seg] += a * np.sin(2 * np.pi * f * h * t[seg])
    fade = int(0.02 * RATE)
    x[:fade] *= np.linspace(0, 1, fade)
    x[-fade:] *= np.linspace(1, 0, fade)
    return mh.at_loudness(x, RATE, lufs)


def turn(voice: int, index: int, seconds: float, offset_db: float) -> np.ndarray:
    """A few seconds of one voice, cut at a different place for each turn, at BASE_LUFS + offset."""
    x = clip(VOICES[voice])
    start = int((index * 5.3 % max(1.0, len(x) / RATE - seconds)) * RATE)
    piece = x[start:start + int(seconds * RATE)].copy()
    fade = int(0.01 * RATE)
    piece[:fade] *= np.linspace(0, 1, fade)
    piece[-fade:] *= np.linspace(1, 0, fade)
    return mh.at_loudness(piece, RATE, BASE_LUFS + offset_db)


def conversation(offsets_db: list[float], turns: int, *, turn_s: float = 5.0, pause_s: float = 1.5,
                 music: tuple[int, float, float] | None = None) -> tuple[np.ndarray, Layout]:
    """Voices taking turns (voice k at ``offsets_db[k]``), room tone between; optionally a music
    bed of ``music = (after turn, seconds, LUFS)``, with pauses around it."""
    parts: list[np.ndarray] = []
    layout = Layout()
    at = 1.0
    parts.append(np.zeros(int(at * RATE)))
    for k in range(turns):
        voice = k % len(offsets_db)
        x = turn(voice, k, turn_s, offsets_db[voice])
        layout.turns.append((at, at + len(x) / RATE, voice))
        parts.append(x)
        at += len(x) / RATE
        if music is not None and music[0] == k:
            parts.append(np.zeros(int(pause_s * RATE)))
            at += pause_s
            bed = music_bed(music[1], music[2])
            layout.music.append((at, at + len(bed) / RATE))
            parts.append(bed)
            at += len(bed) / RATE
        gap = np.zeros(int(pause_s * RATE))
        if k + 1 < turns:
            layout.pauses.append((at, at + pause_s))
        parts.append(gap)
        at += pause_s
    x = np.concatenate(parts)
    x = x + pink_noise(len(x) / RATE, ROOM_TONE_DBFS)
    layout.duration = len(x) / RATE
    return x, layout


def write(path: Path, x: np.ndarray) -> Path:
    return mh.write_wav(path, x, RATE)


# --- independent measurements --------------------------------------------------------------------

def loudness(x: np.ndarray, rate: int, start: float, end: float) -> float:
    """Integrated loudness (pyloudnorm, BS.1770-4) of ``x`` between two times."""
    seg = x[int(start * rate):int(end * rate)]
    return float(pyloudnorm.Meter(rate).integrated_loudness(seg))


def momentary_range(x: np.ndarray, rate: int, start: float, end: float) -> float:
    """p95 - p10 of the 400 ms (momentary) loudness of a stretch, blocks every 100 ms, blocks
    under -70 LUFS left out. pyloudnorm's K-weighting, so independent of rkaudio."""
    seg = x[int(start * rate):int(end * rate)]
    meter = pyloudnorm.Meter(rate, block_size=0.4)
    values = []
    step, size = int(0.1 * rate), int(0.4 * rate)
    # pyloudnorm's filters are applied once to the whole stretch, then the blocks are read.
    weighted = seg.copy()
    if weighted.ndim == 1:
        weighted = weighted[:, None]
    for name, f in meter._filters.items():
        weighted = f.apply_filter(weighted)
    for k in range(0, len(weighted) - size + 1, step):
        ms = float(np.sum(np.mean(weighted[k:k + size] ** 2, axis=0)))
        if ms > 0:
            lufs = -0.691 + 10 * np.log10(ms)
            if lufs > -70:
                values.append(lufs)
    return float(np.percentile(values, 95) - np.percentile(values, 10))
