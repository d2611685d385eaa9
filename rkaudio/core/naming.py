"""Names that become file names and URLs: slugs."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .errors import InputError

_NOT_SAFE = re.compile(r"[^a-z0-9]+")
#: Long enough for a descriptive title, short enough for a tidy URL and any file system.
MAX_SLUG = 80


def slugify(text: str) -> str:
    """A URL-safe slug: lower-case ASCII letters, digits and single dashes.

    Accents are folded ("Café" -> "cafe"); anything else becomes a dash. Returns "" when nothing
    usable is left (for example, a name written only in a non-Latin script).
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SAFE.sub("-", folded.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def episode_slug(source: Path, slug: str | None = None) -> str:
    """The slug given, made URL-safe, or one made from the input's file name."""
    wanted = slug if slug is not None else source.stem
    made = slugify(wanted)
    if not made:
        raise InputError(f"cannot make a URL-safe name from {wanted!r}; give one with --slug", source)
    return made
