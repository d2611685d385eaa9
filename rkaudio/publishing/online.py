"""``rkaudio check --online``: what listeners' apps get from the web, asked of the web itself.

For the feed's URL and every enclosure URL in ``feed/feed.xml``, the headers only: a HEAD request,
or where a server refuses HEAD a GET of the first byte (``Range: bytes=0-0``), whose
``Content-Range`` gives the whole length. An enclosure passes when it answers 200 (or 206) and its
length is the one the feed gives. The only part of rkaudio that touches the network, and only
when asked.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from lxml import etree

from .. import __version__
from ..show.paths import FEED_DIR, FEED_FILE
from ..show.settings import Show
from .check import CheckReport
from .urls import feed_url

#: Seconds to wait for a server's answer: a listener's app gives up about as soon.
TIMEOUT_S = 20.0
_TOTAL = re.compile(r"bytes \d+-\d+/(\d+)")


@dataclass(frozen=True)
class Headers:
    """What a server said about a URL: its status and the length of the whole file, if it said."""

    status: int
    length: int | None
    how: str


def _ask(url: str, method: str) -> Headers:
    request = urllib.request.Request(url, method="GET" if method == "range" else method,
                                     headers={"User-Agent": f"rkaudio/{__version__} (check --online)",
                                              **({"Range": "bytes=0-0"} if method == "range" else {})})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - http(s) only
        status = response.status
        total = _TOTAL.fullmatch(response.headers.get("Content-Range", "").strip())
        if total is not None:
            length: int | None = int(total[1])
        elif status == 200 and (response.headers.get("Content-Length") or "").isdigit():
            length = int(response.headers["Content-Length"])
        else:
            length = None
    return Headers(status, length, "HEAD" if method == "HEAD" else "ranged GET")


def fetch_headers(url: str) -> Headers:
    """HEAD ``url``; where that is refused or says nothing of the length, a ranged GET. Raises
    OSError (urllib's errors among them) when neither gets an answer."""
    try:
        head = _ask(url, "HEAD")
        if head.length is not None:
            return head
    except urllib.error.HTTPError as exc:
        if exc.code not in (403, 405, 501):
            return Headers(exc.code, None, "HEAD")
    try:
        return _ask(url, "range")
    except urllib.error.HTTPError as exc:
        return Headers(exc.code, None, "ranged GET")


def _describe(error: OSError) -> str:
    reason = getattr(error, "reason", None) or error
    return f"no answer: {reason}"


def check_online(show: Show, report: CheckReport) -> None:
    """Rows for the feed's URL and every enclosure's, from what their servers say."""
    path = show.root / FEED_DIR / FEED_FILE
    if not show.base_url or not path.is_file():
        report.add("online", "feed URL", False, "no feed or no show.base_url to check online")
        return
    url = feed_url(show)
    try:
        answer = fetch_headers(url)
        report.add("online", "feed URL", answer.status in (200, 206), f"{url}: {answer.status} ({answer.how})")
    except (OSError, ValueError) as exc:
        report.add("online", "feed URL", False, f"{url}: {_describe(exc) if isinstance(exc, OSError) else exc}")
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    for item in root.iterfind("channel/item"):
        subject = f"episode '{item.findtext('title') or '(untitled)'}'"
        for enclosure in item.iterfind("enclosure"):
            url, length = enclosure.get("url", ""), enclosure.get("length", "")
            if not url.startswith(("https://", "http://")):
                report.add(subject, "enclosure online", False, f"{url!r} is not an http(s) address")
                continue
            try:
                answer = fetch_headers(url)
            except OSError as exc:
                report.add(subject, "enclosure online", False, f"{url}: {_describe(exc)}")
                continue
            ok = answer.status in (200, 206) and answer.length is not None and str(answer.length) == length
            said = "no length given" if answer.length is None else f"{answer.length} bytes"
            report.add(subject, "enclosure online", ok,
                       f"{url}: {answer.status} ({answer.how}), {said}; the feed says {length}")
