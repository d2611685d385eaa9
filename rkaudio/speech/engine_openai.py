"""The second speech engine: openai-whisper, the reference implementation, on PyTorch.

It is an optional extra (``pip install 'rkaudio[openai-whisper]'``) because PyTorch is large. It
takes the same models as the default engine, so the two can be compared on the same weights:

- ``tiny.en``, the bundled model, and any CTranslate2 model folder (what faster-whisper runs) are
  converted once into an openai-whisper checkpoint in the user's cache
  (``$XDG_CACHE_HOME/rkaudio/openai-whisper/``, else ``~/.cache/rkaudio/openai-whisper/``). The
  cached file is named after the source model's path, size and modification time, so a changed
  model is converted again; it never needs the network;
- a checkpoint file (``.pt``) is loaded as it is;
- any other name is one of openai-whisper's own models, which it downloads once, when online.

It decodes only the speech windows it is given, one at a time (openai-whisper has no batched
mode), in fp32 on the CPU and fp16 on a CUDA GPU, with the same quality settings as the default
engine: no conditioning on the previous text, Whisper's no-speech, log-probability and
compression-ratio thresholds, and temperature fallback. A window that still repeats itself after
the last fallback is dropped, as the default engine drops it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError, ToolError
from ..show.settings import DEFAULT_MODEL
from .ct2_convert import convert_ct2_whisper
from .engine import (
    COMPRESSION_RATIO_THRESHOLD,
    FALLBACK_TEMPERATURES,
    LOG_PROB_THRESHOLD,
    NO_SPEECH_THRESHOLD,
    SAMPLE_RATE,
    bundled_model_path,
    cpu_threads,
)
from .words import Word

if TYPE_CHECKING:
    import numpy as np
    from whisper.model import Whisper

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'rkaudio[openai-whisper]'"
#: Candidates kept at each temperature above 0 (openai-whisper's command-line default).
BEST_OF = 5
#: Raised when the converter's output changes, so older cached checkpoints are made again.
CONVERSION_REVISION = 1
#: Speech shorter than this is not worth a decoding pass.
MIN_CLIP_S = 0.1


def _import_whisper() -> Any:
    """openai-whisper, or a one-line ConfigError saying how to install it."""
    try:
        import torch  # noqa: F401
        import whisper
    except ImportError as exc:
        missing = f" (missing {exc.name})" if exc.name not in (None, "whisper", "torch") else ""
        raise ConfigError(f"the openai-whisper engine is not installed{missing}: {INSTALL_HINT}") from None
    return whisper


def cache_dir() -> Path:
    """Where converted checkpoints are kept: ``$XDG_CACHE_HOME/rkaudio``, else ``~/.cache/rkaudio``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "rkaudio" / "openai-whisper"


