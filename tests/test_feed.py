"""The feed as podcast apps read it: gPodder's podcastparser and feedparser, plus the XML itself.

Episodes are made with the real ``process`` (without transcription, except where a transcript is
the point), so enclosures, tags and durations are the real thing.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from conftest import assert_one_line_error, building_show, copy_show, run_clirunner, run_subprocess
from show_helpers import BASE, NO_STINGS, configure, process, write_metadata

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"

@pytest.fixture(scope="module")
def _published(tmp_path_factory: pytest.TempPathFactory, template_show: Path, speech_wav: Path) -> Path:
    """A show with two processed episodes, the older with hostile text and chapters (built once)."""
    with building_show(tmp_path_factory, template_show, "feed") as show:
        _publish(show, speech_wav)
    return show


@pytest.fixture
def published(_published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_show(_published, tmp_path, monkeypatch)


def _publish(show: Path, speech_wav: Path) -> None:
    configure(show)
    write_metadata(show, "older", title='Café & "friends" <b>bold</b>', date="2026-01-05T10:00:00Z", number=1,
                   notes="Hello <script>alert(1)</script> <img src=x onerror=alert(1)> see [@abrams2021] "
                         "and [@belong2021].\n\n[bad](javascript:alert(1))",
                   chapters='[[chapters]]\nstart = 0\ntitle = "Start & <go>"\n'
                            '[[chapters]]\nstart = "0:03"\ntitle = "More"\nurl = "https://example.org/more"\n')
    write_metadata(show, "newer", title="Newer", date="2026-02-05T10:00:00Z", number=2, notes="Plain notes.")
    process(speech_wav, "older")
    process(speech_wav, "newer")


def test_podcastparser_reads_every_episode(published: Path) -> None:
    feed = published / "feed" / "feed.xml"
    with feed.open("rb") as f:
        parsed = podcastparser.parse(f"{BASE}/feed.xml", f)
    assert parsed["title"] == "Test Show"
    titles = [e["title"] for e in parsed["episodes"]]
    assert titles == ["Newer", 'Café & "friends" <b>bold</b>']  # newest first, text exactly as written
    for episode in parsed["episodes"]:
        (enclosure,) = episode["enclosures"]
        slug = enclosure["url"].rsplit("/", 1)[-1].removesuffix(".mp3")
        assert enclosure["url"] == f"{BASE}/media/{slug}.mp3"
        assert enclosure["mime_type"] == "audio/mpeg"
        assert enclosure["file_size"] == (published / "feed" / "media" / f"{slug}.mp3").stat().st_size
        assert episode["total_time"] > 4
    newer, older = parsed["episodes"]
    assert (older["number"], newer["number"]) == (1, 2)
    assert older["chapters_json_url"] == f"{BASE}/chapters/older.json"
    assert "chapters_json_url" not in newer
    assert older["guid"] != newer["guid"] and older["guid"]
    assert parsed["import_prohibited"] is False


def test_feedparser_reads_channel_and_items(published: Path) -> None:
    parsed = feedparser.parse(str(published / "feed" / "feed.xml"))
    assert not parsed.bozo, parsed.bozo_exception
    channel = parsed.feed
    assert channel.title == "Test Show"
    # feedparser knows only the old yes/clean values; Apple's "false" reads as not explicit (None).
    assert not channel.itunes_explicit
    assert {"href": f"{BASE}/feed.xml", "rel": "self", "type": "application/rss+xml"}.items() <= \
        next(link for link in channel.links if link.rel == "self").items()
    assert channel.image.href == f"{BASE}/cover.png"
    assert {"Society & Culture", "Documentary", "Science"} <= {t.term for t in channel.tags}
    items = parsed.entries
    assert [e.title for e in items] == ["Newer", 'Café & "friends" <b>bold</b>']
    assert items[1].itunes_episode == "1"
    assert items[1].id != items[0].id
    html = items[1].content[0].value
    assert "https://doi.org/10.1177/1368430220983440" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def _xml(show: Path) -> etree._Element:
    return etree.parse(str(show / "feed" / "feed.xml")).getroot()


def test_channel_tags(published: Path) -> None:
    channel = _xml(published).find("channel")
    expected = str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "example.org/show/feed.xml"))
    assert channel.findtext(f"{{{PODCAST}}}guid") == expected
    assert channel.findtext(f"{{{ITUNES}}}explicit") == "false"
    assert channel.findtext(f"{{{PODCAST}}}locked") == "no"
    owner = channel.find(f"{{{ITUNES}}}owner")
    assert owner.findtext(f"{{{ITUNES}}}name") == "Owner & Co"
    assert owner.findtext(f"{{{ITUNES}}}email") == "owner@example.org"
    category = channel.find(f"{{{ITUNES}}}category")
    assert category.get("text") == "Society & Culture"
    assert category.find(f"{{{ITUNES}}}category").get("text") == "Documentary"
    assert channel.find("{http://www.w3.org/2005/Atom}link").get("rel") == "self"


def test_item_tags(published: Path) -> None:
    items = _xml(published).findall("channel/item")
    older = items[1]
    assert older.findtext(f"{{{ITUNES}}}episode") == "1"
    assert older.findtext(f"{{{ITUNES}}}explicit") == "false"
    assert older.find("guid").get("isPermaLink") == "false"
    chapters = older.find(f"{{{PODCAST}}}chapters")
    assert chapters.get("type") == "application/json+chapters"
    assert chapters.get("url") == f"{BASE}/chapters/older.json"
    data = json.loads((published / "feed" / "chapters" / "older.json").read_text(encoding="utf-8"))
    assert data["chapters"] == [{"startTime": 0, "title": "Start & <go>"},
                                {"startTime": 3, "title": "More", "url": "https://example.org/more"}]
    description = older.findtext("description")
    assert "<" not in description.replace("<b>", "")  # plain text, no markup from the notes
    assert items[0].find(f"{{{PODCAST}}}chapters") is None


@pytest.mark.speech
def test_transcripts_are_linked_with_their_types(show: Path, speech_wav: Path) -> None:
    configure(show)
    out = run_subprocess("process", speech_wav, "--slug", "talk", "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    item = _xml(show).find("channel/item")
    found = {t.get("type"): t.get("url") for t in item.findall(f"{{{PODCAST}}}transcript")}
    assert found == {
        "text/vtt": f"{BASE}/transcripts/talk.vtt",
        "application/x-subrip": f"{BASE}/transcripts/talk.srt",
        "application/json": f"{BASE}/transcripts/talk.json",
        "text/html": f"{BASE}/transcripts/talk.html",
    }
    for url in found.values():
        assert (show / "feed" / url.removeprefix(BASE + "/")).is_file()


def test_reprocessing_never_duplicates_and_guids_are_stable(published: Path, speech_wav: Path) -> None:
    before = [i.findtext("guid") for i in _xml(published).findall("channel/item")]
    process(speech_wav, "older")
    out = run_clirunner("feed")
    assert out.code == 0, out
    after = [i.findtext("guid") for i in _xml(published).findall("channel/item")]
    assert after == before and len(set(after)) == 2


def test_rebuild_is_identical(published: Path) -> None:
    feed = published / "feed" / "feed.xml"
    first = feed.read_bytes()
    assert run_subprocess("feed", "--quiet").code == 0
    assert feed.read_bytes() == first


def test_guid_not_derived_from_title(published: Path) -> None:
    meta = published / "episodes" / "newer.md"
    guid = _xml(published).findall("channel/item")[0].findtext("guid")
    meta.write_text(meta.read_text(encoding="utf-8").replace('title = "Newer"', 'title = "Renamed"'),
                    encoding="utf-8")
    assert run_subprocess("feed", "--quiet").code == 0
    item = _xml(published).findall("channel/item")[0]
    assert item.findtext("title") == "Renamed" and item.findtext("guid") == guid


def test_process_creates_metadata_and_feed_item(show: Path, speech_wav: Path) -> None:
    configure(show)
    report = process(speech_wav, "fresh", "--title", "A fresh one")
    meta = show / "episodes" / "fresh.md"
    assert meta.is_file() and report["episode"]["title"] == "A fresh one"
    assert _xml(show).find("channel/item").findtext("title") == "A fresh one"


def test_missing_citation_key_names_episode_and_key(show: Path, speech_wav: Path) -> None:
    configure(show)
    write_metadata(show, "cites", title="Cites", date="2026-01-01T00:00:00Z", notes="See [@nobody1999].")
    out = run_subprocess("process", speech_wav, "--slug", "cites", "--no-transcribe", *NO_STINGS)
    assert_one_line_error(out, "cites", "nobody1999")
    assert not (show / "feed" / "media" / "cites.mp3").exists()


def test_feed_without_base_url_is_one_clear_line(show: Path) -> None:
    out = run_subprocess("feed")
    assert_one_line_error(out, "show.toml", "base_url")


def test_bad_category_is_named(show: Path) -> None:
    configure(show)
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"Science"]', '"Gardening"]'), encoding="utf-8")
    out = run_subprocess("feed")
    assert_one_line_error(out, "show.toml", "Gardening")


def test_people_of_the_show_and_of_an_episode(show: Path, speech_wav: Path) -> None:
    configure(show)
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8")
                    + '\n[[show.people]]\nname = "Host & Co"\nhref = "https://example.org/host"\n',
                    encoding="utf-8")
    # [[show.people]] must sit in the [show] table: move it above [audio].
    text = toml.read_text(encoding="utf-8")
    block = '[[show.people]]\nname = "Host & Co"\nhref = "https://example.org/host"\n'
    toml.write_text(text.replace(block, "").replace("[audio]", block + "\n[audio]", 1), encoding="utf-8")
    write_metadata(show, "guest", title="With a guest", date="2026-01-05T10:00:00Z",
                   chapters='[[people]]\nname = "Jo Broadwood"\nrole = "Guest"\n')
    process(speech_wav, "guest")
    channel = _xml(show).find("channel")
    (host,) = channel.findall(f"{{{PODCAST}}}person")
    assert (host.text, host.get("role"), host.get("href")) == ("Host & Co", "host", "https://example.org/host")
    (guest,) = channel.find("item").findall(f"{{{PODCAST}}}person")
    assert (guest.text, guest.get("role"), guest.get("group")) == ("Jo Broadwood", "guest", "cast")


@pytest.mark.parametrize("person, problem", [
    ('[[people]]\nrole = "guest"\n', "people #1 needs a name"),
    ('[[people]]\nname = "Jo"\nhref = "javascript:alert(1)"\n', r"href must be an http\(s\) address"),
    ('[[people]]\nname = "Jo"\nage = 3\n', "unknown field 'age'"),
])
def test_a_bad_person_is_named(show: Path, speech_wav: Path, person: str, problem: str) -> None:
    configure(show)
    write_metadata(show, "bad", title="Bad", date="2026-01-05T10:00:00Z", chapters=person)
    out = run_subprocess("process", speech_wav, "--slug", "bad", "--no-transcribe", *NO_STINGS)
    assert_one_line_error(out, "episodes/bad.md", problem)
