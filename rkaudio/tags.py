"""ID3 tags of the delivered MP3, written with mutagen.

ID3v2.3 by default: it is the version every podcast app and car stereo reads.
"""

from __future__ import annotations

from pathlib import Path

from mutagen.id3 import ID3, TALB, TCON, TIT2, TPE1

from .errors import RkaudioError


def write_basic_tags(path: Path, *, title: str, show_title: str, author: str = "",
                     v2_version: int = 3) -> None:
    """Title, show (album), author (artist) and the Podcast genre."""
    try:
        tags = ID3()  # replaces whatever tag the encoder wrote
        tags.add(TIT2(encoding=3, text=title))
        tags.add(TALB(encoding=3, text=show_title))
        if author:
            tags.add(TPE1(encoding=3, text=author))
        tags.add(TCON(encoding=3, text="Podcast"))
        tags.save(path, v2_version=v2_version)
    except Exception as exc:  # mutagen raises several unrelated types for unwritable files
        raise RkaudioError(f"cannot write tags: {exc}", path) from exc