def converted_checkpoint(model_dir: Path, cache: Path | None = None) -> Path:
    """An openai-whisper checkpoint of the CTranslate2 model in ``model_dir``, converted once and cached.

    The file's name carries a hash of the model's path, and another of its size and modification
    time: a model that changes is converted again, and the stale conversion of it is removed.
    """
    cache = cache or cache_dir()
    model_bin = model_dir / "model.bin"
    try:
        stat = model_bin.stat()
    except OSError:
        raise ConfigError("is not a faster-whisper (CTranslate2) model folder: it has no model.bin",
                          model_dir) from None
    where = hashlib.sha256(str(model_dir.resolve()).encode("utf-8")).hexdigest()[:12]
    config = model_dir / "config.json"
    version = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{CONVERSION_REVISION}".encode("utf-8"))
    if config.is_file():
        version.update(config.read_bytes())
    name = f"{model_dir.resolve().name}-{where}-{version.hexdigest()[:12]}.pt"
    target = cache / name
    if target.is_file():
        return target
    log.info("converting %s into an openai-whisper checkpoint in %s", model_dir, cache)
    try:
        convert_ct2_whisper(model_dir, target)
    except OSError as exc:
        raise ConfigError(f"cannot write the converted model: {exc.strerror or exc} "
                          "(set XDG_CACHE_HOME to a folder you can write)", target) from None
    for stale in cache.glob(f"*-{where}-*.pt"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


def resolve_model(model: str) -> tuple[str, Path | None, str]:
    """What ``model`` names: ("checkpoint", path), ("ct2", folder) or ("name", None), and a label.

    The default name is the bundled CTranslate2 model, so it never needs the network.
    """
    if model == DEFAULT_MODEL:
        return "ct2", bundled_model_path(), f"{DEFAULT_MODEL} (bundled)"
    path = Path(model).expanduser()
    if path.exists() or "/" in model or model.startswith(".") or model.endswith((".pt", ".bin")):
        if not path.exists():
            raise ConfigError("no such model: give an openai-whisper checkpoint (.pt) or a CTranslate2 "
                              "model folder", path)
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise ConfigError("is neither an openai-whisper checkpoint (.pt) nor a CTranslate2 model "
                                  "folder (it has no model.bin)", path)
            return "ct2", path, str(path)
        if path.name == "model.bin":
            return "ct2", path.parent, str(path.parent)
        return "checkpoint", path, str(path)
    return "name", None, model


def check_available(model: str) -> None:
    """Raise ConfigError if openai-whisper is not installed or ``model`` names no file, without loading it."""
    whisper = _import_whisper()
    kind, _path, _label = resolve_model(model)
    if kind == "name":
        _check_name(whisper, model)


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("transcript.device is cuda, but PyTorch finds no CUDA GPU here: use auto or cpu")
    return device


def _heads_dump(pairs: Any, n_layers: int, n_heads: int, source: Path) -> bytes:
    """[layer, head] pairs in the form ``Whisper.set_alignment_heads`` takes (gzip, base85 bool mask)."""
    import numpy as np

    mask = np.zeros((n_layers, n_heads), dtype=bool)
    try:
        for layer, head in pairs:
            mask[int(layer), int(head)] = True
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"its alignment_heads are not [layer, head] pairs within {n_layers} layers of "
                          f"{n_heads} heads", source) from None
    return base64.b85encode(gzip.compress(mask.tobytes()))


def load_checkpoint(path: Path, device: str) -> Whisper:
    """An openai-whisper model from a checkpoint file, with its alignment heads.

    openai-whisper's own ``load_model`` sets alignment heads (which attention heads follow the
    words in time, for word timestamps) only for the models it downloads; for any other checkpoint
    it falls back to a guess. rkaudio's conversions store them (``alignment_heads``); an official
    checkpoint kept under its own name ("base.en.pt") gets them from openai-whisper's table.
    """
    import torch
    whisper = _import_whisper()
    from whisper.model import ModelDimensions, Whisper

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        dims = ModelDimensions(**checkpoint["dims"])
        model = Whisper(dims)
        model.load_state_dict(checkpoint["model_state_dict"])
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", path) from None
    except Exception as exc:  # torch raises many kinds for a file that is not a checkpoint
        detail = (str(exc).strip().splitlines() or [""])[0][:160]
        raise ConfigError(f"is not an openai-whisper checkpoint rkaudio can load "
                          f"({type(exc).__name__}{': ' + detail if detail else ''})", path) from None
    pairs = checkpoint.get("alignment_heads") if isinstance(checkpoint, dict) else None
    if pairs:
        model.set_alignment_heads(_heads_dump(pairs, dims.n_text_layer, dims.n_text_head, path))
    elif path.stem in getattr(whisper, "_ALIGNMENT_HEADS", {}):
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[path.stem])
    else:
        log.warning("%s names no alignment heads: word timings may be less exact", path)
    return model.to(device)


def _check_name(whisper: Any, name: str) -> None:
    if name not in whisper.available_models():
        raise ConfigError(f"model {name!r} is not a model openai-whisper knows: use one of "
                          f"{', '.join(whisper.available_models())}, or the path of a checkpoint (.pt) "
                          "or of a CTranslate2 model folder")


