"""The review editor's local web server: the page, its JSON API and the episode's audio.

Standard library only (``http.server.ThreadingHTTPServer``): the editor serves one reviewer on
one machine, so an ASGI stack would add dependencies and nothing a reviewer would notice. The
server listens on 127.0.0.1 only and trusts nothing it is sent:

* every ``/api/`` request must carry the session's random token (header ``X-Review-Token``; the
  audio element, which cannot send headers, may put it in the query), else 403;
* the Host header must name this server (a web page elsewhere cannot reach it by DNS rebinding);
* static files come only from the editor's own folder, by exact name; anything else is 404;
* request bodies must be JSON, declare their length and stay under `MAX_BODY_BYTES` (413);
* every response forbids framing and inline script (Content-Security-Policy).

Writes happen only through `ReviewSession`, which writes only this episode's transcript files.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import sys
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..core.errors import ConfigError, RkaudioError, StaleTranscriptError, TranscriptError
from .session import ReviewSession

log = logging.getLogger(__name__)

#: The editor's fixed address, so unsaved changes kept by the browser (per address) are found
#: again after the server restarts. ``--port 0`` takes any free port.
DEFAULT_PORT = 8719
HOST = "127.0.0.1"
#: A three-hour webinar's cues come to well under 1 MB of JSON; anything far larger is not an edit.
MAX_BODY_BYTES = 4 * 1024 * 1024
STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_HEADER = "X-Review-Token"
_CHUNK = 64 * 1024
_STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
_SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
                                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class ReviewServer(ThreadingHTTPServer):
    """One review session served on 127.0.0.1; ``url`` carries the session's token."""

    daemon_threads = True
    # Only this server's own sockets in TIME_WAIT can be reused; another live server still fails.
    allow_reuse_address = True

    def __init__(self, session: ReviewSession, port: int = DEFAULT_PORT, token: str | None = None) -> None:
        self.session = session
        self.token = token or secrets.token_urlsafe(24)
        self.static = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
        super().__init__((HOST, port), ReviewHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that hangs up mid-request (a seek cancels an audio range request, a closed
        tab drops its keep-alive connection) is normal, not an error to print; anything else is
        logged, never printed as a traceback into the reviewer's terminal."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        log.warning("review server: a request failed: %s", error)
        log.debug("review server: the failed request's traceback", exc_info=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """The page's address; the token travels in the fragment, which browsers never send on."""
        return f"http://{HOST}:{self.port}/#token={self.token}"


def start_server(session: ReviewSession, port: int = DEFAULT_PORT, token: str | None = None) -> ReviewServer:
    """Bind the server (not yet serving); ConfigError if the port is taken or not allowed."""
    try:
        return ReviewServer(session, port, token)
    except OSError as exc:
        hint = "another review may be running; stop it, or pass --port N (0 for any free port)"
        raise ConfigError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}; {hint}") from None


class ReviewHandler(BaseHTTPRequestHandler):
    """Routes: ``/`` and ``/static/NAME`` (no token); ``/api/...`` (token)."""

    server: ReviewServer
    protocol_version = "HTTP/1.1"
    server_version = "rkaudio-review"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s " + format, self.address_string(), *args)

    # --- dispatch ----------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        self._body_read = False
        try:
            if not self._host_ok():
                self._error(HTTPStatus.FORBIDDEN, "this server answers only at its own address")
                return
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            if path.startswith("/api/"):
                self._api(method, path, parse_qs(parts.query))
            elif method == "GET":
                self._static(path)
            else:
                self._error(HTTPStatus.METHOD_NOT_ALLOWED, "not allowed here")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the browser gave up on the response (seeking audio does)

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").lower()
        port = self.server.port
        return host in (f"{HOST}:{port}", f"localhost:{port}")

    def _api(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        session = self.server.session
        given = self.headers.get(TOKEN_HEADER)
        if given is None and method == "GET" and path == "/api/audio":
            given = (query.get("token") or [None])[0]
        if not given or not hmac.compare_digest(given.encode("utf-8"), self.server.token.encode("utf-8")):
            self._error(HTTPStatus.FORBIDDEN, "this request needs the review session's token; open the "
                                              "address that 'rkaudio review' printed")
            return
        routes: dict[tuple[str, str], Callable[[], None]] = {
            ("GET", "/api/transcript"): lambda: self._json(session.state()),
            ("GET", "/api/history"): lambda: self._json({"history": session.history()}),
            ("GET", "/api/audio"): self._audio,
            ("PUT", "/api/transcript"): lambda: self._json(session.save(self._body())),
            ("POST", "/api/check"): lambda: self._json(session.check(self._body())),
            ("POST", "/api/restore"): lambda: self._json(session.restore(self._body())),
            ("POST", "/api/signoff"): lambda: self._json(session.sign_off(self._body())),
        }
        if method == "GET" and path.startswith("/api/history/"):
            name = path[len("/api/history/"):]
            routes[("GET", path)] = lambda: self._json(session.version(name))
        route = routes.get((method, path))
        if route is None:
            known = {p for _, p in routes}
            if path in known:
                self._error(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {path}")
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no such API: {path}")
            return
        try:
            route()
        except _BadRequest as exc:
            self._error(exc.status, exc.message)
        except StaleTranscriptError as exc:
            self._error(HTTPStatus.CONFLICT, str(exc))
        except TranscriptError as exc:
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
        except RkaudioError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # a bug: answer, log, and keep serving
            log.exception("review server: %s %s failed", method, path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}: {exc}")

    # --- requests ----------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length_text is None:
            self.close_connection = True
            raise _BadRequest(HTTPStatus.LENGTH_REQUIRED, "the request must give its Content-Length")
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is not read, so the connection cannot be reused
            raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"the request is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
        data = self.rfile.read(length)
        self._body_read = True
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise _BadRequest(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Content-Type: application/json)")
        try:
            payload = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "the request body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        return payload

    # --- responses ---------------------------------------------------------------------------

    def _headers(self, status: int, content_type: str, length: int, extra: dict[str, str] | None = None) -> None:
        if self.headers.get("Content-Length", "0") not in ("", "0") and not self._body_read:
            # An unread body would be taken for the next request on this connection.
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in {**_SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._headers(status, "application/json; charset=utf-8", len(body), {"Cache-Control": "no-store"})
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _static(self, path: str) -> None:
        name = "index.html" if path == "/" else path[len("/static/"):] if path.startswith("/static/") else ""
        file = self.server.static.get(name)
        if file is None:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        body = file.read_bytes()
        self._headers(HTTPStatus.OK, _STATIC_TYPES.get(file.suffix, "application/octet-stream"), len(body),
                      {"Cache-Control": "no-cache"})
        self.wfile.write(body)

    def _audio(self) -> None:
        """The episode's audio, with byte ranges so the player can seek without downloading it all."""
        audio = self.server.session.audio
        if audio is None:
            self._error(HTTPStatus.NOT_FOUND, "this episode has no audio yet")
            return
        try:
            size = audio.path.stat().st_size
            handle = audio.path.open("rb")
        except OSError as exc:
            self._error(HTTPStatus.NOT_FOUND, f"{audio.path.name}: cannot be read: {exc.strerror or exc}")
            return
        with handle:
            start, end, status = 0, size - 1, HTTPStatus.OK
            extra = {"Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
            wanted = _RANGE.fullmatch((self.headers.get("Range") or "").strip())
            if wanted is not None and wanted.group(1) + wanted.group(2):
                first, last = wanted.groups()
                if first:
                    start, end = int(first), min(int(last), size - 1) if last else size - 1
                else:  # the last N bytes
                    start, end = max(0, size - int(last)), size - 1
                if start >= size or start > end:
                    self._headers(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "text/plain", 0,
                                  {"Content-Range": f"bytes */{size}"})
                    return
                status = HTTPStatus.PARTIAL_CONTENT
                extra["Content-Range"] = f"bytes {start}-{end}/{size}"
            self._headers(status, audio.media_type, end - start + 1, extra)
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


class _BadRequest(Exception):
    """A request the API cannot take as it is (malformed, too large, wrong type)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)

