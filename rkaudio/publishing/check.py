"""``rkaudio check``: an offline compliance report over the whole show.

Every check reads what was published, the way a listener's app or a directory would, and none
trusts what rkaudio remembers of having written it: loudness is measured again on each MP3, the
tags are read back with mutagen, the feed is parsed as XML, enclosure lengths are compared with the
files, and every transcript and chapters URL is resolved to a file under ``feed/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from mutagen.id3 import ID3, ID3NoHeaderError

from ..audio.loudness import measure
from ..audio.video import FORMATS
from ..core.errors import RkaudioError
from ..core.files import strays
from ..core.progress import ProgressCallback, silent
from ..show.paths import FEED_DIR, FEED_FILE, MEDIA_DIR, EpisodePaths, written_folders
from ..show.settings import Show
from ..transcripts.signoff import review_status
from ..transcripts.store import transcript_stale
from .episode import list_episodes
from .feed import ITUNES_NS, PODCAST_NS, TRANSCRIPT_TYPES
from .urls import feed_path, media_url

#: Cover art Apple accepts: square, 1400 to 3000 pixels a side.
ARTWORK_MIN, ARTWORK_MAX = 1400, 3000
REQUIRED_TAGS = {"TIT2": "title", "TPE1": "author", "TALB": "show", "TCON": "genre", "APIC": "cover",
                 "TGID": "episode guid", "WFED": "feed URL", "PCST": "podcast flag"}
CHANNEL_REQUIRED = ["title", "link", "description", "language", f"{{{ITUNES_NS}}}image",
                    f"{{{ITUNES_NS}}}category", f"{{{ITUNES_NS}}}explicit", f"{{{ITUNES_NS}}}author",
                    f"{{{PODCAST_NS}}}guid", "{http://www.w3.org/2005/Atom}link"]
ITEM_REQUIRED = ["title", "enclosure", "guid", "pubDate", f"{{{ITUNES_NS}}}duration"]


@dataclass(frozen=True)
class CheckResult:
    """One row of the report: what was checked, for which episode (or the show), and the outcome."""

    subject: str
    check: str
    ok: bool
    detail: str = ""
    #: Passed, but something a person should look at (an unreviewed transcript, when the show
    #: does not require reviews). Never fails the report.
    warning: bool = False


@dataclass
class CheckReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.warning]

    def add(self, subject: str, check: str, ok: bool, detail: str = "", *, warning: bool = False) -> None:
        self.results.append(CheckResult(subject, check, ok, detail, warning and ok))


def _short(name: str) -> str:
    return name.split("}", 1)[-1] if "}" in name else name


def check_show(show: Show, *, on_progress: ProgressCallback = silent,
               extra: list[Callable[[Show, CheckReport], None]] | None = None) -> CheckReport:
    """Run every check; never raises for what it finds (only for a show it cannot read at all)."""
    report = CheckReport()
    _check_artwork(show, report)
    feed = _check_feed(show, report)
    items = feed.findall("channel/item") if feed is not None else []
    _check_items(show, items, report)
    media = sorted((show.root / MEDIA_DIR).glob("*.mp3"))
    for n, mp3 in enumerate(media):
        on_progress("checking", n, len(media))
        _check_mp3(show, mp3, report)
    on_progress("checking", len(media), len(media))
    _check_reviews(show, items, report)
    _check_strays(show, report)
    for hook in extra or []:
        hook(show, report)
    return report


def _check_strays(show: Show, report: CheckReport) -> None:
    """Temporary files left by runs that were killed: never complete, and never to be published."""
    found = strays(written_folders(show.root))
    for path in found:
        report.add(path.relative_to(show.root).as_posix(), "stray file", False,
                   "a temporary file left by a run that was stopped; the next process or feed removes it")
    if not found:
        report.add("show", "stray files", True, "no temporary files left by stopped runs")


def _check_artwork(show: Show, report: CheckReport) -> None:
    if show.artwork is None:
        report.add("show", "artwork", False, "show.artwork is not set")
        return
    try:
        from PIL import Image
        with Image.open(show.artwork) as image:
            width, height = image.size
            kind = image.format
    except (OSError, ValueError) as exc:
        report.add("show", "artwork", False, f"{show.artwork}: cannot be read ({exc})")
        return
    ok = width == height and ARTWORK_MIN <= width <= ARTWORK_MAX and kind in ("PNG", "JPEG")
    report.add("show", "artwork", ok, f"{show.artwork.name}: {width}x{height} {kind}"
               + ("" if ok else f" (needs square, {ARTWORK_MIN}-{ARTWORK_MAX} px, PNG or JPEG)"))


def _check_feed(show: Show, report: CheckReport) -> etree._Element | None:
    path = show.root / FEED_DIR / FEED_FILE
    if not path.is_file():
        report.add("feed", "feed.xml exists", False, f"{path.relative_to(show.root)} not found; run 'rkaudio feed'")
        return None
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as exc:
        report.add("feed", "well-formed XML", False, str(exc))
        return None
    report.add("feed", "well-formed XML", True, str(path.relative_to(show.root)))
    channel = root.find("channel")
    missing = [_short(tag) for tag in CHANNEL_REQUIRED if channel is None or channel.find(tag) is None]
    report.add("feed", "channel elements", not missing,
               "missing: " + ", ".join(missing) if missing else f"{len(CHANNEL_REQUIRED)} required elements present")
    explicit = channel.findtext(f"{{{ITUNES_NS}}}explicit") if channel is not None else None
    report.add("feed", "itunes:explicit", explicit in ("true", "false"), f"{explicit!r}")
    return root


def _local_file(show: Show, url: str) -> Path | None:
    """The file under feed/ that ``url`` is served from, or None if it is not under base_url."""
    relative = feed_path(show, url)
    if relative is None:
        return None
    target = (show.root / FEED_DIR / relative).resolve()
    return target if (show.root / FEED_DIR).resolve() in target.parents else None


def _check_items(show: Show, items: list[etree._Element], report: CheckReport) -> None:
    guids: dict[str, str] = {}
    for item in items:
        title = item.findtext("title") or "(untitled)"
        subject = f"episode '{title}'"
        missing = [_short(tag) for tag in ITEM_REQUIRED if item.find(tag) is None]
        report.add(subject, "item elements", not missing, "missing: " + ", ".join(missing) if missing else "")
        guid = (item.findtext("guid") or "").strip()
        duplicate = guids.get(guid)
        report.add(subject, "unique guid", bool(guid) and duplicate is None,
                   f"{guid}" + (f" (also '{duplicate}')" if duplicate else ""))
        guids.setdefault(guid, title)
        enclosure = item.find("enclosure")
        if enclosure is not None:
            url, length = enclosure.get("url", ""), enclosure.get("length", "")
            path = _local_file(show, url)
            if path is None or not path.is_file():
                report.add(subject, "enclosure file", False, f"{url} is not a file under feed/")
            else:
                size = path.stat().st_size
                report.add(subject, "enclosure length", length == str(size),
                           f"feed says {length}, file has {size} bytes")
                report.add(subject, "enclosure type", enclosure.get("type") == "audio/mpeg",
                           str(enclosure.get("type")))
        for alternate in item.findall(f"{{{PODCAST_NS}}}alternateEnclosure"):
            _check_alternate(show, subject, alternate, report)
        for element in item.findall(f"{{{PODCAST_NS}}}transcript") + item.findall(f"{{{PODCAST_NS}}}chapters"):
            url = element.get("url", "")
            path = _local_file(show, url)
            kind = _short(element.tag)
            ok = path is not None and path.is_file()
            if ok and kind == "transcript":
                ok = element.get("type") == TRANSCRIPT_TYPES.get(path.suffix.lstrip("."))
            report.add(subject, f"{kind} URL", ok, url)


def _check_alternate(show: Show, subject: str, alternate: etree._Element, report: CheckReport) -> None:
    """A webinar's video in the feed: its file, length and type; its sound measured again."""
    source = alternate.find(f"{{{PODCAST_NS}}}source")
    url = source.get("uri", "") if source is not None else ""
    path = _local_file(show, url)
    if path is None or not path.is_file():
        report.add(subject, "video file", False, f"{url or 'no podcast:source'} is not a file under feed/")
        return
    size, length = path.stat().st_size, alternate.get("length", "")
    report.add(subject, "video length", length == str(size), f"feed says {length}, file has {size} bytes")
    fmt = FORMATS.get(path.suffix.lstrip(".").lower())
    report.add(subject, "video type", fmt is not None and alternate.get("type") == fmt.mime, str(alternate.get("type")))
    try:
        loud = measure(path, true_peak=True)
    except RkaudioError as exc:
        report.add(subject, "video loudness", False, exc.message)
        return
    target = show.audio.target_lufs
    report.add(subject, "video loudness", abs(loud.integrated_lufs - target) < 0.55,
               f"{loud.integrated_lufs:.1f} LUFS, true peak {loud.true_peak_dbtp:.1f} dBTP (target {target:g} ±0.5)")


