"""Benchmark: how long rkaudio takes to finish an episode, and how much memory it needs.

``make bench`` runs this script. It generates a long speech-like recording (60 minutes by default,
see ``speech.py``), then times three things on that same file, interleaved so that a busy spell
on the machine hits all of them alike:

1. ``rkaudio process`` end to end (measure, plan and apply the leveller, calibrate, normalise with
   limiter, intro and outro, MP3), in a show made with ``rkaudio init``;
2. a bare ffmpeg WAV-to-MP3 encode at the same bitrate: the floor any tool that writes an MP3
   has to pay, and the yardstick for rkaudio's time target (at most 1.6x, leveller included);
3. ffmpeg-normalize to the same loudness and true peak, the widely used alternative.

For every run it records wall time and the peak memory of the whole process tree. rkaudio also
processes a 10-minute cut of the same recording once, to show that its memory does not grow with
the input. Each tool's last output is measured with an independent meter (``meter.py``). The
results are printed, written to ``bench/out/results.md``, and (unless ``--no-write``) put into
BENCHMARKS.md between the ``bench:process`` markers.

All tools use the same ffmpeg binary: the one rkaudio uses.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

try:
    import psutil  # noqa: F401  (used by timing; checked here for a clear message)
    import pyloudnorm  # noqa: F401
    import scipy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"bench: missing {exc.name}; install the benchmark extras: pip install -e '.[dev,bench]'")

import meter
import report
import speech
from timing import RunResult, log_tail, timed_run

from rkaudio.audio import ffmpeg_tool
from rkaudio.core.errors import ConfigError

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
SOURCE_CLIP = REPO / "episodes" / "welcome-to-radical-kindness.flac"
#: Settings shared by every tool, so they do comparable work.
TARGET_LUFS = -16
TRUE_PEAK_DBTP = -1
BITRATE = "128k"
#: Length of the cut that shows rkaudio's memory is flat (minutes).
CUT_MINUTES = 10.0

#: Where progress messages go.
Log = Callable[[str], None]


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


@dataclass(frozen=True)
class Tool:
    """One contender: the command to run, where it writes, and where its result is kept."""

    key: str
    label: str
    argv: list[str]
    #: Where the tool writes its output ...
    produced: Path
    #: ... and where the harness keeps it (bench/out/); the same path unless the tool decides.
    output: Path

    def prepare(self) -> None:
        """Remove the previous output, so every run does the same work from the same state."""
        for path in {self.produced, self.output}:
            path.unlink(missing_ok=True)

    def collect(self) -> None:
        """Move the output to where the harness keeps it (not part of the timed run)."""
        if self.produced != self.output and self.produced.exists():
            shutil.move(self.produced, self.output)


# --- command line -------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked."""
    parser = argparse.ArgumentParser(
        description="Time rkaudio against a bare MP3 encode and ffmpeg-normalize on a generated "
                    "speech-like recording, and record peak memory and output loudness.")
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="length of the generated input in minutes (default: 60)")
    parser.add_argument("--runs", type=int, default=3,
                        help="timed runs per tool; the median is reported (default: 3)")
    parser.add_argument("--no-normalize", action="store_true",
                        help="skip ffmpeg-normalize (it takes several times as long as the others)")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the input again even if a cached one exists")
    parser.add_argument("--no-write", action="store_true",
                        help="do not update BENCHMARKS.md (bench/out/results.md is still written)")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


# --- tools --------------------------------------------------------------------------------------

def console_script(name: str) -> str:
    """A console script installed next to the running Python, else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"cannot find the '{name}' command; install the benchmark extras "
                         "with: pip install -e '.[dev,bench]'")
    return found


def tool_env(ffmpeg: str) -> dict[str, str]:
    """Environment for the tools: one ffmpeg for all, and no RKAUDIO_* overrides of show.toml."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RKAUDIO_")}
    env["RKAUDIO_FFMPEG"] = ffmpeg
    env["FFMPEG_PATH"] = ffmpeg
    return env


def make_show(rkaudio: str, root: Path, env: dict[str, str]) -> Path:
    """A fresh show made by ``rkaudio init``, with the intro and outro it creates."""
    show = root / "show"
    result = timed_run("rkaudio init", [rkaudio, "init", str(show), "--title", "Benchmark", "--quiet"],
                       env=env, log=OUT / "logs" / "rkaudio-init.log")
    if not result.ok:
        raise BenchError(f"rkaudio init failed (exit {result.returncode}):\n{log_tail(result.log)}")
    return show


