"""Benchmark: how fast and how accurately rkaudio transcribes, next to openai-whisper on the same weights.

``make bench`` runs this after ``run.py``. It joins the project's committed speech clips (TTS of
the programme's seed texts, in ``tests/data/speech/`` and the demo episode, each with the exact
text that was spoken) into one programme of about ten minutes, a 44.1 kHz stereo WAV as a producer
would hand over, and on that file times, interleaved:

1. ``rkaudio transcribe`` as a producer runs it: the default engine (faster-whisper, batched, int8)
   and the bundled ``tiny.en`` model, end to end (start-up, model load, decoding, voice activity
   detection, recognition, caption files);
2. ``rkaudio transcribe --engine openai-whisper`` with a checkpoint converted from the same bundled
   weights: the same pipeline on the reference implementation;
3. the ``whisper`` command of openai-whisper itself on that checkpoint, with word timestamps (which
   captions need) and its other defaults: what a producer would otherwise run;
4. the same command with ``--condition_on_previous_text False``, the anti-hallucination setting
   rkaudio's engines use, so the effect of that one setting is measured rather than guessed.

For each it reports the real-time factor (seconds of audio per second of wall time), peak memory
of the process tree, and the word error rate against the reference text (jiwer, after lower-casing
and removing punctuation). Results go into BENCHMARKS.md between the ``bench:transcribe`` markers.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

try:
    import jiwer
    import psutil  # noqa: F401  (used by timing)
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"bench: missing {exc.name}; install the benchmark extras: pip install -e '.[dev,bench]'")

import report
from timing import RunResult, log_tail, timed_run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from rkaudio.audio import ffmpeg_tool
from rkaudio.show.settings import TranscriptSettings

from wer_helpers import normalise  # noqa: E402  (the tests' scorer, so both agree)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out" / "transcribe"
SECTION = "transcribe"
CLIPS = [(REPO / "episodes" / "welcome-to-radical-kindness.flac",
          REPO / "episodes" / "welcome-to-radical-kindness.script.txt")]
CLIPS += [(p, p.with_suffix(".txt")) for p in sorted((REPO / "tests" / "data" / "speech").glob("*.flac"))]
#: Pause between clips in the joined programme, seconds.
GAP_S = 1.5
#: Targets from the issue: at least 25x real time with the default model, and a word error rate no
#: worse than openai-whisper's on the same weights.
TARGET_RTF = 25.0


class BenchError(Exception):
    pass


@dataclass
class Tool:
    key: str
    label: str
    argv: list[str]
    #: Where the plain-text transcript of a run lands ({run} is the run number).
    text_out: str
    runs: list[RunResult] = field(default_factory=list)
    wers: list[float] = field(default_factory=list)
    #: CPU seconds (user + system) of the command and every process it ran, per run.
    cpu: list[float] = field(default_factory=list)
    #: The 1-minute load average just before each run (the machine may be shared).
    load: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def median_wer(self) -> float:
        return statistics.median(self.wers)


def build_programme(ffmpeg: str, minutes: float, out: Path) -> tuple[Path, str, float]:
    """The clips joined (and repeated) into one programme of about ``minutes``; its text and length."""
    durations = [float(ffmpeg_tool.probe(clip).duration or 0.0) for clip, _ in CLIPS]
    texts = [ref.read_text(encoding="utf-8").strip() for _, ref in CLIPS]
    order: list[int] = []
    total = 0.0
    while total < minutes * 60 or not order:
        for k in range(len(CLIPS)):
            order.append(k)
            total += durations[k] + GAP_S
            if total >= minutes * 60:
                break
    wav = out / f"programme-{minutes:g}min.wav"
    args = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    for k in sorted(set(order)):
        args += ["-i", str(CLIPS[k][0])]
    index = {k: i for i, k in enumerate(sorted(set(order)))}
    labels = [f"[c{n}]" for n in range(len(order))]
    # Each input may be used several times: split it first.
    uses: dict[int, int] = {}
    for k in order:
        uses[k] = uses.get(k, 0) + 1
    splits, taken = [], {k: 0 for k in uses}
    for k, count in uses.items():
        outs = "".join(f"[s{k}_{j}]" for j in range(count))
        splits.append(f"[{index[k]}:a]asplit={count}{outs}" if count > 1 else f"[{index[k]}:a]anull{outs}")
    chains = []
    for n, k in enumerate(order):
        chains.append(f"[s{k}_{taken[k]}]aresample=44100,aformat=sample_fmts=s16:channel_layouts=stereo,"
                      f"apad=pad_dur={GAP_S}[c{n}]")
        taken[k] += 1
    graph = ";".join(splits + chains) + ";" + "".join(labels) + f"concat=n={len(order)}:v=0:a=1[out]"
    args += ["-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_s16le", str(wav)]
    subprocess.run(args, check=True)
    seconds = float(ffmpeg_tool.probe(wav).duration or 0.0)
    return wav, " ".join(texts[k] for k in order), seconds


def ffmpeg_dir(ffmpeg: str) -> Path:
    """A folder where ``ffmpeg`` is the same binary rkaudio uses: openai-whisper's command runs
    ``ffmpeg`` by that name from PATH, and the binary in the imageio-ffmpeg wheel has another name."""
    folder = OUT / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "ffmpeg"
    if not (link.is_symlink() and os.readlink(link) == ffmpeg):
        link.unlink(missing_ok=True)
        link.symlink_to(ffmpeg)
    return folder


def clip_words() -> int:
    """Words in one pass through the clips' reference texts."""
    return sum(len(ref.read_text(encoding="utf-8").split()) for _, ref in CLIPS)


