"""Speech to timed words, for any engine, in blocks of bounded size.

The recording is decoded by ffmpeg to 16 kHz mono (what Whisper models hear) and read ten minutes
at a time, so memory stays flat for an hour-long webinar. In each block, `windows` finds the speech
and groups it into windows; only those go to the engine. A window that runs into the end of a
block is held over to the next block, so no word is cut in two. The words of each window are then
compared with the speech found in it, and speech they miss is decoded again (`coverage`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..audio import ffmpeg_tool
from ..core.errors import InputError
from ..core.progress import ProgressCallback, silent
from .coverage import (
    REPORT_GAP_S,
    Recovery,
    SpeechGap,
    covered_seconds,
    join_spans,
    recover,
    speech_gaps,
    words_reach,
)
from .engine import SAMPLE_RATE, Engine
from .windows import speech_spans, speech_windows, split_block
from .words import Word

log = logging.getLogger(__name__)

#: Audio decoded and searched for speech at a time: ten minutes is 38 MB of float samples, and
#: enough windows to keep a batch of 8 full.
BLOCK_SECONDS = 600.0


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
    #: Where voice activity detection found speech, in seconds into the recording (joined, sorted).
    speech: list[tuple[float, float]] = field(default_factory=list)
    #: Seconds of that speech the words cover (see `coverage`).
    covered_seconds: float = 0.0
    #: Windows whose speech the words did not cover, and how they were decoded again.
    recovery: Recovery = field(default_factory=Recovery)

    @property
    def coverage(self) -> float:
        """The fraction of the detected speech the words cover (1.0 when there is no speech)."""
        return min(1.0, self.covered_seconds / self.speech_seconds) if self.speech_seconds > 0 else 1.0

    @property
    def gaps(self) -> list[SpeechGap]:
        """Stretches of 3 s of speech or more that no word covers."""
        return [g for g in speech_gaps(self.speech, words_reach(self.words)) if g.speech_s >= REPORT_GAP_S]

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio transcribed per second of work (higher is faster)."""
        return self.duration / self.elapsed_s if self.elapsed_s > 0 else float("inf")


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
    regions: list[tuple[float, float]] = []
    recovery = Recovery()
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
            heard, redone = recover(engine, audio, windows, spans, heard)
            recovery.add(redone)
            words.extend(_shifted(heard, carry_at, windows))
        regions += [(round(carry_at + s, 3), round(carry_at + min(e, keep_from), 3)) for s, e in spans if s < keep_from]
        keep_sample = min(audio.size, int(round(keep_from * SAMPLE_RATE)))
        carry = audio[keep_sample:].copy()
        carry_at += keep_sample / SAMPLE_RATE
        on_progress("transcribing", carry_at, max(total, decoded, carry_at))
    if decoded <= 0.0:
        raise InputError("holds no decodable audio to transcribe", path)
    on_progress("transcribing", decoded, decoded)
    regions = join_spans(regions)
    result = AsrResult(words=words, language=language, duration=decoded,
                       speech_seconds=sum(e - s for s, e in regions), engine=engine.label,
                       elapsed_s=time.perf_counter() - started, speech=regions,
                       covered_seconds=covered_seconds(regions, words), recovery=recovery)
    if not words:
        result.warnings.append("no speech was recognised (silence, music or noise only): the transcript is empty")
    elif result.gaps:
        longest = max(result.gaps, key=lambda g: g.speech_s)
        result.warnings.append(
            f"{len(result.gaps)} stretch(es) of speech have no words (the longest {longest.speech_s:.1f} s, "
            f"{longest.start:.1f}-{longest.end:.1f} s into the recording); listen to them and add what was said")
    return result


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


def shift_spans(spans: Sequence[tuple[float, float]], seconds: float) -> list[tuple[float, float]]:
    """``spans`` (of speech) moved ``seconds`` later, as `shift_words` moves the words."""
    return [(round(s + seconds, 3), round(e + seconds, 3)) for s, e in spans]

