"""The listeners' web site, written into ``feed/`` beside the feed every time the feed is built.

* ``index.html``: the show: cover, description, people, how to subscribe, the episodes newest first;
* ``episodes/<slug>/index.html``: an episode: player, chapters, show notes with their references,
  the published transcript, downloads;
* ``research/index.html``: every research reference any episode cites, each linking to its source
  and back to the episodes that cite it;
* ``sitemap.xml``, and ``site/`` with the stylesheet, the script and the logo every page shares.

Pages are Jinja2 templates packaged with rkaudio (``publishing/templates/``); a show replaces any of
them with a file of the same name in its own ``templates/`` folder. Autoescaping is on for every
HTML template, and the only markup passed through is what `shownotes` sanitised and what
`research.reference_html` escaped. The site makes no request to anyone else: no CDN, font, tracker
or cookie, and people's and episodes' image URLs (which point elsewhere) are not shown. Links are
relative (`urls.relative_url`), so ``feed/`` works under any ``base_url`` and from a folder;
only the metadata for other sites (Open Graph, JSON-LD, the sitemap) carries absolute URLs.

A page is written only when its bytes change (`core.files.write_if_changed`), and nothing in a page
depends on the moment it was built, so an unchanged show rebuilds byte for byte and touches no file.
Only published transcripts appear: the copy in ``feed/transcripts/``, which a show that requires
reviews holds back until a reviewer signs off.
"""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from ..core.clock import clock, iso_duration, long_date
from ..core.colour import contrast, parse_hex, readable_on, to_hex
from ..core.errors import SiteError, TranscriptError
from ..core.files import write_if_changed
from ..show.paths import (
    FEED_DIR,
    FEED_FILE,
    SHOW_FILE,
    SITE_ASSETS_DIR,
    SITE_EPISODES_DIR,
    SITE_INDEX,
    SITE_RESEARCH_DIR,
    SITEMAP_FILE,
    TEMPLATES_DIR,
    EpisodePaths,
)
from ..show.settings import Person, Show
from ..transcripts.formats import from_podcast_json, paragraphs
from .episode import Episode
from .research import Reference, reference_html, reference_link, reference_text
from .shownotes import Notes
from .urls import feed_url, published_url, relative_url


class PublishedVideo(Protocol):
    """What the site needs of an episode's finished video (`feed.VideoFile` is one)."""

    path: Path
    size: int
    width: int
    height: int


class PublishedEpisode(Protocol):
    """What the site needs of an episode in the feed (`feed.FeedItem` is one)."""

    episode: Episode
    size: int
    duration: float
    notes: Notes
    #: The episode's finished video, when it is a webinar.
    video: PublishedVideo | None

#: The packaged templates; a show's ``templates/`` folder is searched first.
PACKAGED_TEMPLATES = Path(__file__).parent / "templates"
#: Download links under the transcript, in the order listeners most often want them.
DOWNLOADS = (("vtt", "WebVTT captions"), ("srt", "SubRip captions"), ("json", "Podcasting 2.0 JSON"),
             ("txt", "Plain text"))
#: A silence longer than this after a cue ends its highlight before the next cue starts.
PAUSE_S = 0.3
#: Logo formats every browser shows.
LOGO_TYPES = (".png", ".jpg", ".jpeg", ".svg", ".webp", ".gif")
#: Links that open the feed in a podcast app: (app, link pattern), where {bare} is the feed URL
#: without its scheme and {url} the whole URL, percent-encoded. These are the apps' own documented
#: subscribe schemes; none goes through a third party's web site.
PODCAST_APPS = (
    ("Apple Podcasts", "podcast://{bare}"),
    ("Overcast", "overcast://x-callback-url/add?url={url}"),
    ("Pocket Casts", "pktc://subscribe/{bare}"),
    ("AntennaPod", "antennapod-subscribe://{bare}"),
    ("Podcast Addict", "podcastaddict://{bare}"),
    ("Castro", "castro://subscribe/{bare}"),
)
#: The page background and text in each colour scheme (as in the transcript page): body text
#: 17.4:1 in light mode and 15.3:1 in dark mode.
LIGHT_BACKGROUND, LIGHT_TEXT = (255, 255, 255), (26, 26, 26)
DARK_BACKGROUND, DARK_TEXT = (22, 22, 22), (236, 236, 236)
#: Everything a page may load comes from the site itself; nothing runs inline.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "media-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'")


