"""``process``: turn a raw recording into a finished, published episode.

The order protects earlier output and the producer's time:

1. everything that can be checked without audio work is checked first: the recording is readable
   audio, a hand-edited transcript parses, the speech engine and its model are there, the
   episode's metadata parses and its notes cite only research the library has;
2. the audio step (`rkaudio.audio.finishing`) measures, calibrates and encodes the MP3 to a
   temporary file beside its target, and checks it (for a video recording, the programme's span
   of it too, which the video takes);
3. the transcript step (`rkaudio.pipeline.transcribe`) transcribes the programme, timed to the
   finished episode, and publishes the transcript files (and, for a video, copies timed to it);
4. the MP3 gets its full tags (the transcript included); a video recording's picture is copied
   with the finished sound, the captions and the chapters into the finished video
   (`rkaudio.audio.video`); only then do they replace the published ones;
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
from ..audio.video import VideoSource, mux_video, video_source
from ..core.errors import WorkspaceError
from ..core.files import atomic_path, sweep_strays, temp_name
from ..core.progress import ProgressCallback, silent
from ..publishing.episode import Episode, EpisodeDraft, ensure_episode, read_episode, slug_for, source_name
from ..publishing.feed import FeedReport, update_feed
from ..publishing.id3 import episode_tags, write_episode_tags
from ..publishing.shownotes import Notes, episode_notes, show_library
from ..show.paths import VIDEO_EXTS, episode_paths, written_folders
from ..show.settings import AudioSettings, Show, TranscriptSettings
from ..show.state import AudioIdentity, EpisodeState, RecordingStat, read_state, show_lock, write_state
from ..transcripts.signoff import review_status
from ..transcripts.store import publish_video_captions, published_text, remove_video_captions
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
    #: The finished video (feed/media/<slug>.mp4 or the recording's own container); None for an
    #: audio recording or with video output off.
    video: Path | None = None
    #: The captions embedded in the video (feed/transcripts/<slug>.video.vtt), if there were any.
    video_captions: Path | None = None


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
    picture = video_source(info) if settings.video_output == "auto" else None
    video = paths.video(picture.format.ext) if picture is not None else None
    # The video takes the MP3's own frames; only WebM, which cannot carry MP3, has its own encode.
    encoded = picture is not None and picture.format.audio_codec != "mp3"
    sound = temp_name(paths.mp3.with_name(f"{name}.video-sound")) if encoded else None
    captions = None

    # The MP3 (and video) are published and the feed rebuilt after them in one turn of the show's
    # lock, taken once the audio and speech work is done: the feed then lists every episode
    # finished by that moment, this one included, and no run's rebuild from an older view lands
    # after it.
    with contextlib.ExitStack() as publishing:
        with atomic_path(paths.mp3) as tmp_mp3, \
                (atomic_path(master) if master else contextlib.nullcontext()) as tmp_master, \
                (atomic_path(video) if video else contextlib.nullcontext()) as tmp_video:
            try:
                audio = finish_audio(plan, tmp_mp3, master=tmp_master, video=picture is not None, video_sound=sound,
                                     video_codec=picture.format.audio_codec if encoded and picture else "opus",
                                     on_progress=on_progress)
                # The transcript goes into the MP3's tags, so it is made before the MP3 is published.
                if transcribe is not None:
                    transcript = transcribe_episode(show, source, name, title=prepared.episode.title,
                                                    settings=transcribe, retranscribe=retranscribe,
                                                    offset_s=plan.intro_lead, audio=audio_id, on_progress=on_progress)
                else:
                    transcript = refresh_transcript(show, name, title=prepared.episode.title, audio=audio_id)
                text = published_text(show.root, name) if transcript is not None else ""
                write_episode_tags(tmp_mp3, episode_tags(show, prepared.episode, prepared.notes,
                                                         transcript_text=text, duration=audio.duration))
                if picture is not None and tmp_video is not None:
                    captions = publish_video_captions(show.root, name, plan.intro_lead)
                    _finish_video(show, picture, source, sound or tmp_mp3, tmp_video, prepared.episode, captions,
                                  plan.intro_lead, plan.programme.duration, on_progress, cut=sound is None)
            finally:
                if sound is not None:
                    sound.unlink(missing_ok=True)
            publishing.enter_context(show_lock(show.root))
        # A video of an earlier run (another container, or made before video output was turned
        # off) would carry other sound and captions: it goes.
        stale_videos = [p for p in (paths.video(ext) for ext in VIDEO_EXTS) if p != video and p.is_file()]
        for old in stale_videos:
            old.unlink()
        if video is None:
            remove_video_captions(show.root, name)
        previous = read_state(show.root, name)
        inputs = episode_inputs(show, name, recording, settings, transcribe, previous=previous)
        write_state(show.root, name, EpisodeState(audio_id, source_name(show, source), RecordingStat.of(source), inputs))
        feed = update_feed(show) if rebuild_feed else None

    warnings = list(audio.warnings)
    warnings += [f"removed {paths.shown(old)}, made from an earlier run" for old in stale_videos]
    if len(info.audio) > 1:
        warnings.append(f"the recording has {len(info.audio)} sound tracks: the first was used"
                        + (", for the MP3 and the video alike" if video is not None else ""))
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
                         warnings=warnings, transcript=transcript, episode=prepared, feed=feed, video=video,
                         video_captions=captions)

def _finish_video(show: Show, picture: VideoSource, source: Path, sound: Path, target: Path, episode: Episode,
                  captions: Path | None, lead: float, duration: float, on_progress: ProgressCallback, *,
                  cut: bool) -> None:
    """Put the finished video together: the recording's picture, the finished sound (``cut``: the
    MP3's frames from the intro's lead for the programme's length), the captions timed to the
    video, and the chapters moved by the intro's lead (which the video does not have)."""
    starts = [max(0.0, c.start - lead) for c in episode.chapters]
    chapters = [(start, starts[n + 1] if n + 1 < len(starts) else duration, c.title)
                for n, (start, c) in enumerate(zip(starts, episode.chapters)) if start < duration]
    mux_video(picture, source, sound, target, title=episode.title, span=(lead, duration) if cut else None,
              captions=captions, language=show.language,
              chapters=[c for c in chapters if c[1] > c[0]],
              on_time=lambda t: on_progress("video", t, max(duration, t)))
    on_progress("video", duration, duration)
