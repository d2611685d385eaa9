"""The benchmark's input: a long, speech-like stereo recording made from the committed demo clip.

A benchmark of loudness normalisation needs an input that behaves like a real episode: speech
with pauses, a level that wanders, a few loud passages that reach the limiter, room tone under
everything, and an overall level well below the -16 LUFS target so the gain stage has work to do.
Pure tones or white noise would let the tools take shortcuts real recordings do not allow.

The recording is made by ffmpeg in one pass from ``episodes/welcome-to-radical-kindness.flac``
(a 39.5 s mono speech clip), so only a small committed file is needed:

* the clip is looped (``-stream_loop -1``) and resampled to 44.1 kHz;
* it becomes stereo with the right channel 1 dB lower and 0.3 ms later, like a slightly
  off-centre voice;
* its level drifts slowly (two sines of 2 dB and 1 dB with periods of 173 s and 61 s, which do
  not line up with the 39.5 s loop, so no two repeats are at the same level), and every 97 s a
  passage rises by up to 5 dB for a few seconds (laughter, a raised voice) so peaks reach the
  limiter once the programme is brought up to -16 LUFS;
* uncorrelated pink noise about 60 dB down on each channel stands in for room tone;
* the whole is placed around -24 LUFS and written as 16-bit PCM WAV.

The file is cached in ``bench/out/`` with a small JSON sidecar (recipe version and the measured
loudness), and rebuilt when it is missing, has the wrong length, or the recipe changed.
"""

from __future__ import annotations

import json
import math
import subprocess
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import meter

#: Bump when the recipe below changes, so cached inputs are rebuilt.
RECIPE = "speech-v1"
SAMPLE_RATE = 44100
#: Integrated loudness the generated input aims for (before the tools bring it to -16 LUFS).
TARGET_INPUT_LUFS = -24.0
#: Right channel level relative to the left (-1 dB) and its delay in samples (0.3 ms).
RIGHT_GAIN = 10 ** (-1 / 20)
RIGHT_DELAY_SAMPLES = 13
#: Peak amplitude of the pink room-tone noise on each channel.
ROOM_TONE_AMPLITUDE = 0.002
#: How much louder than its long-term average the level modulation makes the programme, dB;
#: found by measuring generated files, and only used to aim the base gain near the target.
MODULATION_LOUDNESS_DB = 1.0


@dataclass(frozen=True)
class InputFile:
    """A generated input and what the independent meter says about it."""

    path: Path
    seconds: float
    integrated_lufs: float
    true_peak_dbtp: float
    recipe: str = RECIPE

    def describe(self, source: Path) -> str:
        """One sentence for the report: what the input is and how loud it is."""
        return (f"{self.seconds / 60:g}-minute speech-like stereo WAV (44.1 kHz, 16-bit), made by "
                f"looping `{source.as_posix()}` with slow level drift, louder passages every 97 s, "
                f"a slightly offset right channel and pink-noise room tone; measured "
                f"{self.integrated_lufs:.1f} LUFS, {self.true_peak_dbtp:.1f} dBTP")


