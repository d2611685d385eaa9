"""The speech leveller: a quiet guest and a loud host come out equally loud.

A file-based leveller hears the whole recording before it decides, so it needs no guesswork about
what comes next. It works in three steps, none of which holds the audio in memory:

1. `analyse` runs in the measuring pass. One ffmpeg run decodes the programme once: the full-rate
   loudness meter (``ebur128``) reads it in one filter graph, and a 16 kHz copy made in another
   (ffmpeg runs each graph in its own thread) goes to Python, read ahead while Python works, where every
   100 ms frame leaves three numbers: its K-weighted energy (BS.1770's weighting, the channels
   summed, as the loudness meter counts them), its peak, and the probability that it is speech
   (`vad.SpeechDetector`). An hour is 36,000 frames: a few hundred kilobytes.
2. `plan_levels` turns those numbers into a gain curve, ten values a second. Only speech counts:
   phrases are found from the speech probabilities, joined into passages (a passage is speech at
   one level, usually one speaker's turn), and each passage gets the gain that brings it to the
   recording's typical speech level, within +-15 dB. A passage already within about a decibel of
   it is left alone, so an even recording is not touched. The gain is constant through a passage,
   so each speaker keeps their own phrasing; it changes only in the pauses between passages,
   where it holds the lower of the two gains (room tone never rises against the speech around
   it). A rise is finished before the next passage's first word (look-ahead); a fall starts after
   the last word. Loud sound that is not speech (a music bed, applause) keeps 0 dB.
3. `write_envelope` writes the curve as a raw 100 Hz gain signal; the finishing graph
   (`assembly`) resamples it to the programme's rate and multiplies the programme by it, so the
   finishing pass does the levelling at almost no cost.

The plan also predicts what levelling does to the programme's integrated loudness and peaks, from
the same frames, so the constant gain after it still lands the episode on target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError, ToolError
from . import ffmpeg_tool
from .loudness import Loudness, meter_filter, parse_summary
from .vad import CHUNK, CONTEXT, SAMPLE_RATE, SpeechDetector

#: The plan's resolution: BS.1770's 100 ms step, ten values a second.
FRAME_S = 0.1
FRAME = int(SAMPLE_RATE * FRAME_S)
#: The speech detector reads the 32 ms chunk in the middle of each frame.
_CHUNK_AT = (FRAME - CHUNK) // 2
#: BS.1770's K-weighting at any rate: the high shelf (+4 dB above about 1.7 kHz, the head's
#: effect) and the RLB high-pass at 38 Hz, with the standard's centre frequencies and Q.
K_WEIGHTING = ("highpass=f=38.135:width_type=q:w=0.5003,"
               "highshelf=f=1681.97:g=3.99984:width_type=q:w=0.70718")
#: BS.1770's offset between mean square and LUFS, and its absolute gate.
LUFS_OFFSET = -0.691
ABSOLUTE_GATE = -70.0
#: The gain of the envelope file the finishing graph multiplies the programme by.
ENVELOPE_RATE = 100

#: A frame is speech when the detector's probability reaches this (Silero's own default).
SPEECH_PROBABILITY = 0.5
#: Speech runs closer than this are one phrase; phrases shorter than this are clicks or breaths.
PHRASE_GAP_S = 0.3
MIN_PHRASE_S = 0.3
#: Frames more than this far below their phrase's level (gaps between words) do not count
#: towards its loudness.
FRAME_GATE_DB = 20.0
#: Passages: speech at one level. Neighbours closer than this in level are one passage; a stretch
#: with less speech than this joins the neighbour nearest its level (a "yes" is not a passage).
SAME_LEVEL_DB = 2.0
MIN_PASSAGE_SPEECH_S = 2.0
#: Deviations from the typical level under the first figure are left alone and over the second
#: corrected in full, with a smooth blend between: an even recording stays as it was.
DEAD_BAND_DB = (0.5, 1.5)
#: The most the leveller raises or lowers a passage. Beyond 15 dB noise rises with the voice
#: faster than the voice becomes intelligible.
MAX_GAIN_DB = 15.0
#: Gain changes take this long; a rise ends this long before the first word (the speech detector
#: reads 100 ms frames, so a word can start up to a frame before its first speech frame); a fall
#: starts this long after the last word (its decay).
RAMP_S = 0.2
LEAD_S = 0.1
RELEASE_S = 0.1
#: Sound that is not speech, louder than this below the typical speech level and lasting this
#: long, is music or the like: it keeps 0 dB.
OTHER_SOUND_WITHIN_DB = 20.0
MIN_OTHER_SOUND_S = 2.0
#: Less speech than this and the leveller stands aside.
MIN_SPEECH_S = 3.0
#: Short-term loudness (EBU R128): a 3 s window.
SHORT_TERM_S = 3.0

TimeCallback = Callable[[float], None]


@dataclass(frozen=True)
class LevelAnalysis:
    """What the measuring pass found, per 100 ms frame."""

    #: K-weighted mean square, summed over the delivered channels (BS.1770's sum).
    energy: np.ndarray
    #: Highest absolute sample of any channel (at 16 kHz).
    peak: np.ndarray
    #: Probability that the frame is speech.
    speech: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.energy)


@dataclass(frozen=True)
class Passage:
    """Speech at one level: its first and last speech, seconds of speech, level and gain."""

    start: float
    end: float
    speech_s: float
    level_lufs: float
    gain_db: float


@dataclass(frozen=True)
class LevellerPlan:
    """The gain curve and what it does, in numbers a producer can check."""

    analysis: LevelAnalysis
    #: Gain in dB at the start of each 100 ms frame.
    gain_db: np.ndarray
    passages: tuple[Passage, ...] = ()
    #: The typical speech level passages are brought to (the leveller's own meter, LUFS).
    reference_lufs: float = -math.inf
    #: What levelling changes: the programme's integrated loudness, and its highest peak (dB).
    loudness_change_db: float = 0.0
    peak_change_db: float = 0.0
    #: Why the leveller stood aside, or "".
    note: str = ""
    #: Seconds of speech found, and of loud sound that is not speech (kept at 0 dB).
    speech_s: float = 0.0
    other_sound_s: float = 0.0

    @property
    def active(self) -> bool:
        """Whether the curve changes anything (by more than a hundredth of a decibel)."""
        return bool(self.gain_db.size) and float(np.max(np.abs(self.gain_db))) > 0.01

    @property
    def max_raise_db(self) -> float:
        return max([0.0, *(p.gain_db for p in self.passages)])

    @property
    def max_cut_db(self) -> float:
        return min([0.0, *(p.gain_db for p in self.passages)])

    @property
    def spread_before_lu(self) -> float:
        levels = [p.level_lufs for p in self.passages]
        return max(levels) - min(levels) if levels else 0.0

    @property
    def spread_after_lu(self) -> float:
        levels = [p.level_lufs + p.gain_db for p in self.passages]
        return max(levels) - min(levels) if levels else 0.0

    def short_term(self) -> tuple[np.ndarray, np.ndarray]:
        """Short-term loudness (3 s window) before and after levelling, LUFS, per frame."""
        return (short_term_loudness(self.analysis.energy),
                short_term_loudness(self.analysis.energy * _frame_power(self.gain_db)))


# --- measuring ------------------------------------------------------------------------------------

def _analysis_args(source: Path, channels: int) -> list[str]:
    """One decode, two filter graphs (ffmpeg runs each in its own thread, so the meter and the
    16 kHz copy share the work between the cores): the meter's output is discarded; the copy,
    plain and K-weighted channels side by side, goes to Python."""
    layout = "mono" if channels == 1 else "stereo"
    meter = f"[0:a:0]aformat=channel_layouts={layout},{meter_filter(true_peak=False)}[meter]"
    # The layout changes in float, as in the meter and the finishing graph (swr scales an integer
    # downmix down so it cannot clip: a stereo programme folded to mono would read 3 dB quieter).
    copy = (f"[0:a:0]aformat=sample_fmts=flt:channel_layouts={layout},aresample={SAMPLE_RATE},"
            f"aformat=sample_fmts=flt:channel_layouts={layout},asplit=2[plain][weighting];"
            f"[weighting]{K_WEIGHTING},aformat=sample_fmts=flt:channel_layouts={layout}[weighted];"
            f"[plain][weighted]amerge=inputs=2[frames]")
    return [*ffmpeg_tool.input_args(source), "-filter_complex", meter, "-filter_complex", copy,
            "-map", "[meter]", "-f", "null", "-",
            "-map", "[frames]", "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]


#: Frames per block read from ffmpeg (ten seconds), and blocks read ahead while one is worked on.
_BLOCK_FRAMES = 100
_BLOCKS_AHEAD = 2


def analyse(source: Path, channels: int, *, on_time: TimeCallback | None = None) -> tuple[Loudness, LevelAnalysis]:
    """Measure the programme (as `loudness.measure` does, in the delivered layout) and find, per
    100 ms frame, its energy, peak and speech probability, in one pass; memory stays flat.

    ffmpeg decodes and filters the next blocks while Python works on this one."""
    width = 2 * channels
    frame_bytes = FRAME * width * 4
    detector = SpeechDetector()
    energy: list[np.ndarray] = []
    peak: list[np.ndarray] = []
    speech: list[np.ndarray] = []
    log: list[str] = []
    pending = b""
    samples = 0
    for block in ffmpeg_tool.stream_raw(_analysis_args(source, channels), block_bytes=frame_bytes * _BLOCK_FRAMES,
                                        what=f"measuring {source.name}", on_log=log.append,
                                        ahead=_BLOCKS_AHEAD):
        data = pending + block if pending else block
        whole = len(data) // frame_bytes
        pending = data[whole * frame_bytes:]
        if not whole:
            continue
        x = np.frombuffer(data, dtype="<f4", count=whole * FRAME * width).reshape(whole, FRAME, width)
        _add_frames(x, channels, detector, energy, peak, speech)
        samples += whole * FRAME
        if on_time is not None:
            on_time(samples / SAMPLE_RATE)
    if pending:
        # The last, partial frame: its energy and peak count; too short to judge as speech.
        x = np.frombuffer(pending, dtype="<f4")
        x = x[:len(x) // width * width].reshape(1, -1, width)
        if x.shape[1]:
            energy.append((x[..., channels:].astype(np.float64) ** 2).mean(axis=1).sum(axis=1))
            peak.append(np.abs(x[..., :channels]).max(axis=(1, 2)))
            speech.append(np.zeros(1, dtype=np.float32))
            samples += x.shape[1]
    duration = samples / SAMPLE_RATE
    try:
        loudness = parse_summary("\n".join(log), duration=duration)
    except ToolError:
        raise InputError("could not be measured: ffmpeg decoded no audio from it", source) from None
    empty = np.zeros(0)
    return loudness, LevelAnalysis(energy=np.concatenate(energy) if energy else empty,
                                   peak=np.concatenate(peak) if peak else empty,
                                   speech=np.concatenate(speech) if speech else empty)


def _add_frames(x: np.ndarray, channels: int, detector: SpeechDetector, energy: list[np.ndarray],
                peak: list[np.ndarray], speech: list[np.ndarray]) -> None:
    plain, weighted = x[..., :channels], x[..., channels:]
    # Sum of squares per frame as one float64-accumulated dot product per row: no float64 copy
    # of the block.
    rows = np.ascontiguousarray(weighted).reshape(len(x), -1)
    energy.append(np.einsum("ij,ij->i", rows, rows, dtype=np.float64) / FRAME)
    peak.append(np.abs(plain).max(axis=(1, 2)))
    # Only the chunk the detector reads is folded to mono.
    chunk = plain[:, _CHUNK_AT - CONTEXT:_CHUNK_AT + CHUNK]
    mono = chunk.mean(axis=2) if channels > 1 else chunk[..., 0]
    speech.append(detector.probabilities(mono))


# --- loudness from frames -------------------------------------------------------------------------

def _frame_power(gain_db: np.ndarray) -> np.ndarray:
    return np.power(10.0, np.asarray(gain_db, dtype=np.float64) / 10.0)


def _lufs(mean_square: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return LUFS_OFFSET + 10 * np.log10(mean_square)


def _window_mean(values: np.ndarray, frames: int) -> np.ndarray:
    """Mean of each frame and the ``frames - 1`` before it (fewer at the start)."""
    csum = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - frames)
    return (csum[idx] - csum[lo]) / (idx - lo)


def short_term_loudness(energy: np.ndarray) -> np.ndarray:
    return _lufs(_window_mean(energy, round(SHORT_TERM_S / FRAME_S)))


def integrated_lufs(energy: np.ndarray) -> float:
    """BS.1770 integrated loudness from 100 ms frame energies: 400 ms blocks every 100 ms, the
    absolute gate at -70 LUFS, then the relative gate 10 LU below."""
    if len(energy) < 4:
        return -math.inf
    blocks = _window_mean(energy, 4)[3:]
    loud = blocks[_lufs(blocks) > ABSOLUTE_GATE]
    if not loud.size:
        return -math.inf
    gate = _lufs(loud.mean()) - 10.0
    kept = loud[_lufs(loud) > gate]
    return float(_lufs(kept.mean()))


# --- planning -------------------------------------------------------------------------------------

def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame of each run of True."""
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist()))


