"""The podcast feed, ``feed/feed.xml``: RSS 2.0 with Apple's tags and the Podcasting 2.0 namespace.

feedgen builds the RSS core (channel, items, enclosures, guids, dates, ``atom:link rel=self`` and
``content:encoded``); one feedgen extension, defined here, adds the ``itunes:`` and ``podcast:``
tags. feedgen's own podcast extension is not used because it writes ``itunes:explicit`` as
yes/no/clean, where Apple now asks for true/false.

The feed is rebuilt whole from ``episodes/*.md`` and ``feed/media/*.mp3`` every time, so
processing an episode again never duplicates its item, and a rebuild gives the same guids: each
episode's guid is stored in its metadata file, written once, never derived from its title.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from ..audio.ffmpeg_tool import probe
from ..audio.video import FORMATS
from ..core.clock import clock, utc_now
from ..core.errors import ConfigError, MetadataError
from ..core.files import sweep_strays, write_if_changed
from ..show.paths import FEED_DIR, FEED_FILE, MEDIA_DIR, SHOW_FILE, EpisodePaths, written_folders
from ..show.settings import Show
from ..show.state import show_lock
from ..transcripts.signoff import review_status
from ..transcripts.store import transcript_stale
from .episode import Chapter, Episode, list_episodes, read_episode
from .id3 import mp3_duration
from .research import Library
from .shownotes import Notes, episode_notes, show_library
from .site import SiteReport, build_site
from .urls import artwork_url, feed_url, media_url, published_url

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
#: The Podcasting 2.0 namespace under its original URI. The spec now names
#: https://podcastindex.org/namespace/1.0 first, but obliges every client that knows the namespace to
#: accept this one too, while some clients (gPodder's podcastparser among them) know only this one:
#: so this URI reaches every app that reads the namespace at all.
PODCAST_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
#: The namespace UUID the Podcasting 2.0 spec fixes for ``podcast:guid`` (UUIDv5 of the feed URL).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
#: Published transcript formats and their MIME types, in the order apps prefer them.
TRANSCRIPT_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip", "json": "application/json",
                    "html": "text/html"}
CHAPTERS_TYPE = "application/json+chapters"


def podcast_guid(url: str) -> str:
    """``podcast:guid``: UUIDv5 of the feed URL without its scheme and trailing slashes."""
    bare = url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


# --- what goes into an item -----------------------------------------------------------------------

@dataclass(frozen=True)
class VideoFile:
    """An episode's finished video, as ``podcast:alternateEnclosure`` describes it."""

    path: Path
    url: str
    mime: str
    size: int
    #: Average bit rate of the whole file, bit/s.
    bitrate: int
    width: int
    height: int
    duration: float


def video_file(show: Show, paths: EpisodePaths) -> VideoFile | None:
    """The episode's published video, measured (size, bit rate, height); None when there is none."""
    path = paths.published_video
    if path is None:
        return None
    info = probe(path)
    size = path.stat().st_size
    duration = info.duration or 0.0
    bitrate = round(size * 8 / duration) if duration > 0 else (info.bitrate or 0)
    width, height = (info.video[0].width, info.video[0].height) if info.video else (0, 0)
    fmt = FORMATS.get(path.suffix.lstrip(".").lower())
    return VideoFile(path=path, url=published_url(show, path), mime=fmt.mime if fmt else "video/mp4", size=size,
                     bitrate=bitrate, width=width, height=height, duration=duration)


@dataclass
class FeedItem:
    """One published episode: its metadata, its MP3 and what is published beside it."""

    episode: Episode
    mp3: Path
    size: int
    duration: float
    notes: Notes
    #: (url, mime type, language) of each published transcript.
    transcripts: list[tuple[str, str]] = field(default_factory=list)
    chapters_url: str = ""
    #: The finished video of a webinar, offered beside the MP3.
    video: VideoFile | None = None


