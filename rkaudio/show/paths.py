"""Where everything lives in a show folder: the one place that knows every path of an episode.

A show folder holds ``show.toml``; ``episodes/`` (recordings and each episode's metadata file);
``transcripts/`` (the reviewers' files and their history); ``feed/`` (everything listeners get,
served at the show's ``base_url``); and ``masters/`` (optional lossless copies). Each published
file's URL is its path under ``feed/`` appended to ``base_url``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import TranscriptError

SHOW_FILE = "show.toml"

#: The recordings ``process`` takes and ``build`` finds in ``episodes/``: audio, and the video
#: containers a webinar comes in (their sound is the programme).
RECORDING_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".aif", ".aiff",
                      ".mp4", ".m4v", ".mov", ".mkv", ".webm")

#: Folder layout of a show, relative to its root.
EPISODES_DIR = "episodes"
TRANSCRIPTS_DIR = "transcripts"
FEED_DIR = "feed"
MEDIA_DIR = f"{FEED_DIR}/media"
MASTERS_DIR = "masters"
#: Published copies of each transcript, made from the reviewed .vtt.
PUBLISHED_TRANSCRIPTS_DIR = f"{FEED_DIR}/transcripts"
CHAPTERS_DIR = f"{FEED_DIR}/chapters"
FEED_FILE = "feed.xml"
#: The listeners' web site, written beside the feed: the show page, a page per episode, the
#: research page, the sitemap, and the stylesheet, script and logo every page shares.
SITE_INDEX = f"{FEED_DIR}/index.html"
SITE_EPISODES_DIR = f"{FEED_DIR}/episodes"
SITE_RESEARCH_DIR = f"{FEED_DIR}/research"
SITE_ASSETS_DIR = f"{FEED_DIR}/site"
SITEMAP_FILE = f"{FEED_DIR}/sitemap.xml"
#: A show's own versions of the site's templates, each replacing the packaged one of its name.
TEMPLATES_DIR = "templates"
#: Earlier versions of an episode's transcript files: ``transcripts/history/<slug>/``.
HISTORY_DIR = "history"
#: rkaudio's own bookkeeping in a show folder (what each episode was made from; the show's lock).
STATE_DIR = ".rkaudio"

#: Containers of a finished video, in the order they are preferred: MP4 plays everywhere; WebM and
#: Matroska carry what MP4 cannot (VP8, Theora).
VIDEO_EXTS = ("mp4", "webm", "mkv")
#: The caption formats published for the video, timed to the video's own timeline.
VIDEO_CAPTION_FORMATS = ("vtt", "srt")

#: A slug names files in several folders, so it must never reach outside them.
_SAFE_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class EpisodePaths:
    """Every file of one episode in a show folder; build it with `episode_paths`."""

    root: Path
    slug: str

    # --- metadata and audio -------------------------------------------------------------------

    @property
    def metadata(self) -> Path:
        """``episodes/<slug>.md``: TOML front matter and Markdown show notes."""
        return self.root / EPISODES_DIR / f"{self.slug}.md"

    @property
    def mp3(self) -> Path:
        """The finished episode listeners download."""
        return self.root / MEDIA_DIR / f"{self.slug}.mp3"

    def video(self, ext: str = "mp4") -> Path:
        """The finished video of a webinar, in container ``ext`` (one of `VIDEO_EXTS`)."""
        return self.root / MEDIA_DIR / f"{self.slug}.{ext}"

    @property
    def published_video(self) -> Path | None:
        """The finished video that is published, if there is one."""
        return next((p for p in (self.video(ext) for ext in VIDEO_EXTS) if p.is_file()), None)

    @property
    def master(self) -> Path:
        """The lossless master, when the show keeps one."""
        return self.root / MASTERS_DIR / f"{self.slug}.flac"

    @property
    def chapters(self) -> Path:
        """The Podcasting 2.0 chapters file."""
        return self.root / CHAPTERS_DIR / f"{self.slug}.json"

    @property
    def page(self) -> Path:
        """The episode's page on the show's web site."""
        return self.root / SITE_EPISODES_DIR / self.slug / "index.html"

    # --- transcripts --------------------------------------------------------------------------

    @property
    def transcripts(self) -> Path:
        return self.root / TRANSCRIPTS_DIR

    def _transcript(self, suffix: str) -> Path:
        return self.transcripts / f"{self.slug}.{suffix}"

    @property
    def vtt(self) -> Path:
        """The reviewers' source of truth."""
        return self._transcript("vtt")

    @property
    def machine_vtt(self) -> Path:
        """The latest machine transcript as the engine gave it."""
        return self._transcript("machine.vtt")

    @property
    def words(self) -> Path:
        """The words sidecar: timings and probabilities, cue by cue."""
        return self._transcript("words.json")

    def derived(self, ext: str) -> Path:
        """The reviewer-side copy of a format made from the .vtt (srt, json, txt, html)."""
        return self._transcript(ext)

    @property
    def review(self) -> Path:
        """The reviewers' sign-offs."""
        return self._transcript("review.json")

    @property
    def history(self) -> Path:
        return self.transcripts / HISTORY_DIR / self.slug

    def published(self, ext: str) -> Path:
        """The copy of a transcript format listeners get."""
        return self.root / PUBLISHED_TRANSCRIPTS_DIR / f"{self.slug}.{ext}"

    def video_captions(self, ext: str) -> Path:
        """The copy of a caption format timed to the finished video (``<slug>.video.vtt``): the MP3's
        copies count the intro's lead, the video's do not."""
        return self.root / PUBLISHED_TRANSCRIPTS_DIR / f"{self.slug}.video.{ext}"

    def shown(self, path: Path) -> str:
        """``path`` as messages give it: relative to the show folder."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def episode_paths(show_root: Path, slug: str) -> EpisodePaths:
    """The files of episode ``slug``; TranscriptError if the slug would escape its folders.

    (Slugs given by hand reach rkaudio through the transcript commands and the review editor.)
    """
    if not _SAFE_SLUG.fullmatch(slug) or ".." in slug:
        raise TranscriptError(f"{slug!r} cannot name a transcript or any other file of an episode: use "
                              "letters, digits, dots, dashes and underscores")
    return EpisodePaths(show_root, slug)


def written_folders(show_root: Path) -> list[Path]:
    """Every folder rkaudio writes files into (atomically, through temporary files beside them)."""
    fixed = [show_root / name for name in (FEED_DIR, MEDIA_DIR, PUBLISHED_TRANSCRIPTS_DIR, CHAPTERS_DIR,
                                             SITE_RESEARCH_DIR, SITE_ASSETS_DIR, MASTERS_DIR, TRANSCRIPTS_DIR,
                                             EPISODES_DIR, "assets", f"{STATE_DIR}/episodes")]
    for parent in (show_root / TRANSCRIPTS_DIR / HISTORY_DIR, show_root / SITE_EPISODES_DIR):
        try:
            fixed += sorted(p for p in parent.iterdir() if p.is_dir())
        except OSError:
            pass
    return [show_root, *fixed]


def feed_relative(show_root: Path, path: Path) -> str:
    """A published file's path under ``feed/``, which is also its URL under ``base_url``."""
    return path.relative_to(show_root / FEED_DIR).as_posix()
