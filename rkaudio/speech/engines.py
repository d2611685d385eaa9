"""Choosing the speech engine a show's settings name, sizing it to the machine, and loading it.

Each engine module imports its heavy library (CTranslate2, PyTorch) only when an engine is made,
so choosing and checking are cheap.
"""

from __future__ import annotations

from ..core.errors import ConfigError
from ..show.settings import DEFAULT_MODEL, TranscriptSettings
from . import speakers
from .engine import Engine, cpu_threads
from .engine_faster import FasterWhisperEngine, resolve_model
from .engine_openai import OpenAIWhisperEngine, check_available

#: CPU threads for each decoder of the bundled tiny.en on the faster-whisper engine. At this
#: model's size a second thread inside one decoder gains nothing (20-24 s against 21-25 s for ten
#: minutes of speech on the two-core machine; see docs/architecture.md), while a second decoder on
#: other windows nearly halves the time (`engine_workers`).
TINY_MODEL_THREADS = 1


def engine_threads(settings: TranscriptSettings) -> int:
    """CPU threads for the engine: the setting, else one for the bundled tiny.en on faster-whisper,
    else every core this process may use."""
    if settings.threads:
        return settings.threads
    if settings.engine == "faster-whisper" and settings.model == DEFAULT_MODEL:
        return TINY_MODEL_THREADS
    return cpu_threads()


def engine_workers(settings: TranscriptSettings) -> int:
    """Decoders working side by side: the setting, else one per core for the bundled tiny.en on
    faster-whisper (each on `TINY_MODEL_THREADS`), else one (which uses every core itself)."""
    if settings.workers:
        return settings.workers
    if settings.engine == "faster-whisper" and settings.model == DEFAULT_MODEL and not settings.threads:
        return cpu_threads()
    return 1


#: The engine loaded last, and what it was loaded for: a process that transcribes several
#: recordings (a ``build`` job) loads its model once.
_loaded: tuple[tuple[object, ...], Engine] | None = None


def load_engine(settings: TranscriptSettings, language: str) -> Engine:
    """The engine ``settings`` names, with its model loaded; errors name the model and what to do.
    The same settings and language again give the engine already loaded."""
    global _loaded
    key = (settings.engine, settings.model, settings.device, language, settings.beam_size, settings.batch_size,
           engine_threads(settings), engine_workers(settings))
    if _loaded is not None and _loaded[0] == key:
        return _loaded[1]
    engine = _load(settings, language)
    _loaded = (key, engine)
    return engine


def _load(settings: TranscriptSettings, language: str) -> Engine:
    if settings.engine == "faster-whisper":
        return FasterWhisperEngine(settings.model, device=settings.device, language=language,
                                   beam_size=settings.beam_size, batch_size=settings.batch_size,
                                   cpu_threads=engine_threads(settings), workers=engine_workers(settings))
    if settings.engine == "openai-whisper":
        return OpenAIWhisperEngine(settings.model, device=settings.device, language=language,
                                   beam_size=settings.beam_size, threads=engine_threads(settings))
    raise ConfigError(f"unknown transcript engine {settings.engine!r}")


def check_engine(settings: TranscriptSettings) -> None:
    """Raise now if the engine is not installed or its model cannot be found, without loading it.

    ``process`` calls this before its audio work, so a wrong setting is reported at once rather
    than after an hour-long encode.
    """
    if settings.speaker_count is not None and not speakers.available():
        raise ConfigError(f"transcript.speakers = {settings.speakers} needs the diarizer, which is not installed: "
                          f"pip install '{speakers.EXTRA}', or set transcript.speakers = \"auto\" to go without")
    if settings.engine == "faster-whisper":
        resolve_model(settings.model)
    elif settings.engine == "openai-whisper":
        check_available(settings.model)
    else:
        raise ConfigError(f"unknown transcript engine {settings.engine!r}")
