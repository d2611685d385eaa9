"""How much of a stretch of speech decoded words reach, measured independently of rkaudio's own
coverage code, for the panel tests and the coverage benchmark."""

from __future__ import annotations

from collections.abc import Iterable

#: A word covers speech this far either side of it (s).
REACH_S = 0.3


def covered(start: float, end: float, spans: Iterable[tuple[float, float]]) -> float:
    """Seconds of ``start``-``end`` within ``REACH_S`` of one of the word ``spans``."""
    reached = sorted((max(start, s - REACH_S), min(end, e + REACH_S)) for s, e in spans
                     if e + REACH_S > start and s - REACH_S < end)
    total, at = 0.0, start
    for low, high in reached:
        low = max(low, at)
        if high > low:
            total += high - low
            at = high
    return total