def _check_mp3(show: Show, mp3: Path, report: CheckReport) -> None:
    subject = mp3.relative_to(show.root).as_posix()
    try:
        loud = measure(mp3, true_peak=True)
    except RkaudioError as exc:
        report.add(subject, "loudness", False, exc.message)
        return
    target, ceiling = show.audio.target_lufs, show.audio.true_peak_dbtp
    report.add(subject, "loudness", abs(loud.integrated_lufs - target) < 0.55,
               f"{loud.integrated_lufs:.1f} LUFS (target {target:g} ±0.5)")
    tp = loud.true_peak_dbtp if loud.true_peak_dbtp is not None else float("-inf")
    report.add(subject, "true peak", tp <= ceiling + 0.05, f"{tp:.1f} dBTP (ceiling {ceiling:g})")
    try:
        tags = ID3(mp3)
    except ID3NoHeaderError:
        report.add(subject, "tags", False, "no ID3 tag")
        return
    missing = [f"{frame} ({what})" for frame, what in REQUIRED_TAGS.items() if not tags.getall(frame)]
    report.add(subject, "tags", not missing, "missing: " + ", ".join(missing) if missing
               else f"ID3v2.{tags.version[1]}, {len(tags)} frames")


def _check_reviews(show: Show, items: list[etree._Element], report: CheckReport) -> None:
    """Every episode's transcript review. Unreviewed is a warning, or a failure where the show
    requires reviews and the episode is in the feed all the same."""
    in_feed = {e.get("url", "") for item in items for e in item.findall("enclosure")}
    for slug in list_episodes(show.root):
        status = review_status(show.root, slug)
        paths = EpisodePaths(show.root, slug)
        subject = paths.shown(paths.vtt)
        if status.state != "missing":
            stale = transcript_stale(show.root, slug)
            report.add(subject, "transcript matches audio", stale is None,
                       f"transcript made for different audio: {stale}; run 'rkaudio process --retranscribe' to merge "
                       "new machine text around the reviewer's edits" if stale else "made for the published audio")
        if status.state == "missing":
            report.add(subject, "transcript reviewed", not show.transcript.require_review,
                       "no transcript yet", warning=True)
        elif status.reviewed:
            report.add(subject, "transcript reviewed", True, status.describe())
        elif not show.transcript.require_review:
            report.add(subject, "transcript reviewed", True, f"{status.describe()}: rkaudio review {slug}",
                       warning=True)
        else:
            published = bool(show.base_url) and media_url(show, slug) in in_feed
            # A published episode whose transcript changed since its sign-off still shows the
            # version that was reviewed; one never reviewed must not be in the feed at all.
            ok = status.state == "changed" or not published
            held = "" if published else "; held back from the feed"
            report.add(subject, "transcript reviewed", ok, f"{status.describe()}{held}: rkaudio review {slug}",
                       warning=True)