def rkaudio_tool(rkaudio: str, show: Path, wav: Path, key: str, label: str) -> Tool:
    """``rkaudio process`` as a producer runs it, minus the transcript (timed separately)."""
    argv = [rkaudio, "process", str(wav), "--no-transcribe", "--quiet", "--slug", "bench",
            "--workspace", str(show)]
    return Tool(key=key, label=label, argv=argv, produced=show / "feed" / "media" / "bench.mp3",
                output=OUT / f"{key}.mp3")


def bare_encode_tool(ffmpeg: str, wav: Path) -> Tool:
    """A plain WAV-to-MP3 encode: what writing the MP3 alone costs, the yardstick for time."""
    out = OUT / "bare-encode.mp3"
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(wav),
            "-c:a", "libmp3lame", "-b:a", BITRATE, str(out)]
    return Tool(key="bare-encode", label="ffmpeg, bare MP3 encode", argv=argv, produced=out, output=out)


def normalize_tool(wav: Path) -> Tool:
    """ffmpeg-normalize in its default EBU R128 mode (two passes with loudnorm)."""
    out = OUT / "ffmpeg-normalize.mp3"
    argv = [console_script("ffmpeg-normalize"), str(wav), "-t", str(TARGET_LUFS), "-tp", str(TRUE_PEAK_DBTP),
            "-c:a", "libmp3lame", "-b:a", BITRATE, "-ar", "44100", "-ext", "mp3", "-o", str(out), "-f"]
    return Tool(key="ffmpeg-normalize", label="ffmpeg-normalize", argv=argv, produced=out, output=out)


# --- running ------------------------------------------------------------------------------------

def run_once(tool: Tool, env: dict[str, str], log: Log = print) -> RunResult:
    """One timed run; raises :class:`BenchError` if the tool fails or writes nothing."""
    tool.prepare()
    result = timed_run(tool.label, tool.argv, env=env, log=OUT / "logs" / f"{tool.key}.log")
    if not result.ok:
        raise BenchError(f"{tool.label} failed (exit {result.returncode}); command:\n"
                         f"  {shlex.join(tool.argv)}\n{log_tail(result.log)}")
    if not tool.produced.exists():
        raise BenchError(f"{tool.label} exited 0 but wrote no {tool.produced}")
    tool.collect()
    log(f"  {tool.label}: {result.wall_s:.1f} s, peak RSS {result.tree_peak_bytes / report.MB:.0f} MB")
    return result


def run_interleaved(tools: list[Tool], runs: int, env: dict[str, str],
                    log: Log = print) -> dict[str, list[RunResult]]:
    """``runs`` rounds of every tool in turn (A B C, A B C, ...), so noise spreads evenly."""
    results: dict[str, list[RunResult]] = {t.key: [] for t in tools}
    for round_no in range(1, runs + 1):
        log(f"Round {round_no} of {runs}")
        for tool in tools:
            results[tool.key].append(run_once(tool, env, log))
    return results


def measure_outputs(ffmpeg: str, tools: list[Tool], results: dict[str, report.ToolResult],
                    log: Log = print) -> None:
    """Measure each tool's last output once with the independent meter."""
    for tool in tools:
        log(f"Measuring {tool.output.name} ...")
        results[tool.key].level = meter.measure(ffmpeg, tool.output)


@contextmanager
def temporary_folder() -> Iterator[Path]:
    """A scratch folder inside bench/out/ (same disk as the outputs), always removed."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="show-", dir=OUT))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- report -------------------------------------------------------------------------------------

def software_summary(ffmpeg: str, with_normalize: bool) -> str:
    """Versions of everything that shaped the numbers."""
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "unknown"

    parts = [f"ffmpeg {report.ffmpeg_version(ffmpeg)} (the same binary for every tool)",
             f"rkaudio {version('rkaudio')}"]
    if with_normalize:
        parts.append(f"ffmpeg-normalize {version('ffmpeg-normalize')}")
    parts += [f"pyloudnorm {version('pyloudnorm')} (output meter)",
              f"Python {sys.version.split()[0]}"]
    return ", ".join(parts)


def command_line(args: argparse.Namespace) -> str:
    """How to repeat this run: ``make bench`` for the defaults, else the script's options."""
    if args.minutes == 60 and args.runs == 3 and not args.no_normalize:
        return "make bench"
    parts = ["python bench/run.py", f"--minutes {args.minutes:g}", f"--runs {args.runs}"]
    if args.no_normalize:
        parts.append("--no-normalize")
    return " ".join(parts)


