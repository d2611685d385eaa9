"""The one error family. Each message says which file, what is wrong and, where it helps, what to do.

The CLI turns these into a one-line message and a non-zero exit; nothing else catches them.
"""

from __future__ import annotations

from pathlib import Path


class RkaudioError(Exception):
    """Base of every error rkaudio reports to a producer."""

    exit_code = 1

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class InputError(RkaudioError):
    """An input recording is missing, empty, truncated, silent or not audio."""

    exit_code = 2


class ConfigError(RkaudioError):
    """show.toml (or an option) is broken or holds a value out of range."""

    exit_code = 3


class WorkspaceError(RkaudioError):
    """No show folder was found, or it cannot be created or written."""

    exit_code = 3


class ToolError(RkaudioError):
    """ffmpeg failed; carries its exit code and the tail of what it printed."""

    exit_code = 4

    def __init__(self, message: str, returncode: int | None = None, stderr_tail: str = "") -> None:
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        super().__init__(message)


class QualityError(RkaudioError):
    """The delivered file misses the loudness or true-peak target; nothing was published."""

    exit_code = 5


class TranscriptError(RkaudioError):
    """A transcript file is malformed or cannot be written; reviewed files are left as they were.

    ``line`` is the line of the file at fault, when there is one, and leads the message so a
    reviewer can go straight to it.
    """

    exit_code = 6

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message, path)


class MetadataError(RkaudioError):
    """Episode metadata, show notes or the research library is invalid (e.g. a citation key that
    is not in the library); the message names the episode or file and the field."""

    exit_code = 7


class StaleTranscriptError(TranscriptError):
    """A save was refused because the file changed on disk since the editor loaded it.

    Nothing was written; the reviewer's changes are still where they made them.
    """


class UnreviewedTranscriptError(TranscriptError):
    """The show requires a reviewer's sign-off before publishing, and the transcript has none."""
