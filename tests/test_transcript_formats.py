"""The transcript formats, each read back with an independent parser."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
import webvtt

from rkaudio.core.clock import clock, srt_timestamp, vtt_timestamp
from rkaudio.speech.words import SpeakerTurn, Word
from rkaudio.transcripts.formats import (
    DARK_MUTED,
    DARK_TEXT,
    LIGHT_MUTED,
    LIGHT_TEXT,
    paragraphs,
    to_html,
    to_podcast_json,
    to_srt,
    to_text,
    to_vtt,
)
from rkaudio.transcripts.model import Cue
from rkaudio.transcripts.segmentation import from_words

from transcript_helpers import SAMPLE, speech

SCRIPT = "<script>alert(1)</script>"


def _interview() -> list[Cue]:
    words = speech("Hello and welcome to the show.", speaker=None)
    words += speech(f"Thanks for having me. I wrote {SCRIPT} on the board & left.", 2.5)
    words += speech("What happened next?", 12.0)
    turns = [SpeakerTurn(0.0, 2.4, "Ann"), SpeakerTurn(2.4, 11.0, "Bob & Co"), SpeakerTurn(11.0, 20.0, "Ann")]
    return from_words(words, turns)


def test_timestamps():
    assert vtt_timestamp(3723.4567) == "01:02:03.457"
    assert srt_timestamp(59.9996) == "00:01:00,000"
    assert vtt_timestamp(-1.0) == "00:00:00.000"
    assert (clock(65.9), clock(3723.0)) == ("1:05", "1:02:03")


def test_vtt_names_speakers_in_voice_spans_that_webvtt_py_reads(tmp_path):
    path = tmp_path / "ep.vtt"
    cues = _interview()
    path.write_text(to_vtt(cues), encoding="utf-8")
    captions = webvtt.read(str(path)).captions
    # webvtt-py leaves character references as written.
    assert [html.unescape(c.voice) for c in captions] == [c.speaker for c in cues]
    assert {c.speaker for c in cues} == {"Ann", "Bob & Co"}
    assert "&lt;script&gt;" in path.read_text(encoding="utf-8")
    assert [c.start_time.in_milliseconds() for c in captions] == [round(c.start * 1000) for c in cues]


_SRT_BLOCK = re.compile(r"(\d+)\n(\d{2}:\d{2}:\d{2},\d{3}) --> (\d{2}:\d{2}:\d{2},\d{3})\n((?:[^\n]+\n)+)")


def test_srt_is_well_formed_numbered_and_names_each_new_speaker(tmp_path):
    cues = _interview()
    text = to_srt(cues)
    blocks = text.split("\n\n")
    parsed = [_SRT_BLOCK.fullmatch(b if b.endswith("\n") else b + "\n") for b in blocks]
    assert all(parsed), blocks
    assert [int(m.group(1)) for m in parsed] == list(range(1, len(cues) + 1))
    assert [m.group(2) for m in parsed] == [srt_timestamp(c.start) for c in cues]
    path = tmp_path / "ep.srt"
    path.write_text(text, encoding="utf-8")
    captions = webvtt.from_srt(str(path)).captions
    assert [c.end_time.in_milliseconds() for c in captions] == [round(c.end * 1000) for c in cues]
    named = [c.text.split(":")[0] for c in captions if re.match(r"^(Ann|Bob & Co): ", c.text)]
    changes = [c.speaker for i, c in enumerate(cues) if i == 0 or c.speaker != cues[i - 1].speaker]
    assert named == changes == ["Ann", "Bob & Co", "Ann"]


def test_podcast_json_has_the_podcasting_2_0_shape():
    cues = _interview() + [Cue(30.0, 31.0, ("Nobody named.",)), Cue(31.0, 32.0, ())]
    data = json.loads(to_podcast_json(cues))
    assert set(data) == {"version", "segments"} and data["version"] == "1.0.0"
    segments = data["segments"]
    assert len(segments) == len(cues) - 1  # the cue without text is left out
    for segment, cue in zip(segments, cues):
        assert set(segment) == ({"speaker", "startTime", "endTime", "body"} if cue.speaker
                                else {"startTime", "endTime", "body"})
        assert isinstance(segment["startTime"], float) and isinstance(segment["endTime"], float)
        assert segment["startTime"] < segment["endTime"]
        assert segment["body"] == " ".join(cue.lines)
    assert any(SCRIPT in s["body"] for s in segments)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: dict[str, list[dict[str, str | None]]] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.setdefault(tag, []).append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def test_html_page_is_accessible_and_escapes_everything():
    page = to_html(_interview(), title="Episode <1> & more", language="en-gb")
    assert page.startswith("<!doctype html>")
    assert SCRIPT not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = _Page()
    parsed.feed(page)
    assert parsed.attrs["html"] == [{"lang": "en-gb"}]
    assert parsed.tags.count("title") == 1 and parsed.tags.count("h1") == 1 and parsed.tags.count("main") == 1
    assert "script" not in parsed.tags
    assert SCRIPT in "".join(parsed.text)  # the reader sees the text as spoken
    assert "Episode <1> & more" in "".join(parsed.text)
    times = [a["datetime"] for a in parsed.attrs["time"]]
    assert times[0] == "PT0S" and all(re.fullmatch(r"PT\d+S", t) for t in times)
    assert [c for c in "".join(parsed.text).split() if c in ("Ann", "Co")] == ["Ann", "Co", "Ann"]


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("pair", [LIGHT_TEXT, LIGHT_MUTED, DARK_TEXT, DARK_MUTED])
def test_html_colours_have_enough_contrast(pair):
    page = to_html([], title="t")
    assert all(colour in page for colour in pair)
    light, dark = sorted((_luminance(c) for c in pair), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 7.0  # WCAG 2.2 AAA for body text


def test_html_for_a_bad_language_tag_falls_back_to_undetermined():
    assert '<html lang="und">' in to_html([], title="t", language='en" onload="x')


def test_plain_text_paragraphs_break_at_speaker_changes_and_long_pauses():
    words = speech("First thought here.", speaker="Ann") + speech("Still the same thought.", 2.6, speaker="Ann")
    words += speech("A new thought after a long pause.", 9.0, speaker="Ann")
    words += speech("And a reply.", 12.5, speaker="Bob")
    words += speech("Back to me.", 15.0, speaker="Ann")
    text = to_text(from_words(words))
    assert text.split("\n\n") == [
        "Ann: First thought here. Still the same thought.",
        "A new thought after a long pause.",
        "Bob: And a reply.",
        "Ann: Back to me.\n",
    ]


def test_a_long_monologue_is_split_into_paragraphs_at_sentence_ends():
    cues = from_words(speech(SAMPLE * 12, sentence_pause_s=0.3))
    found = paragraphs(cues)
    assert len(found) > 1
    assert all(p.text.endswith(".") for p in found)
    assert " ".join(p.text for p in found) == " ".join(c.text for c in cues)


def test_no_speech_gives_valid_empty_files():
    assert to_vtt([]) == "WEBVTT\n"
    assert webvtt.from_string(to_vtt([])).captions == []
    assert json.loads(to_podcast_json([])) == {"version": "1.0.0", "segments": []}
    assert to_srt([]) == "" and to_text([]) == ""
    page = _Page()
    page.feed(to_html([], title="Silence"))
    assert page.tags.count("h1") == 1 and "main" in page.tags


def test_cue_settings_and_identifiers_survive_in_vtt():
    cue = Cue(1.0, 2.0, ("hi",), identifier="c1", settings="align:start")
    assert "c1\n00:00:01.000 --> 00:00:02.000 align:start\nhi\n" in to_vtt([cue])
    assert webvtt.from_string(to_vtt([cue])).captions[0].identifier == "c1"


def test_words_without_text_never_reach_a_format():
    cues = from_words([Word(0.0, 0.5, " "), Word(1.0, 1.5, "Hi.")])
    assert to_text(cues) == "Hi.\n"
