"""An episode's transcript files in a show folder, and the rules that keep reviewers' work safe.

``transcripts/<slug>.vtt`` is the reviewers' source of truth. Beside it:

* ``<slug>.machine.vtt``: the latest machine transcript as the engine gave it, for comparison;
* ``<slug>.words.json``: word timings and probabilities, cue by cue, and which cues the reviewer
  wrote (see `sidecar`);
* ``<slug>.srt``, ``.json`` (Podcasting 2.0), ``.txt`` and ``.html``: made from the .vtt;
* ``<slug>.review.json``: the reviewers' sign-offs (see `signoff`);
* ``history/<slug>/<UTC time>.<ext>``: every earlier version of any of these files, saved there
  before anything replaces it.

The published copies, ``feed/transcripts/<slug>.{vtt,srt,json,html,txt}``, are made from the
reviewed .vtt on every run (`regenerate`), so a reviewer's edit goes out with the next run. The
published .vtt is written afresh from the cues, so reviewers' NOTE blocks are not published.

A new machine transcript never replaces a .vtt that exists; ``retranscribe`` merges it around
the cues a reviewer wrote. Nothing is written when the .vtt (or the sidecar) is malformed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from ..core.clock import utc_now
from ..core.errors import StaleTranscriptError, TranscriptError
from ..core.files import digest, write_bytes_atomic, write_if_changed
from ..show.paths import VIDEO_CAPTION_FORMATS, EpisodePaths, episode_paths
from ..show.settings import CaptionRules
from ..show.state import AudioIdentity, read_state
from ..speech.words import Voice
from .caption_check import Finding, check_cues
from .formats import to_html, to_podcast_json, to_srt, to_text, to_vtt
from .model import Cue, Transcript
from .sidecar import Sidecar, SidecarCue, merge, parse_sidecar, reconcile, sidecar_json
from .signoff import review_status
from .vtt_reader import parse_vtt, read_vtt

#: The formats published in the feed, made from the reviewed .vtt.
PUBLISHED_FORMATS = ("vtt", "srt", "json", "html", "txt")
#: The language a transcript is taken to be in when nothing says otherwise.
DEFAULT_LANGUAGE = "en"
#: A .vtt in the history folder: the UTC time it was replaced, and a count for two in one instant.
_HISTORY_VTT = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)(?:-(\d+))?\.vtt")
#: The name that restores the engine's latest output (``<slug>.machine.vtt``).
MACHINE_VERSION = "machine"

Action = Literal["created", "kept", "merged", "remade", "regenerated"]


def has_transcript(show_root: Path, slug: str) -> bool:
    """True once ``transcripts/<slug>.vtt`` exists (whoever wrote it): a new machine transcript
    will not replace it. Whether a reviewer signed it off is `signoff.review_status`."""
    return episode_paths(show_root, slug).vtt.exists()


@dataclass
class TranscriptUpdate:
    """What a save or a regeneration did, for the caller to report."""

    slug: str
    #: "created": first transcript; "kept": a reviewed .vtt existed and was left alone;
    #: "merged": new machine text merged around the reviewer's cues; "remade": transcribed again
    #: because the recording changed and nobody had reviewed the old one; "regenerated": formats only.
    action: Action
    #: No speech at all (silence or music only): the files are valid and empty; warn the producer.
    empty: bool = False
    #: Cues kept exactly as a reviewer wrote them.
    reviewer_cues: int = 0
    written: list[Path] = field(default_factory=list)
    #: Earlier versions saved under transcripts/history/ before being replaced.
    archived: list[Path] = field(default_factory=list)
    #: Caption-rule findings for the reviewed .vtt (see `transcript_check`).
    findings: list[Finding] = field(default_factory=list)
    #: False when the published copies were not made, because the show requires reviewed
    #: transcripts and this one is not signed off (the copies last published stay as they were),
    #: or because it was made for different audio (then no copies stay published).
    published: bool = True
    #: Why the transcript does not belong to the audio listeners get, if it does not.
    stale: str | None = None


class _Writer:
    """Writes files atomically, skipping unchanged ones, and archives what it replaces."""

    def __init__(self, files: EpisodePaths, now: datetime) -> None:
        self.files = files
        self.stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.written: list[Path] = []
        self.archived: list[Path] = []

    def put(self, path: Path, text: str, *, archive: bool = True) -> None:
        data = text.encode("utf-8")
        try:
            old = path.read_bytes()
        except FileNotFoundError:
            old = None
        except OSError as exc:
            raise TranscriptError(f"cannot be read: {exc.strerror or exc}", self.files.shown(path)) from None
        if old == data:
            return
        try:
            # A file this same save wrote a moment ago is not an earlier version worth keeping.
            if old is not None and archive and path not in self.written:
                self._archive(path, old)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data)
        except OSError as exc:
            raise TranscriptError(f"cannot be written: {exc.strerror or exc}", self.files.shown(path)) from None
        self.written.append(path)

    def remove(self, path: Path) -> None:
        """Delete a published copy (never a reviewer's file: those go to the history instead)."""
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TranscriptError(f"cannot be removed: {exc.strerror or exc}", self.files.shown(path)) from None
        self.written.append(path)

    def _archive(self, path: Path, data: bytes) -> None:
        suffix = path.name[len(self.files.slug) + 1:]
        target = self.files.history / f"{self.stamp}.{suffix}"
        count = 1
        while target.exists():  # two saves within one microsecond, or a clock set back
            count += 1
            target = self.files.history / f"{self.stamp}-{count}.{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, data)
        self.archived.append(target)


def save_machine_transcript(show_root: Path, slug: str, transcript: Transcript, *, retranscribe: bool = False,
                            rules: CaptionRules | None = None, require_review: bool = False,
                            made_for: AudioIdentity | None = None,
                            speech: Sequence[tuple[float, float]] | None = None,
                            voices: Sequence[Voice] | None = None,
                            now: Callable[[], datetime] = utc_now) -> TranscriptUpdate:
    """Store a new machine transcript for ``slug`` without ever losing a reviewer's work.

    No .vtt yet: write it (and the machine copy and the words sidecar). A .vtt exists: leave it
    alone ("kept"), or with ``retranscribe`` merge the new text around the cues the reviewer wrote
    ("merged"; earlier versions go to the history folder). Either way the other formats and the
    published copies are then made from the .vtt. Check `TranscriptUpdate.empty` to warn of silence.
    ``made_for`` is the audio the transcript was made from and timed to (see `regenerate`), and
    ``speech`` where voice activity detection found speech in it, timed as the transcript, and
    ``voices`` the speakers the diarizer told apart in it; all are kept in the words sidecar (a
    merge replaces them: they describe the audio just transcribed).
    """
    files = episode_paths(show_root, slug)
    writer = _Writer(files, now())
    if not files.vtt.exists():
        # With the title and language the regeneration below records, so it has nothing to change
        # (and nothing to put in the history) in a file written a moment ago.
        sidecar = Sidecar.from_machine(transcript)
        sidecar = Sidecar(sidecar.cues, sidecar.deleted, sidecar.language or DEFAULT_LANGUAGE,
                          sidecar.title or files.slug, made_for, None if speech is None else tuple(speech),
                          tuple(voices or ()))
        writer.put(files.machine_vtt, to_vtt(transcript.cues))
        writer.put(files.words, sidecar_json(sidecar))
        writer.put(files.vtt, to_vtt(transcript.cues))
        action: Action = "created"
    elif not retranscribe:
        action = "kept"
    else:
        reviewed = read_vtt(files.vtt, files.shown(files.vtt))
        current = reconcile(reviewed, _previous_sidecar(files))
        merged = merge(current, transcript, rules)
        if made_for is not None:  # the merged transcript is timed to the audio just transcribed
            merged = dataclasses.replace(merged, audio=made_for)
        if speech is not None:
            merged = dataclasses.replace(merged, speech=tuple(speech))
        if voices is not None:
            merged = dataclasses.replace(merged, voices=tuple(voices))
        writer.put(files.machine_vtt, to_vtt(transcript.cues))
        writer.put(files.words, sidecar_json(merged))
        writer.put(files.vtt, to_vtt([e.cue for e in merged.cues], keep_empty=True))
        action = "merged"
    update = _regenerate(files, writer, title=transcript.title or None, language=transcript.language or None,
                         rules=rules, require_review=require_review,
                         made_for=made_for if action != "kept" else None, published_audio=made_for)
    update.action = action
    return update


def regenerate(show_root: Path, slug: str, *, title: str | None = None, language: str | None = None,
               rules: CaptionRules | None = None, require_review: bool = False,
               made_for: AudioIdentity | None = None, published_audio: AudioIdentity | None = None,
               now: Callable[[], datetime] = utc_now) -> TranscriptUpdate:
    """Make the other formats and the published copies from the reviewed ``transcripts/<slug>.vtt``.

    ``title`` and ``language`` default to those recorded in the words sidecar, then to the slug and
    "en". ``made_for`` records the audio the transcript was made for, where the sidecar has none
    yet. ``published_audio`` is the audio listeners get (by default, what the episode's state
    says the published MP3 was made from): a transcript made for other audio is not published,
    and any copies of it published before are removed. Raises TranscriptError, writing nothing, if
    the .vtt is missing or malformed.
    """
    files = episode_paths(show_root, slug)
    return _regenerate(files, _Writer(files, now()), title=title, language=language, rules=rules,
                       require_review=require_review, made_for=made_for, published_audio=published_audio)


def check_transcript(show_root: Path, slug: str, rules: CaptionRules | None = None) -> list[Finding]:
    """Caption-rule findings for the reviewed .vtt, and speech no cue covers (where the words sidecar
    recorded the speech); TranscriptError if the .vtt is missing or malformed."""
    files = episode_paths(show_root, slug)
    reviewed = read_vtt(files.vtt, files.shown(files.vtt))
    current = reconcile(reviewed, _previous_sidecar(files))
    return check_cues([entry.cue for entry in current.cues], rules, speech=current.speech)


def recorded_voices(show_root: Path, slug: str) -> tuple[Voice, ...]:
    """The voices the diarizer told apart when the transcript was made, under the labels the
    reviewed .vtt gives them now (a speaker renamed everywhere carries the new name)."""
    files = episode_paths(show_root, slug)
    if not files.vtt.exists():
        return ()
    reviewed = read_vtt(files.vtt, files.shown(files.vtt))
    return reconcile(reviewed, _previous_sidecar(files)).voices


def recorded_speech(show_root: Path, slug: str) -> tuple[tuple[float, float], ...] | None:
    """Where the episode's audio holds speech, as the words sidecar recorded it; None if it did not."""
    return _previous_sidecar(episode_paths(show_root, slug)).speech


def load_transcript(show_root: Path, slug: str) -> Transcript:
    """The reviewed transcript, with word timings wherever the reviewer left a cue's text unchanged."""
    files = episode_paths(show_root, slug)
    reviewed = read_vtt(files.vtt, files.shown(files.vtt))
    return reconcile(reviewed, _previous_sidecar(files)).transcript()


def _previous_sidecar(files: EpisodePaths) -> Sidecar:
    """The words sidecar; failing that, the machine copy (no words); failing that, nothing known.

    With neither, every cue of the .vtt counts as the reviewer's, so none is ever replaced.
    """
    if files.words.exists():
        try:
            text = files.words.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TranscriptError(f"cannot be read: {exc}", files.shown(files.words)) from None
        return parse_sidecar(text, files.shown(files.words))
    if files.machine_vtt.exists():
        cues = read_vtt(files.machine_vtt, files.shown(files.machine_vtt))
        return Sidecar(tuple(SidecarCue(c, False) for c in cues))
    return Sidecar()


def _regenerate(files: EpisodePaths, writer: _Writer, *, title: str | None, language: str | None,
                rules: CaptionRules | None, require_review: bool = False, made_for: AudioIdentity | None = None,
                published_audio: AudioIdentity | None = None) -> TranscriptUpdate:
    """Make the other formats from the .vtt, and the published copies unless ``require_review`` is
    on and the .vtt is not signed off: then what was last published (a reviewed version, or
    nothing) stays as it was. A transcript made for other audio than listeners get is never
    published, and its earlier copies are removed."""
    if not files.vtt.exists():
        raise TranscriptError("not found: there is no transcript to publish yet", files.shown(files.vtt))
    reviewed = read_vtt(files.vtt, files.shown(files.vtt))
    previous = _previous_sidecar(files)
    current = reconcile(reviewed, previous)
    current = Sidecar(current.cues, current.deleted, language or previous.language or DEFAULT_LANGUAGE,
                      title or previous.title or files.slug, previous.audio or made_for, previous.speech,
                      current.voices)
    cues: list[Cue] = [entry.cue for entry in current.cues]
    made = {
        "vtt": to_vtt(cues),
        "srt": to_srt(cues),
        "json": to_podcast_json(cues),
        "txt": to_text(cues),
        "html": to_html(cues, title=current.title, language=current.language),
    }
    writer.put(files.words, sidecar_json(current))
    for ext in ("srt", "json", "txt", "html"):
        writer.put(files.derived(ext), made[ext])
    stale = stale_reason(current.audio, published_audio or _published_audio(files))
    publish = stale is None and (not require_review or _signed_off(files))
    if publish:
        for ext in PUBLISHED_FORMATS:
            writer.put(files.published(ext), made[ext], archive=False)
    elif stale is not None:
        # Captions of other audio must not outlive it: listeners would read words nobody says.
        for ext in PUBLISHED_FORMATS:
            writer.remove(files.published(ext))
    return TranscriptUpdate(
        slug=files.slug, action="regenerated", empty=current.transcript().is_empty,
        reviewer_cues=current.reviewed_count, written=writer.written, archived=writer.archived,
        findings=check_cues(cues, rules, speech=current.speech), published=publish, stale=stale)


def stale_reason(made_for: AudioIdentity | None, published: AudioIdentity | None) -> str | None:
    """Why a transcript made for ``made_for`` does not fit ``published``, or None when it fits (or
    when either is unknown)."""
    if made_for is None or published is None or made_for.matches(published):
        return None
    if made_for.sha256 != published.sha256:
        return "it was made for different audio: the recording has changed since it was transcribed"
    return (f"it was made for different audio: the intro now plays {published.lead_s:.2f} s before the "
            f"programme, not {made_for.lead_s:.2f} s, so every caption would be off by the difference")


def _published_audio(files: EpisodePaths) -> AudioIdentity | None:
    state = read_state(files.root, files.slug)
    return state.audio if state is not None else None


def transcript_made_for(show_root: Path, slug: str) -> AudioIdentity | None:
    """The audio the transcript was made from and timed to, as its words sidecar records it."""
    return _previous_sidecar(episode_paths(show_root, slug)).audio


def transcript_stale(show_root: Path, slug: str) -> str | None:
    """Why the episode's transcript does not belong to its published audio, or None."""
    files = episode_paths(show_root, slug)
    if not files.vtt.exists():
        return None
    return stale_reason(transcript_made_for(show_root, slug), _published_audio(files))


def reviewer_touched(show_root: Path, slug: str) -> bool:
    """Whether a reviewer has worked on the transcript: a cue of theirs, or a sign-off."""
    files = episode_paths(show_root, slug)
    if files.review.exists():
        return True
    reviewed = read_vtt(files.vtt, files.shown(files.vtt))
    return reconcile(reviewed, _previous_sidecar(files)).reviewed_count > 0


# --- saving from the review editor, history and restoring -------------------------------------

@dataclass(frozen=True)
class ReviewedTranscript:
    """The reviewed .vtt as read at one moment: its digest and its cues, with words where known."""

    digest: str
    transcript: Transcript


def read_reviewed(show_root: Path, slug: str) -> ReviewedTranscript:
    """The reviewed transcript and the digest of the very bytes it was read from.

    Cues keep the words (timings, probabilities) of the words sidecar wherever the reviewer left
    their text unchanged. TranscriptError if the .vtt is missing or malformed.
    """
    files = episode_paths(show_root, slug)
    data = _read_vtt_bytes(files)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise TranscriptError("is not UTF-8 text; save it as UTF-8", files.shown(files.vtt), line) from None
    cues = parse_vtt(text, files.shown(files.vtt))
    sidecar = reconcile(cues, _previous_sidecar(files))
    return ReviewedTranscript(digest(data), sidecar.transcript())


def with_words(show_root: Path, slug: str, cues: Sequence[Cue]) -> list[Cue]:
    """``cues`` (as a reviewer has them, saved or not) with the words a save would give them.

    A cue whose text a reviewer left alone keeps its words; a corrected cue gets its text lined
    up with the machine's words for its stretch (`alignment.align_words`). The review page shows
    unsure words and places the cursor in time from these, rather than aligning on its own.
    """
    return list(reconcile(cues, _previous_sidecar(episode_paths(show_root, slug))).transcript().cues)


def save_reviewed(show_root: Path, slug: str, cues: Sequence[Cue], *, expected: str | None,
                  rules: CaptionRules | None = None, require_review: bool = False,
                  now: Callable[[], datetime] = utc_now) -> TranscriptUpdate:
    """Write ``cues`` as the reviewed .vtt, then remake the other formats and the published copies.

    The previous .vtt goes to the history folder first. ``expected`` is the digest of the .vtt the
    reviewer loaded: if the file changed on disk since (another editor, a hand edit, a merge),
    StaleTranscriptError is raised and nothing is written. Emptied cues are kept, as a reviewer's
    deletions. What is written must read back with the strict reader, or nothing is written.
    """
    files = episode_paths(show_root, slug)
    text = to_vtt(cues, keep_empty=True)
    parse_vtt(text, files.shown(files.vtt))
    return _replace_vtt(files, text, expected, rules, require_review, now)


@dataclass(frozen=True)
class TranscriptVersion:
    """An earlier reviewed .vtt kept in the history folder (or the engine's latest output)."""

    #: What `restore_version` takes: the file's name in the history folder, or "machine".
    name: str
    path: Path
    #: When this version was replaced (the history keeps a file the moment it is replaced);
    #: None for the machine transcript.
    replaced_at: datetime | None


def transcript_history(show_root: Path, slug: str) -> list[TranscriptVersion]:
    """Every earlier reviewed .vtt of the episode, the most recently replaced first."""
    files = episode_paths(show_root, slug)
    found = []
    try:
        entries = list(files.history.iterdir()) if files.history.is_dir() else []
    except OSError as exc:
        raise TranscriptError(f"cannot be read: {exc.strerror or exc}", files.shown(files.history)) from None
    for path in entries:
        match = _HISTORY_VTT.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=timezone.utc)
        found.append((moment, int(match.group(2) or 1), TranscriptVersion(path.name, path, moment)))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [version for _, _, version in found]


