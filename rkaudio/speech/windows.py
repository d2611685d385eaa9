"""Finding speech in audio, and grouping it into the windows an engine decodes.

Voice activity detection (Silero, shipped with faster-whisper) finds the speech; the speech is
grouped into windows of at most 30 s (Whisper's input length) and only those windows go to the
engine. Silence, music beds and room tone never reach the model, which is the surest guard against
invented text. A window that runs into the end of a block of audio is held over to the next block,
so no word is cut in two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .engine import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

#: Whisper's input window.
WINDOW_SECONDS = 30.0
#: A pause this long starts a new window even when the next speech would still fit: the model
#: is not asked to read long silences, where it is most likely to invent words.
WINDOW_BREAK_PAUSE_S = 2.0
#: A window ending this close to the end of a block may continue into the next one: it is held over.
BLOCK_EDGE_S = 1.0
#: Speech shorter than this (three of Silero's 32 ms frames) is a click, not a word.
MIN_SPEECH_S = 0.1
#: Silence kept at each edge of a window (Silero's own padding), so no word is clipped there.
SPEECH_PAD_S = 0.4
#: Windows shorter than this are avoided where speech must be cut: the model hears too little.
MIN_WINDOW_S = 5.0
#: Voice activity detection runs on this much audio at a time, to bound its memory.
VAD_PIECE_SECONDS = 60.0
#: Speech this close to a cut between pieces on both sides is one stretch.
CUT_TOLERANCE_S = 0.05


def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Stretches of speech in ``audio`` (seconds), from Silero voice activity detection.

    The stretches are not padded, so the pauses between them are the real pauses: `speech_windows`
    cuts at the longest, and pads the windows itself. Silero's memory grows with the length it is
    given (about 200 MB for ten minutes), so it is run a minute at a time and speech running across
    a cut is joined up again.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # The settings faster-whisper's batched mode uses (short pauses split speech finely), without
    # the padding, and no stretch so long that it would not fit a window once padded.
    options = VadOptions(max_speech_duration_s=WINDOW_SECONDS - 2 * SPEECH_PAD_S, min_silence_duration_ms=160,
                         speech_pad_ms=0)
    piece = int(VAD_PIECE_SECONDS * SAMPLE_RATE)
    spans: list[tuple[float, float]] = []
    for offset in range(0, audio.size, piece):
        chunk = audio[offset:offset + piece]
        at = offset / SAMPLE_RATE
        for found in get_speech_timestamps(chunk, options, sampling_rate=SAMPLE_RATE):
            start, end = at + found["start"] / SAMPLE_RATE, at + found["end"] / SAMPLE_RATE
            if spans and offset and start - at < CUT_TOLERANCE_S and at - spans[-1][1] < CUT_TOLERANCE_S:
                spans[-1] = (spans[-1][0], end)  # one stretch of speech across the cut
            else:
                spans.append((start, end))
    return [span for span in spans if span[1] - span[0] >= MIN_SPEECH_S]


def speech_windows(spans: Sequence[tuple[float, float]], duration: float | None = None) -> list[tuple[float, float]]:
    """Group speech into windows of at most 30 s, breaking at long pauses and cutting at the longest.

    Speech with no pause of 2 s or more that is longer than a window must be cut. It is cut into as
    few windows as fit, at the longest pauses there are (where a sentence most likely ends), and
    into windows of at least 5 s where it can be: the model reads a window as one piece, and
    garbles words cut off at its edges or heard with too little context. Each window then takes
    up to 0.4 s of the silence on either side (never more than half the pause to the next window,
    nor beyond ``duration``), so the first and last words are whole. Speech longer than a window
    on its own (rare: the detector splits it at pauses) is cut into equal parts that fit.
    """
    longest = WINDOW_SECONDS - 2 * SPEECH_PAD_S
    pieces: list[tuple[float, float]] = []
    for start, end in spans:
        parts = max(1, math.ceil((end - start) / longest - 1e-9))
        step = (end - start) / parts
        pieces += [(start + k * step, start + (k + 1) * step) for k in range(parts)]
    runs: list[list[tuple[float, float]]] = []
    for piece in pieces:
        if runs and piece[0] - runs[-1][-1][1] < WINDOW_BREAK_PAUSE_S:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    bare = [window for run in runs for window in _cut_run(run, longest)]
    windows: list[tuple[float, float]] = []
    for k, (start, end) in enumerate(bare):
        before = (bare[k - 1][1] + start) / 2 if k else 0.0
        after = (end + bare[k + 1][0]) / 2 if k + 1 < len(bare) else (duration if duration is not None else math.inf)
        windows.append((max(start - SPEECH_PAD_S, before, 0.0), min(end + SPEECH_PAD_S, after)))
    return windows


def _cut_run(run: Sequence[tuple[float, float]], longest: float) -> list[tuple[float, float]]:
    """Speech without a long pause, in windows of at most ``longest`` s; see `speech_windows`.

    Dynamic programming over the pauses (linear in their number, as a window holds few): the
    fewest windows, then the fewest shorter than 5 s, then the shortest pause cut at as long as
    possible, then the pauses cut at as long as possible in total.
    """
    if run[-1][1] - run[0][0] <= longest:
        return [(run[0][0], run[-1][1])]
    # best[i]: the best cut of run[:i], as (score to maximise, where its last window starts).
    best: list[tuple[tuple[float, ...], int] | None] = [((0.0, 0.0, math.inf, 0.0), -1)]
    for i in range(1, len(run) + 1):
        found: tuple[tuple[float, ...], int] | None = None
        for j in range(i - 1, -1, -1):
            if run[i - 1][1] - run[j][0] > longest:
                break
            previous = best[j]
            if previous is None:
                continue
            (count, short, least, total), _ = previous
            pause = run[j][0] - run[j - 1][1] if j else math.inf
            score = (count - 1, short - (run[i - 1][1] - run[j][0] < MIN_WINDOW_S),
                     min(least, pause), total + (pause if j else 0.0))
            if found is None or score > found[0]:
                found = (score, j)
        best.append(found)
    windows: list[tuple[float, float]] = []
    i = len(run)
    while i > 0:
        entry = best[i]
        assert entry is not None  # every piece fits a window on its own
        j = entry[1]
        windows.append((run[j][0], run[i - 1][1]))
        i = j
    return windows[::-1]


def split_block(windows: list[tuple[float, float]], block_seconds: float,
                final: bool) -> tuple[list[tuple[float, float]], float]:
    """The windows to transcribe now, and where the audio held over to the next block begins."""
    if final:
        return windows, block_seconds
    if windows and windows[-1][1] > block_seconds - BLOCK_EDGE_S:
        held = windows.pop()
        # Start the next block a little before the held speech, but never inside a kept window.
        keep_from = max(held[0] - 0.2, windows[-1][1] if windows else 0.0)
        return windows, keep_from
    # No speech at the very end: keep a second of context so speech starting there is whole.
    return windows, max(block_seconds - BLOCK_EDGE_S, windows[-1][1] if windows else 0.0)
