"""A show with a published site: two episodes (one with hostile text, chapters, speakers and research),
built by the library, and the tools that read the site as a browser or a crawler would."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from rkaudio.publishing.feed import FeedReport, build_feed
from rkaudio.show.config import load_show
from rkaudio.transcripts.store import regenerate

from review_helpers import make_episode
from show_helpers import configure, write_metadata

HOSTILE_TITLE = 'Café & "friends" <b>bold</b> <script>alert(1)</script>'
#: The second episode's transcript: two speakers, and a cue for every second of its 16 s of audio.
SPEAKER_VTT = "WEBVTT\n\n" + "\n".join(
    f"00:00:{n:02d}.000 --> 00:00:{n + 1:02d}.000\n<v {'Ann' if n < 8 else 'Ben'}>Line number {n} of the talk.\n"
    for n in range(0, 15))


def build_show(show: Path) -> FeedReport:
    """Two published episodes: "older" with hostile text, notes citing research and chapters; "newer"
    with speakers in its transcript. Returns the feed build's report (the site is in feed/)."""
    configure(show)
    make_episode(show, "older")
    write_metadata(show, "older", title=HOSTILE_TITLE, date="2026-01-05T10:00:00Z", number=1,
                   notes="Hello <script>alert(1)</script> <img src=x onerror=alert(1)> see [@abrams2021] "
                         "and [@belong2021].\n\n[bad](javascript:alert(1))",
                   chapters='[[chapters]]\nstart = 0\ntitle = "Start & <go>"\n'
                            '[[chapters]]\nstart = "0:05"\ntitle = "More"\nurl = "https://example.org/more"\n')
    make_episode(show, "newer")
    (show / "transcripts" / "newer.vtt").write_text(SPEAKER_VTT, encoding="utf-8")
    regenerate(show, "newer")
    write_metadata(show, "newer", title="Newer", date="2026-02-05T10:00:00Z", number=2,
                   notes="Plain notes citing [@abrams2021].",
                   chapters='[[chapters]]\nstart = 0\ntitle = "Opening"\n'
                            '[[chapters]]\nstart = "0:09"\ntitle = "Ben speaks"\n')
    return build_feed(load_show(show))


def site_pages(show: Path) -> list[Path]:
    return sorted((show / "feed").rglob("index.html"))


class _Links(HTMLParser):
    """Every URL a page links to or loads, with the element and attribute it came from; and its ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value is not None:
                self.urls.append((tag, name, value))


def links_of(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def broken_links(feed: Path) -> list[str]:
    """Every relative link or asset of every page in ``feed`` that does not resolve: the file is
    missing, or a fragment names no element of the page it points at. Absolute links (the sources
    of research, apps' subscribe links) are not followed: they leave the site."""
    broken = []
    for page in sorted(feed.rglob("*.html")):
        for tag, attr, url in links_of(page).urls:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            where = f"{page.relative_to(feed)}: <{tag} {attr}={url!r}>"
            if not target.is_file():
                broken.append(f"{where}: {target} does not exist")
            elif parts.fragment and target.suffix == ".html" and not re.fullmatch(r"t=[\d.]+", parts.fragment):
                if parts.fragment not in links_of(target).ids:
                    broken.append(f"{where}: no element has id {parts.fragment!r}")
    return broken
