"""Where each part sits in the finished episode: how far the stings overlap the programme, and how
long the intro plays before the programme starts.

The transcript is timed to the finished episode, so the intro's lead is what moves every word;
``process``, ``transcribe`` and the review editor all take it from here.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import InputError
from ..show.settings import AudioSettings
from . import ffmpeg_tool


def sting_overlap(settings: AudioSettings, sting_seconds: float, programme_seconds: float) -> float:
    """Seconds a sting overlaps the programme: the crossfade, but at most half of either."""
    return max(0.0, min(settings.crossfade_s, sting_seconds / 2, programme_seconds / 2))


def intro_lead(settings: AudioSettings, intro_seconds: float, programme_seconds: float) -> float:
    """Seconds of intro heard before the programme starts: the intro, less its overlap."""
    if settings.intro is None:
        return 0.0
    return max(0.0, intro_seconds - sting_overlap(settings, intro_seconds, programme_seconds))


def probed_intro_lead(settings: AudioSettings, programme_seconds: float | None) -> float:
    """`intro_lead` with the intro's length read from its file, for steps that do not measure it.

    An unknown programme length counts as long enough not to shorten the overlap.
    """
    intro: Path | None = settings.intro
    if intro is None:
        return 0.0
    try:
        seconds = ffmpeg_tool.probe(intro).duration or 0.0
    except InputError as exc:
        raise InputError(f"intro sting: {exc.message}", exc.path) from None
    return intro_lead(settings, seconds, programme_seconds if programme_seconds else seconds * 2)
