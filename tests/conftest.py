"""Shared fixtures: an isolated environment, a fresh show folder per test, generated media, runners.

Media are generated once per session into a temporary folder (never into the repository) and
kept short: a few seconds each. The show folder for each test is a copy of one made by
``rkaudio init`` at the start of the session, so every test starts from a pristine show.
"""

from __future__ import annotations

import contextlib

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import media_helpers as mh

#: The `browser` fixture (headless Chromium) for the browser tests.
pytest_plugins = ("browser_helpers",)

# --- isolation ------------------------------------------------------------------------------------

_XDG = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    for name in list(os.environ):
        if name.startswith("RKAUDIO_") or name.startswith("XDG_"):
            mp.delenv(name, raising=False)
    mp.setenv("HOME", str(home))
    for name in _XDG:
        folder = home / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        mp.setenv(name, str(folder))
    # The one RKAUDIO_* variable put back: the ffmpeg the tests generate and decode media with,
    # so rkaudio and the independent meter run the same binary rather than whatever is on PATH.
    mp.setenv("RKAUDIO_FFMPEG", mh.FFMPEG)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's HOME, XDG folders or RKAUDIO_* settings, or runs in the repo."""
    home = tmp_path / "home"
    home.mkdir()
    _isolate(monkeypatch, home)
    monkeypatch.chdir(tmp_path)
    return home


# --- shows ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def template_show(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One show made by the library's init, copied for each test that needs a show."""
    from rkaudio.pipeline.workspace import init_show

    base = tmp_path_factory.mktemp("template")
    root = base / "show"
    with pytest.MonkeyPatch.context() as mp:
        home = base / "home"
        home.mkdir()
        _isolate(mp, home)
        init_show(root, "Test Show")
    # Speaker labels off: loading the diarizer takes seconds, and most tests are about something
    # else. The tests of speaker labels turn them on (`speakers_on`, or --speakers).
    toml = root / "show.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'speakers = "auto"' in text
    toml.write_text(text.replace('speakers = "auto"', 'speakers = "off"', 1), encoding="utf-8")
    return root


@contextlib.contextmanager
def building_show(tmp_path_factory: pytest.TempPathFactory, template: Path, name: str) -> Iterator[Path]:
    """A copy of the template show, isolated and made the current folder, for a module-scoped
    fixture to build once what many tests then read (each gets its own copy: `copy_show`)."""
    base = tmp_path_factory.mktemp(name)
    root = base / "show"
    shutil.copytree(template, root)
    with pytest.MonkeyPatch.context() as mp:
        home = base / "home"
        home.mkdir()
        _isolate(mp, home)
        mp.chdir(root)
        yield root


def copy_show(prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own copy of a show built once for its module; the current folder is its root."""
    root = tmp_path / "show"
    shutil.copytree(prepared, root)
    monkeypatch.chdir(root)
    return root


def speakers_on(show_root: Path) -> None:
    """Turn speaker labels back on in a test show's show.toml."""
    toml = show_root / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('speakers = "off"', 'speakers = "auto"', 1),
                    encoding="utf-8")


