"""Checking cues against the caption rules: what ``rkaudio transcript check`` reports.

Errors break a rule that readers cannot work around (a line too long for the screen, a cue on
screen for more than 7 s, cues overlapping or out of order); warnings mark captions that are hard
to read but usable (too fast, too short, a line ending on "the"). The writer in `transcript`
produces no errors by construction; a reviewer's edits can.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..core.clock import vtt_timestamp
from ..show.settings import CaptionRules
from .model import Cue
from .segmentation import ends_badly

Severity = Literal["error", "warning"]

#: Times are stored to the millisecond; half of one is rounding, not a broken rule.
TOLERANCE_S = 0.0005


@dataclass(frozen=True)
class Finding:
    """One broken rule: which cue (1-based, in file order), when it starts, which rule, and why."""

    severity: Severity
    cue: int
    start: float
    rule: str
    message: str
    #: Line of the cue's timing in the .vtt, when the cue was read from one.
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{vtt_timestamp(self.start)} cue {self.cue}{where}: {self.severity}: {self.message}"


def has_errors(findings: Sequence[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def check_cues(cues: Sequence[Cue], rules: CaptionRules | None = None) -> list[Finding]:
    """Every caption-rule finding for ``cues``, in cue order."""
    rules = (rules or CaptionRules()).validated()
    findings: list[Finding] = []
    previous: Cue | None = None
    latest_end = float("-inf")
    for number, cue in enumerate(cues, 1):
        def add(severity: Severity, rule: str, message: str, cue: Cue = cue, number: int = number) -> None:
            findings.append(Finding(severity, number, cue.start, rule, message, cue.line))

        if previous is not None and cue.start < previous.start:
            add("error", "order", f"starts before the cue above it ({vtt_timestamp(previous.start)})")
        elif cue.start < latest_end - TOLERANCE_S:
            add("error", "overlap", f"starts at {vtt_timestamp(cue.start)}, before the cue above it "
                                    f"ends ({vtt_timestamp(latest_end)})")
        duration = cue.end - cue.start
        if duration <= 0:
            add("error", "timing", "ends before it starts")
        elif duration > rules.max_duration + TOLERANCE_S:
            add("error", "max-duration", f"is on screen for {duration:.2f} s (at most {rules.max_duration:g} s)")
        elif duration < rules.min_duration - TOLERANCE_S:
            add("warning", "min-duration", f"is on screen for {duration:.2f} s (at least {rules.min_duration:g} s)")
        if not cue.lines:
            add("warning", "empty", "has no text")
        if len(cue.lines) > rules.max_lines:
            add("error", "line-count", f"has {len(cue.lines)} lines (at most {rules.max_lines})")
        for index, line in enumerate(cue.lines, 1):
            if len(line) > rules.max_chars:
                add("error", "line-length", f"line {index} has {len(line)} characters (at most {rules.max_chars})")
            if ends_badly(line, rules):
                add("warning", "line-break", f"line {index} ends on {line.split()[-1]!r}, which belongs "
                                             "with the next word")
        if duration > 0 and cue.lines:
            speed = len(cue.text) / duration
            if speed > rules.max_cps:
                add("warning", "reading-speed", f"needs reading at {speed:.0f} characters a second "
                                                f"(at most {rules.max_cps:g})")
        previous = cue
        latest_end = max(latest_end, cue.end)
    return findings
