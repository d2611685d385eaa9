"""Running one tool as a subprocess and recording its wall time and peak memory.

Memory is what the whole process tree holds: rkaudio, for one, is a Python process driving one or
two ffmpeg processes at a time, and a user's machine has to hold all of them at once. A thread
samples the tree every 50 ms (the resident memory of the tool and all its descendants, summed) and
keeps the highest sum. Sampling can miss a short spike, so each process's own high-water mark
(``VmHWM``, kept by the kernel) is read as well: that gives the exact peak of the largest single
process, for every process the sampler saw at least once. The tree's peak is at least that, so
the reported tree peak is the larger of the two.

The kernel's ``ru_maxrss`` is not used: after fork and exec it starts from the parent's size, so
it would report the harness's own memory for a small tool. For the same reason a child that has
forked but not yet exec'd (same command line as its parent) is skipped while sampling.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class RunResult:
    """One timed run of one tool."""

    tool: str
    returncode: int
    wall_s: float
    #: Highest total RSS of the tool and its descendants, bytes.
    tree_peak_bytes: int
    #: Highest RSS of any single process in the tree (its high-water mark), bytes.
    single_peak_bytes: int
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _memory(proc: psutil.Process) -> tuple[int, int]:
    """Current resident memory and its high-water mark of one process, bytes.

    Reads ``/proc/PID/status`` where it exists (Linux); elsewhere the high-water mark is only as
    good as the samples.
    """
    try:
        text = Path(f"/proc/{proc.pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        rss = proc.memory_info().rss
        return rss, rss
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024  # reported in kB
    rss = fields.get("VmRSS", 0)
    return rss, max(rss, fields.get("VmHWM", 0))


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_tree = 0
        self.peak_single = 0
        self._halt = threading.Event()
        self._own_cmdline = psutil.Process().cmdline()
        try:
            self._root: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self._root = None

    def _live(self) -> list[psutil.Process]:
        """The tree's processes, less any that forked and have not exec'd yet.

        Such a process still shares or copies its parent's memory and command line; counting it
        would count the parent twice (or, for the tool itself, count this harness).
        """
        procs = [self._root, *self._root.children(recursive=True)]
        cmdlines: dict[int, list[str]] = {}
        for proc in procs:
            try:
                cmdlines[proc.pid] = proc.cmdline()
            except psutil.Error:
                continue
        live = []
        for proc in procs:
            if proc.pid not in cmdlines:
                continue
            try:
                parent = self._own_cmdline if proc is self._root else cmdlines.get(proc.ppid())
            except psutil.Error:
                continue
            if cmdlines[proc.pid] != parent:
                live.append(proc)
        return live

    def sample(self) -> None:
        """Take one sample; processes that exit meanwhile count as zero."""
        if self._root is None:
            return
        try:
            procs = self._live()
        except psutil.Error:
            return
        total = 0
        for proc in procs:
            try:
                rss, hwm = _memory(proc)
            except (psutil.Error, ValueError):
                continue
            total += rss
            self.peak_single = max(self.peak_single, hwm)
        self.peak_tree = max(self.peak_tree, total)

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def timed_run(tool: str, args: Sequence[str], *, env: Mapping[str, str], log: Path,
              cwd: Path | None = None) -> RunResult:
    """Run ``args`` (no shell) with output to ``log``; time it and record peak memory."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=dict(env), cwd=cwd)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            returncode = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            wall = time.perf_counter() - start
            sampler.stop()
    single = sampler.peak_single
    return RunResult(tool=tool, returncode=returncode, wall_s=wall,
                     tree_peak_bytes=max(sampler.peak_tree, single), single_peak_bytes=single,
                     log=log)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a run's log, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