def chapters_json(chapters: tuple[Chapter, ...]) -> str:
    """The Podcasting 2.0 JSON chapters file."""
    items = []
    for chapter in chapters:
        item: dict[str, Any] = {"startTime": round(chapter.start, 3), "title": chapter.title}
        if chapter.url:
            item["url"] = chapter.url
        items.append(item)
    return json.dumps({"version": "1.2.0", "chapters": items}, ensure_ascii=False, indent=2) + "\n"


def collect_item(show: Show, episode: Episode, library: Library | None) -> FeedItem | None:
    """The feed item for ``episode``, or None when it has no MP3 yet. Writes its chapters file."""
    paths = EpisodePaths(show.root, episode.slug)
    mp3 = paths.mp3
    if not mp3.is_file():
        return None
    notes = episode_notes(episode, library)
    transcripts = [(published_url(show, paths.published(ext)), mime)
                   for ext, mime in TRANSCRIPT_TYPES.items() if paths.published(ext).is_file()]
    chapters_url = ""
    chapters_file = paths.chapters
    if episode.chapters:
        chapters_file.parent.mkdir(parents=True, exist_ok=True)
        write_if_changed(chapters_file, chapters_json(episode.chapters).encode("utf-8"))
        chapters_url = published_url(show, chapters_file)
    elif chapters_file.exists():
        chapters_file.unlink()  # chapters were removed from the metadata
    return FeedItem(episode=episode, mp3=mp3, size=mp3.stat().st_size, duration=mp3_duration(mp3),
                    notes=notes, transcripts=transcripts, chapters_url=chapters_url, video=video_file(show, paths))


# --- the feedgen extension ------------------------------------------------------------------------

def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


class _ShowExtension(BaseExtension):
    """Channel-level ``itunes:`` and ``podcast:`` tags."""

    def __init__(self) -> None:
        self.show: Show | None = None
        self.url = ""

    def extend_ns(self) -> dict[str, str]:
        return {"itunes": ITUNES_NS, "podcast": PODCAST_NS}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        show = self.show
        assert show is not None
        channel = rss.find("channel")
        _sub(channel, ITUNES_NS, "author", show.author or show.title)
        if show.owner_name or show.owner_email:
            owner = _sub(channel, ITUNES_NS, "owner")
            if show.owner_name:
                _sub(owner, ITUNES_NS, "name", show.owner_name)
            if show.owner_email:
                _sub(owner, ITUNES_NS, "email", show.owner_email)
        if show.artwork is not None:
            _sub(channel, ITUNES_NS, "image", href=artwork_url(show))
        for main, sub in show.categories:
            category = _sub(channel, ITUNES_NS, "category")
            category.set("text", main)
            if sub:
                _sub(category, ITUNES_NS, "category").set("text", sub)
        _sub(channel, ITUNES_NS, "explicit", "true" if show.explicit else "false")
        _sub(channel, ITUNES_NS, "type", show.type)
        _sub(channel, ITUNES_NS, "summary", show.description)
        _sub(channel, PODCAST_NS, "guid", podcast_guid(self.url))
        _sub(channel, PODCAST_NS, "locked", "yes" if show.locked else "no",
             **({"owner": show.owner_email} if show.owner_email else {}))
        for funding in show.funding:
            _sub(channel, PODCAST_NS, "funding", funding.text, url=funding.url)
        for person in show.people:
            _person(channel, person)
        return rss


def _person(parent: etree._Element, person: Any) -> None:
    attrs = {"role": person.role, "group": person.group}
    if person.href:
        attrs["href"] = person.href
    if person.img:
        attrs["img"] = person.img
    _sub(parent, PODCAST_NS, "person", person.name, **attrs)


