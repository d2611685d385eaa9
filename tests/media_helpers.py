"""Test media and an independent meter, shared by the tests (imported by conftest and test modules).

Nothing here uses rkaudio's own code: media are made with ffmpeg (or numpy and written as WAV),
and loudness is measured with pyloudnorm, true peak with scipy's polyphase resampler. ffmpeg is
used only to generate media and to decode files to raw float samples.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

REPO = Path(__file__).resolve().parents[1]
#: The committed TTS speech clip (39.5 s, 32 kHz mono). Tests cut short excerpts from it.
SPEECH = REPO / "episodes" / "welcome-to-radical-kindness.flac"


def _find_ffmpeg() -> str:
    # Read once at import, before the autouse fixture clears RKAUDIO_* from the environment.
    env = os.environ.get("RKAUDIO_FFMPEG")
    if env:
        return env
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


FFMPEG = _find_ffmpeg()

#: The delivered loudness must be within this many LU of the target (the documented promise).
LU_TOLERANCE = 0.5
#: The documented true-peak ceiling is -1.0 dBTP. Our meter is not rkaudio's: scipy's 81-tap
#: Kaiser-windowed polyphase interpolator and ffmpeg's ebur128 true-peak filter (which rkaudio
#: checks with) differ by a few hundredths of a dB on the same samples, so we allow 0.05 dB.
TP_CEILING = -1.0
TP_METER_SLACK = 0.05


def ffmpeg(*args: str | os.PathLike) -> subprocess.CompletedProcess:
    """Run ffmpeg quietly; raise with its stderr if it fails."""
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return proc


# --- describing and decoding ---------------------------------------------------------------------

@dataclass(frozen=True)
class StreamInfo:
    """What ``ffmpeg -i FILE`` says about a file's first audio stream."""

    codec: str
    sample_rate: int
    layout: str
    channels: int
    bitrate_kbps: int | None
    duration: float | None
    audio_streams: int
    video_streams: int
    text: str


_LAYOUTS = {"mono": 1, "stereo": 2, "5.1": 6, "5.1(side)": 6}


def describe(path: Path) -> StreamInfo:
    proc = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", f"file:{path}"],
                          capture_output=True, text=True)
    text = proc.stderr
    audio = [ln for ln in text.splitlines() if re.search(r"Stream #\d+:\d+.*: Audio: ", ln)]
    video = [ln for ln in text.splitlines()
             if re.search(r"Stream #\d+:\d+.*: Video: ", ln) and "attached pic" not in ln]
    if not audio:
        raise AssertionError(f"no audio stream in {path}:\n{text}")
    desc = audio[0].split(": Audio: ", 1)[1]
    parts = [p.strip() for p in desc.split(",")]
    rate = int(re.search(r"(\d+) Hz", desc).group(1))
    layout = parts[2]
    m = re.match(r"(\d+) channels", layout)
    channels = int(m.group(1)) if m else _LAYOUTS[layout]
    br = re.search(r"(\d+) kb/s", desc)
    dur = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    duration = None
    if dur:
        h, mi, s = dur.groups()
        duration = int(h) * 3600 + int(mi) * 60 + float(s)
    return StreamInfo(codec=parts[0].split()[0], sample_rate=rate, layout=layout, channels=channels,
                      bitrate_kbps=int(br.group(1)) if br else None, duration=duration,
                      audio_streams=len(audio), video_streams=len(video), text=text)


def decode(path: Path, rate: int | None = None, channels: int | None = None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float64 samples, shape (frames, channels)."""
    info = describe(path)
    ch = channels or info.channels
    sr = rate or info.sample_rate
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", f"file:{path}",
           "-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(ch), "-ar", str(sr), "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode(errors="replace"))
    data = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float64)
    return data.reshape(-1, ch), sr


# --- the independent meter -----------------------------------------------------------------------

def lufs(data: np.ndarray, rate: int) -> float:
    """Integrated loudness (BS.1770-4, gated) with pyloudnorm."""
    return float(pyloudnorm.Meter(rate).integrated_loudness(data))


def true_peak_dbtp(data: np.ndarray) -> float:
    """BS.1770-style true peak: 4x oversampled absolute peak, in dB relative to full scale."""
    over = resample_poly(data, 4, 1, axis=0)
    peak = float(np.max(np.abs(over)))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


@dataclass(frozen=True)
class Measured:
    integrated_lufs: float
    true_peak_dbtp: float
    sample_rate: int
    channels: int
    duration: float


def measure(path: Path) -> Measured:
    data, rate = decode(path)
    return Measured(lufs(data, rate), true_peak_dbtp(data), rate, data.shape[1], len(data) / rate)


def assert_delivered(path: Path, target: float) -> Measured:
    """The promise of ``process``: on target within 0.5 LU and true peak under the ceiling."""
    m = measure(path)
    assert abs(m.integrated_lufs - target) <= LU_TOLERANCE, (
        f"{path.name}: {m.integrated_lufs:.2f} LUFS, target {target} +-{LU_TOLERANCE}")
    assert m.true_peak_dbtp <= TP_CEILING + TP_METER_SLACK, (
        f"{path.name}: true peak {m.true_peak_dbtp:.2f} dBTP over {TP_CEILING}")
    assert m.sample_rate == 44100
    return m


def dominant_frequency(data: np.ndarray, rate: int) -> float:
    mono = data.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


# --- making media --------------------------------------------------------------------------------

def write_wav(path: Path, data: np.ndarray, rate: int) -> Path:
    """Write float samples in [-1, 1] as 16-bit PCM WAV (clipping anything beyond)."""
    if data.ndim == 1:
        data = data[:, None]
    pcm = np.clip(np.round(data * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def speech(seconds: float, start: float = 2.0, rate: int = 32000) -> np.ndarray:
    """An excerpt of the committed speech clip, mono float."""
    data, _ = decode_excerpt(SPEECH, start, seconds, rate)
    return data[:, 0]


def decode_excerpt(path: Path, start: float, seconds: float, rate: int) -> tuple[np.ndarray, int]:
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{start}", "-t", f"{seconds}",
           "-i", f"file:{path}", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(rate), "-"]
    proc = subprocess.run(cmd, capture_output=True, check=True)
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float64)[:, None], rate


def at_loudness(data: np.ndarray, rate: int, target: float) -> np.ndarray:
    """Scale ``data`` so that pyloudnorm measures ``target`` LUFS."""
    return data * 10 ** ((target - lufs(data, rate)) / 20)


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def convert(src: Path, dst: Path, *args: str) -> Path:
    """Re-encode ``src`` into ``dst`` (format from the suffix), with extra output options."""
    ffmpeg("-i", f"file:{src}", *args, f"file:{dst}")
    return dst