@dataclass
class _Stretch:
    """Speech being grouped into passages: its frames' summed energy and count, its span."""

    first: int
    last: int
    energy: float
    count: int
    speech: int

    @property
    def level(self) -> float:
        return float(_lufs(self.energy / self.count)) if self.count else -math.inf

    def join(self, other: _Stretch) -> _Stretch:
        return _Stretch(min(self.first, other.first), max(self.last, other.last), self.energy + other.energy,
                        self.count + other.count, self.speech + other.speech)


def _phrases(analysis: LevelAnalysis) -> list[_Stretch]:
    frames_db = _lufs(analysis.energy)
    is_speech = (analysis.speech >= SPEECH_PROBABILITY) & (frames_db > ABSOLUTE_GATE)
    runs = _runs(is_speech)
    gap = round(PHRASE_GAP_S / FRAME_S)
    joined: list[list[int]] = []
    for first, last in runs:
        if joined and first - joined[-1][1] - 1 < gap:
            joined[-1][1] = last
        else:
            joined.append([first, last])
    phrases = []
    for first, last in joined:
        if (last - first + 1) * FRAME_S < MIN_PHRASE_S:
            continue
        inside = np.arange(first, last + 1)
        inside = inside[is_speech[first:last + 1]]
        energy = analysis.energy[inside]
        level = float(_lufs(energy.mean()))
        kept = energy[frames_db[inside] > level - FRAME_GATE_DB]
        phrases.append(_Stretch(first, last, float(kept.sum()), len(kept), len(inside)))
    return [p for p in phrases if p.count]


