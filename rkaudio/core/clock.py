"""Times: the current UTC moment, and every way rkaudio writes a time or a length.

One place, so the transcript formats, the feed, the reports and the review editor never disagree
about how a moment is rounded or written. (The review page, in JavaScript, has its own copy of
`clock` for the browser.)
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """The current moment in UTC (the default ``now`` of everything that stamps a time)."""
    return datetime.now(timezone.utc)


def iso_utc(moment: datetime) -> str:
    """``2026-11-23T10:41:00Z``: ISO 8601 in UTC, with the ``Z`` JSON readers expect."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


#: Month names for dates people read on the site ("22 November 2026": day first, no ambiguity).
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def long_date(moment: datetime) -> str:
    """``22 November 2026``: the date of a moment in UTC, written out."""
    day = moment.astimezone(timezone.utc)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def iso_duration(seconds: float) -> str:
    """``PT1H2M3S``: a length in whole seconds as ISO 8601 (HTML ``<time>``, schema.org)."""
    hours, minutes, secs, _ = _parts(round(max(0.0, seconds)))
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def _parts(seconds: float) -> tuple[int, int, int, int]:
    """Hours, minutes, seconds and milliseconds of a time, rounded to the millisecond."""
    total = max(0, round(seconds * 1000))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return hours, minutes, rest // 1000, rest % 1000


def vtt_timestamp(seconds: float) -> str:
    """``hh:mm:ss.mmm``, the WebVTT form (hours always written, so any length reads alike)."""
    hours, minutes, secs, ms = _parts(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def srt_timestamp(seconds: float) -> str:
    """``hh:mm:ss,mmm``, the SubRip form."""
    hours, minutes, secs, ms = _parts(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def clock(seconds: float, *, fixed: bool = False) -> str:
    """A time for people, in whole seconds: ``4:05``, or ``1:02:03`` past the hour.

    The fraction is dropped, never rounded up, so a moment shown is never later than the moment
    itself (a link to a paragraph must not skip its first word); pass ``round(length)`` to show a
    length to the nearest second. ``fixed`` always writes ``hh:mm:ss`` (``itunes:duration``).
    """
    hours, minutes, secs, _ = _parts(int(max(0.0, seconds)))
    if fixed:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