def console_script(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def has_openai_whisper() -> bool:
    try:
        import torch  # noqa: F401
        import whisper  # noqa: F401
    except ImportError:
        return False
    return True


def converted_checkpoint(out: Path) -> Path:
    """The bundled tiny.en weights as an openai-whisper checkpoint (made once, in bench/out/)."""
    from rkaudio.speech.ct2_convert import convert_ct2_whisper
    from rkaudio.speech.engine import bundled_model_path

    path = out / "tiny.en-converted.pt"
    if not path.exists():
        convert_ct2_whisper(bundled_model_path(), path)
    return path


def tools_for(wav: Path, show: Path, whisper_out: Path, checkpoint: Path | None) -> list[Tool]:
    rkaudio = console_script("rkaudio")
    if rkaudio is None:
        raise BenchError("cannot find the rkaudio command; run 'make bench'")
    common = [rkaudio, "transcribe", str(wav), "--workspace", str(show), "--quiet"]
    tools = [Tool("rkaudio-fw", "rkaudio transcribe (faster-whisper, default)",
                  [*common, "--slug", "fw-{run}"], str(show / "transcripts" / "fw-{run}.txt"))]
    if checkpoint is not None:
        tools.append(Tool("rkaudio-ow", "rkaudio transcribe --engine openai-whisper",
                          [*common, "--slug", "ow-{run}", "--engine", "openai-whisper", "--model", str(checkpoint)],
                          str(show / "transcripts" / "ow-{run}.txt")))
        whisper = console_script("whisper")
        if whisper is not None:
            def whisper_tool(key: str, label: str, *extra: str) -> Tool:
                out = whisper_out / key / "{run}"
                return Tool(key, label,
                            [whisper, str(wav), "--model", str(checkpoint), "--language", "en",
                             "--fp16", "False", "--word_timestamps", "True", "--output_format", "txt",
                             "--output_dir", str(out), "--verbose", "False", *extra],
                            str(out / f"{wav.stem}.txt"))
            tools.append(whisper_tool("openai-whisper", "openai-whisper's own `whisper` command"))
            # The same command with the one setting the issue requires rkaudio to turn off: each
            # window decoded without the previous window's text as its prompt.
            tools.append(whisper_tool("openai-whisper-nocond", "`whisper` --condition_on_previous_text False",
                                      "--condition_on_previous_text", "False"))
    return tools


def run_all(tools: list[Tool], runs: int, env: dict[str, str], reference: str) -> None:
    for run in range(1, runs + 1):
        print(f"Round {run} of {runs}", flush=True)
        for tool in tools:
            argv = [a.replace("{run}", str(run)) for a in tool.argv]
            load = os.getloadavg()[0]
            # Every finished descendant that was waited for counts in RUSAGE_CHILDREN, so the
            # difference is the CPU time of this command's whole process tree.
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            result = timed_run(tool.label, argv, env=env, log=OUT / "logs" / f"{tool.key}-{run}.log")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if not result.ok:
                raise BenchError(f"{tool.label} failed (exit {result.returncode}):\n{log_tail(result.log)}")
            text = Path(tool.text_out.replace("{run}", str(run))).read_text(encoding="utf-8")
            kept = OUT / "texts" / f"{tool.key}-{run}.txt"
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(text, encoding="utf-8")
            tool.runs.append(result)
            tool.wers.append(jiwer.wer(normalise(reference), normalise(text)))
            tool.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
            tool.load.append(load)
            print(f"  {tool.label}: {result.wall_s:.1f} s, CPU {tool.cpu[-1]:.1f} s, WER {tool.wers[-1]:.1%}, "
                  f"peak {result.tree_peak_bytes / report.MB:.0f} MB, load {load:.2f} before", flush=True)


def render(tools: list[Tool], seconds: float, words: int, runs: int, machine: str, date: str,
           command: str, missing_openai: bool) -> str:
    default = tools[0]
    settings = TranscriptSettings()
    loads = [load for t in tools for load in t.load]
    lines = [
        "## Transcribing an episode",
        "",
        f"Run on {date} with {command}.",
        "",
        f"- Machine: {machine}",
        f"- Load: the 1-minute load average before each run was {min(loads):.2f}–{max(loads):.2f} "
        f"(median {statistics.median(loads):.2f}) on {report_cpus()} CPUs",
        f"- Software: {software()}",
        f"- Input: the {len(CLIPS)} committed speech clips (TTS of the seed texts: "
        f"`episodes/welcome-to-radical-kindness.flac` and `tests/data/speech/*.flac`) joined with "
        f"{GAP_S:g} s pauses and repeated to {seconds / 60:.1f} minutes, 44.1 kHz stereo WAV; "
        f"{words} words of reference text",
        "- Model: `tiny.en`, the same weights for every row: the bundled CTranslate2 model, and for "
        "openai-whisper a checkpoint converted from it (`rkaudio.ct2_convert`)",
        f"- Runs: {runs} per tool, interleaved; times are medians",
        "",
        "| Tool | Median wall (s) | Min–max (s) | Real-time factor | vs openai-whisper | Median CPU (s) "
        "| Peak RSS, tree (MB) | WER |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    peer = next((t for t in tools if t.key == "openai-whisper"), None)
    same_pipeline = next((t for t in tools if t.key == "rkaudio-ow"), None)
    for t in tools:
        times = [r.wall_s for r in t.runs]
        ratio = f"{peer.median_s / t.median_s:.1f}× faster" if peer is not None and t is not peer else "–"
        lines.append(f"| {t.label} | {t.median_s:.1f} | {min(times):.1f}–{max(times):.1f} | "
                     f"{seconds / t.median_s:.1f}× | {ratio} | {statistics.median(t.cpu):.1f} | "
                     f"{max(r.tree_peak_bytes for r in t.runs) / report.MB:.0f} | {t.median_wer:.1%} |")
    rtf = seconds / default.median_s
    lines += ["", "Targets:", "",
              f"- default engine at least {TARGET_RTF:g}× real time end to end: {rtf:.1f}× — "
              f"{'met' if rtf >= TARGET_RTF else 'NOT met'}"]
    nocond = next((t for t in tools if t.key == "openai-whisper-nocond"), None)
    for other, how in ((peer, "with its defaults"), (nocond, "without conditioning on the previous text, "
                                                           "as rkaudio decodes"),
                       (same_pipeline, "in rkaudio's pipeline, with the same settings")):
        if other is not None:
            ours, theirs = default.median_wer, other.median_wer
            lines.append(f"- word error rate no worse than openai-whisper's on the same weights, {how}: "
                         f"{ours:.1%} vs {theirs:.1%} — {'met' if ours <= theirs + 1e-9 else 'NOT met'}")
    if peer is None and missing_openai:
        lines.append("- openai-whisper is not installed here (`pip install -e '.[openai-whisper]'`), so "
                     "its rows are missing")
    lines += ["", "Notes:", ""]
    if same_pipeline is not None:
        lines.append(
            f"- The two engines in the same pipeline (the same speech windows, the same settings, the same "
            f"weights): faster-whisper took {same_pipeline.median_s / default.median_s:.1f}× less wall time "
            f"and {statistics.median(same_pipeline.cpu) / statistics.median(default.cpu):.1f}× less CPU time "
            f"than openai-whisper, at a word error rate of {default.median_wer:.1%} against "
            f"{same_pipeline.median_wer:.1%}.")
    lines += ["- Wall time is the whole command: Python start-up, model load, decoding the WAV, voice "
              "activity detection, recognition with word timings, and (for rkaudio) cutting captions "
              "and writing the five transcript formats and their published copies. CPU time is user plus "
              "system time of the command and all its child processes; it depends much less than wall "
              "time on what else the machine is doing.",
              f"- rkaudio's engines hear only the speech that voice activity detection finds, in windows "
              f"of at most 30 s, with beam {settings.beam_size}, no conditioning on the previous text, "
              f"Whisper's no-speech, log-probability and compression-ratio thresholds, and temperature "
              f"fallback. faster-whisper decodes {settings.batch_size} windows at once (batched), int8, in "
              f"one single-threaded decoder per core; "
              f"openai-whisper decodes one window at a time in fp32. The `whisper` command runs its own "
              f"sequential 30 s windows over the whole file in fp32 with its defaults (beam 5, "
              f"conditioning on the previous text, temperature fallback) and word timestamps; its second "
              f"row turns the conditioning off, the one setting in which rkaudio (as its issue requires, "
              f"against runaway invented text) differs from those defaults.",
              "- WER: jiwer's word error rate after lower-casing, removing punctuation, splitting "
              "hyphens and mapping British to American spelling (the model writes American), on each "
              "run's plain-text output (`tests/wer_helpers.py`); the median of the runs. The programme "
              f"repeats the clips about {words / clip_words():.1f} times, so a phrase misheard in "
              "every repetition counts that many times: the rows differ by a few distinct phrases "
              "(`bench/out/transcribe/` keeps every run's text).",
              "- Peak RSS (tree): the highest total resident memory of the command and its child "
              "processes (ffmpeg), sampled every 50 ms; the worst of all runs. MB = 10^6 bytes."]
    return "\n".join(lines) + "\n"


def report_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def software() -> str:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"rkaudio {version('rkaudio')}, faster-whisper {version('faster-whisper')}, ctranslate2 "
            f"{version('ctranslate2')}, openai-whisper {version('openai-whisper')}, torch {version('torch')}, "
            f"jiwer {version('jiwer')}, Python {sys.version.split()[0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the joined programme (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool (default 3)")
    parser.add_argument("--no-openai", action="store_true", help="skip the openai-whisper rows")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)
    ffmpeg = ffmpeg_tool.executable()
    machine, date = report.machine_summary(), report.now()
    OUT.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RKAUDIO_")}
    env.update(RKAUDIO_FFMPEG=ffmpeg, PATH=f"{ffmpeg_dir(ffmpeg)}{os.pathsep}{env.get('PATH', '')}")
    try:
        wav, reference, seconds = build_programme(ffmpeg, args.minutes, OUT)
        print(f"Programme: {wav.relative_to(REPO)}, {seconds / 60:.1f} min, {len(reference.split())} words")
        openai = has_openai_whisper() and not args.no_openai
        checkpoint = converted_checkpoint(OUT) if openai else None
        with tempfile.TemporaryDirectory(dir=OUT) as scratch:
            show = Path(scratch) / "show"
            subprocess.run([console_script("rkaudio") or "rkaudio", "init", str(show), "--quiet"],
                           check=True, env=env)
            tools = tools_for(wav, show, Path(scratch) / "whisper", checkpoint)
            run_all(tools, args.runs, env, reference)
    except (BenchError, subprocess.CalledProcessError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    command = ("bench/transcribe.py` (the defaults `make bench` uses)" if args.minutes == 10 and args.runs == 3
               and not args.no_openai else f"bench/transcribe.py --minutes {args.minutes:g} --runs {args.runs}`")
    command = "`python " + command
    markdown = render(tools, seconds, len(reference.split()), args.runs, machine, date, command,
                      missing_openai=not has_openai_whisper())
    report.publish(markdown, SECTION, results=OUT / "results.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
