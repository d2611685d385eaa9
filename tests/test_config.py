"""Settings layering: built-in defaults, then show.toml, then RKAUDIO_* variables, then flags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rkaudio.core.errors import ConfigError
from rkaudio.show.config import load_show

import media_helpers as mh
from conftest import run_clirunner, run_subprocess, set_audio

NO_STINGS = ("--intro", "none", "--outro", "none")


def _drop_target(show: Path) -> None:
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'target = "podcast"\n' in text
    toml.write_text(text.replace('target = "podcast"\n', ""), encoding="utf-8")


# --- the library: load_show -----------------------------------------------------------------------

def test_show_toml_then_environment(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_audio(show, target=-20, true_peak=-2.0)
    assert load_show(show).audio.target_lufs == -20.0
    monkeypatch.setenv("RKAUDIO_TARGET", "-18")
    audio = load_show(show).audio
    assert audio.target_lufs == -18.0
    assert audio.true_peak_dbtp == -2.0  # untouched by the environment
    monkeypatch.setenv("RKAUDIO_TARGET", "ebu-r128")
    assert load_show(show).audio.target_lufs == -23.0
    # An explicit mapping replaces os.environ.
    assert load_show(show, environ={}).audio.target_lufs == -20.0


def test_mono_show_without_target_gets_minus_19(show: Path) -> None:
    _drop_target(show)
    set_audio(show, channels=1)
    audio = load_show(show).audio
    assert audio.channels == 1
    assert audio.target_lufs == -19.0
    assert audio.bitrate == 96


def test_mono_show_with_explicit_target_keeps_it(show: Path) -> None:
    set_audio(show, channels=1, target=-16)
    assert load_show(show).audio.target_lufs == -16.0


def test_environment_values_are_validated(show: Path) -> None:
    with pytest.raises(ConfigError, match="RKAUDIO"):
        load_show(show, environ={"RKAUDIO_CHANNELS": "7"})
    with pytest.raises(ConfigError, match="target"):
        load_show(show, environ={"RKAUDIO_TARGET": "-80"})


def test_show_toml_errors_name_the_file(show: Path) -> None:
    set_audio(show, target="loud")
    with pytest.raises(ConfigError) as info:
        load_show(show)
    assert str(show / "show.toml") in str(info.value)
    assert info.value.exit_code == 3


# --- the CLI, end to end: the delivered loudness follows the winning layer -----------------------

def test_layering_end_to_end(show: Path, speech_wav: Path) -> None:
    set_audio(show, target=-20)
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "toml", "--json", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["target_lufs"] == -20.0
    mh.assert_delivered(show / "feed" / "media" / "toml.mp3", -20.0)

    env = {"RKAUDIO_TARGET": "-18"}
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "env", "--json", *NO_STINGS, env=env)
    assert out.code == 0, out
    assert out.json["target_lufs"] == -18.0
    mh.assert_delivered(show / "feed" / "media" / "env.mp3", -18.0)

    out = run_clirunner("process", "--no-transcribe", str(speech_wav), "--slug", "flag", "--json", "--target", "-14",
                        *NO_STINGS, env=env)
    assert out.code == 0, out
    assert out.json["target_lufs"] == -14.0
    mh.assert_delivered(show / "feed" / "media" / "flag.mp3", -14.0)


def test_environment_channels(show: Path, speech_wav: Path) -> None:
    """RKAUDIO_CHANNELS=1 makes a mono show: mono MP3 at the mono preset, like --channels 1."""
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "envmono", "--json", *NO_STINGS,
                         env={"RKAUDIO_CHANNELS": "1"})
    assert out.code == 0, out
    assert out.json["target_lufs"] == -19.0
    m = mh.assert_delivered(show / "feed" / "media" / "envmono.mp3", -19.0)
    assert m.channels == 1


# --- isolation ------------------------------------------------------------------------------------

def test_tests_are_isolated(tmp_path: Path) -> None:
    assert Path(os.environ["HOME"]).is_relative_to(tmp_path)
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        assert Path(os.environ[name]).is_relative_to(tmp_path)
    assert [k for k in os.environ if k.startswith("RKAUDIO_")] == ["RKAUDIO_FFMPEG"]
    assert Path.cwd() == tmp_path
    assert mh.REPO.resolve() not in [tmp_path, *tmp_path.parents]
