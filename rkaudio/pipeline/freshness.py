"""What each published episode depends on, as three digests, so ``build`` redoes only what is out of
date.

- ``audio``: the recording's content, the audio settings and the stings' content. When it changes,
  the MP3 is made again (and the transcript with it).
- ``speech``: the transcript engine, model and the settings that change what it writes. When only
  this changes, the recording is transcribed again and the MP3 retagged, its audio untouched.
- ``tags``: the episode's metadata and notes, the research library, the show's settings that reach
  the tags, the cover, and the published transcript's text. When only this changes, the MP3 is
  retagged in place (its audio frames are copied, never encoded again).

The digests are kept in the episode's state (``.rkaudio/episodes/<slug>.json``) by whatever made
or retagged the MP3 (``process``, ``build``, a sign-off), so a build after a ``process`` run by
hand has nothing to do. A recording's SHA-256 is remembered with its size and modification time,
so a build with nothing to do reads no audio.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from ..core.files import file_digest
from ..show.paths import SHOW_FILE, EpisodePaths
from ..show.settings import AudioSettings, Show, TranscriptSettings
from ..show.state import EpisodeState, Inputs, RecordingStat, read_state, write_state
from ..transcripts.store import published_text

#: Transcript settings that change only how fast the engine runs, not what it writes.
_SPEED_ONLY = {"threads", "workers", "device", "batch_size", "enabled"}
#: Show settings that reach neither the MP3's tags nor the feed item's text.
_NOT_TAGS = {"root", "audio", "transcript", "site"}


def _plain(value: Any) -> Any:
    """JSON for anything a setting holds; sets in sorted order, so a digest never depends on hashing."""
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    return str(value)


def _digest(value: Any, root: Path | None = None) -> str:
    """SHA-256 of ``value`` as JSON; paths inside the show folder count from it, so a show moved or
    copied elsewhere is still up to date."""
    text = json.dumps(value, sort_keys=True, default=_plain)
    if root is not None:
        text = text.replace(json.dumps(str(root))[1:-1], "<show>")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_digests: dict[tuple[str, int, int], str] = {}


def _content(path: Path | None) -> str | None:
    """A file's SHA-256, or what stands in for it when it is missing (the setting alone). Read once
    per run for each size and modification time (the research library, the cover: every episode's
    tags depend on them)."""
    if path is None:
        return None
    try:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in _digests:
            _digests[key] = file_digest(path)
        return _digests[key]
    except OSError:
        return f"missing:{path}"


def recording_sha256(show: Show, slug: str, source: Path) -> str:
    """The recording's SHA-256, read again only when its size or modification time changed since the
    episode's state recorded it."""
    state = read_state(show.root, slug)
    stat = RecordingStat.of(source)
    if state is not None and state.stat is not None and stat == state.stat:
        return state.audio.sha256
    return file_digest(source)


def audio_inputs(recording: str, settings: AudioSettings) -> str:
    fields = dataclasses.asdict(settings)
    fields["intro"] = _content(settings.intro)
    fields["outro"] = _content(settings.outro)
    return _digest({"recording": recording, "audio": fields})


def speech_inputs(settings: TranscriptSettings) -> str:
    fields = {k: v for k, v in dataclasses.asdict(settings).items() if k not in _SPEED_ONLY}
    return _digest(fields)


def tags_inputs(show: Show, slug: str) -> str:
    paths = EpisodePaths(show.root, slug)
    fields = {k: v for k, v in dataclasses.asdict(show).items() if k not in _NOT_TAGS}
    return _digest({
        "show": fields,
        "artwork": _content(show.artwork),
        "metadata": _content(paths.metadata),
        "research": _content(show.research),
        "transcript": hashlib.sha256(published_text(show.root, slug).encode("utf-8")).hexdigest(),
    }, show.root)


def episode_inputs(show: Show, slug: str, recording: str, audio: AudioSettings,
                   speech: TranscriptSettings | None, *, previous: EpisodeState | None = None) -> Inputs:
    """The digests for an episode made now: ``speech`` None (not transcribed this time) keeps the
    digest the episode had."""
    if speech is not None:
        speech_key = speech_inputs(speech)
    else:
        speech_key = previous.inputs.speech if previous is not None and previous.inputs is not None else None
    return Inputs(audio=audio_inputs(recording, audio), speech=speech_key, tags=tags_inputs(show, slug))


def show_inputs(show: Show) -> str:
    """What the feed and the site are built from, by size and modification time (nothing is read):
    show.toml, the research library, templates, the cover and logo, and every episode's metadata,
    MP3, transcripts and review record."""
    root = show.root
    files = [root / SHOW_FILE, show.research, show.artwork, show.site.logo]
    for folder, pattern in (("episodes", "*.md"), ("feed/media", "*"), ("feed/transcripts", "*"),
                            ("transcripts", "*"), ("templates", "**/*")):
        base = root / folder
        if base.is_dir():
            files += sorted(base.glob(pattern))
    seen = []
    for path in files:
        if path is None:
            continue
        try:
            st = path.stat()
        except OSError:
            seen.append((str(path), None))
            continue
        if path.is_file():
            seen.append((str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
                         st.st_size, st.st_mtime_ns))
    from .. import __version__

    return _digest({"version": __version__, "files": seen}, root)


def record_tags(show: Show, slug: str) -> None:
    """After the MP3 was retagged: its state's tags digest made current (the rest stays)."""
    state = read_state(show.root, slug)
    if state is None or state.inputs is None:
        return
    inputs = dataclasses.replace(state.inputs, tags=tags_inputs(show, slug))
    write_state(show.root, slug, dataclasses.replace(state, inputs=inputs))


def record_speech(show: Show, slug: str, speech: TranscriptSettings) -> None:
    """After the recording was transcribed again: its state's speech and tags digests made current."""
    state = read_state(show.root, slug)
    if state is None or state.inputs is None:
        return
    inputs = dataclasses.replace(state.inputs, speech=speech_inputs(speech), tags=tags_inputs(show, slug))
    write_state(show.root, slug, dataclasses.replace(state, inputs=inputs))