def wav_seconds(path: Path) -> float | None:
    """Length of a PCM WAV file in seconds, or None if it is missing or unreadable."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, EOFError, wave.Error):
        return None


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _cached(path: Path, seconds: float) -> InputFile | None:
    """The cached input at ``path`` if it has the wanted length and the current recipe."""
    length = wav_seconds(path)
    if length is None or abs(length - seconds) > 0.5:
        return None
    try:
        data = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("recipe") != RECIPE:
        return None
    try:
        return InputFile(path=path, seconds=length, integrated_lufs=float(data["integrated_lufs"]),
                         true_peak_dbtp=float(data["true_peak_dbtp"]))
    except (KeyError, TypeError, ValueError):
        return None


def _base_gain_db(ffmpeg: str, source: Path) -> float:
    """Gain that puts the stereo version of ``source`` near :data:`TARGET_INPUT_LUFS`.

    Measured from the clip rather than fixed, so a re-recorded demo clip still gives an input
    at about the same level.
    """
    clip = meter.decode(ffmpeg, source, channels=1)
    mono_lufs = meter.integrated_lufs(clip)
    stereo_lufs = mono_lufs + 10 * math.log10(1 + RIGHT_GAIN ** 2)
    return TARGET_INPUT_LUFS - stereo_lufs - MODULATION_LOUDNESS_DB


def _level_expression(base_gain_db: float) -> str:
    """ffmpeg ``volume`` expression (evaluated per frame): base gain, slow drift, loud passages."""
    drift = "2*sin(2*PI*t/173)+1*sin(2*PI*t/61+1.3)"
    # A smooth bump every 97 s: about 9 s above +2.5 dB, peaking at +5 dB.
    bumps = "5*pow(max(0,sin(2*PI*t/97+0.7)),16)"
    return f"pow(10,({base_gain_db:.3f}+{drift}+{bumps})/20)"


def _filter_graph(base_gain_db: float) -> str:
    speech = (f"[0:a]aresample={SAMPLE_RATE},"
              f"pan=stereo|c0=c0|c1={RIGHT_GAIN:.4f}*c0,"
              f"adelay=delays=0|{RIGHT_DELAY_SAMPLES}S,"
              f"volume='{_level_expression(base_gain_db)}':eval=frame[speech]")
    room = "[1:a][2:a]amerge=inputs=2[room]"
    mix = ("[speech][room]amix=inputs=2:duration=first:normalize=0,"
           "aformat=sample_fmts=s16:channel_layouts=stereo[out]")
    return ";".join((speech, room, mix))


def _generate_command(ffmpeg: str, source: Path, out: Path, seconds: float, base_gain_db: float) -> list[str]:
    noise = f"anoisesrc=color=pink:sample_rate={SAMPLE_RATE}:amplitude={ROOM_TONE_AMPLITUDE}"
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y",
            "-stream_loop", "-1", "-i", f"file:{source}",
            "-f", "lavfi", "-i", f"{noise}:seed=1",
            "-f", "lavfi", "-i", f"{noise}:seed=2",
            "-filter_complex", _filter_graph(base_gain_db), "-map", "[out]",
            "-t", f"{seconds:.3f}", "-c:a", "pcm_s16le", "-ar", str(SAMPLE_RATE),
            "-f", "wav", f"file:{out}"]


def _run(args: list[str], what: str) -> None:
    result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"ffmpeg failed while {what} (exit {result.returncode}):\n{tail}")


def ensure_input(ffmpeg: str, source: Path, path: Path, seconds: float, *,
                 regenerate: bool = False, log: Callable[[str], None] = print) -> InputFile:
    """Return the speech-like input at ``path``, generating and measuring it if needed."""
    if not regenerate:
        cached = _cached(path, seconds)
        if cached is not None:
            log(f"Using cached input {path} ({cached.integrated_lufs:.1f} LUFS)")
            return cached
    log(f"Generating {seconds / 60:g}-minute input {path} ...")
    path.parent.mkdir(parents=True, exist_ok=True)
    _sidecar(path).unlink(missing_ok=True)
    part = path.with_name(path.name + ".part")
    _run(_generate_command(ffmpeg, source, part, seconds, _base_gain_db(ffmpeg, source)),
         f"generating {path.name}")
    part.replace(path)
    log("Measuring the input ...")
    level = meter.measure(ffmpeg, path)
    made = InputFile(path=path, seconds=wav_seconds(path) or seconds,
                     integrated_lufs=level.integrated_lufs, true_peak_dbtp=level.true_peak_dbtp)
    record = {k: v for k, v in asdict(made).items() if k != "path"}
    _sidecar(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return made


def ensure_cut(ffmpeg: str, full: Path, path: Path, seconds: float,
               log: Callable[[str], None] = print) -> Path:
    """The first ``seconds`` of ``full`` as its own WAV (for showing that memory stays flat).

    Rebuilt when missing, of the wrong length, or older than ``full``.
    """
    length = wav_seconds(path)
    fresh = path.exists() and path.stat().st_mtime >= full.stat().st_mtime
    if length is not None and abs(length - seconds) <= 0.5 and fresh:
        return path
    log(f"Cutting the first {seconds / 60:g} min into {path} ...")
    part = path.with_name(path.name + ".part")
    _run([ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y",
          "-i", f"file:{full}", "-t", f"{seconds:.3f}", "-c", "copy", "-f", "wav", f"file:{part}"],
         f"cutting {path.name}")
    part.replace(path)
    return path
