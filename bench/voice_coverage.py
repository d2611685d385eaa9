"""Benchmark: how much of the speech the transcript covers across changes of voice, and what that costs.

1. Coverage on the three-voice panels (``tests/data/panels/``), measured against each panel's
   ground truth (every turn's span, as the panel was made): the fraction of the turns' time within
   0.3 s of a decoded word, in total and for the worst turn, and the word error rate. Each panel is
   transcribed in-process by the default engine twice: as rkaudio does, and with the batched
   decoder alone (what rkaudio did before it checked coverage), so the difference is measured in
   one session on the same weights.
2. Speed and memory end to end: ``rkaudio transcribe`` on a programme of the committed speech clips
   and the panels (``bench/transcribe.py`` builds it), a 44.1 kHz stereo WAV, several interleaved
   runs, medians. With ``--baseline-src DIR`` (a checkout of an earlier rkaudio) the same command
   also runs from that source, interleaved, for a before-and-after in one session.

Results go into BENCHMARKS.md between the ``bench:coverage`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import report
import transcribe as programme
from timing import RunResult, log_tail, timed_run

from rkaudio.audio import ffmpeg_tool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from coverage_helpers import REACH_S, covered  # noqa: E402  (the tests' measure, so both agree)
from wer_helpers import normalise, wer  # noqa: E402  (the tests' scorer, so both agree)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out" / "coverage"
PANELS = REPO / "tests" / "data" / "panels"
SECTION = "coverage"
#: Targets from the issue.
TARGET_COVERAGE = 0.97
TARGET_TURN = 0.85
TARGET_RTF = 20.0


def panels() -> list[tuple[Path, list[dict]]]:
    found = []
    for truth in sorted(PANELS.glob("*.turns.json")):
        data = json.loads(truth.read_text(encoding="utf-8"))
        found.append((PANELS / data["audio"], data["turns"]))
    return found


@dataclass
class PanelResult:
    name: str
    seconds: float
    turns: list[float]            # coverage of each turn
    total: float                  # coverage of all turns' time
    wer: float
    vad_coverage: float           # rkaudio's own measure, against its voice activity detection
    redecoded: int
    elapsed_s: float


def measure_panels(recover: bool) -> list[PanelResult]:
    from rkaudio.show.settings import TranscriptSettings
    from rkaudio.speech import recognise
    from rkaudio.speech.coverage import Recovery
    from rkaudio.speech.engines import load_engine

    engine = load_engine(TranscriptSettings(), "en")
    real = recognise.recover
    if not recover:
        recognise.recover = lambda engine, audio, windows, spans, words: (list(words), Recovery())  # type: ignore
    try:
        results = []
        for audio, turns in panels():
            asr = recognise.transcribe_file(audio, engine, language="en")
            spans = [(w.start, w.end) for w in asr.words]
            each = [covered(t["start"], t["end"], spans) / (t["end"] - t["start"]) for t in turns]
            total = (sum(covered(t["start"], t["end"], spans) for t in turns)
                     / sum(t["end"] - t["start"] for t in turns))
            reference = " ".join(t["text"] for t in turns)
            results.append(PanelResult(audio.stem, asr.duration, each, total,
                                       wer(reference, " ".join(w.text for w in asr.words)), asr.coverage,
                                       asr.recovery.windows, asr.elapsed_s))
        return results
    finally:
        recognise.recover = real


@dataclass
class Command:
    label: str
    env: dict[str, str]
    runs: list[RunResult] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)
    redecoded: list[int] = field(default_factory=list)
    wers: list[float] = field(default_factory=list)
    #: CPU seconds (user + system) of the command and its children, per run: much less sensitive
    #: than wall time to what else a shared machine is doing.
    cpu: list[float] = field(default_factory=list)
    #: The 1-minute load average just before each run.
    load: list[float] = field(default_factory=list)


def time_commands(commands: list[Command], wav: Path, reference: str, runs: int) -> None:
    rkaudio = programme.console_script("rkaudio") or "rkaudio"
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        show = Path(scratch) / "show"
        subprocess.run([rkaudio, "init", str(show), "--quiet"], check=True, env=commands[0].env)
        for run in range(1, runs + 1):
            print(f"Round {run} of {runs}", flush=True)
            for k, command in enumerate(commands):
                slug = f"c{k}-{run}"
                log = OUT / "logs" / f"{slug}.log"
                command.load.append(os.getloadavg()[0])
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                result = timed_run(command.label, [rkaudio, "transcribe", str(wav), "--workspace", str(show),
                                                   "--slug", slug, "--json", "--quiet"], env=command.env, log=log)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                command.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
                if not result.ok:
                    raise RuntimeError(f"{command.label} failed (exit {result.returncode}):\n{log_tail(log)}")
                text = log.read_text(encoding="utf-8")
                data = json.loads(text[text.index("{"):text.rindex("}") + 1])
                command.runs.append(result)
                command.coverage.append(data["asr"].get("coverage", float("nan")))
                command.redecoded.append(data["asr"].get("redecoded", {}).get("windows", 0))
                plain = (show / "transcripts" / f"{slug}.txt").read_text(encoding="utf-8")
                # A speaker named where they start ("Speaker 2: ...") is not a word that was spoken.
                plain = re.sub(r"^Speaker \d+: ", "", plain, flags=re.M)
                command.wers.append(wer(reference, plain))
                print(f"  {command.label}: {result.wall_s:.1f} s, CPU {command.cpu[-1]:.1f} s, "
                      f"load {command.load[-1]:.2f} before, peak {result.tree_peak_bytes / report.MB:.0f} MB, "
                      f"coverage {command.coverage[-1]:.1%}, WER {command.wers[-1]:.1%}", flush=True)


def render(before: list[PanelResult], after: list[PanelResult], commands: list[Command], seconds: float,
           runs: int, machine: str, date: str, command_line: str) -> str:
    lines = [
        "## Coverage across changes of voice",
        "",
        f"Run on {date} with `{command_line}`.",
        "",
        f"- Machine: {machine}",
        f"- Software: {programme.software()}",
        "- Panels: `tests/data/panels/*.flac`, three synthetic voices each (eSpeak NG, Flite, Festival), turns "
        "of 7-22 s with pauses under a second; coverage is the fraction of the turns' time (from each panel's "
        f"`.turns.json`) within {REACH_S:g} s of a decoded word, measured by the benchmark itself",
        "- Model: the bundled `tiny.en`, faster-whisper, the default settings",
        "",
        "| Panel | Length (s) | Batched alone: coverage | worst turn | WER | rkaudio: coverage | worst turn | WER "
        "| windows decoded again |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b, a in zip(before, after):
        lines.append(f"| {a.name} | {a.seconds:.1f} | {b.total:.1%} | {min(b.turns):.0%} | {b.wer:.1%} | "
                     f"{a.total:.1%} | {min(a.turns):.0%} | {a.wer:.1%} | {a.redecoded} |")
    all_b = sum(b.total * b.seconds for b in before) / sum(b.seconds for b in before)
    all_a = sum(a.total * a.seconds for a in after) / sum(a.seconds for a in after)
    worst = min(min(a.turns) for a in after)
    lines += ["", f"All panels (weighted by length): {all_b:.1%} with the batched decoder alone, {all_a:.1%} "
                  f"with rkaudio; the worst turn {min(min(b.turns) for b in before):.0%} and {worst:.0%}.", ""]
    if commands:
        lines += [f"End to end, `rkaudio transcribe` on {seconds / 60:.1f} minutes of the committed speech clips "
                  f"and the panels (44.1 kHz stereo WAV, {runs} interleaved runs, medians):", "",
                  "| Source | Median wall (s) | Min–max (s) | Real-time factor | Median CPU (s) "
                  "| Audio s per CPU s | Peak RSS, tree (MB) | Coverage of detected speech | Windows decoded again "
                  "| WER |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in commands:
            times = [r.wall_s for r in c.runs]
            med = statistics.median(times)
            cov = statistics.median(c.coverage)
            cpu = statistics.median(c.cpu)
            lines.append(f"| {c.label} | {med:.1f} | {min(times):.1f}–{max(times):.1f} | {seconds / med:.1f}× | "
                         f"{cpu:.1f} | {seconds / cpu:.1f} | "
                         f"{max(r.tree_peak_bytes for r in c.runs) / report.MB:.0f} | "
                         f"{'–' if cov != cov else f'{cov:.1%}'} | {statistics.median(c.redecoded)} | "
                         f"{statistics.median(c.wers):.1%} |")
        loads = [load for c in commands for load in c.load]
        lines += ["", f"The 1-minute load average before each run was {min(loads):.2f}–{max(loads):.2f} (median "
                      f"{statistics.median(loads):.2f}) on {programme.report_cpus()} CPUs."]
        if statistics.median(loads) > programme.report_cpus():
            # Other work held the cores: wall time measures the machine's queue, not rkaudio.
            lines.append("Other work kept more than every core busy, so the wall times (and the real-time "
                         "target below) say more about the machine than about rkaudio: compare the CPU time, "
                         "which other work hardly changes, and the rows with each other.")
        lines.append("")
    rtf = seconds / statistics.median(r.wall_s for r in commands[0].runs) if commands else None
    lines += ["Targets:", "",
              f"- coverage on the panels at least {TARGET_COVERAGE:.0%} of speech: {all_a:.1%} — "
              f"{'met' if all_a >= TARGET_COVERAGE and all(a.total >= TARGET_COVERAGE for a in after) else 'NOT met'}",
              f"- every turn at least {TARGET_TURN:.0%} covered: worst {worst:.0%} — "
              f"{'met' if worst >= TARGET_TURN else 'NOT met'}"]
    if rtf is not None:
        lines.append(f"- transcription end to end at least {TARGET_RTF:g}× real time: {rtf:.1f}× — "
                     f"{'met' if rtf >= TARGET_RTF else 'NOT met'}")
        labelled = [c for c in commands if c.label.endswith("speaker labels on")]
        if labelled:
            both = seconds / statistics.median(r.wall_s for r in labelled[0].runs)
            lines.append(f"- with speaker labels as well (the diarizer's own target is 30× on its own, in "
                         f"the speaker-label section): {both:.1f}× end to end")
    lines += ["", "Notes:", "",
              "- Coverage of detected speech (end to end) is rkaudio's own measure, reported by `rkaudio "
              "transcribe --json`: the fraction of the speech Silero found that lies within 0.3 s of a word.",
              "- A window is decoded again when its words leave 2 s of its speech uncovered: first the part "
              "holding the gap, cut at the pauses around it, batched; then, if still uncovered, sequentially.",
              "- Peak RSS (tree): the highest total resident memory of the command and its child processes, "
              "sampled every 50 ms; the worst of all runs. MB = 10^6 bytes."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the timed programme (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--baseline-src", type=Path, help="also time the command from this rkaudio source tree")
    parser.add_argument("--no-timing", action="store_true", help="only the panels' coverage")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    machine, date = report.machine_summary(), report.now()
    print("Panels, batched decoder alone ...", flush=True)
    before = measure_panels(recover=False)
    print("Panels, rkaudio ...", flush=True)
    after = measure_panels(recover=True)
    for b, a in zip(before, after):
        print(f"  {a.name}: {b.total:.1%} (worst turn {min(b.turns):.0%}) -> {a.total:.1%} "
              f"(worst turn {min(a.turns):.0%}), WER {b.wer:.1%} -> {a.wer:.1%}", flush=True)
    commands: list[Command] = []
    seconds = 0.0
    if not args.no_timing:
        ffmpeg = ffmpeg_tool.executable()
        programme.OUT = OUT
        programme.CLIPS = programme.CLIPS + [(audio, OUT / f"{audio.stem}.txt") for audio, _ in panels()]
        for audio, turns in panels():
            (OUT / f"{audio.stem}.txt").write_text(" ".join(t["text"] for t in turns), encoding="utf-8")
        wav, reference, seconds = programme.build_programme(ffmpeg, args.minutes, OUT)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RKAUDIO_") and k != "PYTHONPATH"}
        env["RKAUDIO_FFMPEG"] = ffmpeg
        # The transcript alone (speaker labels off), then as `process` makes it by default, with
        # the diarizer labelling speakers: the target is the first; the second shows what labels cost.
        commands.append(Command("this rkaudio, speaker labels off", {**env, "RKAUDIO_SPEAKERS": "off"}))
        commands.append(Command("this rkaudio, speaker labels on", {**env, "RKAUDIO_SPEAKERS": "auto"}))
        if args.baseline_src is not None:
            commands.append(Command(f"baseline ({args.baseline_src.name})",
                                    {**env, "PYTHONPATH": str(args.baseline_src.resolve())}))
        time_commands(commands, wav, normalise(reference), args.runs)
    given = argv if argv is not None else sys.argv[1:]
    shown = ["DIR" if k and given[k - 1] == "--baseline-src" else a for k, a in enumerate(given)]
    line = "python bench/voice_coverage.py" + "".join(f" {a}" for a in shown)
    markdown = render(before, after, commands, seconds, args.runs, machine, date, line)
    report.publish(markdown, SECTION, results=OUT / "results.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
