"""Where each published file is on the web: its path under ``feed/`` appended to ``base_url``; and
how the site's pages link to each other: relatively, so ``feed/`` works under any ``base_url``
and opened straight from a folder."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from ..core.errors import ConfigError
from ..show.paths import FEED_DIR, FEED_FILE, SHOW_FILE, EpisodePaths, feed_relative
from ..show.settings import Show


def require_base_url(show: Show) -> str:
    """The show's ``base_url``; ConfigError saying what to set when there is none."""
    if not show.base_url:
        raise ConfigError(f"{show.root / SHOW_FILE}: show.base_url is not set; podcast apps need to know "
                          "where feed/ is served, e.g. base_url = \"https://example.org/podcast\"")
    return show.base_url


def published_url(show: Show, path: Path) -> str:
    """The URL of a file under ``feed/``."""
    return f"{require_base_url(show)}/{feed_relative(show.root, path)}"


def feed_path(show: Show, url: str) -> str | None:
    """The path under ``feed/`` that ``url`` is served from (`published_url` undone), or None when
    it is not under ``base_url`` or would reach outside ``feed/``."""
    base = show.base_url.rstrip("/") + "/"
    if not show.base_url or not url.startswith(base):
        return None
    relative = url[len(base):]
    parts = relative.split("/")
    if not relative or any(part in ("", ".", "..") for part in parts):
        return None
    return relative


def feed_url(show: Show) -> str:
    return published_url(show, show.root / FEED_DIR / FEED_FILE)


def media_url(show: Show, slug: str) -> str:
    """The URL of an episode's MP3 (its enclosure)."""
    return published_url(show, EpisodePaths(show.root, slug).mp3)


def artwork_url(show: Show) -> str:
    """The cover's URL: it is published as ``feed/<file name>``."""
    assert show.artwork is not None
    return published_url(show, show.root / FEED_DIR / show.artwork.name)


def relative_url(page: Path, target: Path) -> str:
    """The link from ``page`` to ``target``, both files under ``feed/``: a relative URL, never one that
    names ``base_url`` (a folder is linked by its ``index.html``, which a local folder needs)."""
    return quote(Path(os.path.relpath(target, page.parent)).as_posix(), safe="/")
