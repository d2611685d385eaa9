"""Cutting an engine's timed words into caption cues.

Cues are cut from word timings, never from the engine's own segments, so they follow the caption
rules whatever the engine did: lines of at most 42 characters, two lines a cue, 1 to 7 seconds on
screen, no overlaps, and line breaks at natural points.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence

from ..core.errors import TranscriptError
from ..show.settings import CaptionRules
from ..speech.words import SpeakerTurn, Word
from .model import MILLISECOND, Cue, Transcript

# Relative weights of the segmentation's preferences. Only their ratios matter: a break after an
# article costs far more than anything else, so it happens only when nothing else fits; a break
# after a sentence is free, after a comma nearly free. Each new cue costs more than a line break
# (the eye jumps back to a fresh cue), so cues fill their two lines rather than flash by one by one.
_SENTENCE, _CLAUSE, _AVOID, _PLAIN, _FORBIDDEN = 0.0, 0.3, 3.0, 1.5, 1000.0
_CUE = 2.0
#: Balanced lines: a difference of a whole line's width costs as much as two plain breaks.
_IMBALANCE = 3.0
#: A pause after a word makes a good place to end a cue; the bonus grows up to a pause of 1 s.
_PAUSE_BONUS, _PAUSE_BONUS_CAP_S = 2.0, 1.0
#: A pause longer than half a second inside a cue keeps text on screen over silence.
_INNER_PAUSE_S, _INNER_PAUSE = 0.5, 4.0
_SHORT, _FAST = 3.0, 2.0

_OPENERS = "\"'“‘([«"
_CLOSERS = "\"'”’)]»"


def transcript_from_words(words: Iterable[Word], *, language: str = "en", title: str = "",
                          speakers: Sequence[SpeakerTurn] | None = None,
                          rules: CaptionRules | None = None) -> Transcript:
    """A `Transcript` cut from an engine's timed words; an empty list gives an empty transcript."""
    return Transcript(tuple(from_words(words, speakers, rules)), language=language, title=title)


def break_cost(word: str, rules: CaptionRules) -> float:
    """How bad a line or cue break after ``word`` is: 0 after a sentence, huge after an article."""
    bare = word.rstrip(_CLOSERS)
    key = bare.lower().lstrip(_OPENERS)
    if key in rules.no_break_after:
        return _FORBIDDEN
    if bare.endswith((".", "?", "!", "…")):
        return _SENTENCE
    if bare.endswith((",", ";", ":", "–", "—")):
        return _CLAUSE
    if key in rules.avoid_break_after:
        return _AVOID
    return _PLAIN


def ends_badly(line: str, rules: CaptionRules) -> bool:
    """True when a line ends on a word that belongs with the next one (an article, "of", "Dr.")."""
    words = line.split()
    return bool(words) and break_cost(words[-1], rules) >= _FORBIDDEN


def clean_words(words: Iterable[Word], speakers: Sequence[SpeakerTurn] | None = None) -> list[Word]:
    """The engine's words made safe to cut: trimmed, none empty, times to the millisecond, in order.

    Every word starts at least a millisecond after the one before, so every cue boundary gives a
    cue of positive length. Words without a speaker get one from ``speakers`` where a turn covers
    them. A time that is not a number is the engine's fault and raises TranscriptError.
    """
    cleaned: list[Word] = []
    for n, word in enumerate(words, 1):
        text = " ".join(str(word.text).split())
        if not text:
            continue
        if not (math.isfinite(word.start) and math.isfinite(word.end)):
            raise TranscriptError(f"word {n} ({text!r}) has a start or end time that is not a number")
        start = round(max(0.0, word.start), 3)
        probability = word.probability
        if probability is not None:
            probability = min(1.0, max(0.0, probability)) if math.isfinite(probability) else None
        speaker = " ".join((word.speaker or "").split()) or None
        cleaned.append(Word(start, round(max(word.end, start), 3), text, probability, speaker))
    cleaned.sort(key=lambda w: w.start)
    ordered: list[Word] = []
    for word in cleaned:
        if ordered and word.start <= ordered[-1].start:
            start = round(ordered[-1].start + MILLISECOND, 3)
            word = dataclasses.replace(word, start=start, end=max(word.end, start))
        ordered.append(word)
    if speakers:
        ordered = _assign_speakers(ordered, speakers)
    return ordered


#: A word outside every speaker turn takes the nearest turn's speaker if it is this close (s).
NEAREST_TURN_S = 1.0


def _assign_speakers(words: list[Word], speakers: Sequence[SpeakerTurn]) -> list[Word]:
    turns = sorted((t for t in speakers if t.speaker.strip()), key=lambda t: t.start)
    starts = [t.start for t in turns]
    out = []
    for word in words:
        if word.speaker is None and turns:
            # Turns rarely overlap, so the few that start just before the word's end are enough.
            last = bisect.bisect_right(starts, word.end) - 1
            best, best_score = None, 0.0
            for turn in turns[max(0, last - 2):last + 1]:
                overlap = min(word.end, turn.end) - max(word.start, turn.start)
                score = overlap if word.end > word.start else float(turn.start <= word.start <= turn.end)
                if score > best_score:
                    best, best_score = turn, score
            if best is None:
                # In no turn (a word heard a little outside the speech the turns cover): the
                # nearest turn's, if it is close.
                near = [t for t in turns[max(0, last - 1):last + 2]
                        if min(abs(word.start - t.end), abs(t.start - word.end)) <= NEAREST_TURN_S]
                best = min(near, key=lambda t: min(abs(word.start - t.end), abs(t.start - word.end)), default=None)
            if best is not None:
                word = dataclasses.replace(word, speaker=" ".join(best.speaker.split()))
        out.append(word)
    return out


