"""Checking cues against the caption rules: what ``rkaudio transcript check`` reports.

Errors break a rule that readers cannot work around (a line too long for the screen, a cue on
screen for more than 7 s, cues overlapping or out of order); warnings mark captions that are hard
to read but usable (too fast, too short, a line ending on "the"). The writer in `transcript`
produces no errors by construction; a reviewer's edits can.

Given where the audio holds speech (recorded in the words sidecar when the engine ran), the check
also finds every stretch of 3 s of speech or more that no word covers: a turn the engine missed is
missing content for a deaf or hard-of-hearing listener, and an error. A cue covers its words (each
reaching 0.3 s either side, as in `speech.coverage`), or its whole time when it has no words (a
reviewer wrote or changed its text), so adding a cue over the missed speech answers the finding.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..core.clock import vtt_timestamp
from ..show.settings import CaptionRules
from ..speech.coverage import REPORT_GAP_S, join_spans, reach, speech_gaps
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


def check_cues(cues: Sequence[Cue], rules: CaptionRules | None = None, *,
               speech: Sequence[tuple[float, float]] | None = None) -> list[Finding]:
    """Every caption-rule finding for ``cues``, in cue order; with ``speech`` (where the audio holds
    speech, timed as the cues), also every stretch of it without words (`uncovered_speech`)."""
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
    if speech is not None:
        findings = sorted([*findings, *uncovered_speech(cues, speech)], key=lambda f: f.cue)
    return findings


def uncovered_speech(cues: Sequence[Cue], speech: Sequence[tuple[float, float]]) -> list[Finding]:
    """An error for each stretch of 3 s of speech or more that no cue's words cover, named by the
    cue that follows it (or the last cue, when it comes after every cue)."""
    covered = reach((w.start, w.end) for cue in cues for w in cue.words)
    covered = reach([*covered, *((c.start, c.end) for c in cues if not c.words)], 0.0)
    starts = [c.start for c in cues]
    findings = []
    for gap in speech_gaps(join_spans(speech), covered):
        if gap.speech_s < REPORT_GAP_S:
            continue
        number = min(bisect.bisect_left(starts, gap.start) + 1, len(cues))
        line = cues[number - 1].line if cues else None
        findings.append(Finding(
            "error", number, gap.start, "speech-without-words",
            f"{gap.speech_s:.1f} s of speech from {vtt_timestamp(gap.start)} to {vtt_timestamp(gap.end)} has no "
            "words: listen to it and add what was said", line))
    return findings
