"""Writing cues as WebVTT, SRT, the Podcasting 2.0 JSON transcript, plain text and an HTML page.

Every writer takes the cues in time order and returns the file's text; the store decides where it
goes. Cues with no text (a reviewer emptied them) are left out of every format except the
reviewed WebVTT itself. Speakers: WebVTT names the speaker of every cue that has one in a
``<v Name>`` voice span; SRT, plain text and the HTML page name a speaker where the speaker
changes, as the Podcasting 2.0 transcript guidance asks; the JSON gives each segment's speaker.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.clock import clock, srt_timestamp, vtt_timestamp
from ..core.errors import TranscriptError
from .model import Cue

#: Start a new paragraph after a pause longer than this: a change of thought, or of topic.
PARAGRAPH_PAUSE_S = 2.0
#: Past this many characters (five or six sentences) a paragraph ends at the next full stop, so a
#: long monologue does not become one wall of text.
PARAGRAPH_CHARS = 600
PODCAST_JSON_VERSION = "1.0.0"

#: Colours of the HTML page as (text, background) pairs. Contrast ratios (WCAG 2.2): body text
#: 17.4:1 and timestamps 7.5:1 on white; 15.3:1 and 8.3:1 in dark mode. All pass AAA (7:1).
LIGHT_TEXT = ("#1a1a1a", "#ffffff")
LIGHT_MUTED = ("#555555", "#ffffff")
DARK_TEXT = ("#ececec", "#161616")
DARK_MUTED = ("#b0b0b0", "#161616")

_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_SENTENCE_END = (".", "?", "!", "…")


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[Cue], *, keep_empty: bool = False) -> str:
    """WebVTT with a ``<v Name>`` voice span on each cue whose speaker is known.

    ``keep_empty`` keeps cues without text, for the reviewed file itself (an emptied cue is how a
    reviewer removes words, and it must stay there to be remembered).
    """
    blocks = ["WEBVTT\n"]
    for cue in cues:
        if not cue.lines and not keep_empty:
            continue
        timing = f"{vtt_timestamp(cue.start)} --> {vtt_timestamp(cue.end)}"
        if cue.settings:
            timing += f" {cue.settings}"
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.speaker and lines:
            lines[0] = f"<v {_vtt_escape(cue.speaker)}>{lines[0]}"
        head = [cue.identifier] if cue.identifier else []
        blocks.append("\n".join([*head, timing, *lines]) + "\n")
    return "\n".join(blocks)


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip: numbered cues; a new speaker's name opens their first cue ("Ann: ...")."""
    blocks: list[str] = []
    speaker = None
    for cue in (c for c in cues if c.lines):
        lines = list(cue.lines)
        if cue.speaker and cue.speaker != speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
            speaker = cue.speaker
        blocks.append("\n".join([str(len(blocks) + 1),
                                 f"{srt_timestamp(cue.start)} --> {srt_timestamp(cue.end)}", *lines]) + "\n")
    return "\n".join(blocks)


def to_podcast_json(cues: Sequence[Cue]) -> str:
    """The Podcasting 2.0 JSON transcript: one segment a cue, times in seconds."""
    segments = []
    for cue in (c for c in cues if c.lines):
        segment: dict[str, object] = {}
        if cue.speaker:
            segment["speaker"] = cue.speaker
        segment.update(startTime=round(cue.start, 3), endTime=round(cue.end, 3), body=cue.text)
        segments.append(segment)
    return json.dumps({"version": PODCAST_JSON_VERSION, "segments": segments}, ensure_ascii=False, indent=2) + "\n"


