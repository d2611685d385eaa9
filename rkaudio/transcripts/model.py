"""Transcripts as data: cues (the captions a reader sees, with the words they were made from) and
the transcript that holds them.

Everything downstream of the speech engine (files, checks, merges, the review editor) works on
these. Times are seconds from the start of the finished episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..speech.words import Word

#: Times are kept to the millisecond, the resolution of WebVTT and SRT timestamps.
MILLISECOND = 0.001


@dataclass(frozen=True)
class Cue:
    """One caption: the lines shown from ``start`` to ``end``, and the words they were made from.

    ``words`` are the engine's words; for a cue a reviewer corrected, one word per token of the text,
    timed from the engine's (see `alignment`). ``line`` is where
    the cue's timing stands in the .vtt it was read from, for messages; it takes no part in equality.
    """

    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None = None
    words: tuple[Word, ...] = ()
    identifier: str = ""
    settings: str = ""
    line: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        lines = (self.lines,) if isinstance(self.lines, str) else tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "words", tuple(self.words))

    @property
    def text(self) -> str:
        """The cue's text on one line, as read aloud."""
        return " ".join(line for line in self.lines if line)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Transcript:
    """An episode's transcript: its cues in time order, the language spoken and the episode's title."""

    cues: tuple[Cue, ...] = ()
    language: str = "en"
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "cues", tuple(self.cues))

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word with its timing and probability, in order (none for reviewer-written cues)."""
        return tuple(w for cue in self.cues for w in cue.words)

    @property
    def is_empty(self) -> bool:
        """True when nothing was said (silence, music only): callers should warn the producer."""
        return not any(cue.text for cue in self.cues)
