"""An episode's metadata: ``episodes/<slug>.md``, TOML front matter and Markdown show notes.

One file per episode, written by people and read by rkaudio::

    +++
    title = "Welcome to Radical Kindness"
    number = 1
    date = 2026-11-22T09:00:00Z
    summary = "One or two sentences for podcast apps."
    guid = "5e1f..."            # written once by rkaudio; never change it
    [[chapters]]
    start = "0:00"
    title = "Introduction"
    +++
    The show notes, in Markdown. Cite research by key: [@abrams2021].

Markdown with front matter (as static site generators use) rather than a bare TOML file, because
the show notes are the longest and most edited part and read best as plain Markdown, while the
fields above stay typed and checkable. ``process`` creates the file when there is none, from what it
knows (title, date, a new guid, the next episode number, the source recording; the summary and
notes are left for a person to write). Once the file exists it only ever adds a field that is
missing (the guid, the date); every field a person
wrote stays exactly as written, comments and layout included (tomlkit edits the front matter in
place).
"""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import tomlkit

from ..core.clock import utc_now
from ..core.errors import MetadataError
from ..core.files import write_text_atomic
from ..show.config import parse_people
from ..show.paths import EPISODES_DIR, EpisodePaths
from ..core.naming import episode_slug
from ..show.settings import Person, Show
from ..show.state import show_lock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FENCE = "+++"
EPISODE_TYPES = ("full", "trailer", "bonus")
#: Podcasting 2.0 person roles are free text, but these are the ones apps show.
_KEYS = {"title", "number", "season", "date", "summary", "guid", "explicit", "type", "chapters", "people",
         "research", "image", "source"}
_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class Chapter:
    """A chapter of an episode: where it starts (seconds into the finished MP3), its title, a link."""

    start: float
    title: str
    url: str | None = None


