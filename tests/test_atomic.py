"""A failed run never costs the episode already published, and leaves nothing half-written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import media_helpers as mh
from conftest import media_files, run_clirunner, run_subprocess, stray_files


@pytest.fixture
def published(show: Path, speech_wav: Path) -> tuple[Path, bytes]:
    """A good episode at feed/media/ep.mp3 (and masters/ep.flac)."""
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "ep", "--master", "--quiet")
    assert out.code == 0, out
    mp3 = show / "feed" / "media" / "ep.mp3"
    mh.assert_delivered(mp3, -16.0)
    return mp3, mp3.read_bytes()


def _bad_source(kind: str, folder: Path, speech_wav: Path) -> Path:
    if kind == "silent":
        return mh.write_wav(folder / "ep.wav", np.zeros((4 * 44100, 2)), 44100)
    if kind == "truncated":
        whole = speech_wav.read_bytes()
        path = folder / "ep.wav"
        path.write_bytes(whole[: len(whole) // 3])
        return path
    if kind == "not audio":
        path = folder / "ep.wav"
        path.write_text("not a recording\n" * 100)
        return path
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["silent", "truncated", "not audio"])
def test_failed_input_keeps_the_published_episode(show: Path, published, speech_wav: Path,
                                                  tmp_path: Path, kind: str) -> None:
    mp3, before = published
    master_before = (show / "masters" / "ep.flac").read_bytes()
    source = _bad_source(kind, tmp_path, speech_wav)
    # Same slug (from the file name "ep.wav", and given explicitly the second time).
    for args in ((source,), (source, "--slug", "ep", "--master")):
        out = run_subprocess("process", "--no-transcribe", *args)
        assert out.code != 0, out
        assert mp3.read_bytes() == before
        assert media_files(show) == ["ep.mp3"]
        assert (show / "masters" / "ep.flac").read_bytes() == master_before
        assert sorted(p.name for p in (show / "masters").iterdir()) == ["ep.flac"]
        assert stray_files(show) == []


def test_failure_after_encoding_keeps_the_published_episode(show: Path, published, speech_wav: Path) -> None:
    """A target the programme cannot reach (-5 LUFS under a -9 dBTP ceiling) fails the final check
    after the new MP3 and master have been encoded: neither may replace the published ones."""
    mp3, before = published
    master = show / "masters" / "ep.flac"
    master_before = master.read_bytes()
    out = run_clirunner("process", "--no-transcribe", str(speech_wav), "--slug", "ep", "--master",
                        "--target", "-5", "--true-peak", "-9")
    assert out.code == 5, out  # QualityError: raised by the check of the encoded file
    assert "Traceback" not in out.err
    assert mp3.read_bytes() == before
    assert master.read_bytes() == master_before
    assert media_files(show) == ["ep.mp3"]
    assert sorted(p.name for p in master.parent.iterdir()) == ["ep.flac"]
    assert stray_files(show) == []


def test_failed_first_run_leaves_nothing(show: Path, tmp_path: Path, speech_wav: Path) -> None:
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "new", "--target", "-5", "--true-peak", "-9")
    assert out.code != 0, out
    assert media_files(show) == []
    assert stray_files(show) == []


def test_success_leaves_only_the_episode(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "one", "--master")
    assert out.code == 0, out
    assert media_files(show) == ["one.mp3"]
    assert sorted(p.name for p in (show / "masters").iterdir()) == ["one.flac"]
    assert stray_files(show) == []
    assert not any(p.name.startswith(".") for p in (show / "assets").iterdir())
