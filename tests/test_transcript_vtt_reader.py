"""Reading hand-edited WebVTT: what is accepted, and malformed files named by line."""

from __future__ import annotations

import pytest
import webvtt

from rkaudio.core.errors import TranscriptError
from rkaudio.transcripts.formats import to_vtt
from rkaudio.transcripts.model import Cue
from rkaudio.transcripts.vtt_reader import parse_vtt, read_vtt

FULL = """\ufeffWEBVTT - Radical Kindness, episode 1
Kind: captions

NOTE Reviewed by Sam on Monday.
Check the spelling of Okafor.

STYLE
::cue { color: yellow; }

intro-1
00:00.000 --> 00:02.500 align:start line:90%
<v.host Ann Lee>Welcome &amp; hello,
<i>everyone</i>.</v>

01:00:03.250 --> 01:00:05.000
Text with no speaker &lt;3

NOTE a comment between cues
"""


def test_reads_headers_notes_styles_identifiers_settings_voices_and_references():
    cues = parse_vtt(FULL.replace("\n", "\r\n"))
    assert cues == [
        Cue(0.0, 2.5, ("Welcome & hello,", "everyone."), "Ann Lee", identifier="intro-1",
            settings="align:start line:90%"),
        Cue(3603.25, 3605.0, ("Text with no speaker <3",)),
    ]
    assert [c.line for c in cues] == [11, 15]


def test_what_rkaudio_writes_reads_back_the_same():
    cues = [Cue(0.0, 1.5, ("A & B <tags>",), "Ann > Bob"), Cue(1.5, 3.0, ("two", "lines")),
            Cue(3.0, 4.0, (), None, identifier="gone")]
    assert parse_vtt(to_vtt(cues, keep_empty=True)) == cues
    assert parse_vtt(to_vtt(cues)) == cues[:2]


def test_overlapping_cues_are_valid_webvtt_and_read():
    text = "WEBVTT\n\n00:01.000 --> 00:04.000\none\n\n00:02.000 --> 00:05.000\ntwo\n"
    assert [c.text for c in parse_vtt(text)] == ["one", "two"]
    assert len(webvtt.from_string(text).captions) == 2


MALFORMED = [
    # (file, line, words the message must contain)
    ("WEBVTX\n\n00:01.000 --> 00:02.000\nhi\n", 1, 'the first line must be "WEBVTT"'),
    ("WEBVTT\n\n00:00.000 --> 00:01.000\nfine\n\n00:01.000 -> 00:02.000\nbroken\n", 6,
     'cue timing "00:01.000 -> 00:02.000" is not valid (expected "start --> end")'),
    ("WEBVTT\n\nid-7\n00:01.000 - 00:02.000\nbroken\n", 4, 'cue timing "00:01.000 - 00:02.000" is not valid'),
    ("WEBVTT\n\n00:00:01,000 --> 00:00:02.000\ncomma\n", 3, "use a full stop before the milliseconds"),
    ("WEBVTT\n\n00:61.000 --> 01:02.000\nminutes\n", 3, 'start time "00:61.000" is not a valid timestamp'),
    ("WEBVTT\n\n00:01.000 --> 00:02.00\nshort ms\n", 3, 'end time "00:02.00" is not a valid timestamp'),
    ("WEBVTT\n\n00:05.000 --> 00:02.000\nbackwards\n", 3, "cue ends at 00:00:02.000, before it starts"),
    ("WEBVTT\n\n00:05.000 --> 00:05.000\nzero\n", 3, "ends at the moment it starts"),
    ("WEBVTT\n\n00:05.000 --> 00:06.000\nlater\n\n00:01.000 --> 00:02.000\nearlier\n", 6,
     "before the cue above it (00:00:05.000); cues must be in time order"),
    ("WEBVTT\n\n00:01.000 --> 00:02.000 Hello there\n", 3, 'unexpected "Hello" after the end time'),
    ("WEBVTT\n\n00:01.000 --> 00:02.000\nfirst half\n\nsecond half\n", 6,
     'text "second half" belongs to no cue'),
    ("WEBVTT\n\n00:01.000 --> 00:02.000\none\n00:02.000 --> 00:03.000\ntwo\n", 5, "put a blank line before it"),
    ("WEBVTT\n00:01.000 --> 00:02.000\nno blank after header\n", 2, "a blank line must separate"),
]


@pytest.mark.parametrize(("text", "line", "words"), MALFORMED)
def test_a_malformed_file_is_named_with_its_line(text, line, words):
    with pytest.raises(TranscriptError) as caught:
        parse_vtt(text, "transcripts/ep1.vtt")
    message = str(caught.value)
    assert caught.value.line == line
    assert message.startswith(f"transcripts/ep1.vtt: line {line}: "), message
    assert words in message
    assert "\n" not in message


def test_the_example_message_reads_as_promised(tmp_path):
    path = tmp_path / "ep1.vtt"
    lines = ["WEBVTT", ""] + [f"00:0{n}.000 --> 00:0{n}.900\ncue {n}\n" for n in range(4)]
    path.write_text("\n".join(lines) + "\n00:01.000 -> 00:02.000\nbroken\n", encoding="utf-8")
    bad_line = path.read_text(encoding="utf-8").splitlines().index("00:01.000 -> 00:02.000") + 1
    with pytest.raises(TranscriptError) as caught:
        read_vtt(path, "transcripts/ep1.vtt")
    assert str(caught.value) == (f'transcripts/ep1.vtt: line {bad_line}: cue timing "00:01.000 -> 00:02.000" '
                                 'is not valid (expected "start --> end")')


def test_a_file_that_is_not_utf8_is_named_with_the_line(tmp_path):
    path = tmp_path / "ep1.vtt"
    path.write_bytes(b"WEBVTT\n\n00:01.000 --> 00:02.000\nna\xefve\n")
    with pytest.raises(TranscriptError, match="line 4: is not UTF-8"):
        read_vtt(path)
