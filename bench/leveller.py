"""Benchmark: the speech leveller against the levellers ffmpeg users reach for, side by side.

``make bench`` runs this script. It builds a panel recording from the committed speech clips
(three voices at 0, -15 and -7 dB taking turns, pink room tone at -60 dBFS between the turns; the
same kind of recording the tests use, `tests/leveller_helpers.py`), then runs, interleaved, in one
run on one machine:

1. ``rkaudio process`` (the leveller is on by default), no stings, no transcript;
2. ffmpeg-normalize in dynamic mode (loudnorm's dynamic normalisation) to -16 LUFS, -1 dBTP;
3. ffmpeg's ``dynaudnorm`` with its defaults, then an MP3 encode;
4. ffmpeg's ``speechnorm`` with its defaults, then an MP3 encode;

and measures each output with pyloudnorm (never rkaudio's meter): the spread of the turns'
loudness (max - min), how far room tone in the pauses rose against the speech on either side,
how much of each turn's momentary-loudness range (p95 - p10 of 400 ms loudness) is kept, the
integrated loudness, and the wall time. The table goes into BENCHMARKS.md between the
``bench:leveller`` markers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import report
from run import OUT, REPO, BenchError, console_script, make_show, tool_env
from timing import log_tail, timed_run

sys.path.insert(0, str(REPO / "tests"))
import leveller_helpers as lh  # noqa: E402
import media_helpers as mh  # noqa: E402

from rkaudio.audio import ffmpeg_tool  # noqa: E402

SECTION = "leveller"
LOUT = OUT / "leveller"
OFFSETS_DB = [0.0, -15.0, -7.0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Compare rkaudio's leveller with ffmpeg-normalize --dynamic, "
                                                 "dynaudnorm and speechnorm on a generated panel recording.")
    parser.add_argument("--turns", type=int, default=60, help="turns in the panel (default 60, about 6.5 minutes)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (default 3)")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    return parser.parse_args(argv)


def tools(ffmpeg: str, rkaudio: str, show: Path, wav: Path) -> list[tuple[str, str, list[str], Path]]:
    """(key, label, argv, output) of each contender."""
    encode = ["-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"]
    out = {k: LOUT / f"{k}.mp3" for k in ("rkaudio", "normalize", "dynaudnorm", "speechnorm")}
    return [
        ("rkaudio", "rkaudio process (leveller)",
         [rkaudio, "process", str(wav), "--no-transcribe", "--quiet", "--intro", "none", "--outro", "none",
          "--slug", "panel", "--workspace", str(show)], show / "feed" / "media" / "panel.mp3"),
        ("normalize", "ffmpeg-normalize --dynamic",
         [console_script("ffmpeg-normalize"), str(wav), "-t", "-16", "-tp", "-1", "--dynamic", *encode,
          "-ext", "mp3", "-o", str(out["normalize"]), "-f"], out["normalize"]),
        ("dynaudnorm", "ffmpeg dynaudnorm",
         [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(wav), "-af", "dynaudnorm", *encode,
          str(out["dynaudnorm"])], out["dynaudnorm"]),
        ("speechnorm", "ffmpeg speechnorm",
         [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(wav), "-af", "speechnorm", *encode,
          str(out["speechnorm"])], out["speechnorm"]),
    ]


def quality(x, layout: lh.Layout, output: Path) -> dict[str, float]:
    y, rate = mh.decode(output, channels=1)
    y = y[:, 0]
    before = [lh.loudness(x, lh.RATE, a, b) for a, b, _ in layout.turns]
    after = [lh.loudness(y, rate, a, b) for a, b, _ in layout.turns]
    lifts = []
    for start, end in layout.pauses:
        inner = (start + 0.25, end - 0.25)
        pause = lh.loudness(y, rate, *inner) - lh.loudness(x, lh.RATE, *inner)
        around = [after[k] - before[k] for k, (a, b, _) in enumerate(layout.turns)
                  if abs(b - start) < 0.01 or abs(a - end) < 0.01]
        lifts.append(pause - min(around))
    kept = [lh.momentary_range(y, rate, a, b) / lh.momentary_range(x, lh.RATE, a, b) for a, b, _ in layout.turns]
    return {"spread_before": max(before) - min(before), "spread": max(after) - min(after),
            "lift_max": max(lifts), "lift_median": statistics.median(lifts),
            "kept_min": min(kept), "kept_median": statistics.median(kept),
            "lufs": mh.lufs(y, rate)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    LOUT.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_tool.executable()
    env = tool_env(ffmpeg)
    rkaudio = console_script("rkaudio")
    machine = report.machine_summary()
    date = report.now()
    x, layout = lh.conversation(OFFSETS_DB, args.turns)
    wav = lh.write(LOUT / "panel.wav", x)
    minutes = layout.duration / 60
    print(f"Panel: {minutes:.1f} min, {len(layout.turns)} turns")
    times: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        show = make_show(rkaudio, Path(scratch), env)
        contenders = tools(ffmpeg, rkaudio, show, wav)
        for round_no in range(1, args.runs + 1):
            print(f"Round {round_no} of {args.runs}")
            for key, label, argv_, output in contenders:
                output.unlink(missing_ok=True)
                result = timed_run(label, argv_, env=env, log=LOUT / f"{key}.log")
                if not result.ok or not output.exists():
                    raise BenchError(f"{label} failed (exit {result.returncode}):\n{log_tail(result.log)}")
                times.setdefault(key, []).append(result.wall_s)
                peaks[key] = max(peaks.get(key, 0), result.tree_peak_bytes)
                print(f"  {label}: {result.wall_s:.1f} s")
        rows = []
        for key, label, _, output in contenders:
            q = quality(x, layout, output)
            rows.append((key, label, q))
    base = statistics.median(times["rkaudio"])
    lines = ["## Levelling speakers", "",
             f"Run on {date} with `python bench/leveller.py` (what `make bench` runs).", "",
             f"- Machine: {machine}",
             f"- Input: a {minutes:.1f}-minute panel built from the committed speech clips: "
             f"{len(layout.turns)} turns of three voices at {', '.join(f'{o:g}' for o in OFFSETS_DB)} dB, "
             "1.5 s of pink room tone (-60 dBFS) between turns, mono 48 kHz WAV "
             "(`tests/leveller_helpers.py`, the recordings the tests use)",
             f"- Runs: {args.runs} per tool, interleaved; times are medians",
             f"- Turns before levelling spread over {rows[0][2]['spread_before']:.1f} LU", "",
             "| Tool | Turn spread (LU) | Pause lift, max / median (dB) | Dynamics kept, min / median | "
             "Output (LUFS) | Median wall (s) | vs rkaudio | Peak RSS, tree (MB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label, q in rows:
        wall = statistics.median(times[key])
        lines.append(f"| {label} | {q['spread']:.1f} | {q['lift_max']:+.1f} / {q['lift_median']:+.1f} | "
                     f"{q['kept_min']:.0%} / {q['kept_median']:.0%} | {q['lufs']:.1f} | {wall:.1f} | "
                     f"{wall / base:.2f}× | {peaks[key] / report.MB:.0f} |")
    lines += ["", "Targets (the issue's): turn spread ≤ 2 LU; room tone in each pause lifted by no more than "
              "4 dB against the speech around it; every turn keeps ≥ 80% of its momentary-loudness range.", "",
              "Notes:", "",
              "- Turn spread: the highest minus the lowest integrated loudness (pyloudnorm) of the turns "
              "in the output.",
              "- Pause lift: for each pause, the rise of the room tone's loudness minus the smaller rise of "
              "the two turns around it; positive means the room tone came up against the speech.",
              "- Dynamics kept: each turn's p95 - p10 of its 400 ms loudness in the output over the same "
              "in the input.",
              "- rkaudio's time includes measuring, calibrating, the limiter and the check of the "
              "delivered MP3; dynaudnorm and speechnorm are one pass with no loudness target."]
    markdown = "\n".join(lines) + "\n"
    report.publish(markdown, SECTION, results=LOUT / "results.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
