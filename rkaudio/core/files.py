"""Writing files so that a reader never sees half of one and a failure never costs the old one;
and the digest that tells whether a file changed since someone read it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def temp_name(target: Path) -> Path:
    """A hidden, plainly named temporary file beside ``target`` (same folder, same disk)."""
    return target.with_name(f".rkaudio-{secrets.token_hex(6)}{target.suffix}.part")


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


def digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes: tells whether it changed since someone read it."""
    return hashlib.sha256(data).hexdigest()