def _passages(phrases: list[_Stretch]) -> list[_Stretch]:
    """Join neighbouring phrases into passages: short stretches into the neighbour nearest their
    level first, then neighbours closer than `SAME_LEVEL_DB`, the closest pair first."""
    parts = list(phrases)
    short = round(MIN_PASSAGE_SPEECH_S / FRAME_S)
    while len(parts) > 1:
        levels = np.array([p.level for p in parts])
        diffs = np.abs(np.diff(levels))
        is_short = np.array([p.speech < short for p in parts])
        pair_short = is_short[:-1] | is_short[1:]
        if pair_short.any():
            k = int(np.argmin(np.where(pair_short, diffs, np.inf)))
        else:
            k = int(np.argmin(diffs))
            if diffs[k] >= SAME_LEVEL_DB:
                break
        parts[k:k + 2] = [parts[k].join(parts[k + 1])]
    return parts


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _correction(deviation: float) -> float:
    """The gain for a passage this many dB from the reference: none inside the dead band, all of
    it beyond, a blend between; never more than `MAX_GAIN_DB`."""
    low, high = DEAD_BAND_DB
    share = min(1.0, max(0.0, (abs(deviation) - low) / (high - low)))
    return float(np.clip(-deviation * share, -MAX_GAIN_DB, MAX_GAIN_DB))