def went_dynamic(log: Path) -> bool:
    """Whether ffmpeg-normalize's log says loudnorm left linear mode."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return False
    return "dynamic" in text and "revert" in text


def notes(cut_minutes: float, with_normalize: bool, normalize_went_dynamic: bool = False) -> list[str]:
    """What a reader needs to know to read the table right."""
    items = [
        "Wall time includes process start-up; rkaudio's includes reading show.toml, measuring "
        "the intro and outro and joining them to the programme (the others do neither).",
        "Peak RSS (tree) is the highest total resident memory of the tool and all its child "
        "processes, sampled every 50 ms, and never less than the largest single process's peak; "
        "largest process is the highest high-water mark (VmHWM) of any one process in the tree. "
        "Both are the worst of all runs. MB = 10^6 bytes.",
        f"The rkaudio process ({cut_minutes:g} min) row is one run on the first {cut_minutes:g} min "
        "of the same input, to show that memory does not grow with the input's length.",
        "Output loudness and true peak: each tool's last output, decoded to float and measured with "
        "pyloudnorm (BS.1770-4) and a 4× oversampled peak (scipy), not with ffmpeg's meters.",
        "The bare encode does no loudness work; its output keeps the input's level.",
    ]
    if with_normalize:
        items.append("ffmpeg-normalize runs in its default EBU R128 mode (loudnorm, two passes) with "
                     f"`-t {TARGET_LUFS} -tp {TRUE_PEAK_DBTP}`. loudnorm normalises linearly only "
                     "when the input's loudness range is within its default range target and the "
                     "gain leaves peaks under the ceiling; otherwise it falls back to dynamic "
                     "(compressing) normalisation.")
        if normalize_went_dynamic:
            items.append("In this run ffmpeg-normalize reported that it reverted to dynamic "
                         "normalisation (see bench/out/logs/ffmpeg-normalize.log).")
    return items


# --- main ---------------------------------------------------------------------------------------

def benchmark(args: argparse.Namespace, log: Log = print) -> str:
    """Run the whole benchmark and return the Markdown report."""
    ffmpeg = ffmpeg_tool.executable()
    env = tool_env(ffmpeg)
    rkaudio = console_script("rkaudio")
    with_normalize = not args.no_normalize
    machine = report.machine_summary()  # before any work, so the load figure is the machine's own
    date = report.now()

    seconds = args.minutes * 60
    label = f"{args.minutes:g}min"
    wav = OUT / f"speech-{label}.wav"
    source = speech.ensure_input(ffmpeg, SOURCE_CLIP, wav, seconds, regenerate=args.regenerate, log=log)
    cut_minutes = CUT_MINUTES if CUT_MINUTES < args.minutes else args.minutes / 2
    cut = speech.ensure_cut(ffmpeg, wav, OUT / f"speech-{label}-first-{cut_minutes:g}min.wav",
                            cut_minutes * 60, log=log)

    with temporary_folder() as scratch:
        show = make_show(rkaudio, scratch, env)
        tools = [rkaudio_tool(rkaudio, show, wav, "rkaudio", "rkaudio process"),
                 bare_encode_tool(ffmpeg, wav)]
        if with_normalize:
            tools.append(normalize_tool(wav))
        runs = run_interleaved(tools, args.runs, env, log)
        log(f"Memory check: rkaudio on the first {cut_minutes:g} min")
        cut_tool = rkaudio_tool(rkaudio, show, cut, "rkaudio-cut", f"rkaudio process ({cut_minutes:g} min)")
        cut_run = run_once(cut_tool, env, log)

    results = {t.key: report.ToolResult(label=t.label, runs=runs[t.key]) for t in tools}
    results[cut_tool.key] = report.ToolResult(label=cut_tool.label, runs=[cut_run])
    measure_outputs(ffmpeg, [*tools, cut_tool], results, log)

    ctx = report.Context(date=date, command=command_line(args), runs=args.runs, machine=machine,
                         software=software_summary(ffmpeg, with_normalize),
                         input=source.describe(SOURCE_CLIP.relative_to(REPO)),
                         notes=notes(cut_minutes, with_normalize,
                                     with_normalize and went_dynamic(OUT / "logs" / "ffmpeg-normalize.log")))
    main_rows = [results[t.key] for t in tools]
    return report.render(ctx, main_rows, results["bare-encode"], results["rkaudio"], [results[cut_tool.key]])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print and save the report; 1 if a step failed."""
    args = parse_args(argv)
    try:
        markdown = benchmark(args)
    except (BenchError, ConfigError, RuntimeError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    print()
    print(markdown)
    results_md = OUT / "results.md"
    results_md.write_text(markdown, encoding="utf-8")
    print(f"Wrote {results_md.relative_to(REPO)}")
    if not args.no_write:
        report.update_file(report.BENCHMARKS_MD, markdown)
        print(f"Updated BENCHMARKS.md (section bench:{report.SECTION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
