"""A reviewer's text lined up with the machine's timed words: what keeps its time, what gets one."""

from __future__ import annotations

import pytest

from rkaudio.speech.words import Word
from rkaudio.transcripts.alignment import align_words

from transcript_helpers import speech

HEARD = "we met the young people of the town on Tuesday"


def _times(words):
    return [(w.start, w.end) for w in words]


def _machine():
    return speech(HEARD, start=2.0, probability=0.4)


def _ordered_inside(words, start, end):
    assert all(start <= w.start <= w.end <= end for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))


def test_unchanged_text_keeps_every_time_and_probability():
    machine = _machine()
    aligned = align_words(HEARD, machine, 2.0, 10.0)
    assert aligned == tuple(machine)


def test_a_word_corrected_mid_cue_takes_the_misheard_words_time_and_nothing_else_moves():
    machine = _machine()
    aligned = align_words(HEARD.replace("town", "city"), machine, 2.0, 10.0)
    assert [w.text for w in aligned] == HEARD.replace("town", "city").split()
    assert _times(aligned) == _times(machine)
    changed = [i for i, (a, m) in enumerate(zip(aligned, machine)) if a.text != m.text]
    assert changed == [7]
    assert aligned[7].probability is None
    assert all(a.probability == 0.4 for i, a in enumerate(aligned) if i != 7)


def test_punctuation_and_case_added_by_a_reviewer_keep_the_timing():
    machine = _machine()
    aligned = align_words("We met the young people of the town, on Tuesday.", machine, 2.0, 10.0)
    assert _times(aligned) == _times(machine)
    assert aligned[0].text == "We" and aligned[-1].text == "Tuesday."


def test_inserted_words_are_timed_between_their_neighbours():
    machine = _machine()
    aligned = align_words("we met the young people of the old town on Tuesday", machine, 2.0, 10.0)
    assert len(aligned) == len(machine) + 1
    old = aligned[7]
    assert old.text == "old" and old.probability is None
    assert machine[6].end <= old.start <= old.end <= machine[7].start
    assert _times(aligned[:7]) == _times(machine[:7]) and _times(aligned[8:]) == _times(machine[7:])


def test_one_word_heard_as_two_shares_its_time_in_proportion_to_length():
    machine = _machine()
    aligned = align_words(HEARD.replace("Tuesday", "Tues day"), machine, 2.0, 10.0)
    tues, day = aligned[-2:]
    assert (tues.start, day.end) == (machine[-1].start, machine[-1].end)
    assert tues.end == pytest.approx(day.start, abs=0.001)
    assert tues.end - tues.start > day.end - day.start


def test_deleted_words_drop_out_and_the_rest_keep_their_times():
    machine = _machine()
    aligned = align_words("we met the young people on Tuesday", machine, 2.0, 10.0)
    kept = [m for m in machine if m.text not in ("of", "the", "town") or m is machine[2]]
    assert _times(aligned) == _times(kept)


@pytest.mark.parametrize("words", [(), (Word(20.0, 20.5, "elsewhere", 0.9),)])
def test_text_with_no_machine_words_spreads_over_the_cue(words):
    aligned = align_words("music plays softly", words, 4.0, 7.0)
    assert [w.text for w in aligned] == ["music", "plays", "softly"]
    assert aligned[0].start == 4.0 and aligned[-1].end == 7.0
    _ordered_inside(aligned, 4.0, 7.0)


def test_words_beyond_a_cue_trimmed_by_the_reviewer_stay_inside_it():
    machine = _machine()
    aligned = align_words(HEARD, machine, 3.0, 5.0)
    _ordered_inside(aligned, 3.0, 5.0)
    assert len(aligned) == len(machine)


def test_the_speaker_of_the_cue_is_given_to_each_word():
    aligned = align_words("hello there", _machine(), 2.0, 10.0, speaker="Asha")
    assert {w.speaker for w in aligned} == {"Asha"}


def test_blank_text_has_no_words():
    assert align_words("  ", _machine(), 2.0, 10.0) == ()
