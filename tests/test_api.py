"""The library API (load_show, process_episode) and the installed entry points."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from rkaudio.core.errors import InputError, RkaudioError
from rkaudio.pipeline.process import ProcessReport, process_episode
from rkaudio.show.config import load_show

import media_helpers as mh
from conftest import run_subprocess


def test_process_episode(show: Path, speech_wav: Path) -> None:
    calls: list[tuple[str, float, float]] = []
    report = process_episode(load_show(show), speech_wav, slug="Library Run", title="From Python",
                             on_progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert isinstance(report, ProcessReport)
    assert report.slug == "library-run"
    assert report.output == show / "feed" / "media" / "library-run.mp3"
    m = mh.assert_delivered(report.output, -16.0)
    assert report.audio.delivered.integrated_lufs == pytest.approx(m.integrated_lufs, abs=0.3)
    assert report.audio.intro is not None and report.audio.outro is not None
    assert report.audio.duration == pytest.approx(m.duration, abs=0.1)
    # Progress is reported, in stages, with sane numbers.
    assert calls
    assert all(isinstance(stage, str) and stage for stage, _, _ in calls)
    assert all(0 <= done and 0 <= total for _, done, total in calls)


def test_process_episode_with_settings(show: Path, speech_wav: Path) -> None:
    import dataclasses

    s = load_show(show)
    settings = dataclasses.replace(s.audio, target_lufs=-23.0, intro=None, outro=None, channels=1)
    report = process_episode(s, speech_wav, settings=settings)
    assert report.slug == "speech"
    m = mh.assert_delivered(report.output, -23.0)
    assert m.channels == 1


def test_library_errors_are_typed(show: Path, silence_wav: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        process_episode(load_show(show), silence_wav)
    assert info.value.exit_code == 2
    assert info.value.path == silence_wav
    with pytest.raises(RkaudioError):
        process_episode(load_show(show), tmp_path / "nothing.wav")
    assert list((show / "feed" / "media").iterdir()) == []


def test_version(rk) -> None:
    out = rk("--version")
    assert out.code == 0
    assert out.out.strip().startswith("rkaudio ")


def test_console_script(show: Path, speech_wav: Path) -> None:
    """The installed ``rkaudio`` program, next to the interpreter running the tests."""
    script = shutil.which("rkaudio", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the rkaudio console script is not installed next to this interpreter")
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "script", "--quiet", entry=[script])
    assert out.code == 0, out
    mh.assert_delivered(show / "feed" / "media" / "script.mp3", -16.0)
    bad = run_subprocess("loudness", "missing.wav", entry=[script])
    assert bad.code == 2 and "Traceback" not in bad.err


def test_help_lists_the_commands(rk) -> None:
    out = rk("--help")
    assert out.code == 0
    for command in ("init", "process", "loudness"):
        assert command in out.out
