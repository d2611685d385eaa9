"""The listeners' site in feed/: what each page says, that it parses as browsers parse it, that every
link resolves, that nothing leaves the site, that it rebuilds byte for byte, and that a show's own
templates, colour and logo are used (or refused with a one-line error)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import html5lib
import pytest
from lxml import etree

from rkaudio.core.errors import ConfigError, SiteError
from rkaudio.publishing.feed import build_feed
from rkaudio.show.config import load_show
from rkaudio.transcripts.store import regenerate

from conftest import assert_one_line_error, run_clirunner
from review_helpers import make_episode
from show_helpers import BASE, configure, write_metadata
from site_helpers import HOSTILE_TITLE, broken_links, build_show, links_of, site_pages

#: An episode page's own HTML, CSS and JS stay under this (the issue's budget).
PAGE_BUDGET = 150 * 1024


@pytest.fixture
def site(show: Path) -> Path:
    build_show(show)
    return show / "feed"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _set_site(show: Path, text: str) -> None:
    toml = show / "show.toml"
    toml.write_text(re.sub(r"\[site\].*", lambda _m: "[site]\n" + text, _text(toml), flags=re.S), encoding="utf-8")


# --- the pages ------------------------------------------------------------------------------------

def test_every_page_type_is_written(site: Path) -> None:
    assert [p.relative_to(site).as_posix() for p in site_pages(site.parent)] == [
        "episodes/newer/index.html", "episodes/older/index.html", "index.html", "research/index.html"]
    assert (site / "site" / "site.css").is_file() and (site / "site" / "site.js").is_file()


@pytest.mark.parametrize("page", ["index.html", "episodes/older/index.html", "episodes/newer/index.html",
                                  "research/index.html", "transcripts/older.html"])
def test_pages_parse_cleanly_as_html5(site: Path, page: str) -> None:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    parser.parse((site / page).read_bytes())  # strict: any parse error raises
    assert parser.errors == []


def test_every_internal_link_and_asset_resolves(site: Path) -> None:
    assert broken_links(site) == []


def test_nothing_is_loaded_from_anywhere_else(site: Path) -> None:
    """No CDN, font, tracker or image from elsewhere: every resource is relative; only plain links
    (to research sources and podcast apps) may point away, and the policy forbids anything else."""
    for page in site.rglob("*.html"):
        for tag, attr, url in links_of(page).urls:
            if tag != "a" and not (tag == "link" and url.endswith("feed.xml")):
                assert not re.match(r"[a-z][a-z0-9+.-]*:|//", url), f"{page}: <{tag} {attr}={url}>"
        text = _text(page)
        assert "cookie" not in text.lower() or "no cookies" in text.lower()
    for page in site_pages(site.parent):
        assert "default-src 'none'" in _text(page).replace("&#39;", "'")


def test_show_page(site: Path) -> None:
    text = _text(site / "index.html")
    assert '<html lang="en">' in text
    assert '<link rel="alternate" type="application/rss+xml" title="Test Show" href="feed.xml">' in text
    assert f'value="{BASE}/feed.xml"' in text and 'id="copy-feed"' in text
    assert f"podcast://{BASE.split('://')[1]}/feed.xml" in text
    assert text.index(">Newer</a>") < text.index("Café &amp;")  # newest first
    assert '<time datetime="2026-02-05">5 February 2026</time>' in text
    assert '<time datetime="PT16S">0:16</time>' in text
    assert 'src="cover.png"' in text


def test_episode_page(site: Path) -> None:
    text = _text(site / "episodes" / "older" / "index.html")
    assert '<audio id="player" controls preload="metadata" src="../../media/older.mp3">' in text
    assert 'href="../../feed.xml"' in text
    # Chapters seek the player (and, without a script, open the MP3 at that time).
    assert '<a class="seek" href="../../media/older.mp3#t=5" data-t="5.0"><time>0:05</time> More</a>' in text
    # Notes with their citations, and the bibliography linking to the research page.
    assert "https://doi.org/10.1177/1368430220983440" in text
    assert 'href="../../research/index.html#ref-abrams2021"' in text
    for ext in ("vtt", "srt", "json", "txt"):
        assert f'href="../../transcripts/older.{ext}" download' in text
    assert 'data-s="0.0"' in text and "Welcome to Radical Kindness" in text


def test_speakers_are_named_in_the_transcript(site: Path) -> None:
    text = _text(site / "episodes" / "newer" / "index.html")
    assert text.count('<span class="speaker">Ann</span>') == 1
    assert text.count('<span class="speaker">Ben</span>') == 1


def test_hostile_text_is_escaped_everywhere(site: Path) -> None:
    for page in [*site_pages(site.parent), site / "transcripts" / "older.html"]:
        text = _text(page)
        assert "<script>alert" not in text and "<b>bold" not in text, page
        assert "onerror" not in text and "javascript:" not in text, page
    text = _text(site / "episodes" / "older" / "index.html")
    assert "<h1>Café &amp; &#34;friends&#34; &lt;b&gt;bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in text


def test_json_ld_and_open_graph(site: Path) -> None:
    text = _text(site / "episodes" / "older" / "index.html")
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S).group(1))
    assert data["@type"] == "PodcastEpisode" and data["name"] == HOSTILE_TITLE
    assert data["partOfSeries"]["@type"] == "PodcastSeries"
    assert data["associatedMedia"]["contentUrl"] == f"{BASE}/media/older.mp3"
    assert data["datePublished"] == "2026-01-05" and data["duration"] == "PT16S"
    assert [c["url"] for c in data["citation"]] == ["https://doi.org/10.1177/1368430220983440",
                                                    "https://example.org/beyond"]
    assert f'<meta property="og:url" content="{BASE}/episodes/older/index.html">' in text
    assert f'<meta property="og:audio" content="{BASE}/media/older.mp3">' in text
    show_ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', _text(site / "index.html"), re.S)
    assert json.loads(show_ld.group(1))["@type"] == "PodcastSeries"


def test_research_page_links_to_sources_and_back_to_episodes(site: Path) -> None:
    text = _text(site / "research" / "index.html")
    abrams = text[text.index('id="ref-abrams2021"'):text.index('id="ref-belong2021"')]
    assert 'href="https://doi.org/10.1177/1368430220983440"' in abrams
    assert 'href="../episodes/newer/index.html"' in abrams and 'href="../episodes/older/index.html"' in abrams
    belong = text[text.index('id="ref-belong2021"'):]
    assert "Beyond Us &amp; Them &lt;policy&gt;" in belong
    assert "../episodes/newer/" not in belong.split("</li>\n</ul>")[0]


def test_sitemap_lists_every_page(site: Path) -> None:
    root = etree.parse(str(site / "sitemap.xml")).getroot()
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    assert root.xpath("//s:loc/text()", namespaces=ns) == [
        f"{BASE}/index.html", f"{BASE}/research/index.html", f"{BASE}/episodes/newer/index.html",
        f"{BASE}/episodes/older/index.html"]
    assert root.xpath("//s:lastmod/text()", namespaces=ns)[-1] == "2026-01-05"


def test_language_comes_from_show_toml(show: Path) -> None:
    configure(show)
    toml = show / "show.toml"
    toml.write_text(_text(toml).replace('language = "en"', 'language = "cy"'), encoding="utf-8")
    make_episode(show, "ep")
    write_metadata(show, "ep", title="Pennod", date="2026-01-05T10:00:00Z")
    build_feed(load_show(show))
    for page in site_pages(show):
        assert '<html lang="cy">' in _text(page)


def test_an_episode_page_stays_under_its_budget_for_an_hour_of_talk(show: Path) -> None:
    """An hour of speech (about 9,000 words in some 900 cues), with its HTML, CSS and JS."""
    configure(show)
    make_episode(show, "long")
    sentence = "and that is why we keep coming back to the people who run the project every week"
    cues = [f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000 --> {(n + 4) // 3600:02d}:"
            f"{(n + 4) // 60 % 60:02d}:{(n + 4) % 60:02d}.000\n<v Ann>{sentence[:38]}\n{sentence[38:76]}\n"
            for n in range(0, 3600, 4)]
    (show / "transcripts" / "long.vtt").write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    regenerate(show, "long")
    write_metadata(show, "long", title="An hour", date="2026-01-05T10:00:00Z")
    build_feed(load_show(show))
    page = show / "feed" / "episodes" / "long" / "index.html"
    total = sum(p.stat().st_size for p in (page, show / "feed" / "site" / "site.css", show / "feed" / "site" / "site.js"))
    assert _text(page).count("data-s=") == 900
    assert total < PAGE_BUDGET, f"{total / 1024:.0f} KB"


# --- rebuilding -------------------------------------------------------------------------------------

def test_an_unchanged_show_rebuilds_byte_for_byte_and_writes_nothing(show: Path) -> None:
    build_show(show)
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (show / "feed").rglob("*") if p.is_file()}
    time.sleep(0.01)
    report = build_feed(load_show(show))
    assert report.site is not None and report.site.written == []
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (show / "feed").rglob("*") if p.is_file()} == files


def test_only_changed_pages_are_rewritten(show: Path) -> None:
    build_show(show)
    path = show / "episodes" / "newer.md"
    path.write_text(_text(path).replace("Plain notes", "Changed notes"), encoding="utf-8")
    report = build_feed(load_show(show))
    assert [p.relative_to(show).as_posix() for p in report.site.written] == ["feed/episodes/newer/index.html"]


def test_a_page_goes_when_its_episode_does(show: Path) -> None:
    build_show(show)
    (show / "episodes" / "older.md").unlink()
    (show / "feed" / "media" / "older.mp3").unlink()
    report = build_feed(load_show(show))
    assert not (show / "feed" / "episodes" / "older").exists()
    assert "older" not in _text(show / "feed" / "index.html")
    assert [p.name for p in report.site.removed] == ["index.html"]


def test_an_unpublished_transcript_never_appears(show: Path) -> None:
    """With reviews required, a signed-off episode edited since shows what was last published, and
    a transcript that was never published is not on the page."""
    configure(show)
    toml = show / "show.toml"
    toml.write_text(_text(toml).replace("require_review = false", "require_review = true"), encoding="utf-8")
    make_episode(show, "ep", require_review=True)
    write_metadata(show, "ep", title="Held", date="2026-01-05T10:00:00Z")
    assert not (show / "feed" / "transcripts" / "ep.vtt").exists()
    report = build_feed(load_show(show))
    assert report.held_back and not (show / "feed" / "episodes" / "ep").exists()
    # Published without its transcript (the show stops requiring reviews): the page says so.
    toml.write_text(_text(toml).replace("require_review = true", "require_review = false"), encoding="utf-8")
    build_feed(load_show(show))
    text = _text(show / "feed" / "episodes" / "ep" / "index.html")
    assert "not published yet" in text and "Welcome to Radical Kindness" not in text


# --- the show's own templates, colour and logo ------------------------------------------------------

def test_a_show_template_replaces_the_packaged_one(show: Path) -> None:
    (show / "templates").mkdir()
    (show / "templates" / "research.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block main %}<h1>Our research</h1>'
        "{% for ref in references %}<p>{{ ref.html }}</p>{% endfor %}{% endblock %}\n", encoding="utf-8")
    build_show(show)
    text = _text(show / "feed" / "research" / "index.html")
    assert "<h1>Our research</h1>" in text and "Abrams" in text
    assert '<link rel="stylesheet" href="../site/site.css">' in text  # the packaged base around it


@pytest.mark.parametrize("template, line", [
    ("{% extends 'base.html.j2' %}{% block main %}{% for x in %}{% endblock %}\n", 1),
    ("{% extends 'base.html.j2' %}\n{% block main %}\n{{ no_such_thing }}\n{% endblock %}\n", 3),
])
def test_a_broken_show_template_is_one_line_naming_the_file(show: Path, template: str, line: int) -> None:
    build_show(show)
    (show / "templates").mkdir()
    (show / "templates" / "show.html.j2").write_text(template, encoding="utf-8")
    with pytest.raises(SiteError) as caught:
        build_feed(load_show(show))
    assert str(caught.value).startswith(f"templates/show.html.j2: line {line}: ")
    out = run_clirunner("feed")
    assert out.code == 3
    assert_one_line_error(out, "templates/show.html.j2", "line")


def test_colour_and_logo(show: Path) -> None:
    (show / "assets" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
                                              encoding="utf-8")
    _set_site(show, 'colour = "#8A1538"\nlogo = "assets/logo.svg"\n')
    build_show(show)
    assert "--accent: #8a1538;" in _text(show / "feed" / "site" / "site.css")
    assert (show / "feed" / "site" / "logo.svg").read_bytes() == (show / "assets" / "logo.svg").read_bytes()
    assert '<img src="../../site/logo.svg" alt="" height="40">' in _text(show / "feed" / "episodes" / "older" / "index.html")
    assert broken_links(show / "feed") == []


def test_a_missing_logo_is_one_line_naming_the_file(show: Path) -> None:
    _set_site(show, 'logo = "assets/nowhere.png"\n')
    with pytest.raises(SiteError, match="assets/nowhere.png"):
        build_show(show)
    out = run_clirunner("feed")
    assert out.code == 3
    assert_one_line_error(out, "nowhere.png", "cannot be read")


@pytest.mark.parametrize("colour", ["#ffcc00", "yellow", "#fff"])
def test_a_colour_that_cannot_be_read_on_white_is_refused(show: Path, colour: str) -> None:
    _set_site(show, f'colour = "{colour}"\n')
    with pytest.raises(ConfigError, match="site.colour"):
        load_show(show)


def test_the_dark_mode_accent_is_readable_too(show: Path) -> None:
    from rkaudio.core.colour import contrast, parse_hex

    _set_site(show, 'colour = "#0b3d91"\n')
    build_show(show)
    css = _text(show / "feed" / "site" / "site.css")
    dark = re.search(r"prefers-color-scheme: dark.*?--accent: (#[0-9a-f]{6})", css, re.S).group(1)
    assert contrast(parse_hex(dark), (22, 22, 22)) >= 4.5
    assert os.path.getsize(show / "feed" / "site" / "site.css") < 10_000


# --- through the command line ------------------------------------------------------------------------

def test_process_publishes_the_site_and_heads_the_transcript_page_with_the_title(show: Path, speech_wav: Path) -> None:
    from show_helpers import process

    configure(show)
    make_episode(show, "talk", mp3=False)  # a transcript whose page was headed "Building bridges"
    write_metadata(show, "talk", title="Meeting the neighbours", date="2026-01-05T10:00:00Z")
    report = process(speech_wav, "talk")
    assert report["feed"]["site"] == "feed/index.html"
    page = _text(show / "feed" / "transcripts" / "talk.html")
    assert "<h1>Meeting the neighbours</h1>" in page and "<title>Meeting the neighbours: transcript</title>" in page
    assert "<h1>Meeting the neighbours</h1>" in _text(show / "feed" / "episodes" / "talk" / "index.html")
    out = run_clirunner("feed")
    assert out.code == 0, out
    assert "Wrote the site: feed/index.html and 2 more page(s) (0 file(s) changed)" in out.out
