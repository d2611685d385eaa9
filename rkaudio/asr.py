"""Speech to timed words, for any engine, in blocks of bounded size.

The recording is decoded by ffmpeg to 16 kHz mono (what Whisper models hear) and read ten minutes
at a time, so memory stays flat for an hour-long webinar. In each block, voice activity detection
(Silero, shipped with faster-whisper) finds the speech; the speech is grouped into windows of at
most 30 s (Whisper's input length) and only those windows go to the engine. Silence, music beds
and room tone never reach the model, which is the surest guard against invented text. A window
that runs into the end of a block is held over to the next block, so no word is cut in two.

Engines (`engine_faster`, `engine_openai`) implement `Engine`: audio and speech windows in, timed
words out, with the times relative to the audio they were given.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from . import ffmpeg_tool
from .config import TranscriptSettings
from .errors import ConfigError, InputError
from .progress import ProgressCallback, silent
from .transcript import Word

if TYPE_CHECKING:  # numpy comes with the engines; the rest of rkaudio does not need it
    import numpy as np

log = logging.getLogger(__name__)

#: Whisper models hear 16 kHz mono.
SAMPLE_RATE = 16_000
#: Audio decoded and searched for speech at a time: ten minutes is 38 MB of float samples, and
#: enough windows to keep a batch of 8 full.
BLOCK_SECONDS = 600.0
#: Whisper's input window.
WINDOW_SECONDS = 30.0
#: A pause this long starts a new window even when the next speech would still fit: the model
#: is not asked to read long silences, where it is most likely to invent words.
WINDOW_BREAK_PAUSE_S = 2.0
#: A window ending this close to the end of a block may continue into the next one: it is held over.
BLOCK_EDGE_S = 1.0
#: Speech shorter than this is a click or a breath, not a word.
MIN_SPEECH_S = 0.25
#: Voice activity detection runs on this much audio at a time, to bound its memory.
VAD_PIECE_SECONDS = 60.0
#: Speech this close to a cut between pieces on both sides is one stretch.
CUT_TOLERANCE_S = 0.05

# Whisper's own quality thresholds (openai-whisper's transcribe() defaults), which every engine
# applies: a window is taken for non-speech when the model's no-speech probability is above 0.6 and
# its average log-probability below -1; text whose gzip compression ratio is above 2.4 repeats
# itself (a decoding loop) and is decoded again at the next temperature.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
#: Temperatures tried in turn for a window that failed at 0 (Whisper's fallback schedule).
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)


class Engine(Protocol):
    """A speech recogniser: audio and speech windows in, timed words out."""

    name: str
    #: Engine, model and device, for reports ("faster-whisper tiny.en int8 on cpu").
    label: str

    def transcribe(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        """Words heard in ``clips`` (seconds into ``audio``), timed from the start of ``audio``."""
        ...


@dataclass
class AsrResult:
    """What the engine heard in one recording, and what it cost."""

    words: list[Word]
    language: str
    #: Seconds of audio decoded.
    duration: float
    #: Seconds of it that voice activity detection took for speech.
    speech_seconds: float
    engine: str
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio transcribed per second of work (higher is faster)."""
        return self.duration / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def cpu_threads() -> int:
    """Cores this process may use (a container's limit, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def load_engine(settings: TranscriptSettings, language: str) -> Engine:
    """The engine ``settings`` names, with its model loaded; errors name the model and what to do."""
    if settings.engine == "faster-whisper":
        from .engine_faster import FasterWhisperEngine
        return FasterWhisperEngine(settings.model, device=settings.device, language=language,
                                   beam_size=settings.beam_size, batch_size=settings.batch_size)
    if settings.engine == "openai-whisper":
        from .engine_openai import OpenAIWhisperEngine
        return OpenAIWhisperEngine(settings.model, device=settings.device, language=language,
                                   beam_size=settings.beam_size)
    raise ConfigError(f"unknown transcript engine {settings.engine!r}")


def check_engine(settings: TranscriptSettings) -> None:
    """Raise now if the engine is not installed or its model cannot be found, without loading it.

    ``process`` calls this before its audio work, so a wrong setting is reported at once rather
    than after an hour-long encode.
    """
    if settings.engine == "faster-whisper":
        from .engine_faster import resolve_model
        resolve_model(settings.model)
    elif settings.engine == "openai-whisper":
        from .engine_openai import check_available
        check_available(settings.model)
    else:
        raise ConfigError(f"unknown transcript engine {settings.engine!r}")


# --- finding speech -------------------------------------------------------------------------------

def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Stretches of speech in ``audio`` (seconds), from Silero voice activity detection.

    Silero's memory grows with the length it is given (about 200 MB for ten minutes), so it is run
    a minute at a time and speech running across a cut is joined up again.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # The settings faster-whisper's batched mode uses: short pauses split speech finely, and no
    # stretch is longer than a window.
    options = VadOptions(max_speech_duration_s=WINDOW_SECONDS, min_silence_duration_ms=160)
    piece = int(VAD_PIECE_SECONDS * SAMPLE_RATE)
    spans: list[tuple[float, float]] = []
    for offset in range(0, audio.size, piece):
        chunk = audio[offset:offset + piece]
        at = offset / SAMPLE_RATE
        for found in get_speech_timestamps(chunk, options, sampling_rate=SAMPLE_RATE):
            start, end = at + found["start"] / SAMPLE_RATE, at + found["end"] / SAMPLE_RATE
            if spans and offset and start - at < CUT_TOLERANCE_S and at - spans[-1][1] < CUT_TOLERANCE_S:
                spans[-1] = (spans[-1][0], end)  # one stretch of speech across the cut
            else:
                spans.append((start, end))
    return [span for span in spans if span[1] - span[0] >= MIN_SPEECH_S]


def speech_windows(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Group speech into windows of at most 30 s, breaking at long pauses.

    Speech longer than a window (rare: the detector already splits it at pauses) is cut into
    equal parts that each fit.
    """
    pieces: list[tuple[float, float]] = []
    for start, end in spans:
        parts = max(1, math.ceil((end - start) / WINDOW_SECONDS - 1e-9))
        step = (end - start) / parts
        pieces += [(start + k * step, start + (k + 1) * step) for k in range(parts)]
    windows: list[tuple[float, float]] = []
    for start, end in pieces:
        if windows:
            w_start, w_end = windows[-1]
            if end - w_start <= WINDOW_SECONDS and start - w_end < WINDOW_BREAK_PAUSE_S:
                windows[-1] = (w_start, end)
                continue
        windows.append((start, end))
    return windows


