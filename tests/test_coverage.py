"""Every word transcribed across changes of voice: measuring how much of the detected speech the
words cover, decoding again what they miss, and the caption check that finds speech without words.

These tests use a stand-in engine that behaves as the batched decoder did on a three-voice panel
(it returns the words of only the last voice of a window that spans a change of voice); the real
engine on the committed panels is in ``test_coverage_speech.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rkaudio.core.errors import TranscriptError
from rkaudio.speech.coverage import SpeechGap, covered_seconds, recover, speech_gaps, words_reach
from rkaudio.speech.words import Word
from rkaudio.transcripts.caption_check import check_cues, has_errors
from rkaudio.transcripts.model import Cue
from rkaudio.transcripts.segmentation import from_words, transcript_from_words
from rkaudio.transcripts.sidecar import Sidecar, parse_sidecar, sidecar_json

from transcript_helpers import speech as spoken

# --- measuring ------------------------------------------------------------------------------------


def _words(start: float, end: float, step: float = 0.5) -> list[Word]:
    """Words spoken back to back from ``start`` to ``end``."""
    times = np.arange(start, end - 1e-9, step)
    return [Word(float(t), float(min(t + step - 0.05, end)), f"w{k}") for k, t in enumerate(times)]


def test_words_cover_the_speech_around_them_and_gaps_are_measured_in_speech_not_time():
    speech = [(0.0, 4.0), (4.5, 10.0), (12.0, 14.0)]
    words = _words(0.0, 4.0) + _words(12.0, 14.0)
    gaps = speech_gaps(speech, words_reach(words))
    # The words reach 0.3 s past their ends: the gap is 4.5-10 s, and the pause before it is not speech.
    assert gaps == [SpeechGap(4.5, 10.0, pytest.approx(5.5))]
    assert covered_seconds(speech, words) == pytest.approx(6.0)
    assert covered_seconds(speech, []) == 0.0
    # A pause between words of under 0.6 s is part of speaking, not missing speech.
    assert speech_gaps([(0.0, 3.0)], words_reach([Word(0.0, 1.0, "a"), Word(1.5, 3.0, "b")])) == []


def test_one_gap_is_all_the_speech_between_two_words_however_many_pauses_it_holds():
    speech = [(1.0, 2.0), (2.3, 3.3), (3.5, 4.5), (9.0, 10.0)]
    gaps = speech_gaps(speech, words_reach([Word(0.0, 0.5, "a"), Word(6.0, 6.5, "b")]))
    assert gaps == [SpeechGap(1.0, 4.5, pytest.approx(3.0)), SpeechGap(9.0, 10.0, pytest.approx(1.0))]


# --- decoding again -------------------------------------------------------------------------------

#: Two voices in one window: A speaks 0.5-8.5 s, B 9.0-28.0 s (a pause of 0.5 s between them).
VOICE_A = (0.5, 8.5)
VOICE_B = (9.0, 28.0)
SPANS = [(0.5, 4.0), (4.2, 8.5), (9.0, 15.0), (15.3, 28.0)]
WINDOW = (0.1, 28.4)


class OneVoicePerWindow:
    """A stand-in for the batched decoder's failure: given a clip that holds more than one voice, it
    returns the words of the last voice only. ``sequential`` says whether the sequential decoder
    hears every voice (as faster-whisper's does) or nothing at all (speech it cannot transcribe)."""

    name = "stand-in"
    label = "stand-in"

    def __init__(self, voices: list[tuple[float, float]], *, sequential: bool = True) -> None:
        self.voices = voices
        self.sequential = sequential
        self.batched_calls: list[list[tuple[float, float]]] = []
        self.sequential_calls: list[list[tuple[float, float]]] = []

    def _heard(self, clip: tuple[float, float]) -> list[tuple[float, float]]:
        return [(max(s, clip[0]), min(e, clip[1])) for s, e in self.voices if e > clip[0] and s < clip[1]]

    def transcribe(self, audio, clips):
        self.batched_calls.append(list(clips))
        words = []
        for clip in clips:
            heard = self._heard(clip)
            if heard:
                words += _words(*heard[-1])
        return words

    def transcribe_sequential(self, audio, clips):
        self.sequential_calls.append(list(clips))
        if not self.sequential:
            return []
        return [w for clip in clips for voice in self._heard(clip) for w in _words(*voice)]


def test_a_window_that_lost_a_voice_is_split_at_the_pause_and_decoded_again():
    engine = OneVoicePerWindow([VOICE_A, VOICE_B])
    audio = np.zeros(30 * 16000, dtype=np.float32)
    words = engine.transcribe(audio, [WINDOW])
    assert covered_seconds(SPANS, words) < 0.8 * sum(e - s for s, e in SPANS)   # voice A is lost
    result, done = recover(engine, audio, [WINDOW], SPANS, words)
    assert covered_seconds(SPANS, result) == pytest.approx(sum(e - s for s, e in SPANS))
    # Only voice A's speech, cut off at the pause before voice B, was decoded again, batched.
    (again,) = engine.batched_calls[1:]
    assert len(again) == 1 and again[0][0] >= WINDOW[0] and 8.5 < again[0][1] <= 9.0
    assert (done.windows, done.batched, done.sequential) == (1, 1, 0)
    starts = [w.start for w in result]
    assert starts == sorted(starts) and len({(w.start, w.end) for w in result}) == len(result)


def test_speech_the_batched_decoder_still_misses_is_decoded_sequentially():
    # Two voices with no pause the detector found between them: splitting cannot separate them.
    engine = OneVoicePerWindow([(0.5, 8.5), (8.5, 20.0)])
    spans = [(0.5, 20.0)]
    audio = np.zeros(21 * 16000, dtype=np.float32)
    words = engine.transcribe(audio, [(0.1, 20.4)])
    result, done = recover(engine, audio, [(0.1, 20.4)], spans, words)
    assert (done.windows, done.batched, done.sequential) == (1, 0, 1)
    assert covered_seconds(spans, result) == pytest.approx(19.5)


def test_words_are_replaced_only_by_words_that_cover_more():
    """Speech no decoder can transcribe (music the detector took for speech) keeps what was heard."""
    engine = OneVoicePerWindow([VOICE_B], sequential=False)
    audio = np.zeros(30 * 16000, dtype=np.float32)
    words = engine.transcribe(audio, [WINDOW])
    result, done = recover(engine, audio, [WINDOW], SPANS, words)
    assert result == sorted(words, key=lambda w: w.start)
    assert done.windows == 1 and done.sequential == 1


def test_windows_whose_speech_is_covered_are_not_decoded_again():
    engine = OneVoicePerWindow([VOICE_A, VOICE_B])
    audio = np.zeros(30 * 16000, dtype=np.float32)
    words = _words(*VOICE_A) + _words(*VOICE_B)
    result, done = recover(engine, audio, [WINDOW], SPANS, words)
    assert result == words and done.windows == 0 and engine.batched_calls == engine.sequential_calls == []


# --- the caption check ----------------------------------------------------------------------------

SPEECH = [(0.0, 5.5), (6.4, 20.0), (20.5, 30.0)]


def _machine_cues() -> list[Cue]:
    """A transcript of SPEECH that missed the speech from 6.4 to 20 s."""
    return from_words(spoken("Social mixing is one of the most powerful ways of reducing prejudice.", 0.2)
                      + spoken("At its heart the programme aims to capture reminders of the power of "
                               "social connection, particularly across difference.", 20.6))


def test_the_check_flags_each_stretch_of_three_seconds_of_speech_without_words():
    findings = [f for f in check_cues(_machine_cues(), speech=SPEECH) if f.rule == "speech-without-words"]
    assert len(findings) == 1, findings
    (gap,) = findings
    assert gap.severity == "error" and 6.3 <= gap.start <= 6.7
    assert "00:00:20.000 has no words" in gap.message
    # The cue named is the one after the gap.
    assert _machine_cues()[gap.cue - 1].start >= 20.0
    # Without the speech regions the check cannot know, and says nothing about it.
    assert not [f for f in check_cues(_machine_cues()) if f.rule == "speech-without-words"]


def test_under_three_seconds_without_words_is_not_flagged():
    cues = from_words(spoken("One two three four five six.", 0.0) + spoken("Seven eight nine ten.", 4.0))
    speech = [(0.0, cues[0].words[-1].end), (cues[0].words[-1].end + 0.3, 6.0)]
    assert cues[-1].words[0].start - cues[0].words[-1].end < 3.0
    assert not [f for f in check_cues(cues, speech=speech) if f.rule == "speech-without-words"]


def test_a_cue_a_reviewer_wrote_over_the_missed_speech_answers_the_finding():
    cues = _machine_cues()
    written = Cue(6.5, 13.0, ("During the pandemic, mutual aid surged.",))   # no words: a reviewer's cue
    more = Cue(13.0, 19.9, ("Opportunities for mixing declined.",))
    fixed = sorted([*cues, written, more], key=lambda c: c.start)
    assert not [f for f in check_cues(fixed, speech=SPEECH) if f.rule == "speech-without-words"]
    partly = sorted([*cues, written], key=lambda c: c.start)
    (left,) = [f for f in check_cues(partly, speech=SPEECH) if f.rule == "speech-without-words"]
    assert 13.0 <= left.start < 13.5


def test_speech_with_no_cues_at_all_is_flagged():
    (finding,) = check_cues([], speech=[(1.0, 9.0)])
    assert finding.rule == "speech-without-words" and finding.cue == 0 and has_errors([finding])
    assert str(finding).startswith("00:00:01.000 cue 0: error: 8.0 s of speech")


# --- the speech regions in the words sidecar -------------------------------------------------------

def test_the_sidecar_keeps_the_speech_regions_and_rejects_bad_ones():
    sidecar = Sidecar.from_machine(transcript_from_words(spoken("Hello there.", 1.0)))
    assert parse_sidecar(sidecar_json(sidecar)).speech is None      # not recorded: unknown, not "none"
    kept = Sidecar(sidecar.cues, speech=((1.0, 2.5), (3.0, 3.25)))
    assert parse_sidecar(sidecar_json(kept)).speech == ((1.0, 2.5), (3.0, 3.25))
    assert parse_sidecar(sidecar_json(Sidecar(sidecar.cues, speech=()))).speech == ()
    data = json.loads(sidecar_json(kept))
    for bad, message in (([[1.0]], r"speech\[0\] must be \[start, end\]"),
                         ([[2.0, 1.0]], r"speech\[0\] ends before it starts"),
                         ([[1.0, "x"]], r"speech\[0\]\[1\] must be a number"),
                         ({"a": 1}, "speech must be a list")):
        data["speech"] = bad
        with pytest.raises(TranscriptError, match=message) as caught:
            parse_sidecar(json.dumps(data), "transcripts/ep.words.json")
        assert str(caught.value).startswith("transcripts/ep.words.json") and "\n" not in str(caught.value)


def _save_machine(show: Path, slug: str = "ep") -> None:
    from rkaudio.transcripts.store import save_machine_transcript

    words = [w for cue in _machine_cues() for w in cue.words]
    save_machine_transcript(show, slug, transcript_from_words(words), speech=SPEECH)


def test_transcript_check_flags_missed_speech_and_a_reviewers_edit_never_loses_it(show: Path):
    from rkaudio.transcripts.store import check_transcript, read_reviewed, recorded_speech, save_reviewed

    _save_machine(show)
    assert recorded_speech(show, "ep") == tuple(SPEECH)
    assert [f.rule for f in check_transcript(show, "ep") if f.severity == "error"] == ["speech-without-words"]
    # A reviewer corrects a word elsewhere: the regions survive the save, and the finding stays.
    state = read_reviewed(show, "ep")
    cues = list(state.transcript.cues)
    cues[0] = Cue(cues[0].start, cues[0].end, ("Social mixing is one of the most",), cues[0].speaker)
    save_reviewed(show, "ep", cues, expected=state.digest)
    assert recorded_speech(show, "ep") == tuple(SPEECH)
    assert [f.rule for f in check_transcript(show, "ep") if f.severity == "error"] == ["speech-without-words"]
    # The reviewer listens and writes the missing turn: the finding is answered, the edits kept.
    state = read_reviewed(show, "ep")
    written = [Cue(6.5, 13.0, ("During the pandemic, mutual aid surged.",)),
               Cue(13.0, 19.9, ("Opportunities for mixing declined.",))]
    save_reviewed(show, "ep", sorted([*state.transcript.cues, *written], key=lambda c: c.start), expected=state.digest)
    assert not has_errors(check_transcript(show, "ep"))
    vtt = (show / "transcripts" / "ep.vtt").read_text(encoding="utf-8")
    assert "Social mixing is one of the most\n" in vtt and "mutual aid surged." in vtt


def test_transcribing_again_replaces_the_speech_regions_and_keeps_the_reviewers_cues(show: Path):
    from rkaudio.transcripts.store import read_reviewed, recorded_speech, save_machine_transcript, save_reviewed

    _save_machine(show)
    state = read_reviewed(show, "ep")
    written = Cue(6.5, 13.0, ("During the pandemic, mutual aid surged.",))
    save_reviewed(show, "ep", sorted([*state.transcript.cues, written], key=lambda c: c.start), expected=state.digest)
    again = [w for cue in _machine_cues() for w in cue.words]
    save_machine_transcript(show, "ep", transcript_from_words(again), retranscribe=True, speech=[(0.0, 30.0)])
    assert recorded_speech(show, "ep") == ((0.0, 30.0),)
    assert "During the pandemic, mutual aid surged." in (show / "transcripts" / "ep.vtt").read_text(encoding="utf-8")


def test_rkaudio_transcript_check_reports_missed_speech_and_exits_1(show: Path):
    from conftest import run_clirunner

    _save_machine(show)
    out = run_clirunner("transcript", "check", "ep")
    assert out.code == 1, out.out
    assert "error: 13.6 s of speech from 00:00:06.400 to 00:00:20.000 has no words" in out.out
    out = run_clirunner("transcript", "check", "ep", "--json")
    data = out.json
    assert data["errors"] == 1 and data["findings"][0]["rule"] == "speech-without-words"


def test_the_review_editor_shows_missed_speech_and_clears_it_when_a_cue_covers_it(show: Path):
    from rkaudio.review.session import ReviewSession, cue_json
    from rkaudio.show.config import load_show

    _save_machine(show)
    session = ReviewSession(load_show(show), "ep")
    state = session.state()
    assert [f["rule"] for f in state["findings"] if f["severity"] == "error"] == ["speech-without-words"]
    cues = [c for c in state["cues"]]
    written = [cue_json(Cue(6.5, 13.0, ("During the pandemic, mutual aid surged.",))),
               cue_json(Cue(13.0, 19.9, ("Opportunities for mixing declined.",)))]
    edited = sorted([*cues, *written], key=lambda c: c["start"])
    assert not [f for f in session.check({"cues": edited})["findings"] if f["rule"] == "speech-without-words"]
    assert [f["rule"] for f in session.check({"cues": cues})["findings"] if f["severity"] == "error"] \
        == ["speech-without-words"]
