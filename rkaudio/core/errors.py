"""The one error family, and every exit code rkaudio uses.

Each message says which file, what is wrong and, where it helps, what to do. The CLI turns these
into a one-line message and the class's exit code, in one place; nothing else catches them. Every
code below is listed in the README's table, and a test makes each one happen.
"""

from __future__ import annotations

from pathlib import Path

#: Everything went as asked.
OK = 0
#: ``rkaudio check`` or ``rkaudio transcript check`` ran and found something wrong (what a
#: producer fixes, not a failure to run).
CHECKS_FAILED = 1
#: A failure that is rkaudio's fault rather than the input's: a bug to report.
INTERNAL_ERROR = 70
#: Stopped by Ctrl-C.
INTERRUPTED = 130


class RkaudioError(Exception):
    """Base of every error rkaudio reports to a producer.

    Never raised itself (a test checks): raise the subclass that says what kind of thing went
    wrong, so the exit code tells a script what to do. Were it raised, it would count as a bug.
    """

    exit_code = INTERNAL_ERROR

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


class PublishError(RkaudioError):
    """Uploading ``feed/`` failed: the remote refused the credentials, could not be reached, or
    what arrived does not match what was sent. The message names the remote and never carries a
    secret; the feed online is left as it was until every new file it points at is up."""

    exit_code = 8


class ConversionError(ConfigError):
    """A speech model folder cannot be converted for the openai-whisper engine; the message names
    the file and why. A ConfigError: the model a setting or option points at is not usable."""


class SiteError(ConfigError):
    """The show's site cannot be built from what the show provides: a template of its own in
    ``templates/`` that does not parse or render, or a logo that is missing or not an image. The
    message names the file (and the template's line). A ConfigError: the show's setup is at fault."""


class StaleTranscriptError(TranscriptError):
    """A save was refused because the file changed on disk since the editor loaded it.

    Nothing was written; the reviewer's changes are still where they made them.
    """


class UnreviewedTranscriptError(TranscriptError):
    """The show requires a reviewer's sign-off before publishing, and the transcript has none."""