def split_block(windows: list[tuple[float, float]], block_seconds: float,
                final: bool) -> tuple[list[tuple[float, float]], float]:
    """The windows to transcribe now, and where the audio held over to the next block begins."""
    if final:
        return windows, block_seconds
    if windows and windows[-1][1] > block_seconds - BLOCK_EDGE_S:
        held = windows.pop()
        # Start the next block a little before the held speech, but never inside a kept window.
        keep_from = max(held[0] - 0.2, windows[-1][1] if windows else 0.0)
        return windows, keep_from
    # No speech at the very end: keep a second of context so speech starting there is whole.
    return windows, max(block_seconds - BLOCK_EDGE_S, windows[-1][1] if windows else 0.0)


# --- decoding -------------------------------------------------------------------------------------

def _decoded_blocks(path: Path, block_seconds: float) -> Iterator[bytes]:
    """The recording as 16 kHz mono float32 samples, ``block_seconds`` at a time."""
    args = [*ffmpeg_tool.input_args(path), "-vn", "-sn", "-dn", "-map", "0:a:0",
            "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]
    return ffmpeg_tool.stream_raw(args, block_bytes=int(block_seconds * SAMPLE_RATE) * 4,
                                  what=f"decoding {path.name} for transcription")


def _lookahead(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each block with a flag that is true for the last one."""
    previous: bytes | None = None
    for block in blocks:
        if previous is not None:
            yield previous, False
        previous = block
    if previous is not None:
        yield previous, True


def transcribe_file(path: Path, engine: Engine, *, language: str, total_seconds: float | None = None,
                    block_seconds: float = BLOCK_SECONDS,
                    on_progress: ProgressCallback = silent) -> AsrResult:
    """Transcribe one recording with ``engine``; see the module docstring.

    ``total_seconds`` (the recording's length, if known) only scales the progress reports.
    """
    import numpy as np

    started = time.perf_counter()
    words: list[Word] = []
    carry = np.zeros(0, dtype=np.float32)
    carry_at = 0.0  # seconds into the recording where ``carry`` begins
    decoded = 0.0
    speech = 0.0
    total = total_seconds or 0.0
    on_progress("transcribing", 0.0, max(total, 1.0))
    for raw, final in _lookahead(_decoded_blocks(path, block_seconds)):
        block = np.frombuffer(raw, dtype=np.float32)
        decoded += block.size / SAMPLE_RATE
        audio = np.concatenate([carry, block]) if carry.size else block
        spans = speech_spans(audio)
        windows, keep_from = split_block(speech_windows(spans), audio.size / SAMPLE_RATE, final)
        if windows:
            heard = engine.transcribe(audio, windows)
            words.extend(_shifted(heard, carry_at, windows))
        speech += sum(min(e, keep_from) - s for s, e in spans if s < keep_from)
        keep_sample = min(audio.size, int(round(keep_from * SAMPLE_RATE)))
        carry = audio[keep_sample:].copy()
        carry_at += keep_sample / SAMPLE_RATE
        on_progress("transcribing", carry_at, max(total, decoded, carry_at))
    if decoded <= 0.0:
        raise InputError("holds no decodable audio to transcribe", path)
    on_progress("transcribing", decoded, decoded)
    warnings: list[str] = []
    if not words:
        warnings.append("no speech was recognised (silence, music or noise only): the transcript is empty")
    return AsrResult(words=words, language=language, duration=decoded, speech_seconds=speech,
                     engine=engine.label, elapsed_s=time.perf_counter() - started, warnings=warnings)


def _shifted(words: Sequence[Word], offset: float, windows: Sequence[tuple[float, float]]) -> Iterator[Word]:
    """Words moved to recording time, kept inside the windows they came from and in order."""
    last_end = 0.0
    lo, hi = windows[0][0], windows[-1][1]
    for word in words:
        text = word.text.strip()
        if not text:
            continue
        start = min(max(word.start, lo), hi)
        end = min(max(word.end, start), hi)
        start = max(start, last_end)
        end = max(end, start)
        last_end = end
        yield replace(word, start=round(start + offset, 3), end=round(end + offset, 3), text=text)


def shift_words(words: Sequence[Word], seconds: float) -> list[Word]:
    """``words`` moved ``seconds`` later, e.g. by the intro that plays before the programme."""
    return [replace(w, start=round(w.start + seconds, 3), end=round(w.end + seconds, 3)) for w in words]

