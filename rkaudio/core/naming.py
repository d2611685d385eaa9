"""Names that become file names and URLs: slugs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from anyascii import anyascii

from .errors import InputError

_NOT_SAFE = re.compile(r"[^a-z0-9]+")
#: Long enough for a descriptive title, short enough for a tidy URL and any file system.
MAX_SLUG = 80


def _romanised(text: str) -> str:
    """``text`` in ASCII letters: accents folded, other scripts transliterated (anyascii).

    Each character is transliterated on its own, so a syllable written as one character (Chinese,
    Japanese, Korean) becomes a word of its own ("欢迎" -> "Huan Ying") rather than running into the
    next one. Emoji and other symbols are left out: ":microphone2:" names no episode.
    """
    parts = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isascii():
            parts.append(ch)
            continue
        if unicodedata.category(ch)[0] in "SZ":  # emoji and other symbols name nothing; spaces part words
            parts.append(" ")
            continue
        latin = anyascii(ch)
        if latin[:1].isupper() and unicodedata.category(ch) == "Lo":
            latin = f" {latin} "
        parts.append(latin)
    return "".join(parts)


def slugify(text: str) -> str:
    """A URL-safe slug: lower-case ASCII letters, digits and single dashes.

    Accents are folded ("Café" -> "cafe") and other scripts transliterated ("خوش آمدید" ->
    "khwsh-amdyd", "स्वागत है" -> "svagt-hai", "欢迎" -> "huan-ying"); anything else becomes a dash.
    Returns "" only when nothing usable is left (punctuation alone).
    """
    slug = _NOT_SAFE.sub("-", _romanised(text).lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def episode_slug(source: Path, slug: str | None = None, *, fallback: Callable[[], str] | None = None) -> str:
    """The slug given, made URL-safe, or one made from the input's file name.

    When nothing URL-safe can be made of the file name, ``fallback`` names the episode
    (``process`` gives "episode-N", N being the episode's number); without one, or when the
    producer's own ``--slug`` has nothing URL-safe in it, InputError asks for a better ``--slug``.
    """
    wanted = slug if slug is not None else source.stem
    made = slugify(wanted)
    if not made and fallback is not None and slug is None:
        made = fallback()
    if not made:
        raise InputError(f"cannot make a URL-safe name from {wanted!r}; give one with --slug", source)
    return made