def _curve(frames: int, passages: list[tuple[int, int, float]]) -> np.ndarray:
    """The gain at the start of each frame: each passage's gain from its first to its last speech,
    the lower of two neighbours' gains in the pause between them, one ramp per pause."""
    ramp, lead, release = (round(s / FRAME_S) for s in (RAMP_S, LEAD_S, RELEASE_S))
    g = np.zeros(frames + 1)
    first0, _, gain0 = passages[0]
    g[:first0] = gain0
    for k, (first, last, gain) in enumerate(passages):
        g[first:last + 2] = gain
        if k + 1 == len(passages):
            g[last + 2:] = gain
            break
        nxt_first, _, nxt_gain = passages[k + 1]
        after = last + 1                       # the first frame of the pause
        done = max(after, nxt_first - lead)    # the gain must be the next passage's from here
        if gain > nxt_gain:                    # fall: begins after the last word's decay
            start = max(after, min(after + release, done - ramp))
            end = max(start + 1, min(done, start + ramp))
        else:                                  # rise (or none): as late as it can be
            start = max(after, done - ramp)
            end = max(start + 1, done)
        g[after:start + 1] = gain              # the lower gain holds through the pause
        g[start:end + 1] = np.linspace(gain, nxt_gain, end - start + 1)
        g[end:nxt_first] = nxt_gain
    return g[:frames]


def _other_sound(analysis: LevelAnalysis, phrases: list[_Stretch], reference: float) -> list[tuple[int, int]]:
    """Runs of loud sound that is not speech (music, applause), as (first, last) frames."""
    speech = np.zeros(analysis.frames, dtype=bool)
    for p in phrases:
        speech[p.first:p.last + 1] = True
    momentary = _lufs(_window_mean(analysis.energy, 4))
    loud = (~speech) & (momentary > reference - OTHER_SOUND_WITHIN_DB)
    least = round(MIN_OTHER_SOUND_S / FRAME_S)
    return [(a, b) for a, b in _runs(loud) if b - a + 1 >= least]


