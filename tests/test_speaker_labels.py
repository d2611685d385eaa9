"""Speaker labels through the transcript step: into every format, kept across a new transcript
with the names a reviewer gave, and what happens without the diarizer.

The quick tests replace the engine and the diarizer with stand-ins that hear fixed words and
voices; the slow ones run both for real on a two-person conversation of synthetic voices. The
files are read with webvtt-py, the SRT, text and HTML as text, the JSON as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
import webvtt

from rkaudio.core.errors import ConfigError
from rkaudio.pipeline import transcribe as step
from rkaudio.pipeline.transcribe import transcribe_episode
from rkaudio.show.config import load_show
from rkaudio.speech import speakers
from rkaudio.speech.engines import check_engine
from rkaudio.speech.speakers import Diarization
from rkaudio.speech.words import SpeakerTurn, Voice

import media_helpers as mh
from conftest import assert_one_line_error, run_subprocess, speakers_on
from diarization_helpers import CONVERSATIONS, reference_turns, score, truth
from show_helpers import NO_STINGS, write_metadata
from transcript_helpers import speech

SLUG = "talk"
#: Two people taking turns: what the stand-in engine hears, sentence by sentence.
TURNS = [("Welcome to the show. We talk about kindness today.", "a"),
         ("Thank you for having me. It is good to be here.", "b"),
         ("Tell us about the project you run.", "a"),
         ("We bring neighbours together every week.", "b")]


class _Hears:
    """An engine that 'hears' the turns' words one after another (no model needed)."""

    name = "stand-in"
    label = "stand-in engine"
    #: Where the words begin in the recording (the stand-in diarizer times the turns from it).
    started = 0.0

    def __init__(self) -> None:
        self.heard = False

    def transcribe(self, audio, clips):
        """All the words, once, from the start of the first speech it is given."""
        if not clips or self.heard:
            return []
        self.heard = True
        _Hears.started = clips[0][0]
        return speech(" ".join(text for text, _ in TURNS), clips[0][0])

    def transcribe_sequential(self, audio, clips):
        return []


def _turn_spans(offset: float = 0.0) -> list[tuple[float, float, str]]:
    """When each turn is spoken, as the stand-in engine times the words (from ``offset``)."""
    spans, at = [], offset
    for text, who in TURNS:
        words = speech(text, at)
        spans.append((words[0].start, words[-1].end, who))
        at = words[-1].end + 0.05 + 0.4  # the gap and the pause after a sentence
    return spans


class _Diarizer:
    """A diarizer that hears the turns' voices; ``swap`` numbers them the other way round."""

    def __init__(self, swap: bool = False) -> None:
        self.swap = swap
        self.calls = 0
        self.threads: list[int | None] = []

    def __call__(self, path: Path, *, count=None, speech=None, threads=None) -> Diarization:
        self.calls += 1
        self.threads.append(threads)
        start = _Hears.started
        order = ["b", "a"] if self.swap else ["a", "b"]
        prints = {"a": (1.0, 0.0), "b": (0.0, 1.0)}
        labels = {who: speakers.label(order.index(who) + 1) for who in order}
        turns = tuple(SpeakerTurn(s, e, labels[who]) for s, e, who in _turn_spans(start))
        voices = tuple(sorted((Voice(labels[w], prints[w]) for w in order), key=lambda v: v.label))
        return Diarization(turns, voices, 20.0, 0.5)


@pytest.fixture
def fake(show: Path, monkeypatch: pytest.MonkeyPatch) -> _Diarizer:
    speakers_on(show)
    stand_in = _Diarizer()
    monkeypatch.setattr(step.diarizer, "available", lambda: True)
    monkeypatch.setattr(step.diarizer, "diarize", stand_in)
    return stand_in


def _recording(show: Path) -> Path:
    return mh.write_wav(show / "episodes" / "talk.wav", mh.speech(20.0, rate=16000), 16000)