def from_words(words: Iterable[Word], speakers: Sequence[SpeakerTurn] | None = None,
               rules: CaptionRules | None = None, *, until: float | None = None) -> list[Cue]:
    """Cut timed words into caption cues that follow ``rules``.

    The cut is the cheapest of all possible ones (dynamic programming over word boundaries): hard
    limits are the line width, the number of lines, 7 s a cue and a change of speaker; among the
    cuts within them it prefers breaks after sentences and clauses and at pauses, balanced lines,
    full cues, and never ends a line on an article. A cue shorter than the minimum, or too fast to
    read, is kept on screen longer where the next cue leaves room; ``until`` is where the last cue
    must be gone (a merge fits new cues in the gap before a reviewer's cue).
    """
    rules = (rules or CaptionRules()).validated()
    ws = clean_words(words, speakers)
    if not ws:
        return []
    n = len(ws)
    prefix = [0]
    for w in ws:
        prefix.append(prefix[-1] + len(w.text))

    def width(a: int, b: int) -> int:
        return prefix[b] - prefix[a] + (b - a - 1)

    breaks = [break_cost(w.text, rules) for w in ws]
    # SRT names a new speaker at the start of a cue's first line ("Ann: ..."), so that line keeps
    # room for the name; a name longer than half a line is not given room (it would starve the line).
    reserve = []
    for i, w in enumerate(ws):
        new_turn = w.speaker is not None and (i == 0 or ws[i - 1].speaker != w.speaker)
        room = len(w.speaker) + 2 if new_turn and w.speaker else 0
        reserve.append(room if room <= rules.max_chars // 2 else 0)

    def layout(i: int, j: int) -> tuple[float, tuple[int, ...]] | None:
        first = rules.max_chars - reserve[i]
        for count in range(1, rules.max_lines + 1):
            best: tuple[float, tuple[int, ...]] | None = None
            for cuts in itertools.combinations(range(i + 1, j), count - 1):
                widths = [width(a, b) for a, b in itertools.pairwise((i, *cuts, j))]
                if widths[0] > first or any(w > rules.max_chars for w in widths[1:]):
                    continue
                cost = sum(breaks[c - 1] for c in cuts)
                if count > 1:
                    cost += _IMBALANCE * (max(widths) - min(widths)) / rules.max_chars
                if best is None or cost < best[0]:
                    best = (cost, cuts)
            if best is not None:
                return best
        return None

    def limit_after(j: int) -> float:
        if j < n:
            return ws[j].start
        return until if until is not None else math.inf

    best_cost = [math.inf] * (n + 1)
    best_cost[0] = 0.0
    back = [0] * (n + 1)
    cut_at: list[tuple[int, ...]] = [()] * (n + 1)
    for i in range(n):
        start = ws[i].start
        span_end = ws[i].end
        inner = 0.0
        for j in range(i + 1, n + 1):
            if j - i > 1:
                word = ws[j - 1]
                if word.speaker != ws[i].speaker:
                    break
                gap = word.start - span_end
                if gap > _INNER_PAUSE_S:
                    inner += _INNER_PAUSE * (gap - _INNER_PAUSE_S)
                span_end = max(span_end, word.end)
                if span_end - start > rules.max_duration or width(i, j) > rules.max_lines * rules.max_chars:
                    break
            lay = layout(i, j)
            if lay is None:
                if j - i > 1:
                    continue
                lay = (0.0, ())  # a single word always makes a cue, however long it is
            cost = best_cost[i] + _CUE + lay[0] + inner
            if j < n and ws[j].speaker == ws[j - 1].speaker:
                pause = min(max(0.0, ws[j].start - span_end), _PAUSE_BONUS_CAP_S)
                cost += breaks[j - 1] - _PAUSE_BONUS * pause
            chars = width(i, j)
            shown = _shown_for(start, span_end, chars, limit_after(j), rules) - start
            cost += _SHORT * max(0.0, rules.min_duration - shown) / rules.min_duration
            cost += _FAST * max(0.0, chars / shown / rules.max_cps - 1.0)
            if cost < best_cost[j]:
                best_cost[j], back[j], cut_at[j] = cost, i, lay[1]

    spans = []
    j = n
    while j > 0:
        spans.append((back[j], j, cut_at[j]))
        j = back[j]
    cues = []
    for i, j, cuts in reversed(spans):
        chunk = ws[i:j]
        start = chunk[0].start
        end = round(_shown_for(start, max(w.end for w in chunk), width(i, j), limit_after(j), rules), 3)
        if end <= start:  # only when ``until`` leaves no room at all
            end = round(start + MILLISECOND, 3)
        lines = tuple(" ".join(w.text for w in ws[a:b]) for a, b in itertools.pairwise((i, *cuts, j)))
        cues.append(Cue(start, end, lines, chunk[0].speaker, tuple(chunk)))
    return cues


def _shown_for(start: float, speech_end: float, chars: int, limit: float, rules: CaptionRules) -> float:
    """When a cue leaves the screen: after its speech, long enough to read and to see, within limits."""
    wanted = max(speech_end - start, rules.min_duration, chars / rules.max_cps)
    return max(min(start + wanted, limit, start + rules.max_duration), start + MILLISECOND)
