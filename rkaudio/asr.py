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
#: Speech shorter than this (three of Silero's 32 ms frames) is a click, not a word.
MIN_SPEECH_S = 0.1
#: Silence kept at each edge of a window (Silero's own padding), so no word is clipped there.
SPEECH_PAD_S = 0.4
#: Windows shorter than this are avoided where speech must be cut: the model hears too little.
MIN_WINDOW_S = 5.0
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


#: CPU threads for each decoder of the bundled tiny.en on the faster-whisper engine. At this
#: model's size a second thread inside one decoder gains nothing (20-24 s against 21-25 s for ten
#: minutes of speech on the two-core machine; see docs/architecture.md), while a second decoder on
#: other windows nearly halves the time (`engine_workers`).
TINY_MODEL_THREADS = 1


def engine_threads(settings: TranscriptSettings) -> int:
    """CPU threads for the engine: the setting, else one for the bundled tiny.en on faster-whisper,
    else every core this process may use."""
    from .config import DEFAULT_MODEL

    if settings.threads:
        return settings.threads
    if settings.engine == "faster-whisper" and settings.model == DEFAULT_MODEL:
        return TINY_MODEL_THREADS
    return cpu_threads()


def engine_workers(settings: TranscriptSettings) -> int:
    """Decoders working side by side: the setting, else one per core for the bundled tiny.en on
    faster-whisper (each on `TINY_MODEL_THREADS`), else one (which uses every core itself)."""
    from .config import DEFAULT_MODEL

    if settings.workers:
        return settings.workers
    if settings.engine == "faster-whisper" and settings.model == DEFAULT_MODEL and not settings.threads:
        return cpu_threads()
    return 1


def load_engine(settings: TranscriptSettings, language: str) -> Engine:
    """The engine ``settings`` names, with its model loaded; errors name the model and what to do."""
    if settings.engine == "faster-whisper":
        from .engine_faster import FasterWhisperEngine
        return FasterWhisperEngine(settings.model, device=settings.device, language=language,
                                   beam_size=settings.beam_size, batch_size=settings.batch_size,
                                   cpu_threads=engine_threads(settings), workers=engine_workers(settings))
    if settings.engine == "openai-whisper":
        from .engine_openai import OpenAIWhisperEngine
        return OpenAIWhisperEngine(settings.model, device=settings.device, language=language,
                                   beam_size=settings.beam_size, threads=engine_threads(settings))
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

    The stretches are not padded, so the pauses between them are the real pauses: `speech_windows`
    cuts at the longest, and pads the windows itself. Silero's memory grows with the length it is
    given (about 200 MB for ten minutes), so it is run a minute at a time and speech running across
    a cut is joined up again.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # The settings faster-whisper's batched mode uses (short pauses split speech finely), without
    # the padding, and no stretch so long that it would not fit a window once padded.
    options = VadOptions(max_speech_duration_s=WINDOW_SECONDS - 2 * SPEECH_PAD_S, min_silence_duration_ms=160,
                         speech_pad_ms=0)
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


def speech_windows(spans: Sequence[tuple[float, float]], duration: float | None = None) -> list[tuple[float, float]]:
    """Group speech into windows of at most 30 s, breaking at long pauses and cutting at the longest.

    Speech with no pause of 2 s or more that is longer than a window must be cut. It is cut into as
    few windows as fit, at the longest pauses there are (where a sentence most likely ends), and
    into windows of at least 5 s where it can be: the model reads a window as one piece, and
    garbles words cut off at its edges or heard with too little context. Each window then takes
    up to 0.4 s of the silence on either side (never more than half the pause to the next window,
    nor beyond ``duration``), so the first and last words are whole. Speech longer than a window
    on its own (rare: the detector splits it at pauses) is cut into equal parts that fit.
    """
    longest = WINDOW_SECONDS - 2 * SPEECH_PAD_S
    pieces: list[tuple[float, float]] = []
    for start, end in spans:
        parts = max(1, math.ceil((end - start) / longest - 1e-9))
        step = (end - start) / parts
        pieces += [(start + k * step, start + (k + 1) * step) for k in range(parts)]
    runs: list[list[tuple[float, float]]] = []
    for piece in pieces:
        if runs and piece[0] - runs[-1][-1][1] < WINDOW_BREAK_PAUSE_S:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    bare = [window for run in runs for window in _cut_run(run, longest)]
    windows: list[tuple[float, float]] = []
    for k, (start, end) in enumerate(bare):
        before = (bare[k - 1][1] + start) / 2 if k else 0.0
        after = (end + bare[k + 1][0]) / 2 if k + 1 < len(bare) else (duration if duration is not None else math.inf)
        windows.append((max(start - SPEECH_PAD_S, before, 0.0), min(end + SPEECH_PAD_S, after)))
    return windows


def _cut_run(run: Sequence[tuple[float, float]], longest: float) -> list[tuple[float, float]]:
    """Speech without a long pause, in windows of at most ``longest`` s; see `speech_windows`.

    Dynamic programming over the pauses (linear in their number, as a window holds few): the
    fewest windows, then the fewest shorter than 5 s, then the shortest pause cut at as long as
    possible, then the pauses cut at as long as possible in total.
    """
    if run[-1][1] - run[0][0] <= longest:
        return [(run[0][0], run[-1][1])]
    # best[i]: the best cut of run[:i], as (score to maximise, where its last window starts).
    best: list[tuple[tuple[float, ...], int] | None] = [((0.0, 0.0, math.inf, 0.0), -1)]
    for i in range(1, len(run) + 1):
        found: tuple[tuple[float, ...], int] | None = None
        for j in range(i - 1, -1, -1):
            if run[i - 1][1] - run[j][0] > longest:
                break
            previous = best[j]
            if previous is None:
                continue
            (count, short, least, total), _ = previous
            pause = run[j][0] - run[j - 1][1] if j else math.inf
            score = (count - 1, short - (run[i - 1][1] - run[j][0] < MIN_WINDOW_S),
                     min(least, pause), total + (pause if j else 0.0))
            if found is None or score > found[0]:
                found = (score, j)
        best.append(found)
    windows: list[tuple[float, float]] = []
    i = len(run)
    while i > 0:
        entry = best[i]
        assert entry is not None  # every piece fits a window on its own
        j = entry[1]
        windows.append((run[j][0], run[i - 1][1]))
        i = j
    return windows[::-1]


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
        windows, keep_from = split_block(speech_windows(spans, audio.size / SAMPLE_RATE),
                                         audio.size / SAMPLE_RATE, final)
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