def _files(show: Path) -> dict[str, str]:
    return {ext: (show / "transcripts" / f"{SLUG}.{ext}").read_text(encoding="utf-8")
            for ext in ("vtt", "srt", "json", "txt", "html")}


def _voices(show: Path) -> list[str | None]:
    return [c.voice for c in webvtt.read(str(show / "transcripts" / f"{SLUG}.vtt")).captions]


def test_labels_reach_every_format_and_no_cue_spans_two_speakers(show: Path, fake: _Diarizer) -> None:
    report = transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears())
    assert report.speakers is not None and report.speakers.speakers == ["Speaker 1", "Speaker 2"]
    captions = webvtt.read(str(show / "transcripts" / f"{SLUG}.vtt")).captions
    voices = [c.voice for c in captions]
    assert set(voices) == {"Speaker 1", "Speaker 2"}
    # Each cue lies within one turn: its text is all of one speaker's sentences.
    by_speaker = {"Speaker 1": "a", "Speaker 2": "b"}
    for caption in captions:
        said = [who for text, who in TURNS if caption.text.replace("\n", " ") in text]
        assert said == [by_speaker[caption.voice]], caption.text
    files = _files(show)
    assert re.search(r"^Speaker 1: Welcome", files["srt"], re.M) and re.search(r"^Speaker 2: Thank", files["srt"], re.M)
    assert re.search(r"^Speaker 1: Welcome", files["txt"], re.M) and re.search(r"^Speaker 2: Thank", files["txt"], re.M)
    assert {seg.get("speaker") for seg in json.loads(files["json"])["segments"]} == {"Speaker 1", "Speaker 2"}
    assert "<cite>Speaker 1</cite>" in files["html"] and "<cite>Speaker 2</cite>" in files["html"]
    sidecar = json.loads((show / "transcripts" / f"{SLUG}.words.json").read_text(encoding="utf-8"))
    assert [v["label"] for v in sidecar["voices"]] == ["Speaker 1", "Speaker 2"]


def test_the_diarizer_keeps_to_the_cores_the_speech_settings_give_a_job(show: Path, fake: _Diarizer) -> None:
    # build runs a job per core and gives each one decoder of one thread: the diarizer, which
    # otherwise takes every core, must keep to that share too.
    settings = load_show(show).transcript
    transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears())
    transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears(), retranscribe=True,
                       settings=dataclasses.replace(settings, threads=1, workers=1))
    transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears(), retranscribe=True,
                       settings=dataclasses.replace(settings, threads=2, workers=3))
    assert fake.threads == [None, 1, 6]


def test_a_speaker_renamed_everywhere_keeps_the_name_when_transcribed_again(show: Path, fake: _Diarizer) -> None:
    """The same voices numbered the other way round by a second run keep the labels, and the
    name, that the first run and the reviewer gave them."""
    source = _recording(show)
    transcribe_episode(load_show(show), source, SLUG, engine=_Hears())
    vtt = show / "transcripts" / f"{SLUG}.vtt"
    vtt.write_text(vtt.read_text(encoding="utf-8").replace("<v Speaker 1>", "<v Asha Patel>"), encoding="utf-8")
    step.refresh_transcript(load_show(show), SLUG)
    sidecar = json.loads((show / "transcripts" / f"{SLUG}.words.json").read_text(encoding="utf-8"))
    assert [v["label"] for v in sidecar["voices"]] == ["Asha Patel", "Speaker 2"]

    fake.swap = True
    merged = transcribe_episode(load_show(show), source, SLUG, retranscribe=True, engine=_Hears())
    assert merged.action == "merged"
    assert merged.speakers is not None and sorted(merged.speakers.speakers) == ["Asha Patel", "Speaker 2"]
    voices = _voices(show)
    assert "Speaker 1" not in voices
    assert set(voices) == {"Asha Patel", "Speaker 2"}


