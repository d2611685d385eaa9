"""The transcript step of ``process``, and ``rkaudio transcribe``: a recording in, transcript files out.

Transcripts are timed against the finished episode, the file listeners hear and podcast apps
caption: the programme's words are moved later by the time the intro plays before it. Both
``process`` and ``transcribe`` transcribe the programme recording itself (never the lossy MP3, and
never the stings), so the two give the same timings.

A transcript in ``transcripts/<slug>.vtt`` is never replaced, since a reviewer may have edited it:
without ``retranscribe`` the engine does not even run, and the other formats and the published
copies are made from that file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import ffmpeg_tool
from ..audio.inputs import check_wav_complete
from ..core.errors import InputError, MetadataError
from ..core.files import file_digest
from ..core.progress import ProgressCallback, silent
from ..publishing.episode import read_episode
from ..show.paths import episode_paths
from ..show.settings import Show, TranscriptSettings
from ..show.state import AudioIdentity
from ..speech.engine import Engine
from ..speech import speakers as diarizer
from ..speech.engines import check_engine, load_engine
from ..speech.recognise import AsrResult, shift_spans, shift_words, transcribe_file
from ..transcripts.caption_check import Finding, has_errors
from ..transcripts.segmentation import transcript_from_words
from ..transcripts.store import (
    TranscriptUpdate,
    has_transcript,
    regenerate,
    reviewer_touched,
    recorded_voices,
    save_machine_transcript,
    transcript_made_for,
)
from ..transcripts.vtt_reader import read_vtt

log = logging.getLogger(__name__)


@dataclass
class TranscriptReport:
    """What the transcript step did, for the producer."""

    slug: str
    #: "created", "kept" (the .vtt was left alone: made for this audio, or a reviewer worked on
    #: it), "merged" (retranscribed around the reviewer's cues), "remade" (the machine's own
    #: transcript of a recording since replaced, made again) or "regenerated" (formats and
    #: published copies only).
    action: str
    vtt: Path
    cues: int
    empty: bool
    reviewer_cues: int
    findings: list[Finding]
    written: list[Path]
    archived: list[Path]
    #: Seconds the words were moved later, for the intro.
    offset_s: float = 0.0
    asr: AsrResult | None = None
    warnings: list[str] = field(default_factory=list)
    #: False when the show requires reviewed transcripts and this one is not signed off yet, or
    #: when it was made for different audio.
    published: bool = True
    #: Why the transcript does not belong to the audio listeners get, if it does not.
    stale: str | None = None
    #: Whether a reviewer has worked on the transcript (a cue of theirs, or a sign-off).
    reviewed: bool = False
    #: Who spoke when, when speakers were labelled this run.
    speakers: diarizer.Diarization | None = None
    #: Why speakers were not labelled, when they could have been (the extra is not installed).
    speakers_note: str | None = None

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)


def check_reviewed(show: Show, slug: str) -> None:
    """Raise TranscriptError (with the line) now if a reviewed .vtt exists but is malformed.

    ``process`` calls this before any audio work, so a bad hand edit stops the run at once and
    nothing is rewritten from it.
    """
    files = episode_paths(show.root, slug)
    if files.vtt.exists():
        read_vtt(files.vtt, files.shown(files.vtt))


def check_ready(show: Show, slug: str, settings: TranscriptSettings, *, retranscribe: bool = False,
                recording_sha256: str | None = None) -> None:
    """Raise now if the transcript step would fail at its start: a malformed reviewed .vtt, or (when
    the engine is to run) an engine that is not installed or a model that cannot be found.

    ``recording_sha256`` is the recording's digest: the engine also runs when the transcript was
    made from another recording and no reviewer has worked on it.
    """
    check_reviewed(show, slug)
    if retranscribe or not has_transcript(show.root, slug):
        check_engine(settings)
        return
    made_for = transcript_made_for(show.root, slug)
    if (recording_sha256 is not None and made_for is not None and made_for.sha256 != recording_sha256
            and not reviewer_touched(show.root, slug)):
        check_engine(settings)


def episode_title(show: Show, slug: str) -> str | None:
    """The title in ``episodes/<slug>.md``, which names the transcript page; None without one."""
    if not episode_paths(show.root, slug).metadata.is_file():
        return None
    try:
        return read_episode(show.root, slug).title
    except MetadataError:
        return None  # the metadata step reports it; a transcript need not wait for it


def audio_identity(source: Path, offset_s: float) -> AudioIdentity:
    """The audio a transcript of ``source`` is timed to: its content, and the intro's lead."""
    try:
        return AudioIdentity(file_digest(source), offset_s)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", source) from None