@dataclass(frozen=True)
class Episode:
    """One episode's metadata, as read from ``episodes/<slug>.md``."""

    slug: str
    path: Path
    title: str
    guid: str
    date: datetime
    number: int | None = None
    season: int | None = None
    summary: str = ""
    notes: str = ""
    explicit: bool | None = None
    type: str = "full"
    people: tuple[Person, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    #: Research keys listed under the notes even where the notes do not cite them.
    research: tuple[str, ...] = ()
    image: str = ""
    #: The recording this episode was made from, relative to the show folder.
    source: str = ""


# --- reading --------------------------------------------------------------------------------------

def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """The front matter, the Markdown body, and the line the front matter starts on."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        raise MetadataError(f"must start with a '{FENCE}' line, then TOML fields, then '{FENCE}'", path)
    for index in range(1, len(lines)):
        if lines[index].strip() == FENCE:
            return "".join(lines[1:index]), "".join(lines[index + 1:]), 2
    raise MetadataError(f"the front matter opened on line 1 is never closed with '{FENCE}'", path)


def parse_seconds(value: Any, where: str, path: Path) -> float:
    """Seconds from a number or "h:mm:ss(.ms)" / "mm:ss"."""
    if isinstance(value, bool):
        raise MetadataError(f"{where} must be seconds or a time like \"1:02:03\", not {value!r}", path)
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    if isinstance(value, str):
        m = _TIME.match(value.strip())
        if m:
            hours, minutes, seconds = m.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    raise MetadataError(f"{where} must be seconds or a time like \"1:02:03\", not {value!r}", path)


def _date(value: Any, path: Path) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(9, 0), tzinfo=timezone.utc)
    raise MetadataError(f"date must be a TOML date or date-time (2026-11-22T09:00:00Z), not {value!r}", path)


def _text(data: dict[str, Any], key: str, path: Path, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise MetadataError(f"{key} must be text, not {value!r}", path)
    return value.strip()


def _whole(data: dict[str, Any], key: str, path: Path) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MetadataError(f"{key} must be a whole number (0 or more), not {value!r}", path)
    return value


def _chapters(value: Any, path: Path) -> tuple[Chapter, ...]:
    if not isinstance(value, list):
        raise MetadataError("chapters must be a list of tables ([[chapters]] with start and title)", path)
    chapters = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise MetadataError(f"chapter {n} must be a table with start and title", path)
        unknown = sorted(set(item) - {"start", "title", "url"})
        if unknown:
            raise MetadataError(f"chapter {n}: unknown field {unknown[0]!r} (known: start, title, url)", path)
        if "start" not in item:
            raise MetadataError(f"chapter {n} has no start", path)
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise MetadataError(f"chapter {n} needs a title", path)
        url = item.get("url") or None
        if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
            raise MetadataError(f"chapter {n} ({title.strip()}): url must be an http(s) address, not {url!r}", path)
        start = parse_seconds(item["start"], f"chapter {n} start", path)
        if chapters and start <= chapters[-1].start:
            raise MetadataError(f"chapter {n} ({title.strip()}) starts at or before the chapter above it", path)
        chapters.append(Chapter(start=start, title=title.strip(), url=url))
    return tuple(chapters)


def read_episode(root: Path, slug: str) -> Episode:
    """Read and check ``episodes/<slug>.md``; MetadataError names the file and the field."""
    path = EpisodePaths(root, slug).metadata
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError("not found: run 'rkaudio process' on the recording to create it", path) from None
    except UnicodeDecodeError:
        raise MetadataError("is not UTF-8 text", path) from None
    front, body, first_line = split_front_matter(text, path)
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        raise MetadataError(f"front matter is not valid TOML: {_shift_lines(str(exc), first_line - 1)}", path) from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise MetadataError(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})", path)
    title = _text(data, "title", path)
    if not title:
        raise MetadataError("title is missing or empty", path)
    guid = _text(data, "guid", path)
    if not guid:
        raise MetadataError("guid is missing: run 'rkaudio process' or 'rkaudio feed' to add one", path)
    if "date" not in data:
        raise MetadataError("date is missing", path)
    kind = _text(data, "type", path, "full").lower()
    if kind not in EPISODE_TYPES:
        raise MetadataError(f"type must be one of {', '.join(EPISODE_TYPES)}, not {kind!r}", path)
    explicit = data.get("explicit")
    if explicit is not None and not isinstance(explicit, bool):
        raise MetadataError(f"explicit must be true or false, not {explicit!r}", path)
    research = data.get("research", [])
    if not isinstance(research, list) or not all(isinstance(k, str) and k.strip() for k in research):
        raise MetadataError("research must be a list of research library keys, such as [\"abrams2021\"]", path)
    return Episode(
        slug=slug, path=path, title=title, guid=guid, date=_date(data["date"], path),
        number=_whole(data, "number", path), season=_whole(data, "season", path),
        summary=_text(data, "summary", path), notes=body.strip(), explicit=explicit, type=kind,
        people=parse_people(data.get("people", []), "people", "guest",
                            lambda message: MetadataError(message, path)), chapters=_chapters(data.get("chapters", []), path),
        research=tuple(k.strip().lstrip("@") for k in research), image=_text(data, "image", path),
        source=_text(data, "source", path))


def _shift_lines(message: str, offset: int) -> str:
    """tomllib counts lines from the start of the front matter; count them from the file's start."""
    return re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + offset}", message)


