"""Benchmark: ``rkaudio build`` on a whole show: nothing to do, one episode retitled, and six new
recordings side by side against six separate ``rkaudio process`` runs.

1. A 50-episode show is built once (50 recordings of 2 s in ``episodes/``, transcribed, speaker
   labels off). Then ``rkaudio build`` runs as a producer runs it (a fresh process each time):
   - with nothing to do (target: at most 2 s, and no file written);
   - after one episode's title changed (target: at most 3 s: one MP3 retagged, feed and site).
2. Six new recordings of about two minutes each (the committed speech clips, joined) in a fresh
   show with the default settings (leveller, stings, transcript with speaker labels): the time of
   ``rkaudio build`` against six ``rkaudio process`` runs one after the other, interleaved,
   several times (target: build at most 0.6 times the six runs).
3. A season of uneven recordings: three of those, and a long webinar (four of them joined) dropped
   in last; ``rkaudio build`` against four ``rkaudio process`` runs, interleaved (no target: the
   long one bounds what running side by side can gain).

Times are medians of wall time, including each process's start-up. Results go into BENCHMARKS.md
between the ``bench:build`` markers.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SECTION = "build"
CLIPS = sorted((REPO / "tests" / "data" / "speech").glob("*.flac"))
RKAUDIO = [sys.executable, "-m", "rkaudio.cli"]


def ffmpeg(*args: str) -> None:
    from rkaudio.audio import ffmpeg_tool

    ffmpeg_tool.run(["-y", "-v", "error", *args], what="making a benchmark recording")


def new_show(root: Path, *, speakers: bool) -> None:
    from rkaudio.pipeline.workspace import init_show

    init_show(root, "Benchmark Show")
    toml = root / "show.toml"
    text = toml.read_text(encoding="utf-8").replace('base_url = ""', 'base_url = "https://example.org/bench"')
    if not speakers:
        text = text.replace('speakers = "auto"', 'speakers = "off"', 1)
    toml.write_text(text, encoding="utf-8")


def run(root: Path, *args: str | Path) -> float:
    """Wall time of one rkaudio command in ``root``; it must succeed."""
    env = dict(os.environ)
    start = time.perf_counter()
    done = subprocess.run([*RKAUDIO, *map(str, args), "--quiet"], cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rkaudio {' '.join(map(str, args))} failed in {root}:\n{done.stdout}\n{done.stderr}")
    return seconds


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def fifty(work: Path, episodes: int, runs: int) -> tuple[list[float], list[float], float, bool]:
    root = work / "fifty"
    new_show(root, speakers=False)
    for n in range(episodes):
        clip = CLIPS[n % len(CLIPS)]
        ffmpeg("-ss", str(1 + n % 10), "-t", "2", "-i", str(clip), "-ac", "1", "-ar", "16000",
               str(root / "episodes" / f"talk-{n + 1:03d}.flac"))
    print(f"Building a {episodes}-episode show in {root} ...", flush=True)
    first = run(root, "build")
    idle, retitle = [], []
    unchanged = True
    metadata = root / "episodes" / "talk-025.md"
    for n in range(runs):
        before = snapshot(root)
        idle.append(run(root, "build"))
        unchanged &= snapshot(root) == before
        text = metadata.read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.startswith("title = "))
        metadata.write_text(text.replace(title, f'title = "Retitled, take {n + 1}"'), encoding="utf-8")
        retitle.append(run(root, "build"))
        print(f"  run {n + 1}: nothing to do {idle[-1]:.2f} s, one retitled {retitle[-1]:.2f} s", flush=True)
    return idle, retitle, first, unchanged


def join(parts: list[Path], target: Path, *options: str) -> Path:
    """``parts`` one after another, in ``target``."""
    inputs = [arg for part in parts for arg in ("-i", str(part))]
    joined = "".join(f"[{k}:a]" for k in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1[out]"
    ffmpeg(*inputs, "-filter_complex", joined, "-map", "[out]", *options, str(target))
    return target


def recordings(work: Path, count: int) -> list[Path]:
    folder = work / "recordings"
    folder.mkdir()
    return [join([CLIPS[(n + k) % len(CLIPS)] for k in range(4)], folder / f"webinar-{n + 1}.flac",
                 "-ac", "2", "-ar", "44100")
            for n in range(count)]


def rounds(work: Path, name: str, season: list[Path], runs: int) -> tuple[list[float], list[float]]:
    """``rkaudio process`` on each of ``season`` in turn, against one ``rkaudio build`` of them all
    (each recording newer than the one before), ``runs`` times, each in a fresh show."""
    separate, together = [], []
    for n in range(runs):
        root = work / f"{name}-separate-{n}"
        new_show(root, speakers=True)
        start = time.perf_counter()
        for recording in season:
            run(root, "process", recording)
        separate.append(time.perf_counter() - start)
        root = work / f"{name}-build-{n}"
        new_show(root, speakers=True)
        for k, recording in enumerate(season):
            copy = root / "episodes" / recording.name
            shutil.copy2(recording, copy)
            os.utime(copy, (1_700_000_000 + k, 1_700_000_000 + k))
        together.append(run(root, "build"))
        print(f"  run {n + 1}: {len(season)} process runs {separate[-1]:.1f} s, build {together[-1]:.1f} s "
              f"({together[-1] / separate[-1]:.2f}x)", flush=True)
    return separate, together


def six(work: Path, made: list[Path], runs: int) -> tuple[list[float], list[float], float]:
    from rkaudio.audio import ffmpeg_tool

    minutes = sum(ffmpeg_tool.probe(p).duration for p in made) / 60
    return *rounds(work, "six", made, runs), minutes


def mixed(work: Path, made: list[Path], runs: int) -> tuple[list[float], list[float], float]:
    """Three recordings, then a long one made of four joined, each newer than the last: the time of
    ``rkaudio process`` on each in turn against one ``rkaudio build``; and the long one's minutes."""
    from rkaudio.audio import ffmpeg_tool

    long = join(made[:4], work / "recordings" / "long-webinar.flac")
    return *rounds(work, "mixed", [*made[-3:], long], runs), ffmpeg_tool.probe(long).duration / 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--new", type=int, default=6, help="new recordings built side by side")
    parser.add_argument("--runs", type=int, default=5, help="runs of the quick builds")
    parser.add_argument("--batch-runs", type=int, default=2, help="runs of the six recordings each way")
    parser.add_argument("--mixed-runs", type=int, default=2, help="runs of the uneven season each way")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rkaudio-bench-build-"))
    try:
        idle, retitle, first, unchanged = fifty(work, args.episodes, args.runs)
        made = recordings(work, args.new)
        separate, together, minutes = six(work, made, args.batch_runs)
        uneven_separate, uneven_together, long_minutes = mixed(work, made, args.mixed_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    ratio = med(together) / med(separate)
    ok_idle, ok_retitle, ok_batch = med(idle) <= 2.0, med(retitle) <= 3.0, ratio <= 0.6
    markdown = "\n".join([
        "## Building a whole show",
        "",
        f"Run on {report.now()} with `python bench/build.py` (what `make bench` runs).",
        "",
        f"- Machine: {report.machine_summary()} (the load average when the run began)",
        f"- Software: rkaudio, Python {platform.python_version()}; every time is a fresh `rkaudio` process "
        "(start-up included), as a producer runs it",
        f"- A {args.episodes}-episode show (2 s recordings, transcribed, speaker labels off), built once in "
        f"{first:.1f} s; then {args.runs} runs of each quick build",
        f"- {args.new} new recordings of {minutes / args.new:.1f} minutes each ({minutes:.1f} minutes in all; the "
        "committed speech clips joined), default settings (leveller, intro and outro, transcript with speaker "
        f"labels), {args.batch_runs} runs each way, interleaved, in a fresh show each time",
        "",
        "| Build | Median (s) | Min–max (s) | Target | |",
        "|---|---:|---:|---:|---|",
        f"| nothing to do, {args.episodes} episodes | {med(idle):.2f} | {min(idle):.2f}–{max(idle):.2f} | ≤ 2 s | "
        f"{'met' if ok_idle else '**not met**'}{'' if unchanged else '; files were written'} |",
        f"| one episode of {args.episodes} retitled | {med(retitle):.2f} | {min(retitle):.2f}–{max(retitle):.2f} "
        f"| ≤ 3 s | {'met' if ok_retitle else '**not met**'} |",
        f"| {args.new} separate `rkaudio process` runs | {med(separate):.1f} | {min(separate):.1f}–{max(separate):.1f} "
        "| | |",
        f"| `rkaudio build`, the same {args.new} recordings | {med(together):.1f} | "
        f"{min(together):.1f}–{max(together):.1f} | ≤ 0.6× the separate runs | {ratio:.3f}×: "
        f"{'met' if ok_batch else '**not met**'} |",
        "",
        "Run by run, the build took " + ", ".join(f"{b / s:.2f}×" for b, s in zip(together, separate))
        + f" the separate runs of the same round (worst {max(b / s for b, s in zip(together, separate)):.2f}×).",
        "",
        f"A season of uneven recordings: three of those and a {long_minutes:.1f}-minute webinar (four of them "
        f"joined), dropped in last; {args.mixed_runs} runs each way. Four separate `rkaudio process` runs took "
        f"{med(uneven_separate):.1f} s ({min(uneven_separate):.1f}–{max(uneven_separate):.1f}), `rkaudio build` "
        f"{med(uneven_together):.1f} s ({min(uneven_together):.1f}–{max(uneven_together):.1f}): "
        f"{med(uneven_together) / med(uneven_separate):.2f}× (the build takes the long one first, and gives it "
        "the cores the others leave).",
        "",
        f"With nothing to do, the build wrote {'no file' if unchanged else 'files (a fault)'}: every file in the show "
        "kept its bytes and its modification time.",
    ])
    report.publish(markdown, SECTION, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
