"""Turning benchmark runs into a Markdown report, and keeping BENCHMARKS.md up to date.

BENCHMARKS.md is shared by several benchmarks; each owns the text between its own pair of HTML
comment markers, so this one rewrites only ``<!-- bench:process:start -->`` ...
``<!-- bench:process:end -->`` and leaves the rest of the file as it was.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from meter import Level
from timing import RunResult

SECTION = "process"
BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
#: Targets from the issues: rkaudio, leveller included, within 1.6x a bare MP3 encode (1.5x was
#: the target before the leveller), and flat memory under 300 MB.
TARGET_RATIO = 1.6
TARGET_RSS_MB = 300.0
TARGET_LUFS = -16.0
LUFS_TOLERANCE = 0.5
CEILING_DBTP = -1.0
MB = 1_000_000


def markers(section: str = SECTION) -> tuple[str, str]:
    """The start and end markers of a section of BENCHMARKS.md."""
    return f"<!-- bench:{section}:start -->", f"<!-- bench:{section}:end -->"


@dataclass
class ToolResult:
    """All runs of one tool on one input, and the loudness of its last output."""

    label: str
    runs: list[RunResult]
    level: Level | None = None

    @property
    def times(self) -> list[float]:
        return [r.wall_s for r in self.runs]

    @property
    def median_s(self) -> float:
        return statistics.median(self.times)

    @property
    def tree_peak_mb(self) -> float:
        """Worst tree peak over all runs, MB (10^6 bytes)."""
        return max(r.tree_peak_bytes for r in self.runs) / MB

    @property
    def single_peak_mb(self) -> float:
        return max(r.single_peak_bytes for r in self.runs) / MB


@dataclass
class Context:
    """What the report says about how the numbers were made."""

    date: str
    command: str
    runs: int
    machine: str
    software: str
    input: str
    notes: list[str] = field(default_factory=list)


# --- machine and software -----------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 2**30
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_summary() -> str:
    """CPU count and model, memory, OS and load when the run started (the machine may be shared)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"{cpus} CPUs ({_cpu_model()})"]
    mem = _memory_gib()
    if mem is not None:
        parts.append(f"{mem:.1f} GiB RAM")
    parts.append(f"{platform.system()} {platform.release()}")
    if hasattr(os, "getloadavg"):
        parts.append("load average {:.2f} {:.2f} {:.2f} at start".format(*os.getloadavg()))
    return ", ".join(parts)


