"""Loudness measurement (ITU-R BS.1770-4 / EBU R128).

Measurement uses ffmpeg's ``ebur128`` filter, which implements the K-weighting, the
400 ms gated integrated loudness, the EBU 3342 loudness range and the 4x oversampled true peak.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputError, ToolError
from . import ffmpeg_tool as ffmpeg

#: Clips shorter than this are looped while measured, so loudness gating has enough 400 ms blocks.
MIN_MEASURE_SECONDS = 3.0

#: ebur128 reports -70 LUFS (the absolute gate) when no block is loud enough to count.
ABSOLUTE_GATE_LUFS = -70.0


@dataclass(frozen=True)
class Loudness:
    """Measured loudness of one piece of audio."""

    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float | None = None
    sample_peak_dbfs: float | None = None
    duration: float = 0.0

    @property
    def is_silent(self) -> bool:
        peak = self.true_peak_dbtp if self.true_peak_dbtp is not None else self.sample_peak_dbfs
        return self.integrated_lufs <= ABSOLUTE_GATE_LUFS + 0.05 or (peak is not None and peak == -math.inf)

    def as_json(self) -> dict[str, float | None]:
        # JSON has no infinities (Python would print -Infinity, which strict parsers reject):
        # a value that does not exist, such as the peak of digital silence, is null.
        def number(value: float | None) -> float | None:
            return value if value is not None and math.isfinite(value) else None

        return {
            "integrated_lufs": number(self.integrated_lufs),
            "true_peak_dbtp": number(self.true_peak_dbtp),
            "lra_lu": number(self.lra_lu),
        }


_NUM = r"(-?inf|-?\d+(?:\.\d+)?)"
_SUMMARY_I = re.compile(r"^\s*I:\s+" + _NUM + r" LUFS", re.M)
_SUMMARY_LRA = re.compile(r"^\s*LRA:\s+" + _NUM + r" LU", re.M)
_SUMMARY_PEAK = re.compile(r"(True|Sample) peak:\s*\n\s*Peak:\s+" + _NUM + r" dBFS", re.M)


def _num(text: str) -> float:
    return -math.inf if text == "-inf" else math.inf if text == "inf" else float(text)


def parse_summary(stderr: str, duration: float = 0.0, *, instance: str | None = None) -> Loudness:
    """Read the last ebur128 summary in ffmpeg's log, or the one of the meter named ``instance``
    (``ebur128@NAME`` in the graph); ToolError if there is none (ffmpeg decoded nothing, or printed
    something this version of rkaudio does not read)."""
    if instance is None:
        start = stderr.rfind("Summary:")
        end = len(stderr)
    else:
        named = stderr.rfind(f"[{instance} @")
        start = stderr.find("Summary:", named) if named >= 0 else -1
        following = stderr.find("Summary:", start + 1) if start >= 0 else -1
        end = following if following >= 0 else len(stderr)
    if start < 0:
        raise ToolError("ffmpeg printed no loudness summary (ebur128): it decoded no audio")
    text = stderr[start:end]
    i = _SUMMARY_I.search(text)
    lra = _SUMMARY_LRA.search(text)
    if not i or not lra:
        raise ToolError("ffmpeg printed an incomplete loudness summary (ebur128)")
    true_peak = sample_peak = None
    for kind, value in _SUMMARY_PEAK.findall(text):
        if kind == "True":
            true_peak = _num(value)
        else:
            sample_peak = _num(value)
    return Loudness(_num(i.group(1)), _num(lra.group(1)), true_peak, sample_peak, duration)


def meter_filter(true_peak: bool = True, name: str | None = None) -> str:
    """The ebur128 filter as a passthrough meter (prints only its summary); ``name`` tells its
    summary from another meter's in the same graph (see `parse_summary`)."""
    instance = f"ebur128@{name}" if name else "ebur128"
    return f"{instance}=framelog=quiet:peak={'true' if true_peak else 'sample'}"


def layout_filter(channels: int | None) -> list[str]:
    """Filters that turn any input into the delivered channel layout."""
    if channels is None:
        return []
    return [f"aformat=channel_layouts={'mono' if channels == 1 else 'stereo'}"]


def measure(path: Path, *, true_peak: bool = True, channels: int | None = None, loop: int = 0,
            on_time: ffmpeg.TimeCallback | None = None) -> Loudness:
    """Measure a file's first audio stream, optionally as it will sound after a channel change.

    ``loop`` plays a short clip several times so that loudness gating has enough 400 ms blocks.
    """
    done = [0.0]

    def seen(seconds: float) -> None:
        done[0] = seconds
        if on_time is not None:
            on_time(seconds)

    filters = ",".join([*layout_filter(channels), meter_filter(true_peak)])
    stderr = ffmpeg.run(
        [*ffmpeg.input_args(path, loop=loop), "-map", "0:a:0", "-vn", "-sn", "-dn",
         "-af", filters, "-f", "null", "-"],
        what=f"measuring {path.name}", on_time=seen,
    )
    try:
        return parse_summary(stderr, duration=done[0])
    except ToolError:
        raise InputError("could not be measured: ffmpeg decoded no audio from it", path) from None


def measure_clip(path: Path, channels: int | None = None) -> Loudness:
    """Measure a clip that may be short (a sting): under 3 s it is looped while measured, so
    gating has enough blocks even for a one-second sting; the duration is the clip's own."""
    info = ffmpeg.probe(path)
    loop = 0
    if info.duration is not None and 0 < info.duration < MIN_MEASURE_SECONDS:
        loop = math.ceil(MIN_MEASURE_SECONDS / info.duration)
    loud = measure(path, true_peak=False, channels=channels, loop=loop)
    if loop:
        loud = dataclasses.replace(loud, duration=loud.duration / (loop + 1))
    return loud


def db_to_linear(db: float) -> float:
    return 10 ** (db / 20)