def test_speakers_off_labels_none_and_does_not_run_the_diarizer(show: Path, fake: _Diarizer) -> None:
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('speakers = "auto"', 'speakers = "off"', 1),
                    encoding="utf-8")
    report = transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears())
    assert fake.calls == 0 and report.speakers is None and report.speakers_note is None
    assert set(_voices(show)) == {None}


def test_without_the_diarizer_the_report_says_how_to_install_it(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speakers_on(show)
    monkeypatch.setattr(step.diarizer, "available", lambda: False)
    report = transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears())
    assert report.speakers is None and "pip install 'rkaudio[speakers]'" in report.speakers_note
    assert set(_voices(show)) == {None}


def test_a_number_of_speakers_without_the_diarizer_stops_before_any_work(show: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speakers, "available", lambda: False)
    settings = load_show(show).transcript
    with pytest.raises(ConfigError, match=r"rkaudio\[speakers\]"):
        check_engine(type(settings)(**{**settings.__dict__, "speakers": 2}))


def test_one_voice_takes_the_name_of_the_one_person_in_the_episode(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speakers_on(show)
    write_metadata(show, SLUG, title="A talk", date="2026-03-01T09:00:00Z",
                   chapters='[[people]]\nname = "Asha Patel"\nrole = "host"\n')
    one = Diarization((SpeakerTurn(0.0, 30.0, "Speaker 1"),), (Voice("Speaker 1", (1.0, 0.0)),), 30.0, 0.5)
    monkeypatch.setattr(step.diarizer, "available", lambda: True)
    monkeypatch.setattr(step.diarizer, "diarize", lambda path, **kw: one)
    transcribe_episode(load_show(show), _recording(show), SLUG, engine=_Hears())
    assert set(_voices(show)) == {"Asha Patel"}


def test_a_bad_speakers_option_is_one_line(show: Path) -> None:
    source = _recording(show)
    out = run_subprocess("transcribe", source, "--speakers", "lots")
    assert_one_line_error(out, "command-line options", "transcript.speakers must be")


# --- the real diarizer ---------------------------------------------------------------------------

needs_diarizer = pytest.mark.skipif(not speakers.available(), reason="the speakers extra is not installed")


@pytest.mark.slow
@pytest.mark.speech
@pytest.mark.speakers
@needs_diarizer
@pytest.mark.parametrize("told", ["auto", "2"])
def test_a_two_person_conversation_comes_out_labelled_in_every_format(show: Path, told: str) -> None:
    name = "conversation_two"
    source = show / "episodes" / "talk.flac"
    shutil.copy(CONVERSATIONS / f"{name}.flac", source)
    out = run_subprocess("process", source, "--speakers", told, "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["transcript"]["speakers"]["labels"] == ["Speaker 1", "Speaker 2"]
    captions = webvtt.read(str(show / "transcripts" / f"{SLUG}.vtt")).captions
    # Who the cues say spoke, against who did: the words' time, scored as diarization is.
    hyp = [(c.start_in_seconds, c.end_in_seconds, c.voice) for c in captions]
    result = score(reference_turns(name), hyp, truth(name)["seconds"])
    assert result.right >= 0.9, result
    files = _files(show)
    assert "Speaker 1: " in files["srt"] and "Speaker 2: " in files["srt"]
    assert "Speaker 1: " in files["txt"] and "Speaker 2: " in files["txt"]
    assert {s.get("speaker") for s in json.loads(files["json"])["segments"]} == {"Speaker 1", "Speaker 2"}
    assert "<cite>Speaker 2</cite>" in files["html"]


@pytest.mark.slow
@pytest.mark.speech
@pytest.mark.speakers
@needs_diarizer
def test_a_monologue_gets_one_label(show: Path) -> None:
    speakers_on(show)
    out = run_subprocess("process", mh.SPEECH, "--slug", SLUG, "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["transcript"]["speakers"]["labels"] == ["Speaker 1"]
    assert set(_voices(show)) == {"Speaker 1"}
