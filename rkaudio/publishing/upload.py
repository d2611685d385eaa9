"""``rkaudio publish``: ``feed/`` uploaded to any rclone remote, the feed last.

The order keeps the feed from ever pointing at a file that is not there yet:

1. the remote is listed (which also proves the credentials and the address before anything moves);
2. every published file but ``feed.xml`` (media, transcripts, chapters, the site's pages) is
   copied, only those that changed: compared by checksum where the remote keeps one rclone can
   read (S3's MD5...), else by size and modification time;
3. the remote is listed again and every file must have arrived at its size, and every enclosure
   of the feed about to go up at the length the feed gives it;
4. only then ``feed.xml`` goes up: the copy read at the start, so a feed rebuilt meanwhile cannot
   slip out ahead of its media;
5. with ``prune``, remote files that are no longer in ``feed/`` are deleted, after the new feed
   has stopped pointing at them. Never without it.

A failure at any step stops there: the feed online stays the old one, and the next publish sends
what is still missing. Temporary files of rkaudio's (``.rkaudio-*.part``) and hidden files are
never sent: the list of files is made here and rclone sends exactly that list.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..core.errors import ConfigError, PublishError
from ..core.files import is_temporary
from ..core.progress import ProgressCallback, silent
from ..show.config import parse_publish_target
from ..show.paths import FEED_DIR, FEED_FILE, SHOW_FILE
from ..show.settings import Show
from ..show.state import show_lock
from . import rclone_tool
from .urls import feed_path


@dataclass(frozen=True)
class PublishOptions:
    """One publish: where to (None: show.toml's ``[publish] to``), and how."""

    to: str | None = None
    #: Say what would be uploaded and deleted; change nothing.
    dry_run: bool = False
    #: Delete remote files that are no longer in ``feed/`` (after the new feed is up).
    prune: bool = False


@dataclass
class PublishReport:
    """What a publish did (or, with ``dry_run``, would do)."""

    target: str
    dry_run: bool
    #: "checksum", or "size and modification time" where the remote keeps no checksum rclone reads.
    compared_by: str
    #: Files under ``feed/`` that were sent (feed.xml last, when it changed).
    uploaded: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    #: Files already on the remote exactly as they are here.
    unchanged: int = 0
    #: Remote files deleted with ``prune``.
    deleted: list[str] = field(default_factory=list)
    #: Remote files not in ``feed/`` that stay because ``prune`` was not asked for.
    extra: list[str] = field(default_factory=list)
    #: Enclosures whose size on the remote was checked against the feed's length.
    enclosures_verified: int = 0
    feed_uploaded: bool = False


def publish_target(show: Show, to: str | None) -> str:
    """The remote and path to publish to: ``--to``, else ``[publish] to`` (or RKAUDIO_PUBLISH_TO)."""
    if to is not None and to.strip():
        return parse_publish_target(to, "--to", "the destination")
    if show.publish.to:
        return show.publish.to
    raise ConfigError(f"{show.root / SHOW_FILE}: nowhere to publish to: set [publish] to = \"remote:path\" "
                      "(a remote set up with 'rclone config') or pass --to remote:path")


def published_files(feed_dir: Path) -> list[str]:
    """Every file listeners are served from ``feed/`` but the feed itself, as paths under it: no
    temporary file, nothing hidden (no ``.DS_Store``, no ``.git``), nothing but regular files."""
    found = []
    for path in sorted(feed_dir.rglob("*")):
        relative = path.relative_to(feed_dir)
        if any(part.startswith(".") for part in relative.parts) or is_temporary(path):
            continue
        if path.is_file() and not path.is_symlink() and relative.as_posix() != FEED_FILE:
            found.append(relative.as_posix())
    return found


def enclosures(show: Show, feed_bytes: bytes, where: Path) -> dict[str, int]:
    """Each enclosure of a feed as its path under ``feed/`` and the length the feed gives it."""
    try:
        root = etree.fromstring(feed_bytes, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise PublishError(f"not a well-formed feed ({exc}); run 'rkaudio feed'", where) from None
    found: dict[str, int] = {}
    for enclosure in root.iterfind("channel/item/enclosure"):
        url, length = enclosure.get("url", ""), enclosure.get("length", "")
        relative = feed_path(show, url)
        if relative is None:
            raise PublishError(f"enclosure {url} is not under show.base_url ({show.base_url}), so publishing "
                               "feed/ cannot put it there; run 'rkaudio feed'", where)
        if not length.isdigit():
            raise PublishError(f"enclosure {url} has no length; run 'rkaudio feed'", where)
        found[relative] = int(length)
    return found


def _join(target: str, relative: str) -> str:
    return f"{target.rstrip('/')}/{relative}" if not target.endswith(":") else f"{target}{relative}"


def remote_sizes(target: str) -> dict[str, int]:
    """Every file on the remote under ``target`` and its size; an empty dict before the first publish."""
    listed = rclone_tool.run(["lsjson", "-R", "--files-only", "--no-mimetype", "--no-modtime", target,
                              *rclone_tool.retries(rclone_tool.LOOK_RETRIES)],
                             where=target, check=False)
    if listed.returncode == rclone_tool.DIR_NOT_FOUND:
        return {}
    if listed.returncode != 0:
        raise PublishError(f"{target}: {rclone_tool.explain(listed.error())}")
    try:
        return {item["Path"]: int(item["Size"]) for item in json.loads(listed.stdout or "[]")}
    except (ValueError, KeyError, TypeError):
        raise PublishError(f"{target}: rclone listed the remote in a form rkaudio cannot read") from None


def _compare_flags(target: str) -> tuple[list[str], str]:
    """``--checksum`` where the remote keeps a hash rclone can compare with the local files'."""
    features = rclone_tool.run(["backend", "features", target], where=target)
    try:
        hashes = json.loads(features.stdout).get("Hashes") or []
    except (ValueError, AttributeError):
        hashes = []
    return (["--checksum"], "checksum") if hashes else ([], "size and modification time")


def publish(show: Show, options: PublishOptions = PublishOptions(), *,
            on_progress: ProgressCallback = silent) -> PublishReport:
    """Upload ``feed/`` to the remote; see the module's docstring for the order and what it checks.
    ``on_progress`` gets ``("uploading", bytes sent, bytes to send)``."""
    target = publish_target(show, options.to)
    feed_dir = show.root / FEED_DIR
    feed_file = feed_dir / FEED_FILE
    # What goes up is fixed now, in one turn of the show's lock, so that a run publishing an episode
    # at this moment cannot leave a feed that names a file the list lacks (the upload itself runs
    # without the lock: it may take hours, and other runs carry on meanwhile).
    with show_lock(show.root):
        try:
            feed_bytes = feed_file.read_bytes()
        except OSError:
            raise PublishError("not found: there is no feed to publish yet; run 'rkaudio feed'", feed_file) from None
        wanted = enclosures(show, feed_bytes, feed_file)
        files = published_files(feed_dir)
        local = {name: (feed_dir / name).stat().st_size for name in files}
    for name, length in wanted.items():
        if local.get(name) != length:
            raise PublishError(f"enclosure {name} is {'missing' if name not in local else f'{local[name]} bytes'}, "
                               f"the feed says {length} bytes; run 'rkaudio feed' (and 'rkaudio check')", feed_file)

    before = remote_sizes(target)  # also proves the address and credentials before anything moves
    flags, compared_by = _compare_flags(target)
    report = PublishReport(target=target, dry_run=options.dry_run, compared_by=compared_by)
    report.extra = sorted(set(before) - set(files) - {FEED_FILE})
    with tempfile.TemporaryDirectory(prefix="rkaudio-publish-") as work:
        listing = Path(work) / "files.txt"
        listing.write_text("".join(f"{name}\n" for name in files), encoding="utf-8")
        args = ["copy", str(feed_dir), target, "--files-from-raw", str(listing), "--no-traverse",
                *flags, *rclone_tool.retries(rclone_tool.UPLOAD_RETRIES)]
        if options.dry_run:
            args.append("--dry-run")
        try:
            copied = rclone_tool.run(args, where=target,
                                     on_bytes=lambda done, total: on_progress("uploading", done, total))
        except PublishError as exc:
            raise PublishError(f"{exc}; the feed online was left as it was, and the next publish sends what "
                               "is missing") from None
        sent = copied.objects("Skipped copy as --dry-run" if options.dry_run else "Copied")
        report.uploaded = sorted(set(sent))
        report.bytes_uploaded = int(copied.stats.get("bytes") or 0)
        report.unchanged = len(files) - len(report.uploaded)

        new_feed = _remote_bytes(target, FEED_FILE) != feed_bytes
        if options.dry_run:
            if new_feed:
                report.uploaded.append(FEED_FILE)
            report.deleted = list(report.extra) if options.prune else []
            return report

        after = remote_sizes(target)
        _verify(target, {name: local[name] for name in files}, after, wanted)
        report.enclosures_verified = len(wanted)
        if new_feed:
            staged = Path(work) / "feed" / FEED_FILE
            staged.parent.mkdir()
            staged.write_bytes(feed_bytes)
            rclone_tool.run(["copyto", str(staged), _join(target, FEED_FILE), "--ignore-times",
                             *rclone_tool.retries(rclone_tool.UPLOAD_RETRIES)], where=target)
            if remote_sizes(target).get(FEED_FILE) != len(feed_bytes):
                raise PublishError(f"{target}: {FEED_FILE} did not arrive whole; publish again")
            report.uploaded.append(FEED_FILE)
            report.bytes_uploaded += len(feed_bytes)
            report.feed_uploaded = True
        if options.prune and report.extra:
            doomed = Path(work) / "delete.txt"
            doomed.write_text("".join(f"{name}\n" for name in report.extra), encoding="utf-8")
            rclone_tool.run(["delete", target, "--files-from-raw", str(doomed),
                             *rclone_tool.retries(rclone_tool.UPLOAD_RETRIES)], where=target)
            report.deleted, report.extra = report.extra, []
    return report


def _remote_bytes(target: str, relative: str) -> bytes | None:
    """A small remote file's bytes (the feed), or None when it is not there."""
    fetched = rclone_tool.run(["cat", _join(target, relative), *rclone_tool.retries(rclone_tool.LOOK_RETRIES)],
                              where=target, check=False)
    if fetched.returncode != 0:
        if (fetched.returncode in (rclone_tool.DIR_NOT_FOUND, rclone_tool.FILE_NOT_FOUND)
                or "not found" in fetched.error().lower()):
            return None
        raise PublishError(f"{target}: {rclone_tool.explain(fetched.error())}")
    return fetched.output


def _verify(target: str, sent: dict[str, int], remote: dict[str, int], wanted: dict[str, int]) -> None:
    """Every file arrived at its size, and every enclosure at the feed's length; else the feed stays."""
    for name, size in sorted(sent.items()):
        if remote.get(name) != size:
            got = "missing" if name not in remote else f"{remote[name]} bytes"
            raise PublishError(f"{target}: {name} arrived {got}, not {size} bytes; the feed online was left as "
                               "it was: publish again")
    for name, length in sorted(wanted.items()):
        if remote.get(name) != length:
            raise PublishError(f"{target}: enclosure {name} is {remote.get(name, 'missing')} bytes on the remote, "
                               f"the feed says {length}; the feed online was left as it was")