def history_version(show_root: Path, slug: str, name: str) -> TranscriptVersion:
    """One version by name ("machine" or a history file name); TranscriptError if there is none."""
    files = episode_paths(show_root, slug)
    if name == MACHINE_VERSION:
        if files.machine_vtt.is_file():
            return TranscriptVersion(MACHINE_VERSION, files.machine_vtt, None)
    elif _HISTORY_VTT.fullmatch(name):
        for version in transcript_history(show_root, slug):
            if version.name == name:
                return version
    raise TranscriptError(f"there is no earlier version named {name!r}", files.shown(files.history))


def restore_version(show_root: Path, slug: str, name: str, *, expected: str | None,
                    rules: CaptionRules | None = None, require_review: bool = False,
                    now: Callable[[], datetime] = utc_now) -> TranscriptUpdate:
    """Make an earlier version the reviewed .vtt again; the current one goes to the history first.

    ``expected`` works as in `save_reviewed`. The version must read cleanly, or nothing is written.
    """
    files = episode_paths(show_root, slug)
    version = history_version(show_root, slug, name)
    read_vtt(version.path, files.shown(version.path))
    try:
        text = version.path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TranscriptError(f"cannot be read: {exc.strerror or exc}", files.shown(version.path)) from None
    return _replace_vtt(files, text, expected, rules, require_review, now)


