"""A transcript follows its recording: replaced audio gets a new machine transcript, or, when a
reviewer worked on the old one, the old one is kept, flagged and never published for the new audio.

Captions and the feed are read with webvtt-py and feedparser, never with rkaudio's own readers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import feedparser
import pytest
import webvtt

from rkaudio.pipeline.republish import sign_off
from rkaudio.pipeline.transcribe import transcribe_episode
from rkaudio.show.config import load_show
from rkaudio.transcripts.signoff import review_status

import media_helpers as mh
from conftest import run_clirunner, run_subprocess
from show_helpers import NO_STINGS, configure, write_metadata
from transcript_helpers import StandInEngine
from wer_helpers import normalise, wer

SLUG = "talk"
FIRST = "the first recording talks about bridges between neighbours in the town"
SECOND = "the second take is about libraries as places where strangers meet"
SPEECH_DIR = Path(__file__).resolve().parent / "data" / "speech"


def _process(wav: Path, *extra: str) -> dict:
    out = run_subprocess("process", wav, "--slug", SLUG, "--no-transcribe", "--json", "--quiet", *NO_STINGS, *extra)
    assert out.code == 0, out
    return out.json


def _record(path: Path, start: float) -> Path:
    """A recording at ``path``: six seconds of speech from ``start`` s into the committed clip."""
    return mh.write_wav(path, mh.speech(6.0, start=start, rate=16000), 16000)


def _published(show: Path, ext: str = "vtt") -> Path:
    return show / "feed" / "transcripts" / f"{SLUG}.{ext}"


def _caption_text(path: Path) -> str:
    return " ".join(c.text.replace("\n", " ") for c in webvtt.read(str(path)).captions)


def _check_row(show: Path) -> tuple[int, dict]:
    out = run_clirunner("check", "--json")
    rows = [r for r in json.loads(out.out)["results"] if r["check"] == "transcript matches audio"]
    assert len(rows) == 1, out.out
    return out.code, rows[0]


@pytest.fixture
def episode(show: Path) -> Path:
    configure(show)
    write_metadata(show, SLUG, title="A talk", date="2026-03-01T09:00:00Z", number=1)
    return show


def _first_take(show: Path) -> Path:
    """Process the first recording and transcribe it: a machine transcript made for that audio."""
    source = _record(show / "episodes" / "talk.wav", 2.0)
    _process(source)
    made = transcribe_episode(load_show(show), source, SLUG, engine=StandInEngine(FIRST))
    assert made.action == "created"
    if made.published:  # a show that requires reviews publishes nothing unreviewed
        assert _caption_text(_published(show)) == FIRST
    return source


def test_a_replaced_recording_nobody_reviewed_is_transcribed_again(episode: Path) -> None:
    source = _first_take(episode)
    _record(source, 9.0)  # a different take, under the same name
    _process(source)
    # Until it is transcribed again, the old captions are not published for the new audio.
    assert not _published(episode).exists()
    code, row = _check_row(episode)
    assert code == 1 and not row["ok"] and "transcript made for different audio" in row["detail"]

    again = transcribe_episode(load_show(episode), source, SLUG, engine=StandInEngine(SECOND))
    assert again.action == "remade" and again.published and again.stale is None
    assert _caption_text(episode / "transcripts" / f"{SLUG}.vtt") == SECOND
    assert _caption_text(_published(episode)) == SECOND
    code, row = _check_row(episode)
    assert code == 0 and row["ok"]


def test_a_reviewed_transcript_of_other_audio_is_kept_flagged_held_back_and_merged_on_request(
        episode: Path) -> None:
    toml = episode / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("require_review = false", "require_review = true"),
                    encoding="utf-8")
    source = _first_take(episode)
    vtt = episode / "transcripts" / f"{SLUG}.vtt"
    vtt.write_text(vtt.read_text(encoding="utf-8").replace("bridges", "Bridges (sic)"), encoding="utf-8")
    edited = vtt.read_bytes()
    sign_off(load_show(episode), SLUG, "Ann Example")
    _process(source)
    assert [e.title for e in feedparser.parse(str(episode / "feed" / "feed.xml")).entries] == ["A talk"]

    _record(source, 9.0)
    report = _process(source)
    # Kept as the reviewer left it, but flagged: process warns, the sign-off is withdrawn...
    assert vtt.read_bytes() == edited
    assert any("made for different audio" in w for w in report["warnings"]), report["warnings"]
    assert review_status(episode, SLUG).state == "stale"
    # ...no captions of the old audio are published, the episode is held back, check fails.
    assert not any(_published(episode, ext).exists() for ext in ("vtt", "srt", "json", "txt", "html"))
    assert [e.title for e in feedparser.parse(str(episode / "feed" / "feed.xml")).entries] == []
    code, row = _check_row(episode)
    assert code == 1 and "transcript made for different audio" in row["detail"]

    # Transcribing without --retranscribe keeps the reviewer's work and says why.
    kept = transcribe_episode(load_show(episode), source, SLUG, engine=StandInEngine(SECOND))
    assert kept.action == "kept" and not kept.published and vtt.read_bytes() == edited
    assert any("--retranscribe" in w and "a reviewer has worked on it" in w for w in kept.warnings)

    merged = transcribe_episode(load_show(episode), source, SLUG, retranscribe=True, engine=StandInEngine(SECOND))
    assert merged.action == "merged" and merged.stale is None
    assert "Bridges (sic)" in vtt.read_text(encoding="utf-8")  # the reviewer's cue survives
    code, row = _check_row(episode)
    assert row["ok"]
    # A new sign-off, for the new audio, puts it back in the feed with its captions.
    sign_off(load_show(episode), SLUG, "Ann Example")
    assert review_status(episode, SLUG).state == "reviewed"
    assert _published(episode).read_bytes() == vtt.read_bytes()
    assert run_subprocess("feed", "--quiet").code == 0
    assert [e.title for e in feedparser.parse(str(episode / "feed" / "feed.xml")).entries] == ["A talk"]


@pytest.mark.slow
@pytest.mark.speech
def test_replacing_the_recording_and_processing_again_transcribes_the_new_one(show: Path) -> None:
    """The producer's view, with the real engine: no "kept as reviewed" for a transcript nobody
    reviewed, and the published captions are those of the new recording."""
    first, second = SPEECH_DIR / "belong_library.flac", SPEECH_DIR / "tracking_cohesion.flac"
    source = show / "episodes" / "talk.flac"
    shutil.copy(first, source)
    out = run_subprocess("process", source, "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["transcript"]["action"] == "created"

    shutil.copy(second, source)
    out = run_subprocess("process", source, "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["transcript"]["action"] == "remade"
    plain = run_subprocess("process", source, *NO_STINGS)
    assert "kept as reviewed" not in plain.out
    heard = normalise(_caption_text(show / "feed" / "transcripts" / "talk.vtt"))
    new_text = normalise(second.with_suffix(".txt").read_text(encoding="utf-8"))
    old_text = normalise(first.with_suffix(".txt").read_text(encoding="utf-8"))
    assert wer(new_text, heard) < 0.3 < wer(old_text, heard)