class _ItemExtension(BaseEntryExtension):
    """Item-level ``itunes:`` and ``podcast:`` tags."""

    def __init__(self) -> None:
        self.item: FeedItem | None = None
        self.show: Show | None = None

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        item, show = self.item, self.show
        assert item is not None and show is not None
        ep = item.episode
        _sub(entry, ITUNES_NS, "title", ep.title)
        _sub(entry, ITUNES_NS, "duration", clock(round(item.duration), fixed=True))
        _sub(entry, ITUNES_NS, "episodeType", ep.type)
        if ep.season is not None:
            _sub(entry, ITUNES_NS, "season", str(ep.season))
        if ep.number is not None:
            _sub(entry, ITUNES_NS, "episode", str(ep.number))
        explicit = show.explicit if ep.explicit is None else ep.explicit
        _sub(entry, ITUNES_NS, "explicit", "true" if explicit else "false")
        if ep.summary:
            _sub(entry, ITUNES_NS, "summary", ep.summary)
        if ep.image:
            _sub(entry, ITUNES_NS, "image", href=ep.image)
        if ep.season is not None:
            _sub(entry, PODCAST_NS, "season", str(ep.season))
        if ep.number is not None:
            _sub(entry, PODCAST_NS, "episode", str(ep.number))
        language = show.language or "en"
        for url, mime in item.transcripts:
            attrs = {"url": url, "type": mime, "language": language}
            if mime in ("text/vtt", "application/x-subrip"):
                attrs["rel"] = "captions"
            _sub(entry, PODCAST_NS, "transcript", **attrs)
        if item.chapters_url:
            _sub(entry, PODCAST_NS, "chapters", url=item.chapters_url, type=CHAPTERS_TYPE)
        if item.video is not None:
            # The MP3 stays the enclosure every app plays; apps that know Podcasting 2.0 offer the video.
            video = item.video
            attrs = {"type": video.mime, "length": str(video.size), "bitrate": str(video.bitrate), "title": "Video"}
            if video.height:
                attrs["height"] = str(video.height)
            alternate = _sub(entry, PODCAST_NS, "alternateEnclosure", **attrs)
            _sub(alternate, PODCAST_NS, "source", uri=video.url)
        for person in ep.people:
            _person(entry, person)
        return entry


# --- building -------------------------------------------------------------------------------------

@dataclass
class FeedReport:
    path: Path
    url: str
    items: list[FeedItem]
    #: Episodes with metadata but no MP3 yet, and MP3s with no metadata: not in the feed.
    unpublished: list[str] = field(default_factory=list)
    #: Episodes kept out of the feed because the show requires reviewed transcripts and theirs has
    #: never been reviewed: (slug, why).
    held_back: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The listeners' web site written beside the feed.
    site: SiteReport | None = None


def held_back_reason(show: Show, slug: str) -> str | None:
    """Why ``slug`` must stay out of the feed, or None.

    With ``[transcript] require_review`` on, an episode is published only once a reviewer has
    signed off its transcript. A transcript edited since a sign-off does not take a published
    episode down again: what stays published is the version last reviewed. One made for a
    recording that has since been replaced does: its captions belong to other audio.
    """
    if not show.transcript.require_review:
        return None
    stale = transcript_stale(show.root, slug)
    if stale is not None:
        return f"its transcript does not fit: {stale}"
    status = review_status(show.root, slug)
    if status.state in ("reviewed", "changed"):
        return None
    return f"its transcript is {status.describe()}"


def build_feed(show: Show, *, now: datetime | None = None) -> FeedReport:
    """Rebuild ``feed/feed.xml`` (and the chapters files and cover copy) from every episode, and the
    listeners' web site beside it (`site.build_site`). A file is written only if its bytes change.

    Temporary files that runs killed outright left in ``feed/`` are removed first. The show's lock
    is held throughout, so the feed is made from every episode published at that moment and no
    other run's rebuild from an older view can land after it.
    """
    with show_lock(show.root):
        return _build_feed(show, now=now)