def _read_vtt_bytes(files: EpisodePaths) -> bytes:
    try:
        return files.vtt.read_bytes()
    except FileNotFoundError:
        raise TranscriptError("not found: there is no transcript for this episode yet",
                              files.shown(files.vtt)) from None
    except OSError as exc:
        raise TranscriptError(f"cannot be read: {exc.strerror or exc}", files.shown(files.vtt)) from None


def _replace_vtt(files: EpisodePaths, text: str, expected: str | None, rules: CaptionRules | None,
                 require_review: bool, now: Callable[[], datetime]) -> TranscriptUpdate:
    if expected is not None and digest(_read_vtt_bytes(files)) != expected:
        raise StaleTranscriptError("changed on disk since the editor loaded it, so it was not overwritten; "
                                   "reload to see the version on disk", files.shown(files.vtt))
    writer = _Writer(files, now())
    writer.put(files.vtt, text)
    return _regenerate(files, writer, title=None, language=None, rules=rules, require_review=require_review)


def _signed_off(files: EpisodePaths) -> bool:
    """Whether a reviewer signed off the .vtt as it is now."""
    return review_status(files.root, files.slug).reviewed


def published_text(show_root: Path, slug: str) -> str:
    """The published plain-text transcript (what listeners get, and the MP3's USLT), or "" if none."""
    paths = episode_paths(show_root, slug)
    text_file = paths.published("txt")
    try:
        return text_file.read_text(encoding="utf-8") if text_file.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot be read: {exc}", paths.shown(text_file)) from None


