"""The caption-rule checker behind ``rkaudio transcript check``."""

from __future__ import annotations

from rkaudio.show.settings import CaptionRules
from rkaudio.transcripts.caption_check import Finding, check_cues, has_errors
from rkaudio.transcripts.model import Cue
from rkaudio.transcripts.segmentation import from_words

from transcript_helpers import SAMPLE, speech


def test_each_rule_is_reported_with_its_cue_time_and_severity():
    cues = [
        Cue(0.0, 2.0, ("fine",)),
        Cue(1.5, 3.0, ("overlaps the cue above",)),
        Cue(3.0, 3.5, ("short",)),
        Cue(3.9, 11.0, ("on screen too long",)),
        Cue(11.0, 14.0, ("x" * 43,)),
        Cue(14.0, 16.0, ("one", "two", "three")),
        Cue(16.0, 18.0, ("we went down to the", "shops")),
        Cue(18.0, 19.0, ("This line is much too fast to read",)),
        Cue(17.0, 20.0, ("out of order",)),
        Cue(21.0, 22.0, ()),
    ]
    found = {(f.severity, f.rule, f.cue, f.start) for f in check_cues(cues)}
    assert found == {
        ("error", "overlap", 2, 1.5),
        ("warning", "min-duration", 3, 3.0),
        ("error", "max-duration", 4, 3.9),
        ("error", "line-length", 5, 11.0),
        ("error", "line-count", 6, 14.0),
        ("warning", "line-break", 7, 16.0),
        ("warning", "reading-speed", 8, 18.0),
        ("error", "order", 9, 17.0),
        ("warning", "empty", 10, 21.0),
    }


def test_messages_are_one_line_with_the_cue_time_and_the_file_line():
    finding = Finding("error", 14, 62.5, "line-length", "line 2 has 45 characters (at most 42)", line=57)
    assert str(finding) == "00:01:02.500 cue 14 (line 57): error: line 2 has 45 characters (at most 42)"


def test_milliseconds_of_rounding_are_not_findings():
    cues = [Cue(0.0, 0.9995, ("Hello there.",)), Cue(0.9995, 7.9995, ("Seven seconds, to the millisecond.",))]
    assert check_cues(cues) == []


def test_what_rkaudio_writes_has_no_errors_and_the_rules_can_change():
    cues = from_words(speech(SAMPLE * 4))
    assert not has_errors(check_cues(cues))
    narrow = check_cues(cues, CaptionRules(max_chars=20))
    assert has_errors(narrow) and {f.rule for f in narrow if f.severity == "error"} == {"line-length"}
