"""Writing files so that a reader never sees half of one and a failure never costs the old one;
clearing away what a run that was killed left half-written; and the digests that tell whether a
file changed since someone read it.

A temporary file is named ``.rkaudio-<host>-<pid>-<random><suffix>.part`` beside its target (same
folder, same disk, so the final rename is atomic). A run killed outright (SIGKILL, a power cut, a
closed laptop) cannot remove its own; any later run on the same machine can tell, from the
process id in the name, that the writer is gone, and removes it (`sweep_strays`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

TEMP_PREFIX = ".rkaudio-"
TEMP_SUFFIX = ".part"
#: A temporary file of this machine: host, process id, random part, then the target's suffix.
_TEMP = re.compile(r"\.rkaudio-(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)-[0-9a-f]+(?:\.[^/]*)?\.part")
#: Temporary files named by earlier versions (no writer in the name) are strays once left alone
#: this long: no run goes ten minutes without writing to the file it is making.
LEGACY_STRAY_AFTER_S = 600.0
_HASH_BLOCK = 1 << 20


def _host() -> str:
    """This machine's name as it may appear in a file name (the tee muxer reserves ``:|[]``)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")[:40] or "host"


def temp_name(target: Path) -> Path:
    """A hidden, plainly named temporary file beside ``target``, naming this process as its writer."""
    return target.with_name(f"{TEMP_PREFIX}{_host()}-{os.getpid()}-{secrets.token_hex(6)}{target.suffix}{TEMP_SUFFIX}")


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file of rkaudio's (live or stray): never published."""
    return path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def is_stray(path: Path, *, now: float | None = None) -> bool:
    """A temporary file whose writer is gone: a process of this machine that no longer runs, or
    (for a name without a writer) one left untouched for ten minutes. Another machine's files
    (a shared folder) are left to that machine."""
    if not is_temporary(path):
        return False
    match = _TEMP.fullmatch(path.name)
    if match is not None:
        return match["host"] == _host() and not _alive(int(match["pid"]))
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age > LEGACY_STRAY_AFTER_S


def strays(folders: Iterable[Path]) -> list[Path]:
    """The stray temporary files directly in ``folders`` (which need not exist)."""
    found = []
    for folder in folders:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        found += [p for p in entries if p.is_file() and is_stray(p)]
    return found


def sweep_strays(folders: Iterable[Path]) -> list[Path]:
    """Remove the stray temporary files in ``folders``; returns what was removed."""
    removed = []
    for path in strays(folders):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path; rename it over ``target`` only if the block succeeds.

    On any failure (including Ctrl-C) the temporary file is removed and ``target``, if it existed,
    is left exactly as it was.
    """
    tmp = temp_name(target)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_if_changed(target: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless ``target`` already holds exactly these bytes.

    Returns whether it wrote. A rebuild that changes nothing then touches no file, so a web server's
    caches, a sync tool and a file's modification time all see that nothing changed.
    """
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes_atomic(target, data)
    return True


def digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes: tells whether it changed since someone read it."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time (a recording can be gigabytes)."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_HASH_BLOCK), b""):
            sha.update(block)
    return sha.hexdigest()
