"""Review status where the producer sees it: ``process`` and ``check`` report unreviewed transcripts,
and ``[transcript] require_review`` keeps never-reviewed episodes and transcripts out of the feed.

The feed is read with feedparser, the published transcript compared byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from tinytag import TinyTag

from rkaudio.pipeline.republish import sign_off
from rkaudio.review.session import ReviewSession
from rkaudio.show.config import load_show

from conftest import assert_one_line_error, run_clirunner, run_subprocess
from review_helpers import make_episode
from show_helpers import BASE, NO_STINGS, configure, write_metadata

SLUG = "talk"
PODCAST = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"


def require_review(show: Path) -> None:
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    assert "require_review = false" in text
    toml.write_text(text.replace("require_review = false", "require_review = true"), encoding="utf-8")


def process(show: Path, wav: Path) -> dict:
    """``process`` without transcription: it publishes the transcript that is in transcripts/."""
    out = run_subprocess("process", wav, "--slug", SLUG, "--no-transcribe", "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    return out.json


def feed_titles(show: Path) -> list[str]:
    parsed = feedparser.parse(str(show / "feed" / "feed.xml"))
    assert not parsed.bozo, parsed.bozo_exception
    return [e.title for e in parsed.entries]


def review_rows(show: Path) -> tuple[int, list[dict]]:
    out = run_clirunner("check", "--json")
    rows = [r for r in json.loads(out.out)["results"] if r["check"] == "transcript reviewed"]
    return out.code, rows


@pytest.fixture
def episode(show: Path) -> Path:
    """A show with an episode's metadata and a first machine transcript, made as the show allows."""
    configure(show)
    write_metadata(show, SLUG, title="A talk", date="2026-03-01T09:00:00Z", number=1)
    make_episode(show, SLUG, mp3=False)
    return show


@pytest.fixture
def strict(show: Path) -> Path:
    """The same, in a show that requires reviewed transcripts from the start."""
    configure(show)
    require_review(show)
    write_metadata(show, SLUG, title="A talk", date="2026-03-01T09:00:00Z", number=1)
    make_episode(show, SLUG, mp3=False, require_review=True)
    return show


def test_process_and_check_report_an_unreviewed_transcript(episode: Path, speech_wav: Path) -> None:
    report = process(episode, speech_wav)
    assert any("not reviewed yet" in w and f"rkaudio review {SLUG}" in w for w in report["warnings"])
    assert feed_titles(episode) == ["A talk"]  # reviews are not required here
    code, rows = review_rows(episode)
    assert code == 0
    (row,) = rows
    assert row["ok"] and row["warning"] and "not reviewed yet" in row["detail"]

    sign_off(load_show(episode), SLUG, "Ann Example")
    report = process(episode, speech_wav)
    assert not any("review" in w for w in report["warnings"])
    (row,) = review_rows(episode)[1]
    assert row["ok"] and not row["warning"] and "reviewed by Ann Example" in row["detail"]


def test_required_review_holds_back_the_episode_until_sign_off(strict: Path, speech_wav: Path) -> None:
    episode = strict
    report = process(episode, speech_wav)
    assert any("not in the feed until its transcript is reviewed" in w for w in report["warnings"])
    assert feed_titles(episode) == []
    assert (episode / "feed" / "media" / f"{SLUG}.mp3").is_file()  # finished, for the reviewer to hear
    # Published transcripts would be linked from nowhere, and are not written either.
    assert not (episode / "feed" / "transcripts" / f"{SLUG}.vtt").exists()
    out = run_subprocess("feed")
    assert_one_line_error(out, "show.toml", f"held back from the feed: {SLUG}")
    code, rows = review_rows(episode)
    assert code == 0 and rows[0]["warning"] and "held back" in rows[0]["detail"]

    sign_off(load_show(episode), SLUG, "Ann Example")  # publishes the transcript it approves
    assert run_subprocess("feed", "--quiet").code == 0
    assert feed_titles(episode) == ["A talk"]
    published = episode / "feed" / "transcripts" / f"{SLUG}.vtt"
    reviewed = (episode / "transcripts" / f"{SLUG}.vtt").read_bytes()
    assert published.read_bytes() == reviewed
    item = etree.parse(str(episode / "feed" / "feed.xml")).find("channel/item")
    linked = {t.get("url") for t in item.iter(f"{{{PODCAST}}}transcript")}
    assert f"{BASE}/transcripts/{SLUG}.vtt" in linked


