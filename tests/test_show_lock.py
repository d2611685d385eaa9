"""Concurrent runs on one show: the show lock, episode numbers that never repeat, a feed that lists
every finished episode."""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import time
from pathlib import Path

import feedparser
import pytest

from rkaudio.core.errors import WorkspaceError
from rkaudio.core.lock import is_held, locked

import media_helpers as mh

# fork: the children start at once with everything imported, so they reach the race together.
_FORK = multiprocessing.get_context("fork")


def _hold(path: str, ready, release) -> None:
    with locked(Path(path)):
        ready.set()
        release.wait(30)


def test_the_lock_is_exclusive_between_processes_and_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / ".rkaudio" / "lock"
    ready, release = _FORK.Event(), _FORK.Event()
    child = _FORK.Process(target=_hold, args=(str(path), ready, release))
    child.start()
    try:
        assert ready.wait(30)
        with pytest.raises(WorkspaceError) as caught:
            with locked(path, timeout=0.3):
                pass
        assert str(path) in str(caught.value)
        assert f"process {child.pid}" in str(caught.value)
    finally:
        release.set()
        child.join(30)
    with locked(path, timeout=5):
        assert is_held(path)
    assert not is_held(path)


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with locked(path, timeout=1):
        with locked(path, timeout=1):
            assert is_held(path)
        assert is_held(path)
    assert not is_held(path)


def test_a_run_killed_while_it_holds_the_lock_does_not_block_the_next(tmp_path: Path) -> None:
    path = tmp_path / ".rkaudio" / "lock"
    ready, release = _FORK.Event(), _FORK.Event()
    child = _FORK.Process(target=_hold, args=(str(path), ready, release))
    child.start()
    assert ready.wait(30)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    started = time.monotonic()
    with locked(path, timeout=10):
        waited = time.monotonic() - started
    assert waited < 10  # taken, not timed out (the timeout would have raised)


# --- N runs at once on one show -------------------------------------------------------------------

RUNS = 4
REPEATS = 20


def _process(root: str, wav: str, barrier, seed: int, results) -> None:
    from rkaudio.pipeline.process import process_episode
    from rkaudio.show.config import load_show

    os.chdir(root)
    show = load_show(Path(root))
    rng = random.Random(seed)
    barrier.wait(60)
    time.sleep(rng.uniform(0, 0.05))  # a little jitter, so every interleaving gets its turn
    try:
        report = process_episode(show, Path(wav))
        results.put((Path(wav).stem, report.episode.episode.number, None))
    except Exception as exc:  # reported to the test, which fails on it
        results.put((Path(wav).stem, None, f"{type(exc).__name__}: {exc}"))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four short, different recordings."""
    folder = tmp_path_factory.mktemp("race")
    speech = mh.speech(1.5, start=2.0, rate=16000)
    return [mh.write_wav(folder / f"talk-{n}.wav", mh.at_loudness(speech * (1 + n / 10), 16000, -24.0), 16000)
            for n in range(RUNS)]


@pytest.mark.stress
def test_runs_started_together_never_share_a_number_and_the_feed_lists_them_all(
        show: Path, recordings: list[Path], tmp_path: Path) -> None:
    from conftest import set_audio
    from show_helpers import configure

    configure(show)
    # The audio work is kept short (no stings, no leveller) so that the runs spend their time
    # where they race: numbering, metadata, publishing and the feed.
    set_audio(show, intro="", outro="", leveller=False)
    pristine = tmp_path / "pristine"
    shutil.copytree(show, pristine)
    for attempt in range(REPEATS):
        shutil.rmtree(show)
        shutil.copytree(pristine, show)
        barrier = _FORK.Barrier(RUNS)
        results = _FORK.Queue()
        children = [_FORK.Process(target=_process, args=(str(show), str(wav), barrier, attempt * 100 + n, results))
                    for n, wav in enumerate(recordings)]
        for child in children:
            child.start()
        outcome = [results.get(timeout=120) for _ in children]
        for child in children:
            child.join(60)
        errors = [f"{name}: {error}" for name, _, error in outcome if error]
        assert not errors, f"attempt {attempt + 1}: {errors}"
        numbers = sorted(number for _, number, _ in outcome)
        assert numbers == list(range(1, RUNS + 1)), f"attempt {attempt + 1}: numbers {numbers}"
        feed = feedparser.parse((show / "feed" / "feed.xml").read_bytes())
        listed = sorted(int(entry.itunes_episode) for entry in feed.entries)
        assert listed == list(range(1, RUNS + 1)), f"attempt {attempt + 1}: the feed lists {listed}"
        titles = {entry.title for entry in feed.entries}
        assert titles == {wav.stem for wav in recordings}, f"attempt {attempt + 1}: {titles}"
