"""Cutting timed words into cues: the caption rules on synthetic word lists."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from rkaudio.core.errors import ConfigError, TranscriptError
from rkaudio.show.settings import CaptionRules
from rkaudio.speech.words import SpeakerTurn, Word
from rkaudio.transcripts.caption_check import check_cues
from rkaudio.transcripts.formats import to_vtt
from rkaudio.transcripts.segmentation import from_words, transcript_from_words

from transcript_helpers import NO_LINE_END, SAMPLE, assert_caption_rules, caption_text, speech


def _vocabulary_run(count: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    vocabulary = ("the a of to in community people kindness bridge neighbour research project youth "
                  "worker town north difference contact groups conversation together listen build "
                  "trust everyone local volunteers").split()
    return " ".join(rng.choice(vocabulary) for _ in range(count))


def _messy() -> list[Word]:
    """Engine-like trouble: overlapping words, zero-length words, padding spaces, empty words."""
    words = speech(SAMPLE)
    out = []
    for i, w in enumerate(words):
        end = w.end + 0.3 if i % 3 == 0 else (w.start if i % 5 == 0 else w.end)
        out.append(Word(w.start, end, f" {w.text} ", w.probability))
        if i % 7 == 0:
            out.append(Word(w.end, w.end, "  ", 0.1))
    return out


def _alternating_speakers() -> list[Word]:
    words, t = [], 0.0
    for n, sentence in enumerate(SAMPLE.split(". ")):
        part = speech(sentence.rstrip(".") + ".", t, speaker="Ann" if n % 2 == 0 else "Bob Okafor")
        words += part
        t = part[-1].end + 0.2
    return words


SCENARIOS = {
    "sample": lambda: speech(SAMPLE),
    "long run without punctuation": lambda: speech(_vocabulary_run(3000)),
    "very fast speech": lambda: speech(SAMPLE * 3, char_s=0.01, gap_s=0.0, sentence_pause_s=0.0),
    "very slow speech": lambda: speech(SAMPLE, char_s=0.3, gap_s=0.5),
    "long pauses": lambda: [dataclasses.replace(w, start=w.start + 3.0 * (i // 3), end=w.end + 3.0 * (i // 3))
                            for i, w in enumerate(speech(SAMPLE))],
    "single short word": lambda: [Word(5.0, 5.2, "Yes.", 0.8)],
    "articles everywhere": lambda: speech("the cat of the house of the man in the hat on the mat with "
                                          "the bat of a friend of mine in this town of ours " * 8),
    "speaker turns": _alternating_speakers,
    "messy engine timings": _messy,
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_written_cues_follow_the_caption_rules_when_read_by_webvtt_py(name, tmp_path):
    words = SCENARIOS[name]()
    cues = from_words(words)
    path = tmp_path / "captions.vtt"
    path.write_text(to_vtt(cues), encoding="utf-8")
    captions = assert_caption_rules(path)
    # Every word is there, once, in order.
    assert caption_text(captions) == " ".join(" ".join(w.text.split()) for w in words if w.text.strip())
    assert not [f for f in check_cues(cues) if f.severity == "error"], name


def test_no_line_ends_on_an_article_even_where_the_width_invites_it():
    # "the" falls exactly where a 42-character line would end if lines were filled greedily.
    text = "We spent a week of evenings talking to the people who run community cafes."
    prefix = "We spent a week of evenings talking to the"
    assert len(prefix) <= 42 < len(prefix + " people")
    cues = from_words(speech(text))
    lines = [line for cue in cues for line in cue.lines]
    assert all(line.split()[-1].lower() not in NO_LINE_END for line in lines), lines
    assert " ".join(lines) == text


def test_a_line_breaks_after_punctuation_when_there_is_some():
    text = "When we first started out, nobody believed neighbours would come."
    (cue,) = from_words(speech(text))
    assert cue.lines == ("When we first started out,", "nobody believed neighbours would come.")


def test_the_two_lines_of_a_cue_are_balanced():
    text = "community volunteers build trust together across every local neighbourhood group"
    (cue,) = from_words(speech(text))
    assert len(cue.lines) == 2
    first, second = (len(line) for line in cue.lines)
    assert abs(first - second) <= 10, cue.lines


def test_sentences_become_cues_where_they_fit():
    first = "Kindness is not a soft option for the towns we visited."
    second = "It takes planning, money and people who stay for years."
    cues = from_words(speech(f"{first} {second}"))
    assert [c.text for c in cues] == [first, second]


def test_a_long_pause_ends_a_cue_and_no_cue_spans_it():
    words = speech("We waited for the results.") + speech("Then the phone rang.", 30.0)
    cues = from_words(words)
    assert [c.text for c in cues] == ["We waited for the results.", "Then the phone rang."]
    assert cues[0].end <= 30.0 and cues[1].start == 30.0


def test_a_single_short_word_is_shown_for_a_second():
    (cue,) = from_words([Word(5.0, 5.2, "Yes.")])
    assert (cue.start, cue.end, cue.lines) == (5.0, 6.0, ("Yes.",))


def test_a_short_word_is_not_stretched_over_the_next_cue():
    words = [Word(5.0, 5.2, "Yes.", speaker="Ann")] + speech("Right, so where do we start?", 5.5, speaker="Bob")
    first, second = from_words(words)
    assert first.text == "Yes." and first.end == 5.5 == second.start


def test_no_cue_lasts_more_than_seven_seconds_even_for_one_long_word():
    cues = from_words([Word(0.0, 12.0, "Hmmmmmm."), *speech("Anyway, on we go.", 12.5)])
    assert cues[0].end - cues[0].start == pytest.approx(7.0)
    slow = from_words(speech(SAMPLE, char_s=0.5, gap_s=0.6))
    assert max(c.end - c.start for c in slow) <= 7.0 + 1e-9


def test_very_fast_speech_is_flagged_not_mangled():
    words = speech(SAMPLE, char_s=0.005, gap_s=0.0, sentence_pause_s=0.0)
    cues = from_words(words)
    findings = check_cues(cues)
    assert {f.rule for f in findings if f.severity == "warning"} >= {"reading-speed"}
    assert not [f for f in findings if f.severity == "error"]
    assert all(len(line) <= 42 for c in cues for line in c.lines)


def test_a_slow_cue_that_is_hard_to_read_stays_on_screen_longer_when_there_is_room():
    # 80 characters spoken in 2 s (40 characters a second), then 10 s of silence.
    words = speech("Partnership working across sectors requires sustained investment everywhere.",
                   char_s=0.02, gap_s=0.0)
    (cue,) = from_words(words)
    assert len(cue.text) / (cue.end - cue.start) <= 20.0 + 1e-6


def test_speakers_come_from_turns_and_a_cue_never_mixes_them():
    words = speech("Hello and welcome. Thank you for having me on the show.")
    turns = [SpeakerTurn(0.0, 1.4, "Ann"), SpeakerTurn(1.4, 60.0, "Bob")]
    cues = from_words(words, turns)
    assert [c.speaker for c in cues] == ["Ann", "Bob"]
    assert cues[0].text == "Hello and welcome."
    assert all(w.speaker == c.speaker for c in cues for w in c.words)


def test_a_new_speaker_leaves_room_for_their_name_in_srt():
    words = speech("Thank you all for coming along tonight to the community centre.", speaker="Chidi")
    (first, *_) = from_words(words)
    assert len("Chidi: " + first.lines[0]) <= 42


def test_rules_can_be_changed_and_are_validated():
    cues = from_words(speech(SAMPLE), rules=CaptionRules(max_chars=32))
    assert max(len(line) for c in cues for line in c.lines) <= 32
    with pytest.raises(ConfigError, match="max_lines"):
        from_words(speech(SAMPLE), rules=CaptionRules(max_lines=0))


def test_words_are_cleaned_and_cues_never_go_backwards():
    words = [Word(2.0, 2.4, "second"), Word(1.0, 1.5, " first "), Word(2.0, 2.0, "third"), Word(3.0, 3.1, "")]
    cues = from_words(words)
    assert " ".join(c.text for c in cues) == "first second third"
    starts = [w.start for c in cues for w in c.words]
    assert starts == sorted(set(starts))


def test_a_time_that_is_not_a_number_is_an_error():
    with pytest.raises(TranscriptError, match="word 2"):
        from_words([Word(0.0, 0.5, "fine"), Word(math.nan, 1.0, "broken")])


def test_no_words_make_an_empty_transcript():
    assert from_words([]) == []
    transcript = transcript_from_words([Word(0.0, 1.0, "   ")], language="cy")
    assert transcript.is_empty and transcript.cues == () and transcript.language == "cy"


def test_words_keep_their_timings_and_probabilities():
    words = speech("Probabilities matter to reviewers.", probability=0.42)
    transcript = transcript_from_words(words)
    assert [(w.start, w.end, w.probability) for w in transcript.words] == [(w.start, w.end, 0.42) for w in words]