def ffmpeg_version(ffmpeg: str) -> str:
    """The version string ffmpeg prints, e.g. ``6.1.1`` or ``n7.0-12-gabc``."""
    try:
        out = subprocess.run([ffmpeg, "-hide_banner", "-version"], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    words = out.split()
    return words[words.index("version") + 1] if "version" in words[:3] else "unknown"


# --- rendering ----------------------------------------------------------------------------------

def _fmt(value: float | None, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return format(value, spec)


def _row(result: ToolResult, baseline: ToolResult | None, *, ratio: bool = True) -> str:
    lo, hi = min(result.times), max(result.times)
    rel = result.median_s / baseline.median_s if (ratio and baseline and baseline.median_s > 0) else None
    level = result.level
    cells = [
        result.label,
        _fmt(result.median_s, ".1f"),
        f"{lo:.1f}–{hi:.1f}",
        f"{rel:.2f}×" if rel is not None else "–",
        _fmt(result.tree_peak_mb, ".0f"),
        _fmt(result.single_peak_mb, ".0f"),
        _fmt(level.integrated_lufs if level else None, ".2f"),
        _fmt(level.true_peak_dbtp if level else None, ".2f"),
    ]
    return "| " + " | ".join(cells) + " |"


def table(results: Sequence[ToolResult], baseline: ToolResult | None,
          extra: Sequence[ToolResult] = ()) -> str:
    """The results table; ``extra`` rows (other input lengths) get no time ratio."""
    head = ("| Tool | Median wall (s) | Min–max (s) | vs bare encode | Peak RSS, tree (MB) "
            "| Largest process (MB) | Output (LUFS) | True peak (dBTP) |")
    rule = "|" + "|".join(["---"] + ["---:"] * 7) + "|"
    rows = [_row(r, baseline) for r in results] + [_row(r, baseline, ratio=False) for r in extra]
    return "\n".join([head, rule, *rows])


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets(rkaudio: ToolResult, baseline: ToolResult | None, memory: Sequence[ToolResult]) -> list[str]:
    """One line per target rkaudio promises, each saying whether this run met it."""
    lines = []
    if baseline is not None:
        ratio = rkaudio.median_s / baseline.median_s
        lines.append(f"rkaudio wall time ≤ {TARGET_RATIO:g}× the bare encode: "
                     f"{ratio:.2f}× — {_verdict(ratio <= TARGET_RATIO)}")
    peaks = ", ".join(f"{r.label} {r.tree_peak_mb:.0f} MB" for r in memory)
    worst = max(r.tree_peak_mb for r in memory)
    lines.append(f"rkaudio peak RSS (whole process tree) ≤ {TARGET_RSS_MB:g} MB at any input "
                 f"length: {peaks} — {_verdict(worst <= TARGET_RSS_MB)}")
    level = rkaudio.level
    if level is not None:
        ok = (abs(level.integrated_lufs - TARGET_LUFS) <= LUFS_TOLERANCE
              and level.true_peak_dbtp <= CEILING_DBTP + 0.05)
        lines.append(f"rkaudio output at {TARGET_LUFS:g} ± {LUFS_TOLERANCE:g} LUFS and ≤ "
                     f"{CEILING_DBTP:g} dBTP (independent meter): {level.integrated_lufs:.2f} LUFS, "
                     f"{level.true_peak_dbtp:.2f} dBTP — {_verdict(ok)}")
    return lines


def render(ctx: Context, results: Sequence[ToolResult], baseline: ToolResult | None,
           rkaudio: ToolResult, extra: Sequence[ToolResult]) -> str:
    """The Markdown section: how the run was made, the table, the targets and notes."""
    lines = [
        "## Processing an episode",
        "",
        f"Run on {ctx.date} with `{ctx.command}`.",
        "",
        f"- Machine: {ctx.machine}",
        f"- Software: {ctx.software}",
        f"- Input: {ctx.input}",
        f"- Runs: {ctx.runs} per tool, interleaved (one of each tool in turn); times are medians, "
        "ratios are median over median",
        "",
        table(results, baseline, extra),
        "",
        "Targets:",
        "",
        *[f"- {line}" for line in targets(rkaudio, baseline, [rkaudio, *extra])],
    ]
    if ctx.notes:
        lines += ["", "Notes:", "", *[f"- {note}" for note in ctx.notes]]
    return "\n".join(lines) + "\n"


def now() -> str:
    """The current time in UTC, to the minute."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --- BENCHMARKS.md ------------------------------------------------------------------------------

def replace_section(document: str, body: str, section: str = SECTION) -> str:
    """``document`` with the text between the section's markers replaced by ``body``.

    If the markers are missing, the section is appended at the end.
    """
    start, end = markers(section)
    block = f"{start}\n{body.rstrip()}\n{end}"
    i = document.find(start)
    j = document.find(end, i + len(start)) if i >= 0 else -1
    if i < 0 or j < 0:
        return document.rstrip() + "\n\n" + block + "\n"
    return document[:i] + block + document[j + len(end):]


def update_file(path: Path, body: str, section: str = SECTION) -> None:
    """Rewrite one section of ``path`` in place (written to a temporary file, then renamed)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = replace_section(old, body, section)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)


def publish(markdown: str, section: str, *, results: Path | None = None, write: bool = True) -> None:
    """Print a benchmark's section, keep it in ``results`` (a results.md), and unless ``write`` is
    false put it into BENCHMARKS.md between the section's markers."""
    print()
    print(markdown)
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(markdown, encoding="utf-8")
    if write:
        update_file(BENCHMARKS_MD, markdown, section)
        print(f"Updated BENCHMARKS.md (section bench:{section})")