def transcribe_episode(show: Show, source: Path, slug: str, *, title: str | None = None,
                       settings: TranscriptSettings | None = None, retranscribe: bool = False,
                       offset_s: float = 0.0, audio: AudioIdentity | None = None, engine: Engine | None = None,
                       on_progress: ProgressCallback = silent) -> TranscriptReport:
    """Transcribe ``source`` into ``transcripts/<slug>.*`` and publish the copies in ``feed/``.

    ``title`` names the transcript page; when None, the episode's title from its metadata, else a new
    transcript takes the recording's file name and an existing one keeps its own. ``offset_s`` is where the programme starts in the finished
    episode (after the intro). ``audio`` identifies the audio the transcript is for (by default,
    ``source`` and ``offset_s``).
    ``engine`` replaces the one ``settings`` names (tests, and callers that reuse a loaded model).

    A transcript that exists is kept, unless ``retranscribe`` or it was made for other audio: then
    one nobody has reviewed is made again, and one a reviewer worked on is kept but not published
    (the report says why; ``retranscribe`` merges new machine text around the reviewer's cues).
    """
    settings = settings or show.transcript
    check_reviewed(show, slug)
    title = title or episode_title(show, slug)
    audio = audio or audio_identity(source, offset_s)
    remade = False
    if has_transcript(show.root, slug) and not retranscribe:
        made_for = transcript_made_for(show.root, slug)
        if made_for is None or made_for.matches(audio) or reviewer_touched(show.root, slug):
            # A transcript from before rkaudio recorded its audio is taken to be this audio's.
            update = regenerate(show.root, slug, title=title, rules=settings.rules,
                                require_review=show.transcript.require_review,
                                made_for=audio if made_for is None else None, published_audio=audio)
            update.action = "kept"
            report = _report(update, show, offset_s, None)
            if update.stale is not None:
                shown = report.vtt.relative_to(show.root).as_posix()
                report.warnings.append(
                    f"{shown} was kept but not published: {update.stale}, and a reviewer has worked on it. "
                    f"Merge new machine text around the reviewer's edits with --retranscribe, or correct it "
                    f"in 'rkaudio review {slug}'")
            return report
        remade = True  # the machine's own transcript of other audio: make it again
    info = ffmpeg_tool.probe(source)
    check_wav_complete(source)
    if title is None and not has_transcript(show.root, slug):
        title = source.stem
    language = transcript_language(show, settings)
    engine = engine or load_engine(settings, language)
    result = transcribe_file(source, engine, language=language, total_seconds=info.duration,
                             on_progress=on_progress)
    diarization, note = label_speakers(show, source, slug, settings, result, offset_s)
    words = shift_words(result.words, offset_s) if offset_s else result.words
    transcript = transcript_from_words(words, language=language, title=title or "",
                                       speakers=diarization.turns if diarization else None, rules=settings.rules)
    update = save_machine_transcript(show.root, slug, transcript, retranscribe=retranscribe or remade,
                                     rules=settings.rules, require_review=show.transcript.require_review,
                                     made_for=audio, speech=shift_spans(result.speech, offset_s),
                                     voices=diarization.voices if diarization else None)
    if remade:
        update.action = "remade"
    report = _report(update, show, offset_s, result)
    report.speakers, report.speakers_note = diarization, note
    return report


