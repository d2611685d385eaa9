"""What speech recognition gives: timed words, and who spoke when."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One word as the engine heard it; times in seconds from the start of the episode."""

    start: float
    end: float
    text: str
    #: The engine's confidence in the word, 0 to 1; None when it gives none.
    probability: float | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of the episode in which one named person speaks (from diarization or the producer)."""

    start: float
    end: float
    speaker: str
