"""The transcript review editor's core: one episode's transcript, audio, history and sign-off.

`ReviewSession` answers the editor's requests with plain data (JSON-ready dicts) and raises the
project's errors; it knows nothing of HTTP (`server` carries it to the browser). Every write goes
through `rkaudio.transcripts.store` and `rkaudio.pipeline.republish`, so the editor keeps the same
promises as the command line: the .vtt is written atomically, the version it replaces goes to
the history, the other formats are remade from it, and a save against a file that changed on
disk since the editor read it is refused with nothing written.
"""

from __future__ import annotations

import hashlib
import logging
import math
import mimetypes
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..audio import ffmpeg_tool
from ..audio.timeline import probed_intro_lead
from ..core.clock import iso_utc, utc_now
from ..core.errors import MetadataError, RkaudioError, TranscriptError
from ..core.naming import slugify
from ..pipeline.republish import sign_off
from ..publishing.episode import read_episode
from ..show.paths import EPISODES_DIR, episode_paths
from ..show.settings import Show
from ..transcripts.caption_check import check_cues
from ..transcripts.model import Cue
from ..transcripts.signoff import review_status
from ..transcripts.alignment import align_words
from ..transcripts.store import (
    MACHINE_VERSION,
    history_version,
    read_reviewed,
    recorded_speech,
    restore_version,
    save_reviewed,
    transcript_history,
    with_words,
)
from ..transcripts.vtt_reader import CUE_SETTING, read_vtt

log = logging.getLogger(__name__)

#: Words the engine gave a probability under this are highlighted for the reviewer. Whisper gives
#: most correctly heard words 0.8 or more; under one half, the word is as likely wrong as right.
UNSURE_BELOW = 0.5
#: A transcript of a three-hour webinar has about 3,000 cues; this leaves ample room.
MAX_CUES = 50_000
#: The longest line, speaker name or cue identifier accepted from the editor.
MAX_FIELD_CHARS = 2_000
#: Extensions of recordings the page may play from ``episodes/`` (what browsers can decode).
AUDIO_EXTENSIONS = (".mp3", ".m4a", ".aac", ".mp4", ".ogg", ".oga", ".opus", ".webm", ".flac", ".wav", ".mkv")
_MEDIA_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".mp4": "video/mp4",
                ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm",
                ".flac": "audio/flac", ".wav": "audio/wav", ".mkv": "video/x-matroska"}


@dataclass(frozen=True)
class EpisodeAudio:
    """What the editor plays: the published MP3, or the recording before it is published."""

    path: Path
    kind: Literal["published", "source"]
    #: Seconds the transcript's times run ahead of this file: transcripts are timed to the
    #: published episode, whose intro the source recording lacks.
    offset_s: float
    media_type: str


def episode_source(show_root: Path, slug: str) -> Path | None:
    """The recording an episode was made from, if one can be found.

    First the ``source = ...`` of the episode's front matter (``episodes/<slug>.md``), relative to
    the show folder or to ``episodes/``; then a recording in ``episodes/`` whose name gives the slug.
    """
    episodes = show_root / EPISODES_DIR
    try:
        value = read_episode(show_root, slug).source
    except MetadataError:  # no metadata yet, or broken: the editor still works from episodes/
        value = ""
    if value:
        path = Path(value).expanduser()
        for candidate in ((path,) if path.is_absolute() else (show_root / path, episodes / path)):
            if candidate.is_file():
                return candidate
        log.warning("%s: source %s not found; looking in %s/ instead", episode_paths(show_root, slug).metadata, value,
                    EPISODES_DIR)
    try:
        entries = sorted(episodes.iterdir()) if episodes.is_dir() else []
    except OSError:
        entries = []
    for path in entries:
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file() and (path.stem == slug or
                                                                          slugify(path.stem) == slug):
            return path
    return None


def people_names(show: Show, slug: str) -> list[str]:
    """The names a reviewer may give speakers: the episode's people (its front matter), then the
    show's, each once, in that order."""
    try:
        episode_people = read_episode(show.root, slug).people
    except MetadataError:  # no metadata yet, or broken: the show's people still serve
        episode_people = ()
    names: list[str] = []
    for person in (*episode_people, *show.people):
        if person.name and person.name not in names:
            names.append(person.name)
    return names


def find_episode_audio(show: Show, slug: str) -> EpisodeAudio | None:
    """The published ``feed/media/<slug>.mp3``, else the source recording; None when neither exists."""
    published = episode_paths(show.root, slug).mp3
    if published.is_file():
        return EpisodeAudio(published, "published", 0.0, "audio/mpeg")
    source = episode_source(show.root, slug)
    if source is None:
        return None
    try:
        offset = probed_intro_lead(show.audio, ffmpeg_tool.probe(source).duration)
    except RkaudioError as exc:  # the page still works; times are then off by the intro
        log.warning("cannot tell how long the intro is (%s); playing %s from its start", exc, source)
        offset = 0.0
    media_type = _MEDIA_TYPES.get(source.suffix.lower()) or mimetypes.guess_type(source.name)[0] or "audio/mpeg"
    return EpisodeAudio(source, "source", round(offset, 3), media_type)