@pytest.fixture
def show(template_show: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh show folder (init's layout, stings and show.toml); the current folder is its root."""
    root = tmp_path / "show"
    shutil.copytree(template_show, root)
    monkeypatch.chdir(root)
    return root


def set_audio(show_root: Path, **values: object) -> None:
    """Replace ``key = ...`` lines of show.toml's [audio] table (or append them)."""
    path = show_root / "show.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        literal = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
        line = f"{key} = {literal}"
        pattern = re.compile(rf"^{key} = .*$", re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _m: line, text, count=1)
        else:
            text = text.rstrip("\n") + f"\n{line}\n"
    path.write_text(text, encoding="utf-8")


def media_files(show_root: Path) -> list[str]:
    """Everything in feed/media, hidden files included."""
    folder = show_root / "feed" / "media"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def stray_files(show_root: Path) -> list[Path]:
    """Temporary or partial files anywhere in the show."""
    return [p for p in show_root.rglob("*")
            if p.name.endswith(".part") or p.name.startswith(".rkaudio-")]


# --- running the CLI ------------------------------------------------------------------------------

@dataclass
class Outcome:
    code: int
    out: str
    err: str
    how: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"[{self.how}] exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def run_subprocess(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None,
                   entry: list[str] | None = None) -> Outcome:
    """rkaudio as a real program: ``python -m rkaudio.cli ARGS`` (argv as a list, no shell)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    cmd = [*(entry or [sys.executable, "-m", "rkaudio.cli"]), *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=300)
    return Outcome(proc.returncode, proc.stdout, proc.stderr, "subprocess")


def _runner() -> CliRunner:
    try:  # Click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run_clirunner(*args: object, env: dict[str, str] | None = None) -> Outcome:
    """rkaudio in-process through typer's CliRunner."""
    from rkaudio.cli import app

    result = _runner().invoke(app, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised instead of reporting: {result.exception!r}") from result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr, "clirunner")


@pytest.fixture(params=["clirunner", "subprocess"])
def rk(request: pytest.FixtureRequest):
    """Run rkaudio either way (the test runs twice); cwd is the current folder."""
    if request.param == "clirunner":
        return lambda *args, env=None: run_clirunner(*args, env=env)
    return lambda *args, env=None: run_subprocess(*args, env=env)


def assert_one_line_error(outcome: Outcome, names: str | list[str], problem: str) -> str:
    """A failure reported as the documented single line naming the file and the problem."""
    assert outcome.code != 0, outcome
    assert "Traceback" not in outcome.err + outcome.out, outcome
    lines = [ln for ln in outcome.err.splitlines() if ln.strip()]
    assert len(lines) == 1, outcome
    line = lines[0]
    assert line.startswith("rkaudio: error: "), outcome
    names = [names] if isinstance(names, str) else names
    for name in names:
        assert name in line, f"{name!r} not named in: {line}"
    # The problem is looked for after the file's name, so a name like "empty.wav" cannot satisfy it.
    said = line.rsplit(names[0], 1)[1]
    assert re.search(problem, said, re.I), f"problem /{problem}/ not in: {said!r} (line: {line})"
    return line


# --- generated media ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech_base() -> np.ndarray:
    """6 s of the committed speech clip, mono, 48 kHz float (decoded once)."""
    return mh.speech(6.0, start=2.0, rate=48000)


@pytest.fixture(scope="session")
def speech_wav(media_dir: Path, speech_base: np.ndarray) -> Path:
    """Ordinary speech: 6 s, mono 48 kHz, -24 LUFS."""
    return mh.write_wav(media_dir / "speech.wav", mh.at_loudness(speech_base, 48000, -24.0), 48000)


@pytest.fixture(scope="session")
def quiet_speech_wav(media_dir: Path, speech_base: np.ndarray) -> Path:
    """Quiet speech: -35 LUFS."""
    return mh.write_wav(media_dir / "quiet.wav", mh.at_loudness(speech_base, 48000, -35.0), 48000)


@pytest.fixture(scope="session")
def clipped_speech_wav(media_dir: Path, speech_base: np.ndarray) -> Path:
    """Loud speech driven 12 dB into hard clipping: sample peaks at full scale, about -6 LUFS."""
    x = speech_base / np.max(np.abs(speech_base)) * 10 ** (12 / 20)
    return mh.write_wav(media_dir / "clipped.wav", np.clip(x, -1.0, 1.0), 48000)


@pytest.fixture(scope="session")
def spiky_speech_wav(media_dir: Path, speech_base: np.ndarray) -> Path:
    """Speech at -30 LUFS with full-scale clicks: raising it to -16 LUFS needs a limiter."""
    x = mh.at_loudness(speech_base, 48000, -30.0)
    for k in range(int(0.2 * 48000), len(x) - 2, int(0.37 * 48000)):
        x[k:k + 2] = (0.99, -0.99)
    return mh.write_wav(media_dir / "spiky.wav", x, 48000)


@pytest.fixture(scope="session")
def square_wav(media_dir: Path) -> Path:
    """A loud square-ish tone: 110 Hz at full scale, stereo 44.1 kHz, 5 s."""
    t = np.arange(5 * 44100) / 44100
    x = 0.99 * np.sign(np.sin(2 * np.pi * 110 * t))
    return mh.write_wav(media_dir / "square.wav", np.stack([x, x], axis=1), 44100)


@pytest.fixture(scope="session")
def silence_wav(media_dir: Path) -> Path:
    """5 s of digital silence, stereo 44.1 kHz."""
    return mh.write_wav(media_dir / "silence.wav", np.zeros((5 * 44100, 2)), 44100)


@pytest.fixture(scope="session")
def tone_sting(media_dir: Path) -> Path:
    """A steady 1.5 s sting (660 Hz, stereo, loud), so the loudness of its region can be read."""
    rate = 44100
    x = mh.tone(660.0, 1.5, rate, amplitude=0.8)
    ramp = int(0.01 * rate)
    x[:ramp] *= np.linspace(0, 1, ramp)
    x[-ramp:] *= np.linspace(1, 0, ramp)
    return mh.write_wav(media_dir / "sting-1.5s.wav", np.stack([x, x], axis=1), rate)


def pytest_configure(config: pytest.Config) -> None:
    # pydub (rkaudio's sting synthesiser) imports audioop, deprecated since Python 3.11.
    config.addinivalue_line("filterwarnings", "ignore:'audioop' is deprecated:DeprecationWarning")
