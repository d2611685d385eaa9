"""Bad inputs and broken settings: one line on stderr naming the file and the problem, a non-zero
exit, no traceback (unless --debug), and nothing written to feed/media.

Each case runs twice: in-process through typer's CliRunner and as a real subprocess.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

import media_helpers as mh
from conftest import assert_one_line_error, media_files, run_subprocess, set_audio, stray_files


@pytest.fixture(scope="session")
def bad_inputs(media_dir: Path, speech_base: np.ndarray) -> dict[str, Path]:
    from PIL import Image

    folder = media_dir / "bad"
    folder.mkdir()
    made: dict[str, Path] = {"missing": folder / "missing.wav", "folder": folder / "a folder.wav"}
    made["folder"].mkdir()

    made["empty"] = folder / "empty.wav"
    made["empty"].write_bytes(b"")

    # A WAV whose header says 10 s, with only the first 3 s of samples.
    rate = 16000
    ten = mh.at_loudness(mh.speech(10.0, start=1.0, rate=rate), rate, -20.0)
    whole = mh.write_wav(folder / "whole.wav", ten, rate).read_bytes()
    assert whole[36:40] == b"data"
    made["truncated wav"] = folder / "cut-off.wav"
    made["truncated wav"].write_bytes(whole[: 44 + 3 * rate * 2])

    # A FLAC cut in half (its STREAMINFO still says 10 s).
    flac = mh.convert(folder / "whole.wav", folder / "whole.flac").read_bytes()
    made["truncated flac"] = folder / "cut-off.flac"
    made["truncated flac"].write_bytes(flac[: len(flac) // 2])

    made["text as wav"] = folder / "notes.wav"
    made["text as wav"].write_text("These are my show notes, not a recording.\n" * 50, encoding="utf-8")

    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(png, format="PNG")
    made["png"] = folder / "picture.png"
    made["png"].write_bytes(png.getvalue())
    made["png as wav"] = folder / "picture.wav"
    made["png as wav"].write_bytes(png.getvalue())

    made["video only"] = folder / "no-sound.mp4"
    mh.ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2",
              "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", made["video only"])

    made["silence"] = mh.write_wav(folder / "silence.wav", np.zeros((5 * 44100, 2)), 44100)
    return made


CASES = {
    "missing": r"not found|no such file|does not exist",
    "folder": r"folder|directory",
    "empty": r"empty",
    "truncated wav": r"truncated",
    "truncated flac": r"truncated",
    "text as wav": r"not (an )?audio|cannot read|damaged|invalid",
    "png": r"no audio|not (an )?audio",
    "png as wav": r"no audio|not (an )?audio|cannot read",
    "video only": r"no audio",
    "silence": r"silen",
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(show: Path, bad_inputs: dict[str, Path], rk, case: str) -> None:
    path = bad_inputs[case]
    out = rk("process", "--no-transcribe", str(path), "--slug", "ep")
    assert_one_line_error(out, path.name, CASES[case])
    assert out.code == 2  # InputError
    assert out.out == ""
    assert media_files(show) == []
    assert stray_files(show) == []


@pytest.mark.parametrize("case", ["missing", "truncated wav", "text as wav", "silence"])
def test_debug_shows_the_traceback(show: Path, bad_inputs: dict[str, Path], rk, case: str) -> None:
    path = bad_inputs[case]
    out = rk("process", "--no-transcribe", str(path), "--debug")
    assert out.code == 2, out
    assert "Traceback (most recent call last)" in out.err
    last = [ln for ln in out.err.splitlines() if ln.strip()][-1]
    assert last.startswith("rkaudio: error: ") and path.name in last


def test_loudness_command_bad_input(bad_inputs: dict[str, Path], rk) -> None:
    for case in ("missing", "text as wav", "video only"):
        path = bad_inputs[case]
        out = rk("loudness", str(path), "--json")
        assert_one_line_error(out, path.name, CASES[case])
        assert out.out == ""


def test_truncation_within_a_tolerance_is_not_an_error(show: Path, bad_inputs: dict[str, Path],
                                                       tmp_path: Path) -> None:
    """The check must not reject a whole file: the WAV the truncated one was cut from works."""
    whole = bad_inputs["truncated wav"].with_name("whole.wav")
    out = run_subprocess("process", "--no-transcribe", whole, "--slug", "whole", "--intro", "none", "--outro", "none")
    assert out.code == 0, out
    assert media_files(show) == ["whole.mp3"]


# --- broken settings ------------------------------------------------------------------------------

TOML_CASES = {
    "invalid toml": (('target = "podcast"', 'target = "podcast'), r"TOML"),
    "target is a word": (('target = "podcast"', 'target = "loud"'), r"audio\.target.*loud"),
    "unknown key": (('target = "podcast"', 'target = "podcast"\nvolume = 11'), r"unknown.*volume"),
    "channels is a string": (("channels = 2", 'channels = "two"'), r"channels"),
    "true_peak is a string": (("true_peak = -1.0", 'true_peak = "high"'), r"true_peak"),
    "title is a number": (('title = "Test Show"', "title = 5"), r"title"),
    "unknown table": (("[audio]", "[audoi]"), r"unknown.*audoi"),
}


@pytest.mark.parametrize("case", list(TOML_CASES))
def test_broken_show_toml(show: Path, speech_wav: Path, rk, case: str) -> None:
    (old, new), problem = TOML_CASES[case]
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    out = rk("process", "--no-transcribe", str(speech_wav))
    assert_one_line_error(out, "show.toml", problem)
    assert out.code == 3  # ConfigError
    assert media_files(show) == []


def test_broken_show_toml_debug(show: Path, speech_wav: Path) -> None:
    set_audio(show, target="loud")
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--debug")
    assert out.code == 3
    assert "Traceback" in out.err


def test_bad_environment_value(show: Path, speech_wav: Path, rk) -> None:
    out = rk("process", "--no-transcribe", str(speech_wav), env={"RKAUDIO_TARGET": "loud"})
    assert_one_line_error(out, "RKAUDIO", r"target.*loud")
    assert out.code == 3


@pytest.mark.parametrize("flags,problem", [
    (("--target", "loud"), r"target.*loud"),
    (("--channels", "3"), r"channels"),
    (("--true-peak", "2"), r"true.?peak"),
])
def test_bad_flag_value(show: Path, speech_wav: Path, rk, flags: tuple, problem: str) -> None:
    out = rk("process", "--no-transcribe", str(speech_wav), *flags)
    assert out.code != 0
    assert "Traceback" not in out.err
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("rkaudio: error: "), out
    assert re.search(problem, lines[0], re.I), lines[0]
    assert media_files(show) == []


def test_no_show_folder(tmp_path: Path, speech_wav: Path, rk) -> None:
    out = rk("process", "--no-transcribe", str(speech_wav))
    assert_one_line_error(out, "show.toml", r"init|workspace")
    assert out.code == 3
    assert not (tmp_path / "feed").exists()


def test_bad_ffmpeg_setting(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("process", "--no-transcribe", speech_wav, env={"RKAUDIO_FFMPEG": str(show / "no-such-ffmpeg")})
    line = assert_one_line_error(out, "no-such-ffmpeg", r"not an executable|not found|cannot")
    assert "RKAUDIO_FFMPEG" in line
    assert media_files(show) == []


def test_a_slug_given_with_nothing_url_safe_in_it(show: Path, speech_wav: Path, tmp_path: Path) -> None:
    """A name from the file falls back to episode-N; a --slug the producer typed is never replaced."""
    source = tmp_path / "🎉.wav"
    source.write_bytes(speech_wav.read_bytes())
    out = run_subprocess("process", "--no-transcribe", "--slug", "🎉🎉", source)
    assert_one_line_error(out, "🎉.wav", r"--slug")
    assert media_files(show) == []
