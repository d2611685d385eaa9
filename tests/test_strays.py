"""Runs killed outright (SIGKILL, a power cut, a closed laptop) leave no debris that anyone would
publish: the next run removes what they left half-written, ``check`` flags it until then, and the
episode published before stays intact throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rkaudio.core.files import is_stray, is_temporary, sweep_strays, temp_name

import media_helpers as mh
from conftest import media_files, run_subprocess

NO_STINGS = ("--intro", "none", "--outro", "none")


def test_a_temporary_file_names_its_writer(tmp_path: Path) -> None:
    mine = temp_name(tmp_path / "ep.mp3")
    assert is_temporary(mine) and mine.name.endswith(".mp3.part")
    mine.write_bytes(b"half")
    assert not is_stray(mine)  # this process is alive
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = mine.with_name(mine.name.replace(f"-{os.getpid()}-", f"-{int(gone.stdout)}-"))
    dead.write_bytes(b"half")
    assert is_stray(dead)
    other_host = tmp_path / f".rkaudio-elsewhere-{int(gone.stdout)}-abcdef.mp3.part"
    other_host.write_bytes(b"half")
    assert not is_stray(other_host)  # another machine's, on a shared folder: its own to clear
    legacy = tmp_path / ".rkaudio-0123456789ab.mp3.part"
    legacy.write_bytes(b"old")
    assert not is_stray(legacy)
    os.utime(legacy, (time.time() - 3600, time.time() - 3600))
    assert is_stray(legacy)
    assert sorted(p.name for p in sweep_strays([tmp_path])) == sorted([dead.name, legacy.name])
    assert mine.exists() and other_host.exists()


def _killed_while_encoding(show: Path, recording: Path) -> None:
    """Start process and SIGKILL it, ffmpeg and all, once its temporary MP3 is being written."""
    media = show / "feed" / "media"
    proc = subprocess.Popen([sys.executable, "-m", "rkaudio.cli", "process", "--no-transcribe", str(recording),
                             "--slug", "ep", "--quiet", *NO_STINGS], cwd=show, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if any(p.name.endswith(".mp3.part") and p.stat().st_size > 0 for p in media.glob(".rkaudio-*")):
                break
            if proc.poll() is not None:
                pytest.fail("process finished before it could be killed: use a longer recording")
            time.sleep(0.02)
        else:
            pytest.fail("no temporary MP3 appeared")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_three_kills_then_one_good_run_leave_one_file(show: Path, media_dir: Path) -> None:
    rate = 44100
    first = mh.write_wav(media_dir / "strays-first.wav", mh.at_loudness(mh.speech(6.0, rate=rate), rate, -24.0), rate)
    # Long enough that encoding is still under way when the test kills it.
    long = mh.at_loudness(np.tile(mh.speech(10.0, rate=rate), 12), rate, -20.0)
    recording = mh.write_wav(media_dir / "strays-long.wav", long, rate)
    out = run_subprocess("process", "--no-transcribe", first, "--slug", "ep", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    published = (show / "feed" / "media" / "ep.mp3").read_bytes()

    for _ in range(3):
        _killed_while_encoding(show, recording)
        assert (show / "feed" / "media" / "ep.mp3").read_bytes() == published  # the good episode stays
    # Each run clears what the runs killed before it left, so only the last one's remains.
    left = [name for name in media_files(show) if name != "ep.mp3"]
    assert len(left) == 1 and left[0].startswith(".rkaudio-") and left[0].endswith(".part"), media_files(show)

    checked = run_subprocess("check", "--json", "--quiet")
    assert checked.code == 1, checked
    rows = [r for r in json.loads(checked.out)["results"] if r["check"] == "stray file"]
    assert sorted(r["subject"] for r in rows) == sorted(f"feed/media/{name}" for name in left)

    out = run_subprocess("process", "--no-transcribe", recording, "--slug", "ep", "--json", "--quiet", *NO_STINGS)
    assert out.code == 0, out
    assert media_files(show) == ["ep.mp3"]
    assert any("temporary file(s) left by runs that were stopped" in w for w in out.json["warnings"])
    mh.assert_delivered(show / "feed" / "media" / "ep.mp3", -16.0)