def test_signing_off_in_the_editor_retags_the_mp3_and_publishes_the_episode(strict: Path,
                                                                           speech_wav: Path) -> None:
    """A held-back episode goes out on sign-off: the MP3's lyrics tag (empty while the transcript
    was held back) carries the approved text, and the feed lists it with the retagged file's size."""
    episode = strict
    report = process(episode, speech_wav)
    assert any(f"'rkaudio review {SLUG}' publishes it" in w for w in report["warnings"])
    mp3 = episode / "feed" / "media" / f"{SLUG}.mp3"
    before = TinyTag.get(mp3)
    assert not before.other.get("lyrics")
    assert feed_titles(episode) == []

    session = ReviewSession(load_show(episode), SLUG)
    state = session.sign_off({"etag": session.state()["etag"], "reviewer": "Ann Example"})
    assert state["review"]["reviewed"]
    assert "tags and the feed now carry this transcript" in state["published"]

    text = (episode / "feed" / "transcripts" / f"{SLUG}.txt").read_text(encoding="utf-8")
    assert "Welcome" in text
    after = TinyTag.get(mp3)
    assert after.other["lyrics"] == [text]
    assert (after.title, after.artist) == (before.title, before.artist)  # the rest of the tag is kept
    assert after.duration == pytest.approx(before.duration, abs=0.05)  # ...and the audio untouched
    parsed = feedparser.parse(str(episode / "feed" / "feed.xml"))
    assert [e.title for e in parsed.entries] == ["A talk"]
    (enclosure,) = parsed.entries[0].enclosures
    assert int(enclosure.length) == mp3.stat().st_size
    assert not list(mp3.parent.glob(".rkaudio-*"))  # no temporary copy left behind


def test_sign_off_before_processing_leaves_publishing_to_process(strict: Path) -> None:
    session = ReviewSession(load_show(strict), SLUG)
    state = session.sign_off({"etag": session.state()["etag"], "reviewer": "Ann Example"})
    assert "when it is processed" in state["published"]
    assert not (strict / "feed" / "media").exists() or not list((strict / "feed" / "media").iterdir())


def test_an_edit_after_sign_off_keeps_the_reviewed_version_published(strict: Path, speech_wav: Path) -> None:
    episode = strict
    assert not (episode / "feed" / "transcripts" / f"{SLUG}.vtt").exists()
    sign_off(load_show(episode), SLUG, "Ann Example")
    process(episode, speech_wav)
    published = episode / "feed" / "transcripts" / f"{SLUG}.vtt"
    reviewed = published.read_bytes()
    vtt = episode / "transcripts" / f"{SLUG}.vtt"
    vtt.write_text(vtt.read_text(encoding="utf-8").replace("Welcome", "Hello"), encoding="utf-8")
    report = process(episode, speech_wav)
    assert any("changed since it was reviewed by Ann Example" in w for w in report["warnings"])
    assert feed_titles(episode) == ["A talk"]  # a published episode is not taken down
    assert published.read_bytes() == reviewed  # ...and listeners keep the version that was reviewed
    code, rows = review_rows(episode)
    assert code == 0 and rows[0]["warning"]


def test_check_fails_an_unreviewed_episode_in_the_feed_when_reviews_are_required(episode: Path,
                                                                                 speech_wav: Path) -> None:
    process(episode, speech_wav)  # published before the show required reviews
    assert feed_titles(episode) == ["A talk"]
    require_review(episode)
    code, rows = review_rows(episode)
    assert code == 1 and not rows[0]["ok"]
