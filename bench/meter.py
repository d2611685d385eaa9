"""An independent loudness meter for the benchmark's outputs.

rkaudio measures with ffmpeg's ``ebur128`` filter, and ffmpeg-normalize with ``loudnorm``; judging
their results with either would let a shared mistake go unnoticed. So outputs are decoded to float
samples and measured here instead: integrated loudness with pyloudnorm (ITU-R BS.1770-4 gating)
and true peak as the sample peak of a 4x oversampled signal (scipy's polyphase resampler), the
method BS.1770-4 Annex 2 describes.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

RATE = 44100
#: True peak: oversampling factor, frames per chunk, and frames of overlap on each side of a
#: chunk (longer than half the resampling filter, so chunk edges see the same samples as a
#: single pass would).
OVERSAMPLE = 4
CHUNK_FRAMES = 1 << 20
OVERLAP_FRAMES = 256


@dataclass(frozen=True)
class Level:
    """Integrated loudness (LUFS) and true peak (dBTP) of one file."""

    integrated_lufs: float
    true_peak_dbtp: float


def decode(ffmpeg: str, path: Path, channels: int = 2) -> np.ndarray:
    """Decode any audio file to float32 samples at 44.1 kHz, shaped (frames, channels).

    One ffmpeg process writes raw ``f32le`` to a pipe and the bytes become the array without a
    copy; an hour of stereo is about 1.3 GB.
    """
    args = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            "-i", f"file:{path}", "-map", "0:a:0", "-f", "f32le", "-ac", str(channels),
            "-ar", str(RATE), "pipe:1"]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        raw = proc.stdout.read()
        proc.stdout.close()
        code = proc.wait()
        if code != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            raise RuntimeError(f"ffmpeg could not decode {path} (exit {code}): {' '.join(tail)}")
    samples = np.frombuffer(raw, dtype="<f4")
    return samples.reshape(-1, channels)


def integrated_lufs(samples: np.ndarray) -> float:
    """Integrated loudness in LUFS (BS.1770-4, 400 ms blocks, absolute and relative gates)."""
    return float(pyloudnorm.Meter(RATE).integrated_loudness(samples))


def true_peak_dbtp(samples: np.ndarray) -> float:
    """Highest absolute value of the 4x oversampled signal, in dBTP.

    Works through the file in chunks so memory stays bounded; each chunk is resampled with some
    overlap of its neighbours and only its own span is kept.
    """
    frames = samples.shape[0]
    peak = 0.0
    for start in range(0, frames, CHUNK_FRAMES):
        stop = min(frames, start + CHUNK_FRAMES)
        lo, hi = max(0, start - OVERLAP_FRAMES), min(frames, stop + OVERLAP_FRAMES)
        up = resample_poly(samples[lo:hi], OVERSAMPLE, 1, axis=0)
        own = up[(start - lo) * OVERSAMPLE:(stop - lo) * OVERSAMPLE]
        if own.size:
            peak = max(peak, float(np.max(np.abs(own))))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def measure(ffmpeg: str, path: Path) -> Level:
    """Integrated loudness and true peak of a file, as a listener's stereo player decodes it."""
    samples = decode(ffmpeg, path)
    return Level(integrated_lufs=integrated_lufs(samples), true_peak_dbtp=true_peak_dbtp(samples))
