"""The default speech engine: faster-whisper (CTranslate2), int8 on the CPU, batched.

faster-whisper runs the same Whisper weights as openai-whisper about five times faster on a CPU,
with a fraction of the memory, and needs no PyTorch. Its batched mode decodes several speech
windows at once. On the CPU, several decoders (CTranslate2 workers, one thread each for the bundled
model) take turns of the windows side by side: a small model keeps one core busy with one decoder,
not with two threads inside it, so this is what uses a second core.

Batched decoding runs each window once, at temperature 0, and leaves the quality thresholds to the
caller. They are applied here, as Whisper applies them (`window_verdict`): a window the model itself
thinks holds no speech (no-speech probability above 0.6 with an average log-probability below -1) is
dropped, and a window whose text repeats itself (gzip compression ratio above 2.4, the sign of a
decoding loop) or was decoded with little confidence (average log-probability below -1) is decoded
again on its own with temperature fallback; if it still repeats itself, it is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError, ToolError
from ..show.settings import DEFAULT_MODEL
from .engine import (
    COMPRESSION_RATIO_THRESHOLD,
    FALLBACK_TEMPERATURES,
    LOG_PROB_THRESHOLD,
    NO_SPEECH_THRESHOLD,
    SAMPLE_RATE,
    bundled_model_path,
    cores_at_most,
    cores_now,
)
from .engine import cpu_threads as available_threads
from .words import Word

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


def resolve_model(model: str) -> tuple[str, str]:
    """What to hand WhisperModel for ``model``, and a label for reports.

    The default name uses the bundled copy, so it never needs the network. A folder is used as it
    is. Any other name is a model faster-whisper downloads once, when online, and caches.
    """
    if model == DEFAULT_MODEL:
        return str(bundled_model_path()), f"{DEFAULT_MODEL} (bundled)"
    path = Path(model).expanduser()
    if path.exists() or "/" in model or model.startswith("."):
        if not (path / "model.bin").is_file():
            raise ConfigError("is not a faster-whisper (CTranslate2) model folder: it has no model.bin",
                              path)
        return str(path), str(path)
    return model, model


def _device(device: str) -> tuple[str, str]:
    """The device and compute type: int8 on the CPU, int8 with float16 on a CUDA GPU."""
    if device == "auto":
        try:
            import ctranslate2
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:  # no CUDA runtime at all
            device = "cpu"
    return device, ("int8_float16" if device == "cuda" else "int8")


class FasterWhisperEngine:
    """faster-whisper's batched pipeline with Whisper's quality thresholds; see the module docstring."""

    name = "faster-whisper"

    def __init__(self, model: str, *, device: str = "auto", language: str | None = "en",
                 beam_size: int = 5, batch_size: int = 2, cpu_threads: int | None = None,
                 workers: int = 1) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        source, label = resolve_model(model)
        self.device, self.compute_type = _device(device)
        threads = cpu_threads or available_threads()
        # Side-by-side decoders pay off on CPU cores; a GPU is fed by the batch instead.
        self.workers = max(1, workers) if self.device == "cpu" else 1
        self.threads = threads
        # A build job makes room for the decoders it may take on once the other jobs are done.
        decoders = max(self.workers, cores_at_most(self.workers * threads) // threads) if self.device == "cpu" else 1
        kwargs: dict[str, Any] = dict(device=self.device, compute_type=self.compute_type,
                                      cpu_threads=threads, num_workers=decoders)
        try:
            try:
                self.model = WhisperModel(source, local_files_only=True, **kwargs)
            except Exception:
                if Path(source).exists():
                    raise
                # Not cached yet: a named model is downloaded once.
                self.model = WhisperModel(source, **kwargs)
        except Exception as exc:
            if Path(source).exists():
                raise ConfigError(f"cannot load this model: {exc}", source) from None
            raise ToolError(f"model {model!r} is not on this machine and could not be downloaded "
                            f"({type(exc).__name__}); use the bundled {DEFAULT_MODEL}, or give the path "
                            "of a downloaded model folder") from None
        # One pipeline per decoder: a pipeline keeps the end of the last speech it timed.
        self.pipelines = [BatchedInferencePipeline(model=self.model) for _ in range(decoders)]
        multilingual = bool(self.model.model.is_multilingual)
        self.language = language if multilingual else "en"
        self.beam_size = beam_size
        self.batch_size = batch_size
        where = self.device
        if self.device == "cpu":
            where += f", {threads} thread{'s' if threads != 1 else ''}"
            if self.workers > 1:
                where += f" x {self.workers} decoders"
        self.label = f"faster-whisper {label} {self.compute_type} on {where}"

    def _decoders_now(self) -> int:
        """The decoders to use for this call: the engine's own, or more, up to those it made,
        when a build's other jobs have left their cores (`rkaudio.speech.engine.cores_now`)."""
        return min(len(self.pipelines), max(1, cores_now(self.workers * self.threads) // self.threads))

    def _shares(self, clips: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
        """The clips shared out among the decoders used now: each takes every n-th clip, so all
        get a like share of the speech."""
        decoders = self._decoders_now()
        return [list(clips[k::decoders]) for k in range(min(decoders, len(clips)))]

    def _options(self) -> dict[str, Any]:
        return dict(language=self.language, beam_size=self.beam_size, word_timestamps=True,
                    condition_on_previous_text=False, no_speech_threshold=NO_SPEECH_THRESHOLD,
                    log_prob_threshold=LOG_PROB_THRESHOLD,
                    compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD)

    def transcribe(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        if not clips:
            return []
        shares = self._shares(clips)
        if len(shares) == 1:
            segments = self._decode(self.pipelines[0], audio, shares[0])
        else:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="rkaudio-asr") as pool:
                done = pool.map(lambda k: self._decode(self.pipelines[k], audio, shares[k]), range(len(shares)))
                segments = [seg for share in done for seg in share]
        words: list[Word] = []
        retry: list[tuple[float, float]] = []
        for seg in segments:
            verdict = window_verdict(seg.no_speech_prob, seg.avg_logprob, seg.compression_ratio)
            if verdict == "drop":
                log.info("dropped %.1f-%.1f s: the model heard no speech there", seg.start, seg.end)
            elif verdict == "retry":
                retry.append((seg.start, seg.end))
            else:
                words.extend(_words(seg))
        for start, end in retry:
            words.extend(self._retry(audio, start, end))
        words.sort(key=lambda w: w.start)
        return words

    def _decode(self, pipeline: Any, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Any]:
        """One decoder's windows, batched, at temperature 0: faster-whisper's segments, one per window."""
        segments, _info = pipeline.transcribe(
            audio, clip_timestamps=[{"start": s, "end": e} for s, e in clips],
            batch_size=self.batch_size, vad_filter=False, without_timestamps=True, **self._options())
        return list(segments)

    def transcribe_sequential(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        """Each clip decoded on its own by faster-whisper's sequential pipeline: with timestamps,
        segment after segment, so a change of voice inside a clip does not end its text. The
        decoders take the clips in turn."""
        if not clips:
            return []
        shares = self._shares(clips)

        def decode(share: list[tuple[float, float]]) -> list[Word]:
            return [w for start, end in share for w in self._sequential(audio, start, end, whole=False)]

        if len(shares) == 1:
            words = decode(shares[0])
        else:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="rkaudio-asr") as pool:
                words = [w for share in pool.map(decode, shares) for w in share]
        words.sort(key=lambda w: w.start)
        return words

    def _retry(self, audio: np.ndarray, start: float, end: float) -> list[Word]:
        """Decode one window again, sequentially, with Whisper's temperature fallback."""
        log.info("%.1f-%.1f s repeated itself or was decoded with little confidence; decoding it again "
                 "with temperature fallback", start, end)
        return self._sequential(audio, start, end, whole=True)

    def _sequential(self, audio: np.ndarray, start: float, end: float, *, whole: bool) -> list[Word]:
        """One stretch decoded sequentially with temperature fallback. A segment that still repeats
        itself is dropped, and with ``whole`` the entire stretch with it."""
        lo, hi = max(0, int(start * SAMPLE_RATE)), int(end * SAMPLE_RATE)
        segments, _info = self.model.transcribe(
            audio[lo:hi], temperature=(0.0, *FALLBACK_TEMPERATURES), vad_filter=False, **self._options())
        words = []
        for seg in segments:
            if seg.compression_ratio > COMPRESSION_RATIO_THRESHOLD:
                log.info("dropped %.1f-%.1f s: it still repeated itself", start + seg.start, start + seg.end)
                if whole:
                    return []
                continue
            words.extend(_words(seg, offset=lo / SAMPLE_RATE))
        return words


def window_verdict(no_speech_prob: float, avg_logprob: float, compression_ratio: float) -> str:
    """What Whisper does with a window decoded at temperature 0: "keep", "drop" or "retry".

    The rule of openai-whisper's ``transcribe``: a window the model takes for non-speech (no-speech
    probability above the threshold *and* a low average log-probability) is dropped; otherwise a
    window whose text repeats itself (compression ratio too high) or that the model decoded with
    little confidence (average log-probability too low) is decoded again at higher temperatures.
    """
    if no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD:
        return "drop"
    if compression_ratio > COMPRESSION_RATIO_THRESHOLD or avg_logprob < LOG_PROB_THRESHOLD:
        return "retry"
    return "keep"


def _words(segment: Any, offset: float = 0.0) -> list[Word]:
    return [Word(start=w.start + offset, end=w.end + offset, text=w.word.strip(),
                 probability=round(float(w.probability), 3))
            for w in (segment.words or []) if w.word.strip()]
