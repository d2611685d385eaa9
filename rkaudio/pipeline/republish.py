"""A reviewer's sign-off, and bringing a published episode up to date with it.

A sign-off is recorded with the transcript (`rkaudio.transcripts.signoff`); then what it approved
goes out at once: the published transcript copies (which a show that requires reviews has held
back), the MP3's tags (the transcript is its USLT frame) and the feed, so a held-back episode is
published without another ``process``. A webinar's video gets the approved captions too: its
caption copies (``<slug>.video.vtt``) and the subtitle track inside it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..audio.video import replace_captions
from ..core.clock import utc_now
from ..core.errors import RkaudioError, WorkspaceError
from ..core.files import atomic_path
from ..publishing.episode import read_episode
from ..publishing.feed import FeedReport, update_feed
from ..publishing.id3 import episode_tags, mp3_duration, write_episode_tags
from ..publishing.shownotes import episode_notes, show_library
from ..show.paths import EpisodePaths
from ..show.settings import Show
from ..show.state import read_state, show_lock
from ..transcripts.signoff import ReviewStatus, record_sign_off
from ..transcripts.store import publish_video_captions, published_text, regenerate
from .freshness import record_tags
from .transcribe import episode_title

log = logging.getLogger(__name__)


def republish(show: Show, slug: str, *, rebuild_feed: bool = True) -> FeedReport | None:
    """Bring a published episode up to date with its published transcript: the MP3's tags (the
    transcript in USLT) rewritten, then the feed rebuilt, which a show that requires reviews
    needs before a newly signed-off episode appears in it.

    An episode with no published MP3 yet is left alone (None). The tags are written on a copy
    that replaces the MP3 only once complete, so a failure leaves the published file as it was.
    The show's lock is held throughout, so a run publishing the same MP3 cannot interleave.
    """
    with show_lock(show.root):
        return _republish(show, slug, rebuild_feed)


def _republish(show: Show, slug: str, rebuild_feed: bool) -> FeedReport | None:
    mp3 = EpisodePaths(show.root, slug).mp3
    if not mp3.is_file():
        return None
    episode = read_episode(show.root, slug)
    notes = episode_notes(episode, show_library(show))
    text = published_text(show.root, slug)
    duration = mp3_duration(mp3)
    try:
        with atomic_path(mp3) as tmp:
            shutil.copyfile(mp3, tmp)
            write_episode_tags(tmp, episode_tags(show, episode, notes, transcript_text=text, duration=duration))
    except OSError as exc:
        raise WorkspaceError(f"cannot be retagged: {exc.strerror or exc}", mp3) from None
    refresh_video_captions(show, slug)
    record_tags(show, slug)
    return update_feed(show) if rebuild_feed else None


def refresh_video_captions(show: Show, slug: str) -> None:
    """Give a published video the published transcript: its caption copies, moved back by the
    intro lead it was made with, and its subtitle track (on a copy that replaces it when complete)."""
    paths = EpisodePaths(show.root, slug)
    video = paths.published_video
    state = read_state(show.root, slug)
    if video is None or state is None:
        return
    captions = publish_video_captions(show.root, slug, state.audio.lead_s)
    try:
        with atomic_path(video) as tmp:
            replace_captions(video, tmp, captions=captions, language=show.language)
    except OSError as exc:
        raise WorkspaceError(f"cannot be given the new captions: {exc.strerror or exc}", video) from None


@dataclass(frozen=True)
class SignOffReport:
    status: ReviewStatus
    #: What happened to the published episode, in a sentence for the reviewer.
    published: str


def sign_off(show: Show, slug: str, reviewer: str, *, expected: str | None = None,
             now: Callable[[], datetime] = utc_now) -> SignOffReport:
    """Record that ``reviewer`` reviewed the .vtt as it is now, and publish what they approved.

    ``expected`` is the digest of the .vtt the reviewer saw (see `record_sign_off`). The sign-off
    stands even if republishing the MP3 or the feed then fails; the report says so.
    """
    status = record_sign_off(show.root, slug, reviewer, expected=expected, now=now)
    # What was signed off is published at once (a show that requires reviews has held it back).
    regenerate(show.root, slug, title=episode_title(show, slug), rules=show.transcript.rules,
               require_review=show.transcript.require_review, now=now)
    try:
        report = republish(show, slug)
    except RkaudioError as exc:
        log.warning("signed off, but the published episode was not updated: %s", exc)
        return SignOffReport(status, f"The published episode was not updated: {exc}. Run rkaudio process again.")
    if report is not None:
        return SignOffReport(status, "The episode's tags and the feed now carry this transcript.")
    if EpisodePaths(show.root, slug).mp3.is_file():
        return SignOffReport(status, "The episode's tags now carry this transcript; the feed was not rebuilt "
                                     "(show.base_url is not set).")
    return SignOffReport(status, "The transcript will go out with the episode when it is processed.")
