"""Synthetic timed words and independent caption checks for the transcript tests.

The checks read files with webvtt-py and plain regular expressions, never with rkaudio's reader,
so a fault shared by rkaudio's writer and reader cannot hide.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import webvtt

from rkaudio.speech.words import Word

#: Articles, determiners and short prepositions no caption line may end on (the brief's list plus
#: the common prepositions), written out here rather than imported from the code under test.
NO_LINE_END = {"a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "their",
               "its", "his", "her", "of", "to", "in", "on", "at", "by", "for", "with", "from"}

SAMPLE = ("Welcome to Radical Kindness, the podcast about the people and projects building bridges "
          "across difference. Today we talk to a youth worker from the north of England about her "
          "work with the young people of her town, and about what the research says on contact "
          "between groups. It is a long conversation, so get comfortable. Let us begin.")


def speech(text: str, start: float = 0.0, *, char_s: float = 0.06, gap_s: float = 0.05,
           sentence_pause_s: float = 0.4, speaker: str | None = None,
           probability: float = 0.9) -> list[Word]:
    """Words of ``text`` spoken one after another: each lasts in proportion to its length."""
    words, t = [], start
    for token in text.split():
        length = 0.1 + char_s * len(token)
        words.append(Word(round(t, 3), round(t + length, 3), token, probability, speaker))
        t += length + gap_s
        if token.endswith((".", "?", "!")):
            t += sentence_pause_s
    return words


def shown_lines(caption: webvtt.Caption) -> list[str]:
    """The lines a viewer sees: tags removed, character references decoded."""
    return [html.unescape(re.sub(r"<[^>]*>", "", line)) for line in caption.lines]


def assert_caption_rules(path: Path, *, max_chars: int = 42, max_lines: int = 2,
                         min_s: float = 1.0, max_s: float = 7.0) -> list[webvtt.Caption]:
    """Read ``path`` with webvtt-py and assert the caption rules; returns the captions."""
    captions = webvtt.read(str(path)).captions
    previous = None
    for index, caption in enumerate(captions):
        lines = shown_lines(caption)
        start = caption.start_time.in_milliseconds()
        end = caption.end_time.in_milliseconds()
        where = f"cue {index + 1} at {caption.start}: {lines}"
        assert 1 <= len(lines) <= max_lines, where
        assert all(0 < len(line) <= max_chars for line in lines), where
        assert end - start <= max_s * 1000, where
        following = captions[index + 1].start_time.in_milliseconds() if index + 1 < len(captions) else None
        # Shorter than the minimum only where the next cue starts right at its end.
        assert end - start >= min_s * 1000 or end == following, where
        if previous is not None:
            assert start >= previous.start_time.in_milliseconds(), where
            assert start >= previous.end_time.in_milliseconds(), f"overlap: {where}"
        for line in lines:
            assert line.split()[-1].lower() not in NO_LINE_END, f"line ends on an article: {where}"
        previous = caption
    return captions


def caption_text(captions: list[webvtt.Caption]) -> str:
    return " ".join(" ".join(shown_lines(c)) for c in captions)


#: Every format written to transcripts/ and published to feed/transcripts/.
TRANSCRIPT_FORMATS = ("vtt", "srt", "json", "txt", "html")


def assert_transcribed(root: Path, slug: str, reference: str, *, max_wer: float) -> list[webvtt.Caption]:
    """A real transcription's files: every format written and published, the captions within the
    caption rules (read with webvtt-py), and the word error rate against ``reference`` below ``max_wer``."""
    from wer_helpers import wer

    for ext in TRANSCRIPT_FORMATS:
        assert (root / "transcripts" / f"{slug}.{ext}").stat().st_size > 0, ext
        assert (root / "feed" / "transcripts" / f"{slug}.{ext}").stat().st_size > 0, ext
    captions = assert_caption_rules(root / "transcripts" / f"{slug}.vtt")
    error_rate = wer(reference, caption_text(captions))
    assert error_rate < max_wer, (error_rate, caption_text(captions))
    return captions


class StandInEngine:
    """An engine that 'hears' fixed words spread from the start of each batch of speech it is
    given, and nothing when asked to decode sequentially (unit tests only: no model needed)."""

    name = "stand-in"
    label = "stand-in engine"

    def __init__(self, text: str) -> None:
        self.text = text

    def transcribe(self, audio, clips):
        return speech(self.text, clips[0][0]) if clips else []

    def transcribe_sequential(self, audio, clips):
        return []
