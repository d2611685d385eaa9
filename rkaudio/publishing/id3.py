"""ID3 tags of the delivered MP3, written with mutagen.

ID3v2.3 by default: it is the version every podcast app, car stereo and older player reads (v2.4's
UTF-8 text and TDRC dates are still missed by some). v2.4 is an option.

Besides the usual title, artist, album and date, a podcast MP3 carries Apple's podcast frames
(PCST, WFED, TGID, TDES), the summary (COMM), the cover (APIC), the whole transcript (USLT), and
chapters (CHAP frames under one CTOC table of contents, each with its title and, where it has one,
a WXXX link), so players that never see the feed still show chapters, art and the transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import langcodes
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    PCST,
    TALB,
    TCON,
    TDES,
    TDRC,
    TGID,
    TIT2,
    TLAN,
    TLEN,
    TPE1,
    USLT,
    WFED,
    WXXX,
    CTOCFlags,
    PictureType,
)
from mutagen.mp3 import MP3, HeaderNotFoundError

from ..core.errors import ConfigError, MetadataError, WorkspaceError
from ..show.settings import Show
from .episode import Chapter, Episode
from .shownotes import Notes
from .urls import feed_url

ID3_VERSIONS = (3, 4)
#: The ID3 chapter frame's "no byte offset" value: players seek by time.
_NO_OFFSET = 0xFFFFFFFF
_IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class EpisodeTags:
    """Everything written into an episode's ID3 tag."""

    title: str
    show_title: str
    author: str = ""
    date: datetime | None = None
    #: One or two sentences (COMM); podcast apps show it under the title.
    summary: str = ""
    #: The show notes as plain text (TDES).
    description: str = ""
    cover: Path | None = None
    #: The full transcript as plain text (USLT).
    transcript: str = ""
    #: ISO 639-2 code (three letters) for COMM, USLT and TLAN.
    language: str = "eng"
    chapters: tuple[Chapter, ...] = ()
    #: The MP3's length in seconds: the end of the last chapter, and TLEN.
    duration: float | None = None
    feed_url: str = ""
    guid: str = ""
    id3_version: int = 3


def _cover_frame(path: Path) -> APIC:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"show.artwork: cannot read the cover image: {exc.strerror or exc}", path) from None
    mime = next((m for magic, m in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    if mime is None:
        raise ConfigError("show.artwork: the cover image is neither PNG nor JPEG", path)
    return APIC(encoding=3, mime=mime, type=PictureType.COVER_FRONT, desc="Cover", data=data)


def _chapter_frames(chapters: tuple[Chapter, ...], duration: float | None) -> list[CHAP | CTOC]:
    """One CHAP per chapter (each ends where the next starts) and the CTOC that orders them."""
    frames: list[CHAP | CTOC] = []
    ids = [f"chp{n}" for n in range(len(chapters))]
    for n, chapter in enumerate(chapters):
        end = chapters[n + 1].start if n + 1 < len(chapters) else (duration or chapter.start)
        sub = [TIT2(encoding=3, text=chapter.title)]
        if chapter.url:
            sub.append(WXXX(encoding=3, desc="chapter url", url=chapter.url))
        frames.append(CHAP(element_id=ids[n], start_time=int(round(chapter.start * 1000)),
                           end_time=int(round(max(end, chapter.start) * 1000)),
                           start_offset=_NO_OFFSET, end_offset=_NO_OFFSET, sub_frames=sub))
    if chapters:
        frames.append(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                           child_element_ids=ids, sub_frames=[TIT2(encoding=3, text="Chapters")]))
    return frames


def build_tag(tags: EpisodeTags) -> ID3:
    """The ID3 tag for ``tags``, in memory (v2.4 frames; `write_episode_tags` converts for v2.3)."""
    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    id3.add(TALB(encoding=3, text=tags.show_title))
    if tags.author:
        id3.add(TPE1(encoding=3, text=tags.author))
    id3.add(TCON(encoding=3, text="Podcast"))
    if tags.date is not None:
        id3.add(TDRC(encoding=3, text=tags.date.strftime("%Y-%m-%dT%H:%M:%S")))
    id3.add(TLAN(encoding=3, text=tags.language))
    if tags.duration:
        id3.add(TLEN(encoding=3, text=str(int(round(tags.duration * 1000)))))
    if tags.summary:
        id3.add(COMM(encoding=3, lang=tags.language, desc="", text=tags.summary))
    if tags.description:
        id3.add(TDES(encoding=3, text=tags.description))
    if tags.transcript:
        id3.add(USLT(encoding=3, lang=tags.language, desc="Transcript", text=tags.transcript))
    if tags.cover is not None:
        id3.add(_cover_frame(tags.cover))
    id3.add(PCST(value=1))
    if tags.feed_url:
        id3.add(WFED(encoding=3, url=tags.feed_url))
    if tags.guid:
        id3.add(TGID(encoding=3, text=tags.guid))
    for frame in _chapter_frames(tags.chapters, tags.duration):
        id3.add(frame)
    return id3


def write_episode_tags(path: Path, tags: EpisodeTags) -> None:
    """Replace the MP3's tag (whatever the encoder wrote) with the episode's full tag."""
    if tags.id3_version not in ID3_VERSIONS:
        raise ConfigError(f"show.id3_version must be 3 or 4, not {tags.id3_version}", path)
    id3 = build_tag(tags)
    if tags.id3_version == 3:
        # Dates become TYER/TDAT/TIME, and text is written as UTF-16, which v2.3 readers expect.
        id3.update_to_v23()
    try:
        id3.save(path, v2_version=tags.id3_version, v23_sep="/")
    except Exception as exc:  # mutagen raises several unrelated types for unwritable files
        raise WorkspaceError(f"cannot write tags: {exc}", path) from exc


def mp3_duration(path: Path) -> float:
    """The MP3's length in seconds, from its header (the Xing frame count LAME writes)."""
    try:
        return float(MP3(path).info.length)
    except (HeaderNotFoundError, OSError) as exc:
        raise MetadataError(f"cannot read the MP3's length: {exc}", path) from None


def iso639_2(language: str) -> str:
    """The three-letter ISO 639-2 code ID3 wants for comments and lyrics, from an IETF language tag
    ("cy" -> "cym", "pa-Arab" -> "pan", "zh-Hant" -> "zho"); "und" (undetermined) for a tag no
    registry knows."""
    try:
        return langcodes.Language.get(language or "und").to_alpha3()
    except (LookupError, ValueError):
        return "und"


def episode_tags(show: Show, episode: Episode, notes: Notes, *, transcript_text: str = "",
                 duration: float | None = None) -> EpisodeTags:
    """The ID3 tags of the finished MP3, from the show, the episode and its transcript.

    With no author set, the artist is the show's title, as the feed's ``itunes:author`` is.
    """
    return EpisodeTags(
        title=episode.title, show_title=show.title, author=show.author or show.title, date=episode.date,
        summary=episode.summary or notes.text[:500], description=notes.text,
        cover=show.artwork if show.artwork is not None and show.artwork.is_file() else None,
        transcript=transcript_text, language=iso639_2(show.language), chapters=episode.chapters,
        duration=duration, feed_url=feed_url(show) if show.base_url else "", guid=episode.guid,
        id3_version=show.id3_version)