def cues_from_json(data: Any) -> list[Cue]:
    """Cues sent by the editor, checked field by field; TranscriptError names the cue at fault.

    Each cue is ``{"start", "end", "lines" (list of text), "speaker", "identifier", "settings"}``;
    blank lines are dropped (a blank line would end a WebVTT cue) and spaces are tidied.
    """
    if not isinstance(data, list):
        raise TranscriptError("cues must be a list")
    if len(data) > MAX_CUES:
        raise TranscriptError(f"too many cues ({len(data)}; at most {MAX_CUES})")
    cues: list[Cue] = []
    for n, item in enumerate(data, 1):
        def bad(what: str, n: int = n) -> TranscriptError:
            return TranscriptError(f"cue {n}: {what}")

        if not isinstance(item, dict):
            raise bad("must be an object")
        start, end = item.get("start"), item.get("end")
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise bad(f"{name} must be a time in seconds")
        start, end = round(float(start), 3), round(float(end), 3)
        if end <= start:
            raise bad("must end after it starts")
        if cues and start < cues[-1].start:
            raise bad("starts before the cue above it; cues must be in time order")
        raw_lines = item.get("lines", [])
        if not isinstance(raw_lines, list) or not all(isinstance(x, str) for x in raw_lines):
            raise bad("lines must be a list of text")
        lines = []
        for raw in raw_lines:
            for part in raw.splitlines():
                tidy = " ".join(part.split())
                if len(tidy) > MAX_FIELD_CHARS:
                    raise bad(f"a line is longer than {MAX_FIELD_CHARS} characters")
                if tidy:
                    lines.append(tidy)
        speaker = item.get("speaker")
        if speaker is not None and not isinstance(speaker, str):
            raise bad("speaker must be text")
        speaker = " ".join((speaker or "").split())[:MAX_FIELD_CHARS] or None
        identifier = item.get("identifier") or ""
        settings = item.get("settings") or ""
        if not isinstance(identifier, str) or "-->" in identifier or len(identifier) > MAX_FIELD_CHARS:
            raise bad("identifier must be text without \"-->\"")
        identifier = " ".join(identifier.split())
        if (not isinstance(settings, str) or "-->" in settings
                or not all(CUE_SETTING.fullmatch(t) for t in settings.split())):
            raise bad("settings must be WebVTT cue settings such as \"align:start\"")
        cues.append(Cue(start, end, tuple(lines), speaker, identifier=identifier, settings=" ".join(settings.split())))
    return cues


def cue_json(cue: Cue) -> dict[str, Any]:
    """A cue as the editor gets it, with one timed word per word of its text (timings and the
    engine's probabilities, lined up by `align_words`), so the page never aligns on its own."""
    words = align_words(cue.text, cue.words, cue.start, cue.end) if cue.words else ()
    return {
        "start": round(cue.start, 3), "end": round(cue.end, 3), "speaker": cue.speaker, "lines": list(cue.lines),
        "identifier": cue.identifier, "settings": cue.settings,
        "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text,
                   "probability": None if w.probability is None else round(w.probability, 4)} for w in words],
    }


def findings_json(cues: list[Cue], show: Show,
                  speech: Sequence[tuple[float, float]] | None = None) -> list[dict[str, Any]]:
    """Caption-rule findings (`transcript_check`), each naming its cue by position (1-based); with
    ``speech`` (as the words sidecar recorded it), also speech that no cue covers."""
    return [{"cue": f.cue, "severity": f.severity, "rule": f.rule, "message": f.message}
            for f in check_cues(cues, show.transcript.rules, speech=speech)]


