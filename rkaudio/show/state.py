"""What each published episode was made from, so that nothing made from something else is taken
for its own: ``.rkaudio/episodes/<slug>.json`` in the show folder.

``process`` writes an episode's state once its MP3 is in place. A transcript records the audio it
was timed to as well (in its words sidecar); when the two differ, the transcript was made for
different audio, and its captions would not match what listeners hear.
"""

from __future__ import annotations

import json
import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import WorkspaceError
from ..core.files import write_if_changed
from ..core.lock import locked
from .paths import STATE_DIR

STATE_FORMAT = "rkaudio episode state"
STATE_VERSION = 1
#: Two intro leads this close are the same. The intro's length read from its header and measured
#: by decoding it can differ by a few milliseconds (an MP3 or AAC sting's encoder delay); a
#: caption 50 ms off is still on the word.
LEAD_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class AudioIdentity:
    """The audio a transcript is timed to: the recording's content (SHA-256 of its bytes) and how
    long the intro plays before it in the finished episode."""

    sha256: str
    lead_s: float = 0.0

    def matches(self, other: AudioIdentity) -> bool:
        return self.sha256 == other.sha256 and math.isclose(self.lead_s, other.lead_s, abs_tol=LEAD_TOLERANCE_S)

    def as_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "lead_s": round(self.lead_s, 3)}

    @classmethod
    def from_json(cls, value: Any) -> AudioIdentity | None:
        """The identity in ``value``, or None when it is missing or not one."""
        if not isinstance(value, dict) or not isinstance(value.get("sha256"), str):
            return None
        lead = value.get("lead_s", 0.0)
        if isinstance(lead, bool) or not isinstance(lead, (int, float)):
            return None
        return cls(value["sha256"], float(lead))

    def describe(self) -> str:
        return f"recording {self.sha256[:12]}, intro lead {self.lead_s:.3f} s"


@dataclass(frozen=True)
class RecordingStat:
    """A recording's size and modification time: while they stay the same, so does its digest."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> RecordingStat | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Inputs:
    """Digests of what an episode's published files were made from (see `rkaudio.pipeline.freshness`):
    the audio (recording, settings, stings), the speech engine's settings, and the tags."""

    audio: str
    speech: str | None
    tags: str

    def as_json(self) -> dict[str, Any]:
        return {"audio": self.audio, "speech": self.speech, "tags": self.tags}

    @classmethod
    def from_json(cls, value: Any) -> Inputs | None:
        if not isinstance(value, dict):
            return None
        audio, speech, tags = value.get("audio"), value.get("speech"), value.get("tags")
        if not isinstance(audio, str) or not isinstance(tags, str) or not isinstance(speech, (str, type(None))):
            return None
        return cls(audio, speech, tags)


@dataclass(frozen=True)
class EpisodeState:
    """What ``feed/media/<slug>.mp3`` was made from."""

    audio: AudioIdentity
    #: The recording, as the episode's metadata names it.
    recording: str = ""
    #: The recording's size and modification time when its digest was taken.
    stat: RecordingStat | None = None
    #: What the published files were made from; None from an rkaudio that did not record it.
    inputs: Inputs | None = None


#: The show lock's file (see `rkaudio.core.lock`).
LOCK_FILE = "lock"


def show_lock(show_root: Path, *, timeout: float | None = None) -> AbstractContextManager[None]:
    """Hold the show's lock for a read-modify-write of its shared state (see `rkaudio.core.lock`)."""
    path = show_root / STATE_DIR / LOCK_FILE
    return locked(path) if timeout is None else locked(path, timeout=timeout)


def state_path(show_root: Path, slug: str) -> Path:
    return show_root / STATE_DIR / "episodes" / f"{slug}.json"


def read_state(show_root: Path, slug: str) -> EpisodeState | None:
    """The episode's state, or None when it has none (never processed, or by an older rkaudio).

    A state file that cannot be read counts as none: it is rkaudio's own bookkeeping, remade by
    the next ``process``.
    """
    try:
        data = json.loads(state_path(show_root, slug).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        return None
    audio = AudioIdentity.from_json(data.get("audio"))
    if audio is None:
        return None
    recording = data.get("recording")
    stat = data.get("stat")
    try:
        stat = RecordingStat(int(stat["size"]), int(stat["mtime_ns"])) if isinstance(stat, dict) else None
    except (KeyError, TypeError, ValueError):
        stat = None
    return EpisodeState(audio, recording if isinstance(recording, str) else "", stat,
                        Inputs.from_json(data.get("inputs")))


def write_state(show_root: Path, slug: str, state: EpisodeState) -> None:
    path = state_path(show_root, slug)
    document: dict[str, Any] = {"format": STATE_FORMAT, "version": STATE_VERSION, "audio": state.audio.as_json(),
                                "recording": state.recording}
    if state.stat is not None:
        document["stat"] = {"size": state.stat.size, "mtime_ns": state.stat.mtime_ns}
    if state.inputs is not None:
        document["inputs"] = state.inputs.as_json()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_if_changed(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        raise WorkspaceError(f"cannot be written: {exc.strerror or exc}", path) from None