def _build_feed(show: Show, *, now: datetime | None = None) -> FeedReport:
    url = feed_url(show)
    sweep_strays(written_folders(show.root))
    library = show_library(show)
    items: list[FeedItem] = []
    unpublished: list[str] = []
    held_back: list[tuple[str, str]] = []
    for slug in list_episodes(show.root):
        episode = read_episode(show.root, slug)
        reason = held_back_reason(show, slug)
        item = collect_item(show, episode, library) if reason is None else None
        if reason is not None and EpisodePaths(show.root, slug).mp3.is_file():
            held_back.append((slug, reason))
        elif item is None:
            unpublished.append(slug)
        else:
            items.append(item)
    media = show.root / MEDIA_DIR
    known = {i.episode.slug for i in items} | set(unpublished) | {slug for slug, _ in held_back}
    warnings = [f"{p.relative_to(show.root)} has no episodes/{p.stem}.md, so it is not in the feed"
                for p in sorted(media.glob("*.mp3")) if p.stem not in known] if media.is_dir() else []
    _check_unique_guids(items)
    items.sort(key=lambda i: (i.episode.date, i.episode.number or 0), reverse=True)
    xml = render_feed(show, items, url, now=now)
    path = show.root / FEED_DIR / FEED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _publish_artwork(show)
    write_if_changed(path, xml)
    site = build_site(show, items)
    return FeedReport(path=path, url=url, items=items, unpublished=unpublished, held_back=held_back,
                      warnings=warnings, site=site)


def update_feed(show: Show) -> FeedReport | None:
    """Rebuild the feed; None (with nothing written) when the show has no base_url yet."""
    if not show.base_url:
        return None
    return build_feed(show)


def _check_unique_guids(items: list[FeedItem]) -> None:
    seen: dict[str, str] = {}
    for item in items:
        guid = item.episode.guid
        if guid in seen:
            raise MetadataError(f"guid {guid} is also the guid of episode {seen[guid]!r}; every episode "
                                "needs its own (delete the line and rkaudio writes a new one)", item.episode.path)
        seen[guid] = item.episode.slug


def _publish_artwork(show: Show) -> None:
    if show.artwork is None:
        return
    if not show.artwork.is_file():
        raise ConfigError(f"{show.root / SHOW_FILE}: show.artwork {show.artwork} does not exist")
    target = show.root / FEED_DIR / show.artwork.name
    write_if_changed(target, show.artwork.read_bytes())


def render_feed(show: Show, items: list[FeedItem], url: str, *, now: datetime | None = None) -> bytes:
    """The feed's XML, items in the order given (newest first)."""
    fg = FeedGenerator()
    fg.register_extension("rk", _ShowExtension, _ItemExtension, atom=False, rss=True)
    fg.rk.show = show
    fg.rk.url = url
    fg.title(show.title)
    fg.link(href=show.link or show.base_url, rel="alternate")
    fg.link(href=url, rel="self", type="application/rss+xml")
    fg.description(show.description or show.title)
    fg.language(show.language or "en")
    if show.copyright:
        fg.copyright(show.copyright)
    fg.generator(f"rkaudio {__version__}", uri="https://github.com/radical-kindness/rkaudio")
    if show.artwork is not None:
        fg.image(url=artwork_url(show), title=show.title, link=show.link or show.base_url)
    # The build date follows the newest episode, so rebuilding unchanged episodes gives the same file.
    newest = items[0].episode.date if items else (now or utc_now())
    fg.lastBuildDate(newest)
    for item in items:
        ep = item.episode
        fe = fg.add_entry(order="append")
        fe.rk.item = item
        fe.rk.show = show
        fe.title(ep.title)
        fe.guid(ep.guid, permalink=False)
        fe.pubDate(ep.date)
        fe.description(item.notes.text or ep.summary or ep.title)
        if item.notes.html:
            fe.content(item.notes.html.replace("]]>", "]]&gt;"), type="CDATA")
        fe.enclosure(media_url(show, ep.slug), str(item.size), "audio/mpeg")
        fe.link(href=media_url(show, ep.slug))
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
