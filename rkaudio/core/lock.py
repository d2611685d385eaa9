"""The show lock: one process at a time in a read-modify-write of a show's shared state.

Several runs may work on one show at once (two terminals, a batch beside a run by hand, the
parallel ``build``). Their audio and speech work overlaps freely; only the short steps that read
shared state and write from it take turns: assigning an episode's number and guid, writing its
metadata file, publishing an MP3 and rebuilding the feed and site from every episode present.

The lock is ``fcntl.flock`` on a file in the show folder, so the operating system releases it when
its holder exits, however it exits (killed with SIGKILL included): a killed run never blocks the
next. Within one process the lock is re-entrant (a step that holds it may call another that takes
it) and shared by its threads in turn.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import WorkspaceError

#: How long a run waits for another to finish its critical section before giving up. Critical
#: sections take well under a second (a feed and site of 100 episodes: about 2 s), so a wait this
#: long means the holder is stuck, not busy.
DEFAULT_TIMEOUT_S = 300.0
_POLL_S = 0.02


@dataclass
class _Held:
    fd: int
    depth: int
    pid: int


_registry: dict[str, _Held] = {}
_guard = threading.RLock()


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (held by {text})" if text else ""


@contextmanager
def locked(path: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock file ``path`` (created if missing) for the block; re-entrant in one process.

    Raises WorkspaceError when the lock cannot be taken within ``timeout`` seconds or its folder
    cannot be written.
    """
    key = str(path.resolve() if path.exists() else path.absolute())
    with _guard:
        held = _registry.get(key)
        if held is not None and held.pid != os.getpid():
            # Inherited through fork: the parent's hold is not ours.
            del _registry[key]
            held = None
        if held is not None:
            held.depth += 1
        else:
            fd = _acquire(path, timeout)
            held = _registry[key] = _Held(fd, 1, os.getpid())
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                del _registry[key]
                try:
                    os.ftruncate(held.fd, 0)
                except OSError:
                    pass
                os.close(held.fd)  # closing the descriptor releases the flock


def _acquire(path: Path, timeout: float) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WorkspaceError(f"cannot open the show's lock: {exc.strerror or exc}", path) from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise WorkspaceError(f"cannot lock the show: {exc.strerror or exc}", path) from None
            if time.monotonic() >= deadline:
                os.close(fd)
                raise WorkspaceError(f"another rkaudio run has held the show for over {timeout:.0f} s"
                                     f"{_holder(path)}; try again when it has finished", path) from None
            time.sleep(_POLL_S)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode())
    except OSError:
        pass
    return fd


def is_held(path: Path) -> bool:
    """Whether this process holds the lock file ``path`` now."""
    key = str(path.resolve() if path.exists() else path.absolute())
    with _guard:
        held = _registry.get(key)
        return held is not None and held.pid == os.getpid()
