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


@dataclass(frozen=True)
class Voice:
    """A speaker told apart by their voice: the label their cues carry (a name once a reviewer
    gave one), and a voiceprint (a unit vector from the diarizer; empty when not known)."""

    label: str
    voiceprint: tuple[float, ...] = ()

    def similarity(self, other: Voice) -> float:
        """Cosine similarity of the two voiceprints; 0 when either is unknown."""
        if not self.voiceprint or len(self.voiceprint) != len(other.voiceprint):
            return 0.0
        return sum(a * b for a, b in zip(self.voiceprint, other.voiceprint))
