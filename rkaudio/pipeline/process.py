"""``process``: turn a raw recording into a finished, published episode.

The order protects earlier output and the producer's time:

1. everything that can be checked without audio work is checked first: the recording is readable
   audio, a hand-edited transcript parses, the speech engine and its model are there, the
   episode's metadata parses and its notes cite only research the library has;
2. the audio step (`rkaudio.audio.finishing`) measures, calibrates and encodes the MP3 to a
   temporary file beside its target, and checks it;
3. the transcript step (`rkaudio.pipeline.transcribe`) transcribes the programme, timed to the
   finished episode, and publishes the transcript files;
4. the MP3 gets its full tags (the transcript included) and only then replaces the published one;
5. the feed is rebuilt from every episode.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import ffmpeg_tool
from ..audio.finishing import FinishedAudio, finish_audio, plan_audio
from ..audio.inputs import check_wav_complete
from ..core.errors import WorkspaceError
from ..core.files import atomic_path, sweep_strays
from ..core.progress import ProgressCallback, silent
from ..publishing.episode import Episode, EpisodeDraft, ensure_episode, read_episode, slug_for, source_name
from ..publishing.feed import FeedReport, update_feed
from ..publishing.id3 import episode_tags, write_episode_tags
from ..publishing.shownotes import Notes, episode_notes, show_library
from ..show.paths import episode_paths, written_folders
from ..show.settings import AudioSettings, Show, TranscriptSettings
from ..show.state import AudioIdentity, EpisodeState, RecordingStat, read_state, show_lock, write_state
from ..transcripts.signoff import review_status
from ..transcripts.store import published_text
from .freshness import episode_inputs, recording_sha256
from .transcribe import (
    TranscriptReport,
    check_ready,
    check_reviewed,
    refresh_transcript,
    transcribe_episode,
)

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """An episode's metadata, ready for tagging and the feed."""

    episode: Episode
    notes: Notes
    #: Fields rkaudio wrote into the metadata file in this run (empty when it only read it).
    written: list[str]


@dataclass
class ProcessReport:
    """What ``process`` did, in numbers a producer can check."""

    slug: str
    source: Path
    output: Path
    master: Path | None
    audio: FinishedAudio
    warnings: list[str] = field(default_factory=list)
    #: The transcript step; None when it was skipped and there was no reviewed transcript to publish.
    transcript: TranscriptReport | None = None
    #: The episode's metadata (episodes/<slug>.md) and rendered notes.
    episode: Prepared | None = None
    #: The rebuilt feed; None when the show has no base_url yet.
    feed: FeedReport | None = None


def prepare(show: Show, slug: str, *, title: str | None, source: Path | None = None,
            summary: str = "") -> Prepared:
    """Create or complete ``episodes/<slug>.md``, read it, and render its notes (checking citations).

    ``title`` is the title the producer gave (``--title``); without one, a new file takes the
    recording's name.
    """
    relative = source_name(show, source) if source is not None else ""
    fallback = source.stem if source is not None else slug.replace("-", " ").capitalize()
    draft = EpisodeDraft(title=title or fallback, source=relative, summary=summary)
    _, written = ensure_episode(show.root, slug, draft)
    episode = read_episode(show.root, slug)
    if title and episode.title != title and "title" not in written:
        log.warning("%s sets the title %r; --title %r was not used", episode.path, episode.title, title)
    notes = episode_notes(episode, show_library(show))
    return Prepared(episode=episode, notes=notes, written=written)


