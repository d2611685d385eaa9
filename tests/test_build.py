"""``rkaudio build``: the whole show, only what is out of date, episodes side by side; and
``rkaudio process A B C``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from tinytag import TinyTag

import media_helpers as mh
from conftest import assert_one_line_error, building_show, copy_show, run_subprocess, set_audio
from show_helpers import configure

#: Three recordings whose modification times run against their names: numbering follows the times.
RECORDINGS = {"zebra-talk": 1_700_000_000, "apple-panel": 1_700_000_100, "mango-webinar": 1_700_000_200}


def _recording(folder: Path, name: str, gain: float, mtime: int) -> Path:
    speech = mh.speech(1.5, start=2.0, rate=16000)
    path = mh.write_wav(folder / f"{name}.wav", mh.at_loudness(speech * gain, 16000, -24.0 + gain), 16000)
    os.utime(path, (mtime, mtime))
    return path


def build(*args: str) -> dict:
    out = run_subprocess("build", "--no-transcribe", "--json", *args)
    assert out.code == 0, out
    return out.json


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file in the show: its content's digest and its modification time."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def audio_md5(mp3: Path) -> str:
    """The MP3's audio frames, copied out without decoding (tags left behind)."""
    out = subprocess.run([mh.FFMPEG, "-v", "error", "-i", str(mp3), "-map", "0:a", "-c", "copy", "-f", "md5", "-"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, template_show: Path) -> Path:
    """A show with three recordings in episodes/, built once, in parallel."""
    with building_show(tmp_path_factory, template_show, "built") as root:
        configure(root)
        set_audio(root, intro="", outro="", leveller=False)
        for n, (name, mtime) in enumerate(RECORDINGS.items()):
            _recording(root / "episodes", name, 1 + n / 10, mtime)
        report = build("--jobs", "2")
        assert [e["action"] for e in report["episodes"]] == ["process"] * 3, report
        assert report["feed_rebuilt"] and not report["failed"], report
        yield root


@pytest.fixture
def show_built(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_show(built, tmp_path, monkeypatch)


def test_build_finishes_every_recording_numbered_in_recording_order(built: Path) -> None:
    feed = feedparser.parse((built / "feed" / "feed.xml").read_bytes())
    numbers = {entry.title: int(entry.itunes_episode) for entry in feed.entries}
    # The recording made first is episode 1, whatever its name and whichever job finished first.
    assert numbers == {name: n for n, name in enumerate(RECORDINGS, 1)}
    for name in RECORDINGS:
        assert (built / "feed" / "media" / f"{name}.mp3").is_file()
        assert (built / "feed" / "episodes" / name / "index.html").is_file()


def test_a_build_with_nothing_to_do_writes_nothing(show_built: Path) -> None:
    before = snapshot(show_built)
    report = build()
    assert [e["action"] for e in report["episodes"]] == ["none"] * 3
    assert not report["feed_rebuilt"]
    assert snapshot(show_built) == before


def test_a_new_title_retags_the_mp3_without_touching_its_audio(show_built: Path) -> None:
    mp3 = show_built / "feed" / "media" / "apple-panel.mp3"
    frames = audio_md5(mp3)
    others = {name: (show_built / "feed" / "media" / f"{name}.mp3").stat().st_mtime_ns
              for name in RECORDINGS if name != "apple-panel"}
    metadata = show_built / "episodes" / "apple-panel.md"
    metadata.write_text(metadata.read_text(encoding="utf-8").replace('title = "apple-panel"',
                                                                     'title = "Apples & pears"'), encoding="utf-8")
    report = build()
    actions = {e["slug"]: e["action"] for e in report["episodes"]}
    assert actions == {"zebra-talk": "none", "apple-panel": "retag", "mango-webinar": "none"}
    assert TinyTag.get(str(mp3)).title == "Apples & pears"
    assert audio_md5(mp3) == frames
    assert {name: (show_built / "feed" / "media" / f"{name}.mp3").stat().st_mtime_ns for name in others} == others
    feed = feedparser.parse((show_built / "feed" / "feed.xml").read_bytes())
    assert "Apples & pears" in {entry.title for entry in feed.entries}
    assert "Apples &amp; pears" in (show_built / "feed" / "episodes" / "apple-panel" / "index.html").read_text()
    # and once more: nothing left to do
    assert [e["action"] for e in build()["episodes"]] == ["none"] * 3


def test_build_plans_what_each_change_needs(show_built: Path) -> None:
    def plan() -> dict[str, str]:
        out = run_subprocess("build", "--dry-run", "--json")
        assert out.code == 0, out
        return {e["slug"]: e["action"] for e in out.json["episodes"]}

    before = snapshot(show_built)
    # Never transcribed (built with --no-transcribe): the transcript step is due, nothing else.
    assert set(plan().values()) == {"transcribe"}
    assert snapshot(show_built) == before, "a dry run wrote something"
    toml = show_built / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('author = "', 'author = "New author; was: ', 1),
                    encoding="utf-8")
    out = run_subprocess("build", "--dry-run", "--no-transcribe", "--json")
    assert {e["action"] for e in out.json["episodes"]} == {"retag"}, out
    set_audio(show_built, target=-19.0)
    out = run_subprocess("build", "--dry-run", "--no-transcribe", "--json")
    assert {e["action"] for e in out.json["episodes"]} == {"process"}, out
    assert "audio settings" in out.json["episodes"][0]["why"]


def test_a_changed_recording_is_processed_again_alone(show_built: Path) -> None:
    recording = show_built / "episodes" / "zebra-talk.wav"
    _recording(recording.parent, "zebra-talk", 0.5, 1_700_000_300)
    mp3 = show_built / "feed" / "media" / "zebra-talk.mp3"
    frames = audio_md5(mp3)
    report = build()
    actions = {e["slug"]: (e["action"], e["why"]) for e in report["episodes"]}
    assert actions["zebra-talk"] == ("process", "recording changed")
    assert {actions["apple-panel"][0], actions["mango-webinar"][0]} == {"none"}
    assert audio_md5(mp3) != frames
    # The episode keeps its number.
    feed = feedparser.parse((show_built / "feed" / "feed.xml").read_bytes())
    assert {int(e.itunes_episode) for e in feed.entries if e.title == "zebra-talk"} == {1}


def test_one_failing_recording_does_not_stop_the_others(show_built: Path) -> None:
    (show_built / "episodes" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    _recording(show_built / "episodes", "kiwi-chat", 1.0, 1_700_000_400)
    out = run_subprocess("build", "--no-transcribe", "--jobs", "2")
    assert out.code != 0, out
    assert "Traceback" not in out.err + out.out
    errors = [line for line in out.err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("rkaudio: error: broken:"), out
    assert "broken.wav" in errors[0]
    assert (show_built / "feed" / "media" / "kiwi-chat.mp3").is_file()
    assert "FAILED" in out.out and "kiwi-chat" in out.out
    feed = feedparser.parse((show_built / "feed" / "feed.xml").read_bytes())
    assert "kiwi-chat" in {entry.title for entry in feed.entries}
    assert not (show_built / "feed" / "media" / "broken.mp3").exists()


def test_process_takes_several_recordings(show: Path, tmp_path: Path) -> None:
    configure(show)
    set_audio(show, intro="", outro="", leveller=False)
    first = _recording(tmp_path, "first", 1.0, 1_700_000_000)
    second = _recording(tmp_path, "second", 1.2, 1_700_000_100)
    out = run_subprocess("process", first, second, "--no-transcribe", "--json")
    assert out.code == 0, out
    assert {e["slug"]: e["action"] for e in out.json["episodes"]} == {"first": "process", "second": "process"}
    feed = feedparser.parse((show / "feed" / "feed.xml").read_bytes())
    assert {(e.title, int(e.itunes_episode)) for e in feed.entries} == {("first", 1), ("second", 2)}
    line = assert_one_line_error(run_subprocess("process", first, second, "--slug", "x"), "--slug", "one recording")
    assert "--slug" in line


def test_build_json_reports_each_episode(show_built: Path) -> None:
    report = json.loads(run_subprocess("build", "--no-transcribe", "--json").out)
    assert {e["slug"] for e in report["episodes"]} == set(RECORDINGS)
    assert all(e["source"].startswith("episodes/") for e in report["episodes"])


@pytest.mark.speech
def test_a_transcript_due_is_made_without_encoding_the_audio_again(show_built: Path) -> None:
    """Built without transcripts, then with: each recording is transcribed, and its MP3 retagged with
    the transcript while its audio frames stay as they were."""
    frames = {name: audio_md5(show_built / "feed" / "media" / f"{name}.mp3") for name in RECORDINGS}
    out = run_subprocess("build", "--json", "--jobs", "1")
    assert out.code == 0, out
    assert {e["action"] for e in out.json["episodes"]} == {"transcribe"}, out
    for name in RECORDINGS:
        mp3 = show_built / "feed" / "media" / f"{name}.mp3"
        assert audio_md5(mp3) == frames[name]
        assert (show_built / "transcripts" / f"{name}.vtt").is_file()
        assert (show_built / "feed" / "transcripts" / f"{name}.vtt").is_file()
        from mutagen.id3 import ID3

        lyrics = [frame.text for frame in ID3(mp3).getall("USLT")]
        published = (show_built / "feed" / "transcripts" / f"{name}.txt").read_text(encoding="utf-8")
        assert lyrics and lyrics[0].strip() == published.strip()
    again = run_subprocess("build", "--json")
    assert {e["action"] for e in again.json["episodes"]} == {"none"}, again


def test_progress_from_jobs_side_by_side_reaches_the_producer(show_built: Path) -> None:
    """Each pool job's progress comes back through the queue, every message of it, to the end."""
    from rkaudio.pipeline.build import build as build_show
    from rkaudio.show.config import load_show

    for name in ("zebra-talk", "apple-panel"):
        _recording(show_built / "episodes", name, 1.3, RECORDINGS[name] + 1000)
    seen: list[tuple[str, str, float, float]] = []
    report = build_show(load_show(show_built), jobs=2, on_progress=lambda *item: seen.append(item))
    assert sorted(r.slug for r in report.results if r.ok) == ["apple-panel", "zebra-talk"], report.results
    for slug in ("apple-panel", "zebra-talk"):
        mine = [(stage, done, total) for who, stage, done, total in seen if who == slug]
        assert mine, seen
        # The last word of each stage says it is complete: nothing was lost when the pool closed.
        last = {stage: (done, total) for stage, done, total in mine}
        assert all(done >= total for done, total in last.values()), last


@pytest.mark.parametrize("cores, jobs, groups", [
    ([0, 1], 2, [{0}, {1}]),
    (range(8), 2, [{0, 1, 2, 3}, {4, 5, 6, 7}]),
    ([0, 2, 4, 6, 8], 2, [{0, 2, 4}, {6, 8}]),
    ([0, 1], 3, [{0}, {1}, {0}]),
    ([0, 1, 2, 3], 1, [{0, 1, 2, 3}]),
])
def test_jobs_side_by_side_get_cores_of_their_own(cores, jobs: int, groups: list[set[int]]) -> None:
    from rkaudio.pipeline.build import core_groups

    assert [set(g) for g in core_groups(list(cores), jobs)] == groups


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to share out")
def test_each_job_and_the_ffmpeg_it_runs_keep_to_the_jobs_cores(show_built: Path, tmp_path: Path) -> None:
    """What a job starts runs on its own cores: an ffmpeg that notes the cores it may use, and
    which recording it works on, sees one group per recording, and the groups are the jobs'."""
    from rkaudio.audio import ffmpeg_tool
    from rkaudio.pipeline.build import core_groups
    from rkaudio.speech.engine import allowed_cores

    notes = tmp_path / "cores.txt"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\ncores=$(grep Cpus_allowed_list /proc/self/status | cut -f2)\n'
                       f'echo "$cores $*" >> "{notes}"\nexec "{ffmpeg_tool.executable()}" "$@"\n')
    wrapper.chmod(0o755)
    for name in RECORDINGS:
        _recording(show_built / "episodes", name, 1.35, RECORDINGS[name] + 1000)
    out = run_subprocess("build", "--no-transcribe", "--json", "--jobs", "2", env={"RKAUDIO_FFMPEG": str(wrapper)})
    assert out.code == 0, out
    groups = [set(g) for g in core_groups(allowed_cores(), 2)]
    seen: dict[str, set[str]] = {}
    for line in notes.read_text().splitlines():
        cores, args = line.split(" ", 1)
        for name in RECORDINGS:
            if f"episodes/{name}.wav" in args and "-filter_complex" in args:  # the job's own work
                seen.setdefault(name, set()).add(cores)
    assert set(seen) == set(RECORDINGS), notes.read_text()
    for name, where in seen.items():
        assert len(where) == 1, (name, where)
        assert _expand(next(iter(where))) in groups, (name, where, groups)


def _expand(cpus: str) -> set[int]:
    """A ``Cpus_allowed_list`` ("0-3,6") as a set of cores."""
    found: set[int] = set()
    for part in cpus.split(","):
        lo, _, hi = part.partition("-")
        found.update(range(int(lo), int(hi or lo) + 1))
    return found


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to share out")
def test_the_last_job_takes_the_cores_the_others_leave(tmp_path: Path) -> None:
    """A pool worker keeps to its group of cores while another job is running or waiting; once the
    others are done, its next step may use every core: all its threads, and what it starts then."""
    script = tmp_path / "worker.py"
    script.write_text(
        "import multiprocessing, os, subprocess, threading\n"
        "from rkaudio.pipeline import build\n"
        "from rkaudio.speech.engine import cores_now\n"
        "cores = sorted(os.sched_getaffinity(0))[:2]\n"
        "finished = multiprocessing.Value('i', 0)\n"
        "build._start_worker(None, multiprocessing.Value('i', 0), [frozenset(cores[:1]), frozenset(cores[1:])],\n"
        "                    finished, 3)\n"
        "stop = threading.Event()\n"
        "helper = threading.Thread(target=stop.wait, daemon=True)\n"
        "helper.start()\n"
        "def seen():\n"
        "    may = cores_now(1)\n"
        "    mine = {len(os.sched_getaffinity(int(t))) for t in os.listdir('/proc/self/task')}\n"
        "    child = subprocess.run(['grep', 'Cpus_allowed_list', '/proc/self/status'], capture_output=True,\n"
        "                           text=True).stdout.split()[-1]\n"
        "    return f'{may} {sorted(mine)} {child}'\n"
        "print(seen())\n"
        "finished.value = 1\n"
        "print(seen())\n"
        "finished.value = 2\n"
        "print(seen())\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    one = str(sorted(os.sched_getaffinity(0))[0])
    both = "{}-{}".format(*sorted(os.sched_getaffinity(0))[:2])
    # Three jobs: with none or one finished, another is still running or waiting.
    assert lines[0] == f"1 [1] {one}" and lines[1] == f"1 [1] {one}", lines
    assert lines[2].split(" ", 1)[0] == "2" and lines[2].endswith(f"[2] {both}"), lines


def test_the_longest_recordings_are_started_first(tmp_path: Path) -> None:
    """The pool takes the longest recordings first; one it cannot read goes last."""
    from rkaudio.pipeline.build import Step, _longest_first

    steps = []
    for name, seconds in (("short", 1.0), ("long", 3.0), ("middle", 2.0)):
        path = mh.write_wav(tmp_path / f"{name}.wav", mh.speech(seconds, rate=16000), 16000)
        steps.append(Step(name, path, "process", "new recording"))
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    steps.insert(0, Step("junk", junk, "process", "new recording"))
    assert [s.slug for s in _longest_first(steps)] == ["long", "middle", "short", "junk"]