def from_podcast_json(text: str, where: str) -> list[Cue]:
    """Cues from a Podcasting 2.0 JSON transcript (what `to_podcast_json` writes): one a segment.

    Reading the published JSON rather than parsing WebVTT again is several times faster, which
    matters where every episode of a show is read at once (the site). TranscriptError naming
    ``where`` when the text is not such a transcript.
    """
    try:
        segments = json.loads(text)["segments"]
        return [Cue(float(seg["startTime"]), float(seg["endTime"]), (str(seg["body"]),), seg.get("speaker") or None)
                for seg in segments]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TranscriptError(f"not a Podcasting 2.0 JSON transcript ({type(exc).__name__}: {exc})", where) from None


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the reading transcript: consecutive cues of one speaker without a long pause."""

    start: float
    speaker: str | None
    text: str
    #: The speaker differs from the last one named before (so plain text names them again).
    new_speaker: bool
    #: The cues it is made of, for pages that follow the audio cue by cue.
    cues: tuple[Cue, ...] = ()


def paragraphs(cues: Sequence[Cue]) -> list[Paragraph]:
    """Group cues into paragraphs: a new one at a change of speaker or a pause over 2 s.

    A cue without a speaker continues the paragraph it follows. Pauses are measured from the end
    of the last word spoken where word timings are known, else from the end of the cue.
    """
    result: list[Paragraph] = []
    texts: list[str] = []
    members: list[Cue] = []
    start = 0.0
    speaker: str | None = None
    last_named: str | None = None
    spoken_end = 0.0

    def close() -> None:
        nonlocal last_named
        if texts:
            result.append(Paragraph(start, speaker, " ".join(texts),
                                    speaker is not None and speaker != last_named, tuple(members)))
            if speaker is not None:
                last_named = speaker
            texts.clear()
            members.clear()

    for cue in (c for c in cues if c.lines):
        length = sum(len(t) + 1 for t in texts)
        changed = cue.speaker is not None and speaker is not None and cue.speaker != speaker
        paused = cue.start - spoken_end > PARAGRAPH_PAUSE_S
        too_long = length >= PARAGRAPH_CHARS and texts[-1].endswith(_SENTENCE_END)
        if texts and (changed or paused or too_long):
            close()
        if not texts:
            start, speaker = cue.start, cue.speaker
        elif speaker is None:
            speaker = cue.speaker
        texts.append(cue.text)
        members.append(cue)
        spoken_end = max(w.end for w in cue.words) if cue.words else cue.end
    close()
    return result


def to_text(cues: Sequence[Cue]) -> str:
    """Plain text in paragraphs, a blank line between them; a speaker is named where they start."""
    out = []
    for para in paragraphs(cues):
        out.append(f"{para.speaker}: {para.text}" if para.new_speaker else para.text)
    return "\n\n".join(out) + "\n" if out else ""


def _css() -> str:
    (text, background), (muted, _) = LIGHT_TEXT, LIGHT_MUTED
    (dark_text, dark_background), (dark_muted, _) = DARK_TEXT, DARK_MUTED
    return f"""\
:root {{ color-scheme: light dark; }}
body {{ margin: 0; color: {text}; background: {background};
  font: 1.125rem/1.65 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }}
h1 {{ font-size: 1.75rem; line-height: 1.25; margin: 0 0 1.5rem; }}
.meta {{ margin: 1.75rem 0 0.25rem; }}
.meta + p {{ margin-top: 0; }}
cite {{ font-style: normal; font-weight: 700; margin-right: 0.5em; }}
time {{ color: {muted}; font-variant-numeric: tabular-nums; }}
@media (prefers-color-scheme: dark) {{
  body {{ color: {dark_text}; background: {dark_background}; }}
  time {{ color: {dark_muted}; }}
}}"""


def to_html(cues: Sequence[Cue], *, title: str, language: str = "en") -> str:
    """An accessible transcript page: one ``h1``, a ``main`` of paragraphs, each with its time.

    Speakers are ``<cite>`` and times ``<time>`` before each paragraph, as in the Podcasting 2.0
    HTML transcript. Everything from the transcript is HTML-escaped; the page needs no script.
    """
    esc = html.escape
    lang = language if _LANGUAGE.fullmatch(language or "") else "und"
    title = " ".join(title.split()) or "Transcript"
    body = []
    for para in paragraphs(cues):
        cite = f"<cite>{esc(para.speaker)}</cite> " if para.speaker else ""
        body.append(f'<p class="meta">{cite}<time datetime="PT{int(para.start)}S">{clock(para.start)}</time></p>\n'
                    f"<p>{esc(para.text)}</p>")
    if not body:
        body.append("<p>No speech was transcribed in this recording.</p>")
    content = "\n".join(body)
    return f"""<!doctype html>
<html lang="{esc(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}: transcript</title>
<style>
{_css()}
</style>
</head>
<body>
<main>
<h1>{esc(title)}</h1>
{content}
</main>
</body>
</html>
"""
