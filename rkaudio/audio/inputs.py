"""Checks on a recording that ffmpeg does not make: a truncated WAV plays without complaint, and a
silent or cut-short programme decodes without an error."""

from __future__ import annotations

import struct
from pathlib import Path

from ..core.errors import InputError
from .ffmpeg_tool import MediaInfo
from .loudness import Loudness

#: A WAV may end a few bytes short (a padding byte, a writer's rounding); more than this is loss.
WAV_SLACK_BYTES = 4096
#: Allowed shortfall of decoded audio against the container's stated length.
TRUNCATION_SLACK = (1.0, 0.02)  # seconds, fraction


def check_wav_complete(path: Path) -> None:
    """Raise InputError if a RIFF/WAVE file's data chunk claims more bytes than the file holds.

    ffmpeg estimates a WAV's duration from the file size, so a cut-off recording looks whole to it.
    Files that are not RIFF/WAVE, and streamed WAVs whose size field is a placeholder, pass.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return
            size = path.stat().st_size
            offset = 12
            while offset + 8 <= size:
                fh.seek(offset)
                chunk_id, chunk_len = struct.unpack("<4sI", fh.read(8))
                if chunk_id == b"data":
                    if chunk_len in (0, 0xFFFFFFFF):  # written while streaming: length unknown
                        return
                    have = size - offset - 8
                    if have + WAV_SLACK_BYTES < chunk_len:
                        raise InputError(
                            f"is truncated: its header promises {chunk_len:,} bytes of audio but the "
                            f"file holds {max(have, 0):,}", path)
                    return
                offset += 8 + chunk_len + (chunk_len & 1)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path) from None


def check_programme(info: MediaInfo, loud: Loudness) -> None:
    """Raise InputError if the measured programme is empty, silent, or shorter than its container
    says (a FLAC's STREAMINFO, an MP3's Xing frame count): a file cut short."""
    path = info.path
    if loud.duration <= 0:
        raise InputError("holds no decodable audio", path)
    if loud.is_silent:
        raise InputError("is silent (digital silence or below -70 LUFS): nothing to normalise", path)
    stated = info.duration
    slack = max(TRUNCATION_SLACK[0], TRUNCATION_SLACK[1] * (stated or 0))
    if stated and not info.has_video and loud.duration < stated - slack:
        raise InputError(f"is truncated: it says {stated:.1f} s but only {loud.duration:.1f} s of "
                         "audio could be decoded", path)
