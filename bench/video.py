"""Benchmark: processing a webinar (video in, MP3 and finished video out) against processing its
sound alone.

``make bench`` runs this script. It makes a 60-minute 720p webinar from the speech-like recording
``run.py`` generates (the same file, `speech.ensure_input`): ffmpeg's ``testsrc2`` picture at
1280x720, encoded once with libx264 (ultrafast, a low frame rate so the fixture is quick to make),
and the recording's sound as AAC, as a webinar platform delivers it. The sound alone is that AAC
track, stream-copied into an M4A, so both runs decode exactly the same audio.

Then, interleaved so a busy spell on the machine hits both alike, it times ``rkaudio process`` on
each (the show made by ``rkaudio init``, with its intro and outro; no transcript):

1. the M4A: the MP3 only;
2. the MP4: the MP3 and ``feed/media/<slug>.mp4`` (the picture's packets and the MP3's frames over
   the programme copied, muxed with chapters and faststart).

Wall time and the peak memory of the whole process tree are recorded for every run; the finished
video's sound is measured with pyloudnorm (never rkaudio's meter) and its picture packets are
compared with the input's by MD5. The table goes into BENCHMARKS.md between the ``bench:video``
markers.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import meter
import report
import speech
from run import OUT, SOURCE_CLIP, BenchError, console_script, make_show, tool_env
from timing import RunResult, log_tail, timed_run

from rkaudio.audio import ffmpeg_tool

SECTION = "video"
VOUT = OUT / "video"
#: The issue's target: a video input takes at most this many times as long as its sound alone.
TARGET_RATIO = 1.3
#: The webinar's picture: 720p, at a low frame rate so that making the fixture stays cheap (the
#: picture is copied, never decoded, so its frame rate costs rkaudio nothing but bytes to copy).
SIZE = "1280x720"
FPS = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time rkaudio process on a generated 720p webinar against "
                                                 "the same on its sound alone.")
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the webinar (default 60)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3); medians reported")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.runs < 1:
        parser.error("--minutes must be positive and --runs at least 1")
    return args


def _ffmpeg(ffmpeg: str, *args: str, what: str) -> None:
    proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"ffmpeg failed while {what}:\n{proc.stderr[-2000:]}")


def make_webinar(ffmpeg: str, wav: Path, seconds: float, mp4: Path, m4a: Path, log=print) -> None:
    """The webinar (720p picture + the recording as AAC) and its sound alone, unless already made."""
    if mp4.exists() and m4a.exists() and mp4.stat().st_mtime >= wav.stat().st_mtime:
        log(f"Using cached webinar {mp4}")
        return
    log(f"Making a {seconds / 60:g}-minute {SIZE} webinar {mp4} ...")
    part = mp4.with_name(mp4.stem + ".part.mp4")
    _ffmpeg(ffmpeg, "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={FPS}:duration={seconds}",
            "-i", f"file:{wav}", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
            "-g", str(FPS * 10), "-c:a", "aac", "-b:a", "128k", "-t", f"{seconds}", "-movflags", "+faststart",
            f"file:{part}", what="making the webinar")
    part.replace(mp4)
    _ffmpeg(ffmpeg, "-i", f"file:{mp4}", "-map", "0:a:0", "-c", "copy", f"file:{m4a}",
            what="copying out the webinar's sound")


def packets_md5(ffmpeg: str, path: Path) -> str:
    proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", f"file:{path}",
                           "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"], capture_output=True, text=True)
    return proc.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    VOUT.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_tool.executable()
    env = tool_env(ffmpeg)
    rkaudio = console_script("rkaudio")
    machine = report.machine_summary()
    date = report.now()
    seconds = args.minutes * 60
    wav = OUT / f"speech-{args.minutes:g}min.wav"
    speech.ensure_input(ffmpeg, SOURCE_CLIP, wav, seconds)
    mp4 = VOUT / f"webinar-{args.minutes:g}min.mp4"
    m4a = VOUT / f"webinar-{args.minutes:g}min.m4a"
    make_webinar(ffmpeg, wav, seconds, mp4, m4a)
    video_mb = mp4.stat().st_size / report.MB

    runs: dict[str, list[RunResult]] = {"audio": [], "video": []}
    cpu: dict[str, list[float]] = {"audio": [], "video": []}
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        show = make_show(rkaudio, Path(scratch), env)
        contenders = {
            "audio": ([rkaudio, "process", str(m4a), "--no-transcribe", "--quiet", "--slug", "sound",
                       "--workspace", str(show)], [show / "feed" / "media" / "sound.mp3"]),
            "video": ([rkaudio, "process", str(mp4), "--no-transcribe", "--quiet", "--slug", "webinar",
                       "--workspace", str(show)],
                      [show / "feed" / "media" / "webinar.mp3", show / "feed" / "media" / "webinar.mp4"]),
        }
        for round_no in range(1, args.runs + 1):
            print(f"Round {round_no} of {args.runs}")
            for key, (argv_, outputs) in contenders.items():
                for path in outputs:
                    path.unlink(missing_ok=True)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                result = timed_run(key, argv_, env=env, log=VOUT / f"{key}.log")
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[key].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                if not result.ok or not all(p.exists() for p in outputs):
                    raise BenchError(f"rkaudio process on the {key} failed (exit {result.returncode}):\n"
                                     f"{log_tail(result.log)}")
                runs[key].append(result)
                print(f"  {key}: {result.wall_s:.1f} s, CPU {cpu[key][-1]:.1f} s, "
                      f"peak RSS {result.tree_peak_bytes / report.MB:.0f} MB")
        finished = show / "feed" / "media" / "webinar.mp4"
        copied = packets_md5(ffmpeg, finished) == packets_md5(ffmpeg, mp4)
        print("Measuring the outputs ...")
        video_level = meter.measure(ffmpeg, finished)
        mp3_level = meter.measure(ffmpeg, show / "feed" / "media" / "webinar.mp3")
        out_mb = finished.stat().st_size / report.MB

    med = {k: statistics.median(r.wall_s for r in v) for k, v in runs.items()}
    peak = {k: max(r.tree_peak_bytes for r in v) / report.MB for k, v in runs.items()}
    ratio = med["video"] / med["audio"]
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    level_ok = abs(video_level.integrated_lufs + 16) <= report.LUFS_TOLERANCE and video_level.true_peak_dbtp <= -0.95
    minutes = args.minutes
    verdict = "met" if ratio <= TARGET_RATIO else "**not met**"
    lines = [
        "## Processing a webinar (video in, video out)", "",
        f"Run on {date} with `python bench/video.py" + ("`" if minutes == 60 and args.runs == 3
                                                        else f" --minutes {minutes:g} --runs {args.runs}`")
        + " (`make bench` runs it with the defaults).", "",
        f"- Machine: {machine}",
        f"- Input: a {minutes:g}-minute {SIZE} webinar ({video_mb:.0f} MB): ffmpeg's `testsrc2` picture "
        f"at {FPS} fps, libx264 ultrafast, with the {minutes:g}-minute speech-like recording of `bench/run.py` "
        "as 128 kbit/s AAC. \"Sound alone\" is that AAC track copied into an M4A: the same audio, decoded the same way",
        f"- Runs: {args.runs} of each, interleaved; times are medians, the ratio is median over median",
        "",
        "| Input | Median wall (s) | Min–max (s) | vs sound alone | Median CPU (s) | CPU vs sound alone "
        "| Peak RSS, tree (MB) | Writes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, label, writes in (("audio", "sound alone (M4A)", "MP3"),
                               ("video", f"webinar (MP4, {SIZE})", f"MP3 + MP4 ({out_mb:.0f} MB)")):
        times = [r.wall_s for r in runs[key]]
        lines.append(f"| {label} | {med[key]:.1f} | {min(times):.1f}–{max(times):.1f} | "
                     f"{med[key] / med['audio']:.2f}× | {cpu_med[key]:.1f} | {cpu_med[key] / cpu_med['audio']:.2f}× | "
                     f"{peak[key]:.0f} | {writes} |")
    lines += [
        "", "Targets:", "",
        f"- a video input takes ≤ {TARGET_RATIO:g}× its sound alone: {ratio:.2f}× wall time "
        f"({cpu_med['video'] / cpu_med['audio']:.2f}× CPU time) — {verdict}",
        f"- the picture is copied, not encoded: video packets' MD5 {'identical' if copied else 'DIFFERENT'} "
        f"to the input's — {'met' if copied else '**not met**'}",
        f"- the video's sound on target (independent meter): {video_level.integrated_lufs:.2f} LUFS, "
        f"{video_level.true_peak_dbtp:.2f} dBTP (the MP3: {mp3_level.integrated_lufs:.2f} LUFS, "
        f"{mp3_level.true_peak_dbtp:.2f} dBTP) — {'met' if level_ok else '**not met**'}",
        f"- memory flat: the webinar's peak RSS {peak['video']:.0f} MB against {peak['audio']:.0f} MB "
        f"for its sound alone, with a {video_mb:.0f} MB input",
        "", "Notes:", "",
        "- Both runs use the show `rkaudio init` makes (intro and outro, leveller on) and `--no-transcribe`.",
        "- The webinar's extra work: the finishing run's meter also measures the programme's span of "
        "the MP3, then ffmpeg copies the picture's packets and that span of "
        "the MP3's frames, with the captions, chapters and title, into the MP4 (faststart: a second "
        "pass that moves the index to the front); and every pass over the recording reads the larger file.",
        "- CPU is the user and system time of rkaudio and all its ffmpeg processes (getrusage of the "
        "waited children): less sensitive than wall time to other work on a shared machine.",
        "- Peak RSS (tree) is the highest total resident memory of rkaudio and its ffmpeg processes, "
        "sampled every 50 ms; the worst of all runs. MB = 10^6 bytes.",
        "- Output loudness and true peak: decoded to float and measured with pyloudnorm and a 4× "
        "oversampled peak (scipy).",
    ]
    report.publish("\n".join(lines) + "\n", SECTION, results=VOUT / "results.md", write=not args.no_write)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
