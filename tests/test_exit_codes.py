"""Every exit code the README documents, made to happen, and no other.

The codes come from one place (`rkaudio.core.errors`); the CLI turns errors into them in one place.
Each documented code is produced here by the command line, from a real cause where one can be
made cheaply, and otherwise (a missed loudness target, a bug, Ctrl-C) by making one step of the
real pipeline fail in-process.
"""

from __future__ import annotations

import inspect
import re
import stat
from pathlib import Path

import pytest

from rkaudio.core import errors

import media_helpers as mh
from conftest import run_clirunner, run_subprocess

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_codes() -> dict[int, str]:
    """The exit-code table of the README: code -> meaning."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| exit code | meaning |"):]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", table.split("\n\n")[0], re.M)
    return {int(code): meaning for code, meaning in rows}


def family_codes() -> set[int]:
    """Every code rkaudio can exit with: its error classes' codes and the CLI's own."""
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.RkaudioError) and c is not errors.RkaudioError]
    return {c.exit_code for c in classes} | {errors.OK, errors.CHECKS_FAILED, errors.INTERNAL_ERROR,
                                             errors.INTERRUPTED}


def test_the_readme_documents_exactly_the_codes_rkaudio_uses() -> None:
    assert set(documented_codes()) == family_codes()


@pytest.fixture
def wav(media_dir: Path) -> Path:
    return mh.write_wav(media_dir / "exit-codes.wav", mh.at_loudness(mh.speech(4.0, rate=44100), 44100, -24.0), 44100)


def _fake_ffmpeg(folder: Path) -> Path:
    """An ffmpeg that describes any input as audio but fails at any real work."""
    script = folder / "broken-ffmpeg"
    script.write_text("#!/bin/sh\n"
                      "case \"$*\" in *' -f null '*|*' -f mp3 '*|*tee*)\n"
                      "  echo 'Error while filtering: Cannot allocate memory' >&2; exit 1;;\n"
                      "esac\n"
                      "echo 'Input #0, wav, from x:' >&2\n"
                      "echo '  Duration: 00:00:04.00, bitrate: 705 kb/s' >&2\n"
                      "echo '  Stream #0:0: Audio: pcm_s16le, 44100 Hz, mono, s16, 705 kb/s' >&2\n"
                      "exit 1\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_each_documented_code_happens(show: Path, wav: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[int, str] = {}

    def expect(code: int, outcome, why: str) -> None:
        assert outcome.code == code, f"{why}: {outcome}"
        assert "Traceback" not in outcome.err, outcome
        seen[code] = why

    expect(0, run_subprocess("loudness", wav, "--json"), "done")
    expect(1, run_subprocess("check", "--quiet"), "check found problems (no feed yet)")
    expect(2, run_subprocess("loudness", tmp_path / "missing.wav"), "input missing")
    expect(3, run_subprocess("process", wav, "--target", "loud", "--no-transcribe"), "bad option")
    expect(4, run_subprocess("loudness", wav, env={"RKAUDIO_FFMPEG": str(_fake_ffmpeg(tmp_path))}),
           "ffmpeg failed")
    vtt = show / "transcripts" / "broken.vtt"
    vtt.write_text("WEBVTT\n\n00:00:01.000 --> later\nHello\n", encoding="utf-8")
    expect(6, run_subprocess("transcript", "check", "broken"), "malformed transcript")
    (show / "episodes" / "bad.md").write_text("+++\ntitle = 3\n+++\n", encoding="utf-8")
    (show / "show.toml").write_text((show / "show.toml").read_text(encoding="utf-8")
                                    .replace('base_url = ""', 'base_url = "https://example.org/show"'),
                                    encoding="utf-8")
    expect(7, run_subprocess("feed", "--quiet"), "invalid episode metadata")
    (show / "episodes" / "bad.md").unlink()
    expect(8, run_subprocess("publish", "--to", "nowhere-configured:show"), "publish failed (no such remote)")

    # The rest cannot be caused cheaply from outside: one real step of the pipeline fails in-process.
    from rkaudio.audio import finishing
    from rkaudio.audio.loudness import Loudness

    real_render = finishing.render

    def off_target(mix, mp3_name, workdir, **kwargs):
        result = real_render(mix, mp3_name, workdir, **kwargs)
        return type(result)(Loudness(-30.0, 5.0, -10.0, -10.0, result.delivered.duration),
                            result.programme_before_limiter)

    with monkeypatch.context() as mp:
        mp.setattr(finishing, "render", off_target)
        expect(5, run_clirunner("process", wav, "--no-transcribe", "--quiet"), "target missed")
    assert not (show / "feed" / "media" / "exit-codes.mp3").exists()  # nothing was published

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from rkaudio.audio import loudness
    with monkeypatch.context() as mp:
        mp.setattr(loudness.ffmpeg, "run", boom)
        outcome = run_clirunner("loudness", wav)
        expect(70, outcome, "a bug")
        assert "internal error" in outcome.err and "--debug" in outcome.err
    with monkeypatch.context() as mp:
        mp.setattr(loudness.ffmpeg, "run", interrupted)
        expect(130, run_clirunner("loudness", wav), "interrupted")

    assert set(seen) == set(documented_codes()), sorted(set(documented_codes()) - set(seen))