class ReviewSession:
    """One episode open in the review editor. Thread-safe: writes are serialised by a lock."""

    def __init__(self, show: Show, slug: str, *, now: Callable[[], datetime] = utc_now) -> None:
        self.show = show
        self.slug = slug
        self.files = episode_paths(show.root, slug)
        if not self.files.vtt.is_file():
            raise TranscriptError(f"not found: there is no transcript for {slug!r} yet; make one with "
                                  "'rkaudio transcribe' or 'rkaudio process'", self.files.shown(self.files.vtt))
        read_vtt(self.files.vtt, self.files.shown(self.files.vtt))  # a broken file stops us now, with its line
        self.audio = find_episode_audio(show, slug)
        self._now = now
        self._lock = threading.Lock()
        root_id = hashlib.sha256(str(show.root.resolve()).encode("utf-8")).hexdigest()[:12]
        #: Where the browser keeps unsaved changes (per show and episode).
        self.draft_key = f"rkaudio-review:{root_id}:{slug}"

    @property
    def shown_vtt(self) -> str:
        return self.files.shown(self.files.vtt)

    # --- reading -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page shows: cues with words, findings, review status, audio, history."""
        current = read_reviewed(self.show.root, self.slug)
        cues = list(current.transcript.cues)
        audio = None
        if self.audio is not None:
            audio = {"kind": self.audio.kind, "name": self.files.shown(self.audio.path),
                     "offset": self.audio.offset_s, "type": self.audio.media_type}
        rules = self.show.transcript.rules
        return {
            "slug": self.slug,
            "title": current.transcript.title or self.slug,
            "language": current.transcript.language or "en",
            "file": self.shown_vtt,
            "etag": current.digest,
            "cues": [cue_json(c) for c in cues],
            "findings": findings_json(cues, self.show, recorded_speech(self.show.root, self.slug)),
            "rules": {"max_chars": rules.max_chars, "max_lines": rules.max_lines,
                      "min_duration": rules.min_duration, "max_duration": rules.max_duration,
                      "max_cps": rules.max_cps},
            "unsure_below": UNSURE_BELOW,
            "people": people_names(self.show, self.slug),
            "review": review_status(self.show.root, self.slug).as_json(),
            "require_review": self.show.transcript.require_review,
            "audio": audio,
            "history": self.history(),
            "draft_key": self.draft_key,
        }

    def check(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """For the cues as they stand in the editor (saved or not): caption-rule findings, and
        each cue's timed words as a save would keep them (its text lined up with the machine's)."""
        cues = cues_from_json(payload.get("cues"))
        timed = with_words(self.show.root, self.slug, cues)
        return {"findings": findings_json(cues, self.show, recorded_speech(self.show.root, self.slug)),
                "words": [cue_json(cue)["words"] for cue in timed]}

    def history(self) -> list[dict[str, Any]]:
        """Earlier versions that can be restored, the latest replaced first; the machine's last."""
        versions: list[dict[str, Any]] = [
            {"name": v.name, "replaced_at": iso_utc(v.replaced_at) if v.replaced_at else None,
             "label": f"Version replaced on {v.replaced_at.strftime('%Y-%m-%d at %H:%M:%S UTC')}" if v.replaced_at else ""}
            for v in transcript_history(self.show.root, self.slug)]
        if self.files.machine_vtt.is_file():
            versions.append({"name": MACHINE_VERSION, "replaced_at": None,
                             "label": "The machine transcript, as the speech engine last gave it"})
        return versions

    def version(self, name: str) -> dict[str, Any]:
        """The cues of one earlier version, to preview before restoring it."""
        found = history_version(self.show.root, self.slug, name)
        cues = read_vtt(found.path, self.files.shown(found.path))
        return {"name": name, "cues": [cue_json(c) for c in cues]}

    # --- writing -----------------------------------------------------------------------------

    def save(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Save the editor's cues as the .vtt (if it is still the one the editor loaded)."""
        cues = cues_from_json(payload.get("cues"))
        expected = _etag(payload)
        with self._lock:
            update = save_reviewed(self.show.root, self.slug, cues, expected=expected,
                                   rules=self.show.transcript.rules,
                                   require_review=self.show.transcript.require_review, now=self._now)
        log.info("saved %s (%d files written, %d kept in the history)", self.shown_vtt, len(update.written),
                 len(update.archived))
        return self.state()

    def restore(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Make an earlier version the .vtt again; the current one goes to the history first."""
        name = payload.get("version")
        if not isinstance(name, str):
            raise TranscriptError("say which version to restore")
        expected = _etag(payload)
        with self._lock:
            restore_version(self.show.root, self.slug, name, expected=expected,
                            rules=self.show.transcript.rules,
                            require_review=self.show.transcript.require_review, now=self._now)
        return self.state()

    def sign_off(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Mark the .vtt, as the editor loaded it, as reviewed by the named reviewer; what it
        approved is then published (see `rkaudio.pipeline.republish.sign_off`)."""
        reviewer = payload.get("reviewer")
        if not isinstance(reviewer, str):
            raise TranscriptError("give the reviewer's name to mark the transcript as reviewed")
        expected = _etag(payload)
        with self._lock:
            report = sign_off(self.show, self.slug, reviewer, expected=expected, now=self._now)
        return {**self.state(), "published": report.published}


def _etag(payload: Mapping[str, Any]) -> str:
    """The digest of the .vtt the editor loaded; every write must name it."""
    etag = payload.get("etag")
    if not isinstance(etag, str) or not re.fullmatch(r"[0-9a-f]{64}", etag):
        raise TranscriptError("the request must name the version it was made from (etag)")
    return etag