@dataclass
class SiteReport:
    """What a site build did."""

    index: Path
    pages: int = 0
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


# --- templates --------------------------------------------------------------------------------------

def _environment(show: Show) -> jinja2.Environment:
    folders = [show.root / TEMPLATES_DIR] if (show.root / TEMPLATES_DIR).is_dir() else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, PACKAGED_TEMPLATES]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2", "xml", "xml.j2"),
                                            default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False)
    env.filters["clock"] = clock
    return env


def _template_error(exc: Exception, show: Show) -> SiteError:
    """A template that does not parse or render, as one line naming its file and line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where, line = exc.filename or exc.name or "a template", exc.lineno
        message = exc.message or str(exc)
    else:
        # Jinja rewrites the traceback so that template frames carry the template's file and line.
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
        where = frames[-1].filename if frames else "a template"
        line = frames[-1].lineno if frames else None
        message = str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
    path = Path(where)
    try:
        shown = path.relative_to(show.root).as_posix()
    except ValueError:
        shown = str(path)
    return SiteError(f"line {line}: {message}" if line else message, shown)


class _Renderer:
    def __init__(self, show: Show) -> None:
        self.show = show
        self.env = _environment(show)
        self.cache: dict[str, jinja2.Template] = {}

    def render(self, name: str, **context: Any) -> bytes:
        try:
            template = self.cache.get(name)
            if template is None:
                template = self.cache[name] = self.env.get_template(name)
            return template.render(**context).encode("utf-8")
        except jinja2.TemplateNotFound as exc:
            raise SiteError(f"template {exc.name!r} not found (in {TEMPLATES_DIR}/ or rkaudio's own)",
                            self.show.root / TEMPLATES_DIR) from None
        except SiteError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a template is the template's
            raise _template_error(exc, self.show) from None


# --- what the pages show ---------------------------------------------------------------------------

def _json_ld(data: dict[str, Any]) -> Markup:
    """JSON-LD safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` that could end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _colours(show: Show) -> dict[str, str]:
    """The accent colour and the shades made from it, each readable where it is used."""
    accent = parse_hex(show.site.colour) or (29, 90, 122)
    accent = readable_on(accent, LIGHT_BACKGROUND)
    dark_accent = readable_on(accent, DARK_BACKGROUND)

    def tint(colour: tuple[int, int, int], background: tuple[int, int, int], text: tuple[int, int, int],
             share: float) -> str:
        """``colour`` mixed into ``background``, faint enough that body text keeps 7:1 on it."""
        for step in range(0, 101, 5):
            t = min(1.0, share + step / 100)
            mixed = tuple(round(b + (c - b) * (1 - t)) for c, b in zip(colour, background))
            if contrast(mixed, text) >= 7.0:  # type: ignore[arg-type]
                return to_hex(mixed)  # type: ignore[arg-type]
        return to_hex(background)

    return {"accent": to_hex(accent), "accent_dark": to_hex(dark_accent),
            "highlight": tint(accent, LIGHT_BACKGROUND, LIGHT_TEXT, 0.82),
            "highlight_dark": tint(dark_accent, DARK_BACKGROUND, DARK_TEXT, 0.7)}


def _excerpt(text: str, limit: int = 200) -> str:
    """The first paragraph of ``text`` in at most ``limit`` characters, cut at a word: a description."""
    first = " ".join(text.strip().split("\n\n", 1)[0].split())
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _people(people: Iterable[Person]) -> list[dict[str, str]]:
    return [{"name": p.name, "role": p.role.capitalize(), "href": p.href} for p in people]


def _transcript(paths: EpisodePaths, audio: str) -> list[dict[str, Any]] | None:
    """The published transcript in paragraphs of cues, or None when none is published.

    A cue's end is given only where a pause follows it; otherwise it ends where the next begins,
    which keeps an hour's page well inside its budget.
    """
    published = paths.published("json")
    if not published.is_file():
        return None
    try:
        text = published.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot be read: {exc}", paths.shown(published)) from None
    cues = from_podcast_json(text, paths.shown(published))
    out = []
    for para in paragraphs(cues):
        rows = []
        for cue in para.cues:
            rows.append({"start": f"{math.floor(cue.start * 10) / 10:.1f}", "end": f"{math.ceil(cue.end * 10) / 10:.1f}",
                         "text": cue.text, "gap": False})
            if rows[:-1]:
                previous = rows[-2]
                previous["gap"] = float(rows[-1]["start"]) - float(previous["end"]) > PAUSE_S
        if rows:
            rows[-1]["gap"] = True  # the next paragraph starts after a pause or with another voice
        out.append({"speaker": para.speaker, "start": para.start, "clock": clock(para.start), "cues": rows,
                    "seek": f"{audio}#t={int(para.start)}"})
    return out


def _reference_id(key: str, taken: dict[str, str]) -> str:
    """An HTML id (and URL fragment) for a reference key, stable across builds."""
    base = "ref-" + "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in key)
    ident, n = base, 1
    while ident in taken.values() and taken.get(key) != ident:
        n += 1
        ident = f"{base}-{n}"
    taken[key] = ident
    return ident


# --- building --------------------------------------------------------------------------------------

def _links(show: Show, page: Path) -> dict[str, str]:
    """Links every page has: the show page, the research page, the feed, the stylesheet, the script."""
    feed = show.root / FEED_DIR
    return {"index": relative_url(page, show.root / SITE_INDEX),
            "research": relative_url(page, show.root / SITE_RESEARCH_DIR / "index.html"),
            "feed": relative_url(page, feed / FEED_FILE),
            "css": relative_url(page, show.root / SITE_ASSETS_DIR / "site.css"),
            "js": relative_url(page, show.root / SITE_ASSETS_DIR / "site.js")}


def _logo(show: Show) -> tuple[Path, bytes] | None:
    """Where the logo is published and its bytes; SiteError naming the file if it is unusable."""
    logo = show.site.logo
    if logo is None:
        return None
    if logo.suffix.lower() not in LOGO_TYPES:
        raise SiteError(f"site.logo {logo} must be an image ({', '.join(LOGO_TYPES)})", show.root / SHOW_FILE)
    try:
        data = logo.read_bytes()
    except OSError as exc:
        raise SiteError(f"site.logo {logo} cannot be read: {exc.strerror or 'it does not exist'}",
                        show.root / SHOW_FILE) from None
    return show.root / SITE_ASSETS_DIR / f"logo{logo.suffix.lower()}", data


def _image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of a raster image (so the page does not jump as it loads), if readable."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            return img.size
    except Exception:  # noqa: BLE001 - a cover Pillow cannot read is still shown, without a size
        return None


def build_site(show: Show, items: Sequence[PublishedEpisode]) -> SiteReport:
    """Write the site for ``items`` (newest first, as in the feed) into ``feed/``; see the module."""
    renderer = _Renderer(show)
    root = show.root
    lang = show.language or "en"
    feed_address = feed_url(show)
    report = SiteReport(index=root / SITE_INDEX)
    files: dict[Path, bytes] = {}

    logo = _logo(show)
    if logo is not None:
        files[logo[0]] = logo[1]
    cover = root / FEED_DIR / show.artwork.name if show.artwork is not None else None
    cover_size = _image_size(show.artwork) if show.artwork is not None and show.artwork.is_file() else None
    index_url = published_url(show, root / SITE_INDEX)
    series = {"@type": "PodcastSeries", "name": show.title, "url": index_url, "webFeed": feed_address,
              "inLanguage": lang}
    if show.description:
        series["description"] = show.description
    if show.author:
        series["author"] = {"@type": "Organization", "name": show.author}
    if cover is not None:
        series["image"] = published_url(show, cover)

    # Research: who cites what, so each reference links back to its episodes.
    citing: dict[str, list[PublishedEpisode]] = {}
    references: dict[str, Reference] = {}
    for item in items:
        for ref in item.notes.cited:
            references.setdefault(ref.key, ref)
            citing.setdefault(ref.key, []).append(item)
    ids: dict[str, str] = {}
    for key in sorted(references):
        _reference_id(key, ids)

    def common(page: Path, title: str, description: str, og_type: str = "website") -> dict[str, Any]:
        return {"show": show, "lang": lang, "title": title, "description": description,
                "links": _links(show, page), "csp": CONTENT_SECURITY_POLICY, "colours": _colours(show),
                "logo": relative_url(page, logo[0]) if logo else "",
                "cover": relative_url(page, cover) if cover else "", "cover_size": cover_size,
                "og": {"type": og_type, "url": published_url(show, page), "title": title,
                       "description": description, "site_name": show.title,
                       "image": published_url(show, cover) if cover else ""},
                "copyright": show.copyright}

    # Episode pages.
    episode_rows = []
    for n, item in enumerate(items):
        ep = item.episode
        paths = EpisodePaths(root, ep.slug)
        page = paths.page
        newer = items[n - 1] if n > 0 else None
        older = items[n + 1] if n + 1 < len(items) else None
        audio = relative_url(page, paths.mp3)
        duration = round(item.duration)
        row = {"title": ep.title, "date": long_date(ep.date), "iso_date": ep.date.date().isoformat(),
               "duration": clock(duration), "iso_duration": iso_duration(duration), "summary": ep.summary,
               "number": ep.number, "season": ep.season}
        episode_rows.append({**row, "href": relative_url(root / SITE_INDEX, page)})
        refs = [{"html": Markup(reference_html(ref)), "id": ids[ref.key],
                 "href": relative_url(page, root / SITE_RESEARCH_DIR / "index.html") + "#" + ids[ref.key],
                 "others": len(citing[ref.key]) - 1} for ref in item.notes.cited]
        downloads = [{"label": label, "ext": ext.upper(), "href": relative_url(page, paths.published(ext))}
                     for ext, label in DOWNLOADS if paths.published(ext).is_file()]
        chapters = [{"start": c.start, "clock": clock(c.start), "title": c.title, "url": c.url,
                     "seek": f"{audio}#t={int(c.start)}"} for c in ep.chapters]
        video = None
        if item.video is not None:
            captions = paths.video_captions("vtt")
            video = {"href": relative_url(page, item.video.path), "ext": item.video.path.suffix.lstrip(".").upper(),
                     "size": item.video.size, "width": item.video.width,
                     "height": item.video.height, "srclang": lang,
                     "label": "Captions",
                     "captions": relative_url(page, captions) if captions.is_file() else ""}
        page_url = published_url(show, page)
        episode_ld: dict[str, Any] = {
            "@context": "https://schema.org", "@type": "PodcastEpisode", "name": ep.title, "url": page_url,
            "datePublished": row["iso_date"], "duration": row["iso_duration"], "inLanguage": lang,
            "associatedMedia": {"@type": "MediaObject", "contentUrl": published_url(show, paths.mp3),
                                "encodingFormat": "audio/mpeg"},
            "partOfSeries": series}
        description = ep.summary or _excerpt(item.notes.text) or show.description
        if description:
            episode_ld["description"] = description
        if ep.number is not None:
            episode_ld["episodeNumber"] = ep.number
        if item.notes.cited:
            episode_ld["citation"] = [{"@type": "CreativeWork", "name": reference_text(r),
                                       **({"url": reference_link(r)} if reference_link(r) else {})}
                                      for r in item.notes.cited]
        context = common(page, ep.title, description or ep.title, "article")
        context["og"]["audio"] = published_url(show, paths.mp3)
        context.update(episode={**row, "slug": ep.slug}, audio=audio, chapters=chapters,
                       notes=Markup(item.notes.body_html), references=refs, downloads=downloads,
                       transcript=_transcript(paths, audio), people=_people((*show.people, *ep.people)),
                       mp3_size=item.size, video=video,
                       newer={"title": newer.episode.title, "href": relative_url(page, EpisodePaths(
                           root, newer.episode.slug).page)} if newer else None,
                       older={"title": older.episode.title, "href": relative_url(page, EpisodePaths(
                           root, older.episode.slug).page)} if older else None,
                       json_ld=_json_ld(episode_ld))
        files[page] = renderer.render("episode.html.j2", **context)

    # The show page.
    index = root / SITE_INDEX
    bare = feed_address.split("://", 1)[-1]
    apps = [{"name": name, "href": pattern.format(bare=bare, url=quote(feed_address, safe=""))}
            for name, pattern in PODCAST_APPS]
    context = common(index, show.title, show.description or show.title)
    context.update(episodes=episode_rows, feed_address=feed_address, apps=apps, people=_people(show.people),
                   funding=show.funding, json_ld=_json_ld({"@context": "https://schema.org", **series}))
    files[index] = renderer.render("show.html.j2", **context)

    # The research page.
    research = root / SITE_RESEARCH_DIR / "index.html"
    ordered = sorted(references.values(), key=lambda r: (reference_text(r).casefold(), r.key))
    context = common(research, f"Research: {show.title}",
                     f"The research cited in {show.title}, linked to the episodes that draw on it.")
    context.update(references=[{"id": ids[r.key], "html": Markup(reference_html(r)), "link": reference_link(r),
                                "episodes": [{"title": i.episode.title, "date": long_date(i.episode.date),
                                              "href": relative_url(research, EpisodePaths(root, i.episode.slug).page)}
                                             for i in citing[r.key]]} for r in ordered])
    files[research] = renderer.render("research.html.j2", **context)

    # What every page shares, and the sitemap.
    assets = root / SITE_ASSETS_DIR
    files[assets / "site.css"] = renderer.render("site.css.j2", colours=_colours(show))
    files[assets / "site.js"] = renderer.render("site.js.j2")
    newest = items[0].episode.date.date().isoformat() if items else None
    entries = [(index_url, newest), (published_url(show, research), newest)]
    entries += [(published_url(show, EpisodePaths(root, i.episode.slug).page), i.episode.date.date().isoformat())
                for i in items]
    files[root / SITEMAP_FILE] = renderer.render("sitemap.xml.j2", entries=entries)

    report.pages = sum(1 for p in files if p.suffix == ".html")
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if write_if_changed(path, data):
            report.written.append(path)
    report.removed = _remove_old_pages(show, {i.episode.slug for i in items}, logo[0] if logo else None)
    return report


def _remove_old_pages(show: Show, slugs: set[str], logo: Path | None) -> list[Path]:
    """Pages of episodes no longer published (removed, or held back for review), and an old logo."""
    removed = []
    folder = show.root / SITE_EPISODES_DIR
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and sub.name not in slugs and (sub / "index.html").is_file():
                (sub / "index.html").unlink()
                removed.append(sub / "index.html")
                if not any(sub.iterdir()):
                    sub.rmdir()
    assets = show.root / SITE_ASSETS_DIR
    for old in sorted(assets.glob("logo.*")) if assets.is_dir() else []:
        if old != logo:
            old.unlink()
            removed.append(old)
    return removed
