"""Intro and outro: matched loudness, short stings, and the length of the joined episode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import media_helpers as mh
from conftest import assert_one_line_error, run_subprocess, set_audio


def process(*args: object) -> dict:
    out = run_subprocess("process", "--no-transcribe", *args, "--json", "--quiet")
    assert out.code == 0, out
    return out.json


def test_default_stings_from_init(show: Path, speech_wav: Path) -> None:
    """init's 3 s stings, 1 s crossfades: 3 + 6 + 3 - 1 - 1 = 10 s."""
    report = process(speech_wav, "--slug", "ep")
    out = show / "feed" / "media" / "ep.mp3"
    m = mh.assert_delivered(out, -16.0)
    sting = mh.describe(show / "assets" / "intro.flac").duration
    programme = mh.describe(speech_wav).duration
    expected = programme + 2 * sting - report["intro"]["overlap_s"] - report["outro"]["overlap_s"]
    assert report["intro"]["overlap_s"] == pytest.approx(1.0)
    assert m.duration == pytest.approx(expected, abs=0.1)
    assert report["duration_s"] == pytest.approx(m.duration, abs=0.1)


def test_no_stings_keeps_programme_length(show: Path, speech_wav: Path) -> None:
    report = process(speech_wav, "--intro", "none", "--outro", "none", "--slug", "bare")
    assert report["intro"] is None and report["outro"] is None
    m = mh.assert_delivered(show / "feed" / "media" / "bare.mp3", -16.0)
    assert m.duration == pytest.approx(mh.describe(speech_wav).duration, abs=0.05)


def test_short_sting_is_matched_and_crossfaded(show: Path, speech_wav: Path, tone_sting: Path) -> None:
    """A 1.5 s sting (shorter than the 3 s a loudness meter likes) works, at the programme's loudness.

    The same file is both intro and outro here, as many shows do.
    """
    report = process(speech_wav, "--intro", tone_sting, "--outro", tone_sting, "--slug", "short")
    out = show / "feed" / "media" / "short.mp3"
    m = mh.assert_delivered(out, -16.0)

    intro_ov, outro_ov = report["intro"]["overlap_s"], report["outro"]["overlap_s"]
    for ov in (intro_ov, outro_ov):
        assert 0 < ov < 1.5
    expected = 1.5 + mh.describe(speech_wav).duration + 1.5 - intro_ov - outro_ov
    assert m.duration == pytest.approx(expected, abs=0.1)

    # Before the intro meets the programme, and after the programme ends, only the sting plays:
    # those stretches should be at (roughly) the same loudness as the programme.
    data, rate = mh.decode(out)
    head = data[: int((1.5 - intro_ov) * rate)]
    tail = data[len(data) - int((1.5 - outro_ov) * rate):]
    assert len(head) >= 0.4 * rate and len(tail) >= 0.4 * rate
    assert mh.lufs(head, rate) == pytest.approx(-16.0, abs=1.0)
    assert mh.lufs(tail, rate) == pytest.approx(-16.0, abs=1.0)
    # ... and it is the sting that plays there (660 Hz), not the speech.
    assert mh.dominant_frequency(head, rate) == pytest.approx(660, abs=5)


def test_same_file_as_intro_and_outro(show: Path, speech_wav: Path) -> None:
    """One sting for both ends (a common choice) is one file opened twice in the same graph."""
    set_audio(show, outro="assets/intro.flac")
    report = process(speech_wav, "--slug", "both")
    assert report["intro"]["path"] == report["outro"]["path"] == "assets/intro.flac"
    mh.assert_delivered(show / "feed" / "media" / "both.mp3", -16.0)


def test_very_short_sting(show: Path, speech_wav: Path, media_dir: Path) -> None:
    rate = 44100
    blip = mh.write_wav(show / "assets" / "blip.wav", mh.tone(880.0, 0.5, rate, 0.5), rate)
    report = process(speech_wav, "--intro", blip, "--outro", "none", "--slug", "blip")
    m = mh.assert_delivered(show / "feed" / "media" / "blip.mp3", -16.0)
    expected = 0.5 + mh.describe(speech_wav).duration - report["intro"]["overlap_s"]
    assert m.duration == pytest.approx(expected, abs=0.1)


def test_no_crossfade_concatenates(show: Path, speech_wav: Path, tone_sting: Path) -> None:
    process(speech_wav, "--intro", tone_sting, "--outro", tone_sting, "--crossfade", "0", "--slug", "cat")
    m = mh.assert_delivered(show / "feed" / "media" / "cat.mp3", -16.0)
    assert m.duration == pytest.approx(1.5 + mh.describe(speech_wav).duration + 1.5, abs=0.1)


def test_stings_follow_the_target(show: Path, speech_wav: Path, tone_sting: Path) -> None:
    process(speech_wav, "--intro", tone_sting, "--outro", "none", "--target", "ebu-r128", "--slug", "quiet")
    out = show / "feed" / "media" / "quiet.mp3"
    mh.assert_delivered(out, -23.0)
    data, rate = mh.decode(out)
    assert mh.lufs(data[: int(0.7 * rate)], rate) == pytest.approx(-23.0, abs=1.0)


def test_stings_from_show_toml_relative_to_the_show(show: Path, speech_wav: Path, tone_sting: Path) -> None:
    (show / "assets" / "my intro.wav").write_bytes(tone_sting.read_bytes())
    set_audio(show, intro="assets/my intro.wav", outro="")
    report = process(speech_wav, "--slug", "toml")
    assert report["intro"]["path"] == "assets/my intro.wav"
    assert report["outro"] is None
    mh.assert_delivered(show / "feed" / "media" / "toml.mp3", -16.0)


@pytest.mark.parametrize("where", ["flag", "show.toml"])
def test_missing_intro_is_an_error(show: Path, speech_wav: Path, where: str) -> None:
    if where == "flag":
        out = run_subprocess("process", "--no-transcribe", speech_wav, "--intro", "assets/gone.flac")
    else:
        set_audio(show, intro="assets/gone.flac")
        out = run_subprocess("process", "--no-transcribe", speech_wav)
    line = assert_one_line_error(out, "gone.flac", r"not found|no such|missing|does not exist")
    assert "intro" in line.split("gone.flac", 1)[1]  # says which sting, not only which file
    assert list((show / "feed" / "media").iterdir()) == []


def test_silent_sting_is_an_error(show: Path, speech_wav: Path) -> None:
    silent = mh.write_wav(show / "assets" / "hush.wav", np.zeros(44100 * 2), 44100)
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--outro", silent)
    line = assert_one_line_error(out, "hush.wav", r"silen")
    assert "outro" in line.split("hush.wav", 1)[1]
