"""Names that become file names and URLs."""

from __future__ import annotations

import re
import unicodedata

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
