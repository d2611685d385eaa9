"""Progress is data: the core reports it, only the CLI draws it."""

from __future__ import annotations

from collections.abc import Callable

#: Called as ``report(stage, seconds_done, seconds_total)``; ``stage`` is a short label such as
#: "measuring" or "encoding". The core calls it from the thread doing the work. An upload
#: ("uploading") counts bytes instead of seconds.
ProgressCallback = Callable[[str, float, float], None]


def silent(stage: str, done: float, total: float) -> None:
    """A progress callback that shows nothing (``--quiet`` and library use)."""