def publish_video_captions(show_root: Path, slug: str, lead: float) -> Path | None:
    """Publish the captions of the finished video from the published transcript, moved ``lead``
    seconds earlier (the intro the MP3 has and the video has not): ``feed/transcripts/<slug>.video.vtt``
    and ``.srt``. Returns the WebVTT copy, or None when no transcript is published (then none is left)."""
    files = episode_paths(show_root, slug)
    source = files.published("vtt")
    if not source.is_file():
        remove_video_captions(show_root, slug)
        return None
    cues = []
    for cue in read_vtt(source, files.shown(source)):
        start, end = cue.start - lead, cue.end - lead
        if end <= 0:
            continue
        words = tuple(dataclasses.replace(w, start=max(0.0, w.start - lead), end=max(0.0, w.end - lead))
                      for w in cue.words)
        cues.append(dataclasses.replace(cue, start=max(0.0, start), end=end, words=words))
    write_if_changed(files.video_captions("vtt"), to_vtt(cues).encode("utf-8"))
    write_if_changed(files.video_captions("srt"), to_srt(cues).encode("utf-8"))
    return files.video_captions("vtt")


def remove_video_captions(show_root: Path, slug: str) -> None:
    """Remove the video's caption copies (there is no video, or no transcript, any more)."""
    files = episode_paths(show_root, slug)
    for ext in VIDEO_CAPTION_FORMATS:
        files.video_captions(ext).unlink(missing_ok=True)