def process_episode(show: Show, source: Path, *, slug: str | None = None, title: str | None = None,
                    settings: AudioSettings | None = None, transcribe: TranscriptSettings | None = None,
                    retranscribe: bool = False, rebuild_feed: bool = True,
                    on_progress: ProgressCallback = silent) -> ProcessReport:
    """Finish one recording into ``feed/media/<slug>.mp3``; see the module docstring.

    With ``transcribe``, the programme is then transcribed with those settings (see
    `rkaudio.pipeline.transcribe`); without, a reviewed transcript that exists is still published
    again. ``rebuild_feed`` False leaves the feed and site to the caller (``build`` rebuilds them
    once, after all its episodes).
    """
    settings = settings or show.audio
    # What runs that were killed outright left half-written goes first: nobody must publish it.
    swept = sweep_strays(written_folders(show.root))
    source = source.expanduser().resolve() if source.exists() else source
    info = ffmpeg_tool.probe(source)
    check_wav_complete(source)
    # The recording's digest is taken before the lock (an hour of WAV takes a second or two to read).
    guess = slug_for(show, source, slug)
    recording = recording_sha256(show, guess, source)
    # The slug and the episode's number are chosen from the episodes there are, and its metadata
    # file written, in one turn of the show's lock: runs started together never share a number.
    with show_lock(show.root):
        name = slug_for(show, source, slug)
        # A hand-edited transcript or metadata file that does not parse, show notes citing research
        # the library lacks, or a transcript engine that is not installed or has no model, stop the
        # run before any work rather than after it.
        if transcribe is not None:
            check_ready(show, name, transcribe, retranscribe=retranscribe, recording_sha256=recording)
        else:
            check_reviewed(show, name)
        prepared = prepare(show, name, title=title, source=source)
    paths = episode_paths(show.root, name)

    plan = plan_audio(source, info, settings, on_progress=on_progress)
    # What the transcript must be timed to: this recording, after this intro.
    audio_id = AudioIdentity(recording, plan.intro_lead)
    try:
        paths.mp3.parent.mkdir(parents=True, exist_ok=True)
        if settings.keep_master:
            paths.master.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the output folder: {exc.strerror}", paths.mp3.parent) from None
    master = paths.master if settings.keep_master else None

    # The MP3 is published and the feed rebuilt after it in one turn of the show's lock, taken once
    # the audio and speech work is done: the feed then lists every episode finished by that moment,
    # this one included, and no run's rebuild from an older view lands after it.
    with contextlib.ExitStack() as publishing:
        with atomic_path(paths.mp3) as tmp_mp3, \
                (atomic_path(master) if master else contextlib.nullcontext()) as tmp_master:
            audio = finish_audio(plan, tmp_mp3, master=tmp_master, on_progress=on_progress)
            # The transcript goes into the MP3's tags, so it is made before the MP3 is published.
            if transcribe is not None:
                transcript = transcribe_episode(show, source, name, title=prepared.episode.title,
                                                settings=transcribe, retranscribe=retranscribe,
                                                offset_s=plan.intro_lead, audio=audio_id, on_progress=on_progress)
            else:
                transcript = refresh_transcript(show, name, title=prepared.episode.title, audio=audio_id)
            text = published_text(show.root, name) if transcript is not None else ""
            write_episode_tags(tmp_mp3, episode_tags(show, prepared.episode, prepared.notes, transcript_text=text,
                                                     duration=audio.duration))
            publishing.enter_context(show_lock(show.root))
        previous = read_state(show.root, name)
        inputs = episode_inputs(show, name, recording, settings, transcribe, previous=previous)
        write_state(show.root, name, EpisodeState(audio_id, source_name(show, source), RecordingStat.of(source), inputs))
        feed = update_feed(show) if rebuild_feed else None

    warnings = list(audio.warnings)
    if swept:
        warnings.append(f"removed {len(swept)} temporary file(s) left by runs that were stopped before they "
                        f"finished (in {', '.join(sorted({paths.shown(p.parent) for p in swept}))})")
    if transcript is not None:
        warnings += [f"transcript: {w}" for w in transcript.warnings]
        review = review_status(show.root, name)
        if not review.reviewed:
            warnings.append(f"transcript: {review.describe()}; review it with 'rkaudio review {name}'")
    if feed is None and rebuild_feed:
        warnings.append("show.base_url is not set in show.toml, so the feed was not built")
    elif feed is not None and name in dict(feed.held_back):
        warnings.append("not in the feed until its transcript is reviewed (show.toml: transcript.require_review); "
                        f"signing it off in 'rkaudio review {name}' publishes it")
    return ProcessReport(slug=name, source=source, output=paths.mp3, master=master, audio=audio,
                         warnings=warnings, transcript=transcript, episode=prepared, feed=feed)
