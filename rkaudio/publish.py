"""Publishing an episode: its metadata file, the MP3's full tags, and the feed.

``process`` calls `prepare` before any audio work (so a broken metadata file or a citation key
missing from the research library stops the run at once), `episode_tags` on the finished MP3
before it is renamed into place, and `update_feed` after. A sign-off in the review editor calls
`republish`, so the approved transcript reaches the MP3's tags and the feed without a re-run.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import ffmpeg_tool
from .config import Show
from .episode import Episode, EpisodeDraft, ensure_episode, episode_path, read_episode
from .errors import RkaudioError
from .feed import FeedReport, build_feed, episode_notes, feed_url, library_for
from .files import atomic_path
from .shownotes import Notes
from .tags import EpisodeTags, write_episode_tags
from .transcript_store import transcript_files

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """An episode's metadata, ready for tagging and the feed."""

    episode: Episode
    notes: Notes
    #: Fields rkaudio wrote into the metadata file in this run (empty when it only read it).
    written: list[str]


def prepare(show: Show, slug: str, *, title: str | None, source: Path | None = None,
            summary: str = "") -> Prepared:
    """Create or complete ``episodes/<slug>.md``, read it, and render its notes (checking citations).

    ``title`` is the title the producer gave (``--title``); without one, a new file takes the
    recording's name.
    """
    relative = ""
    if source is not None:
        try:
            relative = str(source.resolve().relative_to(show.root.resolve()))
        except ValueError:
            relative = str(source)
    fallback = source.stem if source is not None else slug.replace("-", " ").capitalize()
    draft = EpisodeDraft(title=title or fallback, source=relative, summary=summary)
    _, written = ensure_episode(show.root, slug, draft)
    episode = read_episode(show.root, slug)
    if title and episode.title != title and "title" not in written:
        log.warning("%s sets the title %r; --title %r was not used",
                    episode_path(show.root, slug), episode.title, title)
    notes = episode_notes(episode, library_for(show))
    return Prepared(episode=episode, notes=notes, written=written)


def episode_tags(show: Show, prepared: Prepared, *, transcript_text: str = "",
                 duration: float | None = None) -> EpisodeTags:
    """The ID3 tags of the finished MP3, from the show, the episode and its transcript.

    With no author set, the artist is the show's title, as the feed's ``itunes:author`` is.
    """
    ep = prepared.episode
    return EpisodeTags(
        title=ep.title, show_title=show.title, author=show.author or show.title, date=ep.date,
        summary=ep.summary or prepared.notes.text[:500], description=prepared.notes.text,
        cover=show.artwork if show.artwork is not None and show.artwork.is_file() else None,
        transcript=transcript_text, language=_iso639_2(show.language), chapters=ep.chapters,
        duration=duration, feed_url=feed_url(show) if show.base_url else "", guid=ep.guid,
        id3_version=show.id3_version)


def update_feed(show: Show) -> FeedReport | None:
    """Rebuild the feed; None (with nothing written) when the show has no base_url yet."""
    if not show.base_url:
        return None
    return build_feed(show)


def published_text(show: Show, slug: str) -> str:
    """The published plain-text transcript (what listeners get, and the MP3's USLT), or "" if none."""
    text_file = transcript_files(show.root, slug).published("txt")
    try:
        return text_file.read_text(encoding="utf-8") if text_file.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise RkaudioError(f"cannot be read: {exc}", text_file) from None


def republish(show: Show, slug: str) -> FeedReport | None:
    """Bring a published episode up to date with its published transcript: the MP3's tags (the
    transcript in USLT) rewritten, then the feed rebuilt, which a show that requires reviews
    needs before a newly signed-off episode appears in it.

    An episode with no published MP3 yet is left alone (None). The tags are written on a copy
    that replaces the MP3 only once complete, so a failure leaves the published file as it was.
    """
    mp3 = show.media_dir / f"{slug}.mp3"
    if not mp3.is_file():
        return None
    episode = read_episode(show.root, slug)
    prepared = Prepared(episode=episode, notes=episode_notes(episode, library_for(show)), written=[])
    text = published_text(show, slug)
    duration = ffmpeg_tool.probe(mp3).duration
    try:
        with atomic_path(mp3) as tmp:
            shutil.copyfile(mp3, tmp)
            write_episode_tags(tmp, episode_tags(show, prepared, transcript_text=text, duration=duration))
    except OSError as exc:
        raise RkaudioError(f"cannot be retagged: {exc.strerror or exc}", mp3) from None
    return update_feed(show)


_ISO639_2 = {"en": "eng", "cy": "cym", "gd": "gla", "ga": "gle", "fr": "fra", "de": "deu", "es": "spa",
             "it": "ita", "pt": "por", "nl": "nld", "pl": "pol", "ar": "ara", "ur": "urd", "pa": "pan",
             "bn": "ben", "hi": "hin", "gu": "guj", "so": "som", "zh": "zho", "ro": "ron", "tr": "tur"}


def _iso639_2(language: str) -> str:
    """ID3 wants a three-letter language code for comments and lyrics."""
    return _ISO639_2.get((language or "en").split("-")[0].lower(), "eng")
