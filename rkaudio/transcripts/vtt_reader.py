"""Reading a WebVTT file a reviewer edited by hand, with errors that name the line at fault.

Browsers skip what they cannot parse without a word, so a blank line typed inside a cue would
silently drop the rest of its text from the published captions. This reader is stricter than a
browser and says where the trouble is; nothing is ever rewritten from a file it rejects.

Accepted: the ``WEBVTT`` header (with text after it, and header lines up to the first blank
line); NOTE, STYLE and REGION blocks; cue identifiers; ``hh:mm:ss.mmm`` and ``mm:ss.mmm``
timings; cue settings after the end time; multi-line cue text; ``<v Name>`` voice spans; other
tags (``<i>``, ``<b>``, ``</v>``), which are dropped; character references such as ``&amp;``.
Blank-looking lines that hold only spaces count as blank. Lines may end in LF, CRLF or CR.

Rejected, with the line number: a missing header; a timing line that is not ``start --> end``;
a timestamp out of range; text after the end time that is not a cue setting (cue text belongs
on the next line); a cue that ends before it starts, or when it starts; a cue that starts before
the cue above it (WebVTT requires cues in time order); a timing line with no blank line before
it; text that belongs to no cue. Overlapping cues are valid WebVTT and are read: overlap is a
caption rule, reported by `transcript_check`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from ..core.clock import vtt_timestamp as _stamp
from ..core.errors import TranscriptError
from .model import Cue

#: Builds the error for a message and a line number.
_Fail = Callable[[str, int], TranscriptError]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
#: hh:mm:ss.mmm (hours of two or more digits) or mm:ss.mmm; minutes and seconds 00 to 59.
_TIMESTAMP = re.compile(r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})")
_LOOKS_LIKE_TIMING = re.compile(r"\s*\d+:\d")
#: One WebVTT cue setting ("align:start"): what may follow the end time on a timing line.
CUE_SETTING = re.compile(r"(?:vertical|line|position|size|align|region):\S+")
_VOICE = re.compile(r"<v(?:\.[^\s>]+)*(?:[ \t]+([^>]*))?>")
_TAG = re.compile(r"<[^>]*>")
#: Longest stretch of the file quoted back in a message; messages stay on one line.
_QUOTE_CHARS = 60


def read_vtt(path: Path, name: str | Path | None = None) -> list[Cue]:
    """The cues of the WebVTT file at ``path``; errors name it as ``name`` (default: the path)."""
    shown = name if name is not None else path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TranscriptError("not found", shown) from None
    except OSError as exc:
        raise TranscriptError(f"cannot be read: {exc.strerror or exc}", shown) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise TranscriptError("is not UTF-8 text; save it as UTF-8", shown, line) from None
    return parse_vtt(text, shown)


def parse_vtt(text: str, name: str | Path = "<WebVTT>") -> list[Cue]:
    """The cues of a WebVTT document, in file order; TranscriptError(line=...) if it is malformed."""
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))

    def fail(message: str, line: int) -> TranscriptError:
        return TranscriptError(message, name, line)

    if not _HEADER.fullmatch(lines[0]):
        raise fail(f'the first line must be "WEBVTT", not {_quote(lines[0])}', 1)
    number = 1
    while number < len(lines) and lines[number].strip():
        if "-->" in lines[number]:
            raise fail('a blank line must separate the "WEBVTT" header from the first cue', number + 1)
        number += 1

    cues: list[Cue] = []
    for block in _blocks(lines, number):
        first_no, first = block[0]
        if "-->" in first:
            identifier, timing_at = "", 0
        elif len(block) > 1 and "-->" in block[1][1]:
            identifier, timing_at = first.strip(), 1
        elif re.match(r"(NOTE|STYLE|REGION)(?:[ \t]|$)", first):
            continue
        else:
            for no, line in block[:2]:
                if _LOOKS_LIKE_TIMING.match(line):
                    raise fail(f'cue timing {_quote(line)} is not valid (expected "start --> end")', no)
            raise fail(f"text {_quote(first)} belongs to no cue: a cue starts with a timing line "
                       '"start --> end", and a blank line ends a cue', first_no)
        timing_no, timing = block[timing_at]
        start, end, settings = _timing(timing, timing_no, fail)
        if end < start:
            raise fail(f"cue ends at {_stamp(end)}, before it starts at {_stamp(start)}", timing_no)
        if end == start:
            raise fail(f"cue ends at the moment it starts ({_stamp(start)}); give it a later end time", timing_no)
        if cues and start < cues[-1].start:
            raise fail(f"cue starts at {_stamp(start)}, before the cue above it ({_stamp(cues[-1].start)}); "
                       "cues must be in time order", timing_no)
        payload = block[timing_at + 1:]
        for no, line in payload:
            if "-->" in line:
                raise fail(f"{_quote(line)} looks like a cue timing but follows cue text; "
                           "put a blank line before it (or write the arrow as --&gt;)", no)
        speaker, text_lines = _text([line for _, line in payload])
        cues.append(Cue(start, end, text_lines, speaker, identifier=identifier, settings=settings,
                        line=timing_no))
    return cues


def _blocks(lines: list[str], after: int) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines after line ``after``, each line with its 1-based number."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for index in range(after, len(lines)):
        line = lines[index]
        if line.strip():
            current.append((index + 1, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _timing(line: str, number: int, fail: _Fail) -> tuple[float, float, str]:
    left, right = line.split("-->", 1)
    start_text = left.strip()
    rest = right.split(None, 1)
    if not start_text or " " in start_text or "\t" in start_text or not rest:
        raise fail(f'cue timing {_quote(line)} is not valid (expected "start --> end")', number)
    end_text = rest[0]
    settings = rest[1].strip() if len(rest) > 1 else ""
    start = _seconds(start_text, "start", number, fail)
    end = _seconds(end_text, "end", number, fail)
    for token in settings.split():
        if not CUE_SETTING.fullmatch(token):
            raise fail(f"unexpected {_quote(token)} after the end time: cue settings look like "
                       '"align:start", and cue text goes on the next line', number)
    return start, end, " ".join(settings.split())


def _seconds(text: str, which: str, number: int, fail: _Fail) -> float:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        hint = " (use a full stop before the milliseconds, not a comma)" if "," in text else ""
        raise fail(f"{which} time {_quote(text)} is not a valid timestamp: expected hh:mm:ss.mmm "
                   f"or mm:ss.mmm{hint}", number)
    hours, minutes, seconds, millis = match.groups()
    total_ms = ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)
    return total_ms / 1000


def _text(payload: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The speaker named by a leading voice span, and the cue's lines as plain text."""
    speaker = None
    if payload:
        voice = _VOICE.match(payload[0].lstrip())
        if voice is not None:
            speaker = " ".join(html.unescape(voice.group(1) or "").split()) or None
    lines = []
    for line in payload:
        plain = " ".join(html.unescape(_TAG.sub("", line)).split())
        if plain:
            lines.append(plain)
    return speaker, tuple(lines)


def _quote(text: str) -> str:
    """``text`` in double quotes on one line, shortened to keep a message readable."""
    text = " ".join(text.split())
    if len(text) > _QUOTE_CHARS:
        text = text[:_QUOTE_CHARS - 1] + "…"
    return '"' + text.replace('"', "'") + '"'
