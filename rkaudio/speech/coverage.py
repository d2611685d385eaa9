"""Every word of the speech: how much of the detected speech the words cover, and decoding again
what they miss.

Voice activity detection says where people speak; the engine's words say where it heard them. A
word covers the speech from 0.3 s before it to 0.3 s after it, so the short pauses between words
and small errors in word timing do not count as missing. Speech that no word covers is a gap.

A batched Whisper decoder given a window that spans a change of voice can return the text of only
one voice: on a three-voice panel a whole 19 s turn was lost, and nothing said so. `recover` finds
every window with a gap of 2 s of speech or more and decodes it again: first the part of the window
holding the gap, cut off at the pauses around it (so the new piece holds one voice where the voices
change at a pause), with the batched decoder; what is still missing then, sequentially, segment by
segment, as Whisper decodes a whole recording (slower, but it follows a change of voice). New words
replace old ones in a piece only if they cover more of its speech.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .engine import Engine
from .windows import SPEECH_PAD_S
from .words import Word

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: How far a word covers the speech around it. Whisper's word timings are good to about 0.2 s,
#: and a pause between words shorter than twice this is part of speaking, not speech without words.
WORD_REACH_S = 0.3
#: A window with this much speech in a row without words is decoded again. Shorter gaps are left
#: alone: a breath, a laugh or a cough Silero takes for speech is not worth a second decode.
REDECODE_GAP_S = 2.0
#: A stretch of this much speech without words is reported (the issue's rule for the caption check).
REPORT_GAP_S = 3.0

Span = tuple[float, float]


@dataclass(frozen=True)
class SpeechGap:
    """Speech no word covers: from the start of its first uncovered speech to the end of its last,
    and how many seconds of speech that is (pauses inside it not counted)."""

    start: float
    end: float
    speech_s: float


def reach(spans: Iterable[Span], margin: float = WORD_REACH_S) -> list[Span]:
    """``spans`` (words, or cues) widened by ``margin`` on each side and joined where they touch."""
    merged: list[list[float]] = []
    for start, end in sorted((s - margin, e + margin) for s, e in spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def speech_gaps(speech: Sequence[Span], covered: Sequence[Span]) -> list[SpeechGap]:
    """The gaps in ``speech`` (sorted, disjoint) between the ``covered`` stretches (from `reach`).

    One gap is all the speech between two covered stretches, however many pauses lie inside it.
    """
    gaps: list[SpeechGap] = []
    # The holes between covered stretches, from minus to plus infinity.
    edges = [-float("inf"), *(t for c in covered for t in c), float("inf")]
    starts = [s for s, _ in speech]
    for k in range(0, len(edges), 2):
        low, high = edges[k], edges[k + 1]
        if high <= low:
            continue
        first = max(0, bisect.bisect_right(starts, low) - 1)
        total, begin, finish = 0.0, None, 0.0
        for s, e in speech[first:]:
            if s >= high:
                break
            a, b = max(s, low), min(e, high)
            if b > a:
                total += b - a
                begin = a if begin is None else begin
                finish = b
        if begin is not None:
            gaps.append(SpeechGap(begin, finish, total))
    return gaps


def words_reach(words: Iterable[Word]) -> list[Span]:
    return reach((w.start, w.end) for w in words)


def covered_seconds(speech: Sequence[Span], words: Sequence[Word]) -> float:
    """Seconds of ``speech`` that ``words`` cover."""
    total = sum(e - s for s, e in speech)
    return max(0.0, total - sum(g.speech_s for g in speech_gaps(speech, words_reach(words))))


def join_spans(spans: Iterable[Span]) -> list[Span]:
    """``spans`` sorted, with overlapping or touching ones joined."""
    return reach(spans, 0.0)


# --- decoding again -------------------------------------------------------------------------------

@dataclass
class Recovery:
    """What `recover` did: windows with a gap, and pieces decoded again each way."""

    windows: int = 0
    batched: int = 0
    sequential: int = 0

    def add(self, other: Recovery) -> None:
        self.windows += other.windows
        self.batched += other.batched
        self.sequential += other.sequential


def recover(engine: Engine, audio: np.ndarray, windows: Sequence[Span], spans: Sequence[Span],
            words: Sequence[Word]) -> tuple[list[Word], Recovery]:
    """``words`` with the gaps in each window's speech decoded again; see the module docstring.

    ``windows`` are those the engine decoded into ``words`` (sorted, disjoint) and ``spans`` the
    speech in them, in seconds into ``audio``.
    """
    done = Recovery()
    clips: list[Span] = []
    whole: list[bool] = []
    for window in windows:
        speech = _inside(spans, window)
        gaps = [g for g in speech_gaps(speech, words_reach(_inside_words(words, window)))
                if g.speech_s >= REDECODE_GAP_S]
        if gaps:
            done.windows += 1
            for piece in _pieces(speech, gaps):
                clips.append(_padded(piece, spans, window))
                whole.append(clips[-1] == window)
    if not clips:
        return list(words), done
    result = list(words)
    # First the batched decoder on the pieces alone; a piece that is its whole window (the window
    # held the gap and nothing else) would only be decoded as it was, so it goes straight on.
    alone = [clip for clip, same in zip(clips, whole) if not same]
    if alone:
        done.batched = len(alone)
        log.info("decoding again, on their own, %d stretch(es) of speech the words did not cover", len(alone))
        result = _take_better(result, engine.transcribe(audio, alone), alone, spans)
    still = [clip for clip in clips if _has_gap(_inside(spans, clip), _inside_words(result, clip))]
    if still:
        done.sequential = len(still)
        log.info("decoding %d stretch(es) of speech again sequentially: the batched decoder left them "
                 "without words", len(still))
        result = _take_better(result, engine.transcribe_sequential(audio, still), still, spans)
    return result, done


def _has_gap(speech: Sequence[Span], words: Sequence[Word]) -> bool:
    return any(g.speech_s >= REDECODE_GAP_S for g in speech_gaps(speech, words_reach(words)))


def _inside(spans: Sequence[Span], window: Span) -> list[Span]:
    """The parts of ``spans`` inside ``window``."""
    low, high = window
    return [(max(s, low), min(e, high)) for s, e in spans if e > low and s < high]


def _inside_words(words: Sequence[Word], window: Span) -> list[Word]:
    """The words whose middle lies in ``window``."""
    return [w for w in words if window[0] <= (w.start + w.end) / 2 < window[1]]


def _pieces(speech: Sequence[Span], gaps: Sequence[SpeechGap]) -> list[Span]:
    """Each gap widened to the whole stretches of speech it touches (cut at the pauses around it)."""
    pieces: list[Span] = []
    for gap in gaps:
        touched = [(s, e) for s, e in speech if e > gap.start and s < gap.end]
        start, end = touched[0][0], touched[-1][1]
        if pieces and start <= pieces[-1][1]:
            pieces[-1] = (pieces[-1][0], max(end, pieces[-1][1]))
        else:
            pieces.append((start, end))
    return pieces


def _padded(piece: Span, spans: Sequence[Span], bounds: Span) -> Span:
    """``piece`` with up to 0.4 s of the silence on either side (as `windows` pads a window), never
    more than half the pause to the next speech, nor outside ``bounds``."""
    start, end = piece
    before = max((e for s, e in spans if e <= start), default=None)
    after = min((s for s, e in spans if s >= end), default=None)
    low = max(start - SPEECH_PAD_S, (before + start) / 2 if before is not None else -float("inf"), bounds[0])
    high = min(end + SPEECH_PAD_S, (end + after) / 2 if after is not None else float("inf"), bounds[1])
    return (low, high)


def _take_better(words: list[Word], fresh: Sequence[Word], clips: Sequence[Span],
                 spans: Sequence[Span]) -> list[Word]:
    """For each clip decoded again, its new words in place of the old if they cover more of its speech."""
    for clip in clips:
        speech = _inside(spans, clip)
        old = _inside_words(words, clip)
        new = _inside_words(fresh, clip)
        if covered_seconds(speech, new) > covered_seconds(speech, old) + 1e-6:
            words = [w for w in words if not clip[0] <= (w.start + w.end) / 2 < clip[1]] + new
    words.sort(key=lambda w: w.start)
    return words
