"""Lining a reviewer's text up with the machine's timed words: corrections keep their timings.

A reviewer who corrects one word of a cue should not cost the cue its word timings: the words
they left alone were spoken when the engine heard them. `align_words` maps a cue's text onto
the machine's words, token by token (difflib on lower-cased words without their surrounding
punctuation):

* a token equal to a machine word takes that word's times and probability;
* tokens that replace machine words share those words' time span, in proportion to their
  length, and carry no probability (the reviewer wrote them, so nothing is unsure about them);
* tokens inserted where no machine word was get the time between the words around them (or the
  cue's edges), shared the same way;
* machine words the reviewer removed are dropped.

This is the only alignment of text with words: the store applies it when a reviewer's cue is
saved, and the review page gets its results from the server (``/api/check`` and the state)
instead of aligning on its own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from ..speech.words import Word

_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")


def token(word: str) -> str:
    """A word as the alignment compares it: lower case, without surrounding punctuation."""
    lowered = word.lower()
    return _EDGE_PUNCTUATION.sub("", lowered) or lowered


def align_words(text: str, words: Sequence[Word], start: float, end: float,
                speaker: str | None = None) -> tuple[Word, ...]:
    """One timed word for each token of ``text``, timed from ``words`` within ``start``-``end``.

    ``words`` are the machine's words for the stretch of the cue; those whose middle falls
    outside it are not the cue's and are left out. The result
    has exactly as many words as ``text`` has tokens (split on white space), in order, each
    with the token as its text, times inside the cue and never running backwards.
    """
    tokens = text.split()
    if not tokens:
        return ()
    source = sorted((w for w in words if start <= (w.start + w.end) / 2 <= end), key=lambda w: (w.start, w.end))
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    probabilities: list[float | None] = [None] * len(tokens)
    matcher = difflib.SequenceMatcher(None, [token(w.text) for w in source], [token(t) for t in tokens],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                times[j] = (source[i].start, source[i].end)
                probabilities[j] = source[i].probability
        elif tag == "replace":
            _share(times, tokens, j1, j2, source[i1].start, source[i2 - 1].end)
    # What is left was inserted: it gets the time between its neighbours.
    j = 0
    while j < len(tokens):
        if times[j] is not None:
            j += 1
            continue
        k = j
        while k < len(tokens) and times[k] is None:
            k += 1
        low = times[j - 1][1] if j else start  # type: ignore[index]
        high = times[k][0] if k < len(tokens) else end  # type: ignore[index]
        _share(times, tokens, j, k, low, max(low, high))
        j = k
    result: list[Word] = []
    floor = start
    for tok, span, probability in zip(tokens, times, probabilities):
        assert span is not None
        word_start = min(max(span[0], floor, start), end)
        word_end = min(max(span[1], word_start), end)
        result.append(Word(round(word_start, 3), round(word_end, 3), tok, probability, speaker))
        floor = word_start
    return tuple(result)


def _share(times: list[tuple[float, float] | None], tokens: Sequence[str], j1: int, j2: int,
           low: float, high: float) -> None:
    """Give tokens ``j1``..``j2`` consecutive slices of ``low``-``high``, in proportion to their length."""
    weights = [len(t) + 1 for t in tokens[j1:j2]]
    total = sum(weights)
    at = low
    for j, weight in zip(range(j1, j2), weights):
        step = (high - low) * weight / total
        times[j] = (at, at + step)
        at += step
