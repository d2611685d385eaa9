"""Reviewers' sign-off: who marked an episode's transcript as reviewed, when, and whether it still holds.

A sign-off is kept with the transcript, in ``transcripts/<slug>.review.json``, and names the
reviewer, the time and the SHA-256 of the ``.vtt`` they approved. It holds only while the .vtt
has exactly those bytes: any later edit (in the review editor, by hand, or a ``--retranscribe``
merge) makes the transcript unreviewed again until someone signs it off anew. Every sign-off is
kept in the file, the latest last, as a record of who approved what.

`review_status` is what ``rkaudio check`` and ``process`` report, and what decides, when
``[transcript] require_review`` is on, whether a transcript (and a new episode) may be published:
see `store` (the published copies) and ``publishing.feed.held_back_reason`` (the feed). This
module only keeps the record; publishing what a reviewer approved is
``rkaudio.pipeline.republish.sign_off``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..core.clock import iso_utc, utc_now
from ..core.errors import StaleTranscriptError, TranscriptError
from ..core.files import digest, write_text_atomic
from ..show.paths import episode_paths
from ..show.state import AudioIdentity, read_state

REVIEW_FORMAT = "rkaudio transcript review"
REVIEW_VERSION = 1
#: Long enough for any name with a role ("Ann Example, accessibility team"); short enough for a report line.
MAX_REVIEWER_CHARS = 120

#: "reviewed": signed off, unchanged since; "changed": signed off, edited since; "stale": signed
#: off for a recording that has since been replaced (the sign-off is withdrawn); "unreviewed":
#: never signed off; "missing": there is no transcript at all.
ReviewState = Literal["reviewed", "changed", "stale", "unreviewed", "missing"]


@dataclass(frozen=True)
class SignOff:
    """One reviewer's approval of one version of the .vtt."""

    reviewer: str
    reviewed_at: datetime
    #: SHA-256 of the .vtt's bytes when it was approved.
    vtt_sha256: str
    #: The published audio the reviewer heard it against (None: unknown, or an older record).
    audio: AudioIdentity | None = None


@dataclass(frozen=True)
class ReviewStatus:
    """Whether an episode's transcript is reviewed, and the latest sign-off if there is one."""

    slug: str
    state: ReviewState
    latest: SignOff | None = None

    @property
    def reviewed(self) -> bool:
        return self.state == "reviewed"

    def describe(self) -> str:
        """One line for a report: "reviewed by Ann on 2026-11-23 10:41 UTC", "not reviewed yet", ..."""
        if self.state == "missing":
            return "no transcript yet"
        if self.latest is None:
            return "not reviewed yet"
        who = f"{self.latest.reviewer} on {self.latest.reviewed_at.strftime('%Y-%m-%d %H:%M UTC')}"
        if self.state == "reviewed":
            return f"reviewed by {who}"
        if self.state == "stale":
            return f"reviewed by {who} for an earlier recording; not reviewed for this one"
        return f"changed since it was reviewed by {who}; not reviewed yet"

    def as_json(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "slug": self.slug,
            "state": self.state,
            "reviewed": self.reviewed,
            "summary": self.describe(),
            "reviewer": latest.reviewer if latest else None,
            "reviewed_at": iso_utc(latest.reviewed_at) if latest else None,
        }


def review_status(show_root: Path, slug: str) -> ReviewStatus:
    """The review state of ``transcripts/<slug>.vtt``; TranscriptError if the sign-off file is broken."""
    files = episode_paths(show_root, slug)
    try:
        data = files.vtt.read_bytes()
    except FileNotFoundError:
        return ReviewStatus(slug, "missing")
    except OSError as exc:
        raise TranscriptError(f"cannot be read: {exc.strerror or exc}", files.shown(files.vtt)) from None
    signoffs = _read_signoffs(show_root, slug)
    if not signoffs:
        return ReviewStatus(slug, "unreviewed")
    latest = signoffs[-1]
    if latest.vtt_sha256 != digest(data):
        return ReviewStatus(slug, "changed", latest)
    state = read_state(show_root, slug)
    if latest.audio is not None and state is not None and not latest.audio.matches(state.audio):
        return ReviewStatus(slug, "stale", latest)
    return ReviewStatus(slug, "reviewed", latest)


