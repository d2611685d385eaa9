"""``build``: the whole show brought up to date, redoing only what is out of date, episodes in parallel.

1. Every recording in ``episodes/`` (each type ``process`` takes) is planned (`plan_build`): what
   its published files depend on (`rkaudio.pipeline.freshness`) against what they were made from
   gives one action each: "process" (new or changed recording, audio settings or stings),
   "transcribe" (engine or model changed, no reviewer's work to keep: transcribed again, then
   retagged), "retag" (title, notes, research or show settings changed: the MP3's tags rewritten,
   its audio copied as it is) or nothing.
2. New episodes get their metadata files, and so their numbers, here in the parent, in recording
   order (modification time, then name), before any job starts: numbering never depends on which
   job finishes first.
3. The work runs in a pool of processes sized to the cores, the longest recordings first
   (`_longest_first`); each job keeps to a share of the cores of its own (`core_groups`), and its
   speech engine gets that many threads, until the other jobs are done: the last one then takes
   every core (`_budget`). Retagging is quick and runs in the parent.
4. The feed and the site are rebuilt once, at the end, under the show's lock; and only when
   something changed (`freshness.show_inputs`), so a build with nothing to do writes nothing.

One episode's failure does not stop the others; it is reported with its one-line error.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from ..core import leaving
from ..core.errors import INTERNAL_ERROR, InputError, RkaudioError
from ..core.files import write_if_changed
from ..core.progress import ProgressCallback
from ..publishing.episode import slug_for
from ..show.paths import EPISODES_DIR, FEED_DIR, FEED_FILE, RECORDING_SUFFIXES, STATE_DIR, EpisodePaths
from ..show.settings import AudioSettings, Show, TranscriptSettings
from ..show.state import read_state, show_lock
from ..speech.engine import allowed_cores, cpu_threads, set_core_budget
from ..transcripts.store import has_transcript, reviewer_touched
from .freshness import audio_inputs, recording_sha256, record_speech, show_inputs, speech_inputs, tags_inputs

if TYPE_CHECKING:  # the audio, feed and site modules load only when there is work for them
    from ..publishing.feed import FeedReport

BUILD_STATE = "build.json"
#: The actions, in the order a producer reads them.
ACTIONS = ("process", "transcribe", "retag", "none")


@dataclass(frozen=True)
class Step:
    """What one episode needs."""

    slug: str
    source: Path
    action: str
    why: str


@dataclass
class StepResult:
    slug: str
    action: str
    ok: bool
    seconds: float
    #: What happened, or the one-line error.
    message: str = ""
    #: The error's exit code, when it failed.
    exit_code: int = 0
    #: The episode's process report (JSON, as ``process --json`` prints it), for "process".
    report: dict[str, Any] | None = None


@dataclass
class BuildReport:
    steps: list[Step]
    results: list[StepResult] = field(default_factory=list)
    feed: FeedReport | None = None
    #: Whether the feed and site were rebuilt (False when nothing changed, or on a dry run).
    rebuilt: bool = False
    dry_run: bool = False
    jobs: int = 1

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if not r.ok]


# --- planning -------------------------------------------------------------------------------------

def recordings(show: Show) -> list[Path]:
    """Every recording in ``episodes/``, in recording order: modification time, then name."""
    folder = show.root / EPISODES_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES and not p.name.startswith(".")]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def plan_episode(show: Show, source: Path, audio: AudioSettings, speech: TranscriptSettings | None) -> Step:
    slug = slug_for(show, source)
    paths = EpisodePaths(show.root, slug)
    state = read_state(show.root, slug)
    if not paths.metadata.is_file() or state is None or not paths.mp3.is_file():
        return Step(slug, source, "process", "new recording")
    if state.inputs is None:
        return Step(slug, source, "process", "made before rkaudio kept track of its inputs")
    recording = recording_sha256(show, slug, source)
    if recording != state.audio.sha256:
        return Step(slug, source, "process", "recording changed")
    if audio_inputs(recording, audio) != state.inputs.audio:
        return Step(slug, source, "process", "audio settings or stings changed")
    if (speech is not None and speech_inputs(speech) != state.inputs.speech
            and not (has_transcript(show.root, slug) and reviewer_touched(show.root, slug))):
        return Step(slug, source, "transcribe", "transcript engine or model changed")
    if tags_inputs(show, slug) != state.inputs.tags:
        return Step(slug, source, "retag", "metadata, notes, research or show settings changed")
    return Step(slug, source, "none", "up to date")


def plan_build(show: Show, audio: AudioSettings, speech: TranscriptSettings | None,
               sources: Sequence[Path] | None = None, *, force: bool = False) -> list[Step]:
    """One step per recording (``sources``, or every recording in ``episodes/``); ``force``
    processes each whatever its state (``process A B C``)."""
    if force:
        steps = [Step(slug_for(show, source), source, "process", "asked for") for source in sources or ()]
    else:
        steps = [plan_episode(show, source, audio, speech) for source in (sources or recordings(show))]
    taken: dict[str, Path] = {}
    for step in steps:
        if step.slug in taken:
            raise InputError(f"would be episode {step.slug!r}, as {taken[step.slug].name} is: rename one of them",
                             step.source)
        taken[step.slug] = step.source
    return steps


# --- running --------------------------------------------------------------------------------------

def _job_speech(speech: TranscriptSettings | None, jobs: int) -> TranscriptSettings | None:
    """The engine's threads for one of ``jobs`` jobs side by side: the cores shared out, so the
    machine is not oversubscribed (an explicit threads or workers setting is kept)."""
    if speech is None or jobs <= 1 or speech.threads or speech.workers:
        return speech
    share = max(1, cpu_threads() // jobs)
    return dataclasses.replace(speech, threads=1, workers=share)


def core_groups(cores: Sequence[int], jobs: int) -> list[frozenset[int]]:
    """The cores each of ``jobs`` jobs side by side keeps to: disjoint groups of the same size as
    the engine's share (`_job_speech`), the cores left over going to the first groups; with more
    jobs than cores, one core each, taken in turn."""
    cores = sorted(cores)
    if not cores or jobs <= 1:
        return [frozenset(cores)]
    if jobs >= len(cores):
        return [frozenset({cores[k % len(cores)]}) for k in range(jobs)]
    size, extra = divmod(len(cores), jobs)
    groups, at = [], 0
    for k in range(jobs):
        take = size + (k < extra)
        groups.append(frozenset(cores[at:at + take]))
        at += take
    return groups


def _run_step(root: str, step: Step, audio: AudioSettings, speech: TranscriptSettings | None,
              messages: Any, debug: bool = False) -> StepResult:
    """One episode's work, in a pool process or the parent; errors become the step's result."""
    from ..show.config import load_show

    started = time.monotonic()

    def progress(stage: str, done: float, total: float) -> None:
        if messages is not None:
            messages.put((step.slug, stage, done, total))

    try:
        show = load_show(Path(root))
        if step.action == "process":
            from .process import process_episode

            report = process_episode(show, step.source, slug=step.slug, settings=audio, transcribe=speech,
                                     rebuild_feed=False, on_progress=progress)
            summary = _processed(report)
            return StepResult(step.slug, step.action, True, time.monotonic() - started, summary,
                              report=_report_json(report, show.root))
        if step.action == "transcribe":
            _transcribe_again(show, step, speech, progress)
            return StepResult(step.slug, step.action, True, time.monotonic() - started, "transcribed and retagged")
        if step.action == "retag":
            from .republish import republish

            republish(show, step.slug, rebuild_feed=False)
            return StepResult(step.slug, step.action, True, time.monotonic() - started, "retagged")
        return StepResult(step.slug, step.action, True, 0.0, "up to date")
    except RkaudioError as exc:
        return StepResult(step.slug, step.action, False, time.monotonic() - started, str(exc),
                          exit_code=exc.exit_code)
    except Exception as exc:  # a bug in one episode's run must not stop the others
        detail = traceback.format_exc() if debug else ""
        return StepResult(step.slug, step.action, False, time.monotonic() - started,
                          f"internal error: {type(exc).__name__}: {exc}{(chr(10) + detail) if detail else ''}",
                          exit_code=INTERNAL_ERROR)


def _processed(report: Any) -> str:
    delivered = report.audio.delivered
    return f"{delivered.integrated_lufs:.1f} LUFS, {delivered.true_peak_dbtp:.1f} dBTP"


def _report_json(report: Any, root: Path) -> dict[str, Any]:
    output = report.output
    return {"output": str(output.relative_to(root)) if output.is_relative_to(root) else str(output),
            "integrated_lufs": round(report.audio.delivered.integrated_lufs, 2),
            "true_peak_dbtp": round(report.audio.delivered.true_peak_dbtp or 0.0, 2),
            "duration_s": round(report.audio.duration, 3),
            "warnings": list(report.warnings)}


def _transcribe_again(show: Show, step: Step, speech: TranscriptSettings | None,
                      progress: ProgressCallback) -> None:
    from .republish import republish
    from .transcribe import transcribe_episode

    state = read_state(show.root, step.slug)
    if speech is None or state is None:
        return
    transcribe_episode(show, step.source, step.slug, settings=speech, retranscribe=True,
                       offset_s=state.audio.lead_s, audio=state.audio, on_progress=progress)
    republish(show, step.slug, rebuild_feed=False)
    record_speech(show, step.slug, speech)


def build(show: Show, *, audio: AudioSettings | None = None, speech: TranscriptSettings | None = None,
          sources: Sequence[Path] | None = None, force: bool = False, jobs: int = 0, dry_run: bool = False,
          debug: bool = False, on_plan: Callable[[list[Step]], None] | None = None,
          on_step: Callable[[str, str], None] | None = None,
          on_progress: Callable[[str, str, float, float], None] | None = None) -> BuildReport:
    """Bring the show up to date; see the module docstring.

    ``speech`` None skips transcription. ``jobs`` 0 means one per core. ``on_step(slug, event)`` is
    called as each episode starts ("start") and ends ("done"); ``on_progress(slug, stage, done,
    total)`` with each episode's progress.
    """
    audio = audio or show.audio
    steps = plan_build(show, audio, speech, sources, force=force)
    work = [s for s in steps if s.action != "none"]
    jobs = max(1, min(jobs or cpu_threads(), max(1, sum(s.action in ("process", "transcribe") for s in work))))
    report = BuildReport(steps=steps, dry_run=dry_run, jobs=jobs)
    if on_plan:
        on_plan(steps)
    if dry_run:
        return report
    # Numbers in recording order, before any job starts: each new episode's metadata file is made now.
    for step in work:
        if not EpisodePaths(show.root, step.slug).metadata.is_file():
            from .process import prepare

            with show_lock(show.root):
                prepare(show, step.slug, title=None, source=step.source)
    heavy = [s for s in work if s.action in ("process", "transcribe")]
    light = [s for s in work if s.action == "retag"]
    results: dict[str, StepResult] = {}
    job_speech = _job_speech(speech, jobs)
    if jobs > 1 and len(heavy) > 1:
        results.update(_in_pool(show, heavy, audio, job_speech, jobs, debug, on_step, on_progress))
    else:
        for step in heavy:
            results[step.slug] = _inline(show, step, audio, job_speech, debug, on_step, on_progress)
    for step in light:
        results[step.slug] = _inline(show, step, audio, job_speech, debug, on_step, on_progress)
    report.results = [results[s.slug] for s in work]
    report.feed, report.rebuilt = _rebuild(show, changed=bool(work))
    return report


def _inline(show: Show, step: Step, audio: AudioSettings, speech: TranscriptSettings | None, debug: bool,
            on_step: Callable[[str, str], None] | None,
            on_progress: Callable[[str, str, float, float], None] | None) -> StepResult:
    if on_step:
        on_step(step.slug, "start")
    sink = _Relay(on_progress)
    result = _run_step(str(show.root), step, audio, speech, sink, debug)
    if on_step:
        on_step(step.slug, "done")
    return result


class _Relay:
    """A queue-like sink that hands progress straight to a callback (for work in the parent)."""

    def __init__(self, callback: Callable[[str, str, float, float], None] | None) -> None:
        self.callback = callback

    def put(self, item: tuple[str, str, float, float]) -> None:
        if self.callback:
            self.callback(*item)


#: In a pool worker (set by `_start_worker`): the progress queue; how many of the pool's jobs have
#: finished (shared by the workers) and how many there are; every core the build may use.
_MESSAGES: Any = None
_FINISHED: Any = None
_JOBS = 0
_ALL_CORES: frozenset[int] = frozenset()
_widened = False


def _budget() -> int:
    """How many cores this worker's job may use now (`rkaudio.speech.engine.cores_now`): every one
    of the build's once every other job has finished, 0 (its own share) until then.

    The first time, the worker (every thread of it, and every ffmpeg it starts from then on) leaves
    its own group of cores for all of them. With six like recordings this saves the second or two
    of the last job's voiceprints; with one long webinar among short ones, most of its transcript
    and voiceprints run on every core rather than one."""
    global _widened, _ALL_CORES
    if _FINISHED is None or _FINISHED.value < _JOBS - 1:
        return 0
    if not _widened:
        _widened = True
        try:
            threads = os.listdir("/proc/self/task")
        except OSError:  # not Linux: the job keeps its share
            _ALL_CORES = frozenset()
            return 0
        for thread in threads:
            try:
                os.sched_setaffinity(int(thread), _ALL_CORES)
            except (AttributeError, OSError, ValueError):  # a thread that has just ended: no harm
                pass
    return len(_ALL_CORES)


def _start_worker(messages: Any, started: Any = None, groups: Sequence[frozenset[int]] = (),
                  finished: Any = None, jobs: int = 0) -> None:
    """A pool worker's set-up: the cores it keeps to, where its progress goes, and a quick exit.

    The n-th worker to start keeps to the n-th group of cores (`core_groups`), it and every thread
    and ffmpeg it starts later: a job's audio, speech and caches then stay on its own cores, where
    the scheduler moved them between cores before. Six new recordings took about 7% less time.

    A worker holds the speech models; tearing its interpreter down with them took 1.5 s at the end
    of every build (`rkaudio.core.leaving`). By the time ``atexit`` runs in a worker, every file it
    wrote is closed and its queues' feeder threads are joined (multiprocessing does both first),
    so the worker leaves without the teardown.
    """
    global _MESSAGES, _FINISHED, _JOBS, _ALL_CORES
    _MESSAGES, _FINISHED, _JOBS = messages, finished, jobs
    _ALL_CORES = frozenset().union(*groups)
    if finished is not None and len(groups) > 1:
        set_core_budget(_budget, len(_ALL_CORES))
    if started is not None and groups:
        with started.get_lock():
            index = started.value
            started.value += 1
        try:
            os.sched_setaffinity(0, groups[index % len(groups)])
        except (AttributeError, OSError):  # not Linux, or the cores are no longer ours: no harm
            pass
    atexit.register(leaving.flush_and_exit, 0)


def _pool_step(root: str, step: Step, audio: AudioSettings, speech: TranscriptSettings | None,
               debug: bool) -> StepResult:
    try:
        return _run_step(root, step, audio, speech, _MESSAGES, debug)
    finally:
        if _FINISHED is not None:
            with _FINISHED.get_lock():
                _FINISHED.value += 1


def _longest_first(steps: list[Step]) -> list[Step]:
    """The order the pool takes the jobs in: the longest recordings first, so that a long one does
    not start last and run on after the others (numbers are given before, in recording order).
    A recording that cannot be probed goes last: its job reports why."""
    from ..audio import ffmpeg_tool

    def seconds(step: Step) -> float:
        try:
            return ffmpeg_tool.probe(step.source).duration or 0.0
        except RkaudioError:
            return 0.0

    lengths = {step.slug: seconds(step) for step in steps}
    return sorted(steps, key=lambda step: -lengths[step.slug])


def _in_pool(show: Show, steps: list[Step], audio: AudioSettings, speech: TranscriptSettings | None, jobs: int,
             debug: bool, on_step: Callable[[str, str], None] | None,
             on_progress: Callable[[str, str, float, float], None] | None) -> dict[str, StepResult]:
    # spawn: the workers start clean (no inherited threads of the speech libraries, no inherited lock).
    # The progress queue goes to each worker as it starts (no manager process to start and stop).
    context = multiprocessing.get_context("spawn")
    results: dict[str, StepResult] = {}
    messages = context.Queue()
    groups = core_groups(allowed_cores(), jobs)
    stop = threading.Event()

    def relay() -> None:  # until told to stop and the queue is empty
        while True:
            try:
                item = messages.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            except (EOFError, OSError, ValueError):
                return
            if on_progress:
                on_progress(*item)

    relayer = threading.Thread(target=relay, daemon=True)
    relayer.start()
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                                    initializer=_start_worker,
                                                    initargs=(messages, context.Value("i", 0), groups,
                                                              context.Value("i", 0), len(steps))) as pool:
            futures = {}
            for step in _longest_first(steps):
                futures[pool.submit(_pool_step, str(show.root), step, audio, speech, debug)] = step
                if on_step:
                    on_step(step.slug, "queued")
            for future in concurrent.futures.as_completed(futures):
                step = futures[future]
                try:
                    results[step.slug] = future.result()
                except Exception as exc:  # the worker itself died (killed, out of memory)
                    results[step.slug] = StepResult(step.slug, step.action, False, 0.0,
                                                    f"the job stopped: {type(exc).__name__}: {exc}",
                                                    exit_code=INTERNAL_ERROR)
                if on_step:
                    on_step(step.slug, "done")
    finally:
        stop.set()
        relayer.join(2)
        messages.close()
    return results


def _rebuild(show: Show, *, changed: bool) -> tuple[FeedReport | None, bool]:
    """The feed and site, once, when an episode changed or anything they are built from did."""
    marker = show.root / STATE_DIR / BUILD_STATE
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("inputs")
    except (OSError, ValueError, AttributeError):
        recorded = None
    feed_there = (show.root / FEED_DIR / FEED_FILE).is_file()
    if not changed and recorded == show_inputs(show) and feed_there == bool(show.base_url):
        return None, False
    from ..publishing.feed import update_feed

    with show_lock(show.root):
        feed = update_feed(show)
        marker.parent.mkdir(parents=True, exist_ok=True)
        write_if_changed(marker, (json.dumps({"inputs": show_inputs(show)}, indent=1) + "\n").encode("utf-8"))
    return feed, True