def label_speakers(show: Show, source: Path, slug: str, settings: TranscriptSettings, asr: AsrResult,
                   offset_s: float) -> tuple[diarizer.Diarization | None, str | None]:
    """Who spoke when in ``source``, timed to the finished episode, with the labels (and the
    reviewer's names) an earlier transcript of the same voices gave them; or None and why not.

    Only the speech the engine was given is searched for voices. Nothing is labelled when the
    setting is "off", when nothing was said, or when the diarizer is not installed (then the
    note says how to install it).
    """
    if not settings.labels_speakers or not asr.words:
        return None, None
    if not diarizer.available():
        return None, (f"speakers are not labelled: install the diarizer with pip install '{diarizer.EXTRA}' "
                      "(or set transcript.speakers = \"off\" in show.toml)")
    # An explicit share of the cores for the speech engine (build sets one per job) holds for the
    # diarizer too.
    share = settings.threads * settings.workers if settings.threads and settings.workers else None
    found = diarizer.diarize(source, count=settings.speaker_count, speech=asr.speech, threads=share).shifted(offset_s)
    earlier = recorded_voices(show.root, slug)
    if earlier and found.voices:
        found = diarizer.carry_over(found, earlier)
    elif len(found.speakers) == 1 and found.speakers[0] == diarizer.label(1):
        # One voice, and the episode names one person: it is theirs.
        people = _episode_people(show, slug)
        if len(people) == 1:
            found = found.renamed({diarizer.label(1): people[0]})
    return found, None


def _episode_people(show: Show, slug: str) -> list[str]:
    """The names of the people in the episode's front matter (none if it has no metadata yet)."""
    try:
        return [p.name for p in read_episode(show.root, slug).people if p.name]
    except MetadataError:
        return []


def refresh_transcript(show: Show, slug: str, *, title: str | None = None,
                       audio: AudioIdentity | None = None) -> TranscriptReport | None:
    """Remake the formats and the published copies from the .vtt as it stands (a reviewer may have
    edited it since the last run); None when there is no transcript. ``audio`` is the audio
    listeners get (by default, what the published MP3 was made from): a transcript made for other
    audio is not published."""
    if not has_transcript(show.root, slug):
        return None
    update = regenerate(show.root, slug, title=title or episode_title(show, slug), rules=show.transcript.rules,
                        require_review=show.transcript.require_review, published_audio=audio)
    report = _report(update, show, 0.0, None)
    if update.stale is not None:
        report.warnings.append(f"{report.vtt.relative_to(show.root).as_posix()} is not published: {update.stale}; "
                               f"transcribe it again (without --no-transcribe) or correct it in 'rkaudio review {slug}'")
    return report


def _report(update: TranscriptUpdate, show: Show, offset_s: float, asr: AsrResult | None) -> TranscriptReport:
    files = episode_paths(show.root, update.slug)
    warnings = list(asr.warnings) if asr else []
    if update.empty and not warnings:
        warnings.append("the transcript is empty")
    if has_errors(update.findings):
        count = sum(f.severity == "error" for f in update.findings)
        warnings.append(f"{count} caption-rule error(s) in {files.shown(files.vtt)}; "
                        f"see 'rkaudio transcript check {update.slug}'")
    cues = len(read_vtt(files.vtt, files.shown(files.vtt)))
    reviewed = update.reviewer_cues > 0 or files.review.exists()
    return TranscriptReport(slug=update.slug, action=update.action, vtt=files.vtt, cues=cues,
                            empty=update.empty, reviewer_cues=update.reviewer_cues,
                            findings=update.findings, written=update.written, archived=update.archived,
                            offset_s=offset_s, asr=asr, warnings=warnings, published=update.published,
                            stale=update.stale, reviewed=reviewed)


def transcript_language(show: Show, settings: TranscriptSettings) -> str:
    """The language to transcribe in: the setting, else the show's, as a primary code ("en")."""
    return (settings.language or show.language or "en").split("-")[0].lower()