def _keep_other_sound(g: np.ndarray, runs: list[tuple[int, int]]) -> np.ndarray:
    """0 dB through loud sound that is not speech, ramped inside its own edges."""
    ramp = round(RAMP_S / FRAME_S)
    g = g.copy()
    for first, last in runs:
        before, after = g[first], g[min(last + 1, len(g) - 1)]
        g[first:last + 1] = 0.0
        g[first:first + ramp + 1] = np.linspace(before, 0.0, ramp + 1)
        end = last + 1
        g[end - ramp:end + 1] = np.linspace(0.0, after, ramp + 1)[:len(g[end - ramp:end + 1])]
    return g


def stand_aside(analysis: LevelAnalysis, note: str, speech_s: float = 0.0) -> LevellerPlan:
    return LevellerPlan(analysis=analysis, gain_db=np.zeros(analysis.frames), note=note, speech_s=speech_s)


def plan_levels(analysis: LevelAnalysis) -> LevellerPlan:
    """The gain curve for a measured programme; see the module docstring."""
    phrases = _phrases(analysis)
    speech_s = sum(p.speech for p in phrases) * FRAME_S
    if speech_s < MIN_SPEECH_S:
        return stand_aside(analysis, "no speech found (music, silence or room tone only): left as it was",
                           speech_s)
    parts = _passages(phrases)
    levels = np.array([p.level for p in parts])
    reference = _weighted_median(levels, np.array([p.speech for p in parts], dtype=float))
    gains = [_correction(level - reference) for level in levels]
    g = _curve(analysis.frames, [(p.first, p.last, gain) for p, gain in zip(parts, gains)])
    other = _other_sound(analysis, phrases, reference)
    g = _keep_other_sound(g, other)
    passages = tuple(Passage(start=p.first * FRAME_S, end=(p.last + 1) * FRAME_S, speech_s=p.speech * FRAME_S,
                             level_lufs=p.level, gain_db=gain) for p, gain in zip(parts, gains))
    before = integrated_lufs(analysis.energy)
    after = integrated_lufs(analysis.energy * _frame_power(g))
    change = after - before if math.isfinite(before) and math.isfinite(after) else 0.0
    return LevellerPlan(analysis=analysis, gain_db=g, passages=passages, reference_lufs=reference,
                        loudness_change_db=change, peak_change_db=_peak_change(analysis.peak, g),
                        speech_s=speech_s, other_sound_s=sum(b - a + 1 for a, b in other) * FRAME_S)


def _peak_change(peak: np.ndarray, g: np.ndarray) -> float:
    """How much the highest peak moves: the loudest frame after its gain against the loudest before."""
    if not peak.size or float(peak.max()) <= 0:
        return 0.0
    during = np.maximum(g, np.concatenate([g[1:], g[-1:]]))  # a frame's highest gain
    with np.errstate(divide="ignore"):
        peak_db = 20 * np.log10(peak)
    return float(np.max(peak_db + during) - np.max(peak_db))


# --- applying -------------------------------------------------------------------------------------

def envelope(plan: LevellerPlan, seconds: float) -> np.ndarray:
    """The gain as a linear 100 Hz signal at least ``seconds`` long (the last value held)."""
    times = np.arange(len(plan.gain_db)) * FRAME_S
    n = int(math.ceil(seconds * ENVELOPE_RATE)) + ENVELOPE_RATE
    at = np.arange(n) / ENVELOPE_RATE
    gain_db = np.interp(at, times, plan.gain_db) if len(times) else np.zeros(n)
    return np.power(10.0, gain_db / 20.0).astype("<f4")


def write_envelope(plan: LevellerPlan, seconds: float, path: Path) -> Path:
    """Write the envelope as raw little-endian float32 at `ENVELOPE_RATE` (mono), for ffmpeg."""
    envelope(plan, seconds).tofile(path)
    return path


@dataclass
class LevellerReport:
    """What the leveller did, for the process report."""

    passages: int
    max_raise_db: float
    max_cut_db: float
    spread_before_lu: float
    spread_after_lu: float
    loudness_change_db: float
    speech_s: float
    other_sound_s: float
    note: str = ""
    applied: bool = False
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, plan: LevellerPlan) -> LevellerReport:
        return cls(passages=len(plan.passages), max_raise_db=plan.max_raise_db, max_cut_db=plan.max_cut_db,
                   spread_before_lu=plan.spread_before_lu, spread_after_lu=plan.spread_after_lu,
                   loudness_change_db=plan.loudness_change_db, speech_s=plan.speech_s,
                   other_sound_s=plan.other_sound_s, note=plan.note, applied=plan.active)