def record_sign_off(show_root: Path, slug: str, reviewer: str, *, expected: str | None = None,
             now: Callable[[], datetime] = utc_now) -> ReviewStatus:
    """Record that ``reviewer`` reviewed the .vtt as it is now.

    ``expected`` is the digest of the .vtt the reviewer saw: if the file changed since,
    StaleTranscriptError is raised and nothing is recorded (nobody signs off text they have not read).
    """
    files = episode_paths(show_root, slug)
    name = " ".join(reviewer.split())
    if not name:
        raise TranscriptError("give the reviewer's name to mark the transcript as reviewed")
    if len(name) > MAX_REVIEWER_CHARS or any(not ch.isprintable() for ch in name):
        raise TranscriptError(f"the reviewer's name must be printable text of at most {MAX_REVIEWER_CHARS} "
                              "characters")
    try:
        data = files.vtt.read_bytes()
    except FileNotFoundError:
        raise TranscriptError("not found: there is no transcript to review yet", files.shown(files.vtt)) from None
    except OSError as exc:
        raise TranscriptError(f"cannot be read: {exc.strerror or exc}", files.shown(files.vtt)) from None
    current = digest(data)
    if expected is not None and current != expected:
        raise StaleTranscriptError("changed on disk since the editor loaded it, so it was not marked as "
                                   "reviewed; reload and check it again", files.shown(files.vtt))
    moment = now().astimezone(timezone.utc).replace(microsecond=0)
    state = read_state(show_root, slug)
    entry = SignOff(name, moment, current, state.audio if state is not None else None)
    signoffs = [*_read_signoffs(show_root, slug), entry]
    document = {
        "format": REVIEW_FORMAT,
        "version": REVIEW_VERSION,
        "signoffs": [{"reviewer": s.reviewer, "reviewed_at": iso_utc(s.reviewed_at), "vtt_sha256": s.vtt_sha256,
                      **({"audio": s.audio.as_json()} if s.audio is not None else {})} for s in signoffs],
    }
    try:
        write_text_atomic(files.review, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    except OSError as exc:
        raise TranscriptError(f"cannot be written: {exc.strerror or exc}", files.shown(files.review)) from None
    return ReviewStatus(slug, "reviewed", entry)


def _read_signoffs(show_root: Path, slug: str) -> list[SignOff]:
    files = episode_paths(show_root, slug)
    shown = files.shown(files.review)
    try:
        text = files.review.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot be read: {exc}", shown) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"line {exc.lineno}: not valid JSON: {exc.msg}", shown) from None
    if not isinstance(data, dict) or data.get("format") != REVIEW_FORMAT:
        raise TranscriptError(f'not a review file written by rkaudio (no "format": "{REVIEW_FORMAT}")', shown)
    if data.get("version") != REVIEW_VERSION:
        raise TranscriptError(f"review file version {data.get('version')!r} is not one this rkaudio reads", shown)
    raw = data.get("signoffs")
    if not isinstance(raw, list):
        raise TranscriptError("signoffs must be a list", shown)
    signoffs = []
    for n, item in enumerate(raw):
        where = f"signoffs[{n}]"
        if not isinstance(item, dict):
            raise TranscriptError(f"{where} must be an object", shown)
        reviewer, moment, sha = item.get("reviewer"), item.get("reviewed_at"), item.get("vtt_sha256")
        if not isinstance(reviewer, str) or not isinstance(sha, str) or not isinstance(moment, str):
            raise TranscriptError(f"{where} needs reviewer, reviewed_at and vtt_sha256 as text", shown)
        try:
            when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            raise TranscriptError(f"{where}.reviewed_at is not a date and time: {moment!r}", shown) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        signoffs.append(SignOff(reviewer, when.astimezone(timezone.utc), sha, AudioIdentity.from_json(item.get("audio"))))
    return signoffs