def episode_from_source(root: Path, source: str) -> str | None:
    """The slug of the episode whose metadata names ``source`` as its recording, if one does."""
    for slug in list_episodes(root):
        try:
            front, _, _ = split_front_matter(EpisodePaths(root, slug).metadata.read_text(encoding="utf-8"), Path(slug))
            if tomllib.loads(front).get("source") == source:
                return slug
        except (MetadataError, tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            continue
    return None


def list_episodes(root: Path) -> list[str]:
    """Slugs of every episode with a metadata file, in name order."""
    folder = root / EPISODES_DIR
    return sorted(p.stem for p in folder.glob("*.md")) if folder.is_dir() else []


# --- creating and completing ----------------------------------------------------------------------

@dataclass
class EpisodeDraft:
    """What ``process`` knows about an episode, for a metadata file that does not exist yet."""

    title: str
    source: str = ""
    summary: str = ""
    now: datetime = field(default_factory=utc_now)


def next_number(root: Path, slug: str | None = None) -> int:
    """The number a new episode takes: one more than the highest in ``episodes/*.md`` (``slug``'s own
    file, if it exists, left out)."""
    numbers = []
    for other in list_episodes(root):
        if other == slug:
            continue
        try:
            front, _, _ = split_front_matter(EpisodePaths(root, other).metadata.read_text(encoding="utf-8"), Path(other))
            value = tomllib.loads(front).get("number")
        except (MetadataError, tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            numbers.append(value)
    return max(numbers, default=0) + 1


def new_guid() -> str:
    """A random UUID: an episode's guid must never change, so it is never derived from its title."""
    return str(uuid.uuid4())


NOTES_HINT = ("<!-- Show notes in Markdown. Cite the research library by key, e.g. [@abrams2021];\n"
              "     the citations become links, with a list of references below the notes. -->\n")


def ensure_episode(root: Path, slug: str, draft: EpisodeDraft) -> tuple[Path, list[str]]:
    """Create ``episodes/<slug>.md`` from ``draft``, or add only the fields it lacks.

    Returns the path and the names of the fields written. Fields a person wrote are never changed.
    The show's lock is held throughout, so two runs at once never give two episodes one number.
    """
    with show_lock(root):
        return _ensure_episode(root, slug, draft)


def _ensure_episode(root: Path, slug: str, draft: EpisodeDraft) -> tuple[Path, list[str]]:
    path = EpisodePaths(root, slug).metadata
    if not path.exists():
        doc = tomlkit.document()
        doc.add(tomlkit.comment("Episode metadata: edit freely. rkaudio adds a missing guid or date and "
                                "changes nothing else."))
        doc.add("title", draft.title)
        doc.add("number", next_number(root, slug))
        doc.add("date", draft.now.replace(microsecond=0))
        doc.add("summary", draft.summary)
        doc.add(tomlkit.comment("The episode's permanent id in the feed: never change it."))
        doc.add("guid", new_guid())
        if draft.source:
            doc.add("source", draft.source)
        doc.add(tomlkit.comment("explicit = false     # default: the show's setting"))
        doc.add(tomlkit.comment("season = 1"))
        doc.add(tomlkit.comment("research = [\"abrams2021\"]   # references listed even if not cited"))
        doc.add(tomlkit.comment("[[chapters]]          # start as \"m:ss\" or seconds; url optional"))
        doc.add(tomlkit.comment("start = \"0:00\""))
        doc.add(tomlkit.comment("title = \"Introduction\""))
        doc.add(tomlkit.comment("[[people]]            # role: host, guest, ...; href and img optional"))
        doc.add(tomlkit.comment("name = \"...\""))
        doc.add(tomlkit.comment("role = \"guest\""))
        text = f"{FENCE}\n{tomlkit.dumps(doc)}{FENCE}\n\n{NOTES_HINT}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
        return path, ["title", "number", "date", "summary", "guid", *(["source"] if draft.source else [])]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MetadataError("is not UTF-8 text", path) from None
    front, body, first_line = split_front_matter(text, path)
    try:
        doc = tomlkit.parse(front)
    except Exception as exc:  # tomlkit's parse errors have no common base worth naming
        raise MetadataError(f"front matter is not valid TOML: {_shift_lines(str(exc), first_line - 1)}", path) from None
    added = []
    if not str(doc.get("guid", "")).strip():
        doc["guid"] = new_guid()
        added.append("guid")
    if "date" not in doc:
        doc["date"] = draft.now.replace(microsecond=0)
        added.append("date")
    if "title" not in doc:
        doc["title"] = draft.title
        added.append("title")
    if added:
        write_text_atomic(path, f"{FENCE}\n{tomlkit.dumps(doc)}{FENCE}\n{body}")
    return path, added


# --- which episode a recording makes ------------------------------------------------------------

def source_name(show: Show, source: Path) -> str:
    """How an episode's metadata names its recording: relative to the show folder when inside it."""
    try:
        return str(source.resolve().relative_to(show.root.resolve()))
    except ValueError:
        return str(source)


def slug_for(show: Show, source: Path, slug: str | None = None) -> str:
    """The episode's slug: the one given, else one made from the recording's name; for a name
    nothing URL-safe can be made of (emoji alone), the episode already made from this recording,
    else "episode-N" after the show's highest episode number."""
    def fallback() -> str:
        known = episode_from_source(show.root, source_name(show, source))
        if known is not None:
            return known
        number = next_number(show.root)
        while EpisodePaths(show.root, f"episode-{number}").metadata.exists():
            number += 1
        return f"episode-{number}"

    return episode_slug(source, slug, fallback=fallback)