def load_named(name: str, device: str) -> Whisper:
    """One of openai-whisper's own models, downloaded once (when online) into its cache."""
    whisper = _import_whisper()
    _check_name(whisper, name)
    try:
        return whisper.load_model(name, device=device)
    except OSError as exc:  # urllib's URLError is an OSError
        raise ToolError(f"model {name!r} is not on this machine and could not be downloaded "
                        f"({type(exc).__name__}); use the bundled {DEFAULT_MODEL}, or give the path of a "
                        "downloaded checkpoint (.pt)") from None
    except RuntimeError as exc:  # a download that failed its checksum
        raise ToolError(f"model {name!r} could not be loaded: {(str(exc).splitlines() or [''])[0]}") from None


class OpenAIWhisperEngine:
    """openai-whisper on the speech windows, with Whisper's quality settings; see the module docstring."""

    name = "openai-whisper"

    def __init__(self, model: str, *, device: str = "auto", language: str | None = "en",
                 beam_size: int = 5, threads: int | None = None) -> None:
        _import_whisper()
        import torch

        kind, path, label = resolve_model(model)
        self.device = _device(device)
        threads = threads or cpu_threads()
        if self.device == "cpu":
            torch.set_num_threads(threads)
        if kind == "ct2":
            assert path is not None
            checkpoint = converted_checkpoint(path)
            self.model = load_checkpoint(checkpoint, self.device)
            label += ", converted"
        elif kind == "checkpoint":
            assert path is not None
            self.model = load_checkpoint(path, self.device)
        else:
            self.model = load_named(model, self.device)
        self.language = (language or "en") if self.model.is_multilingual else "en"
        self.beam_size = beam_size
        #: Half precision only where it is fast and supported: on a CUDA GPU.
        self.fp16 = self.device == "cuda"
        where = f"{self.device}, {threads} thread{'s' if threads != 1 else ''}" if self.device == "cpu" else self.device
        self.label = f"openai-whisper {label} {'fp16' if self.fp16 else 'fp32'} on {where}"

    def _options(self) -> dict[str, Any]:
        return dict(language=self.language, task="transcribe", fp16=self.fp16, verbose=None,
                    temperature=(0.0, *FALLBACK_TEMPERATURES), beam_size=self.beam_size, best_of=BEST_OF,
                    condition_on_previous_text=False, no_speech_threshold=NO_SPEECH_THRESHOLD,
                    logprob_threshold=LOG_PROB_THRESHOLD,
                    compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD, word_timestamps=True)

    def transcribe(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        import numpy as np
        import whisper

        words: list[Word] = []
        for start, end in clips:
            lo, hi = max(0, int(round(start * SAMPLE_RATE))), int(round(end * SAMPLE_RATE))
            if hi - lo < MIN_CLIP_S * SAMPLE_RATE:
                continue
            # A writable float32 copy: PyTorch warns about (and must not write into) read-only buffers.
            clip = np.array(audio[lo:hi], dtype=np.float32)
            result = whisper.transcribe(self.model, clip, **self._options())
            words.extend(_words(result.get("segments", []), start))
        words.sort(key=lambda w: w.start)
        return words

    def transcribe_sequential(self, audio: np.ndarray, clips: Sequence[tuple[float, float]]) -> list[Word]:
        """openai-whisper always decodes sequentially: the same as `transcribe`."""
        return self.transcribe(audio, clips)


def _words(segments: Sequence[dict[str, Any]], offset: float) -> list[Word]:
    """The words of openai-whisper's segments, moved ``offset`` seconds later.

    Segments openai-whisper skipped as non-speech never appear here; a segment that still repeats
    itself after the last temperature is dropped, as the default engine drops it.
    """
    words: list[Word] = []
    for seg in segments:
        if seg.get("compression_ratio", 0.0) > COMPRESSION_RATIO_THRESHOLD:
            log.info("dropped %.1f-%.1f s: it still repeated itself", seg["start"] + offset, seg["end"] + offset)
            continue
        for w in seg.get("words") or []:
            text = str(w["word"]).strip()
            if text:
                words.append(Word(start=float(w["start"]) + offset, end=float(w["end"]) + offset, text=text,
                                  probability=round(float(w["probability"]), 3)))
    return words
