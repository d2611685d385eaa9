"""Checks on a recording that ffmpeg does not make: a truncated WAV plays without complaint."""

from __future__ import annotations

import struct
from pathlib import Path

from .errors import InputError

#: A WAV may end a few bytes short (a padding byte, a writer's rounding); more than this is loss.
WAV_SLACK_BYTES = 4096


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
