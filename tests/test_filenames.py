"""Awkward file names: spaces, quotes, unicode, a leading dash, shell and ffmpeg metacharacters."""

from __future__ import annotations

from pathlib import Path

import pytest

from rkaudio.core.naming import slugify

import media_helpers as mh
from conftest import media_files, run_clirunner, run_subprocess, stray_files

NO_STINGS = ("--intro", "none", "--outro", "none")

NAMES = [
    ("my episode 1.wav", "my-episode-1"),
    ("it's \"live\".wav", "it-s-live"),
    ("café ñ 日本.wav", "cafe-n-ri-ben"),
    ("Ep. 3 — Hello!.FLAC", "ep-3-hello"),
    ("a:b|c[1];$(touch pwned).wav", "a-b-c-1-touch-pwned"),
]


@pytest.mark.parametrize("name,slug", NAMES, ids=[s for _, s in NAMES])
def test_awkward_names(show: Path, speech_wav: Path, name: str, slug: str) -> None:
    source = show / "episodes" / name
    source.write_bytes(speech_wav.read_bytes())
    out = run_subprocess("process", "--no-transcribe", f"episodes/{name}", "--json", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["slug"] == slug
    mh.assert_delivered(show / "feed" / "media" / f"{slug}.mp3", -16.0)
    assert media_files(show) == [f"{slug}.mp3"]
    assert stray_files(show) == []
    assert not list(show.rglob("pwned"))  # nothing was run through a shell


@pytest.mark.parametrize("how", [["--", "-episode.wav"], ["./-episode.wav"]], ids=["after --", "dot-slash"])
def test_leading_dash(show: Path, speech_wav: Path, monkeypatch: pytest.MonkeyPatch, how: list[str]) -> None:
    (show / "episodes" / "-episode.wav").write_bytes(speech_wav.read_bytes())
    monkeypatch.chdir(show / "episodes")
    out = run_subprocess("process", "--no-transcribe", "--json", *NO_STINGS, *how)
    assert out.code == 0, out
    assert out.json["slug"] == "episode"
    mh.assert_delivered(show / "feed" / "media" / "episode.mp3", -16.0)


def test_unicode_name_in_process(show: Path, speech_wav: Path) -> None:
    """The same through CliRunner: no subprocess argv encoding involved."""
    source = show / "episodes" / "café ñ 日本.wav"
    source.write_bytes(speech_wav.read_bytes())
    out = run_clirunner("process", "--no-transcribe", str(source), "--json", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["slug"] == "cafe-n-ri-ben"
    assert (show / "feed" / "media" / "cafe-n-ri-ben.mp3").is_file()


def test_given_slug_is_made_url_safe(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "Ünïcode & Friends: Part 2", "--json", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["slug"] == "unicode-friends-part-2"
    assert media_files(show) == ["unicode-friends-part-2.mp3"]


def test_awkward_sting_and_show_paths(tmp_path: Path, template_show: Path, speech_wav: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A show folder and a sting whose paths have spaces, quotes and unicode."""
    import shutil

    root = tmp_path / "Tom's \"Shów\" folder"
    shutil.copytree(template_show, root)
    sting = root / "assets" / "intro – it's [1].flac"
    shutil.copy(root / "assets" / "intro.flac", sting)
    monkeypatch.chdir(root)
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--intro", sting, "--slug", "ep", "--json")
    assert out.code == 0, out
    assert out.json["intro"]["path"] == "assets/intro – it's [1].flac"
    mh.assert_delivered(root / "feed" / "media" / "ep.mp3", -16.0)


@pytest.mark.parametrize("text,slug", [
    ("Hello World", "hello-world"),
    ("  --Leading and trailing--  ", "leading-and-trailing"),
    ("Café ñ", "cafe-n"),
    ("日本", "ri-ben"),
    # Titles in the languages of the communities the programme works with, transliterated.
    ("خوش آمدید", "khwsh-amdyd"),           # Urdu
    ("ਜੀ ਆਇਆਂ ਨੂੰ", "ji-aiam-num"),          # Punjabi, Gurmukhi
    ("স্বাগতম", "sbagtm"),                  # Bengali
    ("स्वागत है", "svagt-hai"),              # Hindi
    ("欢迎收听 第一集", "huan-ying-shou-ting-di-yi-ji"),  # Chinese
    ("Croeso i Garedigrwydd Radical", "croeso-i-garedigrwydd-radical"),  # Welsh
    ("Ŵyn bach ar y ffordd", "wyn-bach-ar-y-ffordd"),
    ("🎙️ ✨", ""),
    ("---", ""),
    ("a" * 100, "a" * 80),
    ("x" * 79 + " y", "x" * 79),
    ("UPPER_lower.123", "upper-lower-123"),
])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize("name,slug", [
    ("خوش آمدید.wav", "khwsh-amdyd"),
    ("স্বাগতম.wav", "sbagtm"),
    ("欢迎收听.wav", "huan-ying-shou-ting"),
])
def test_titles_in_other_scripts_name_the_episode(show: Path, speech_wav: Path, name: str, slug: str) -> None:
    """A recording named in Urdu, Bengali or Chinese gets a transliterated slug; its title keeps the script."""
    (show / "episodes" / name).write_bytes(speech_wav.read_bytes())
    out = run_subprocess("process", "--no-transcribe", f"episodes/{name}", "--json", *NO_STINGS)
    assert out.code == 0, out
    assert out.json["slug"] == slug
    assert out.json["episode"]["title"] == Path(name).stem
    assert (show / "feed" / "media" / f"{slug}.mp3").is_file()


def test_a_name_with_nothing_to_transliterate_becomes_episode_n(show: Path, speech_wav: Path) -> None:
    """Emoji alone: the episode is named by its number, and the same recording keeps that name."""
    (show / "episodes" / "🎙️.wav").write_bytes(speech_wav.read_bytes())
    (show / "episodes" / "📻.wav").write_bytes(speech_wav.read_bytes())
    first = run_subprocess("process", "--no-transcribe", "episodes/🎙️.wav", "--json", *NO_STINGS)
    assert first.code == 0, first
    assert first.json["slug"] == "episode-1"
    other = run_subprocess("process", "--no-transcribe", "episodes/📻.wav", "--json", *NO_STINGS)
    assert other.code == 0, other
    assert other.json["slug"] == "episode-2"
    again = run_subprocess("process", "--no-transcribe", "episodes/🎙️.wav", "--json", *NO_STINGS)
    assert again.code == 0, again
    assert again.json["slug"] == "episode-1"
    assert media_files(show) == ["episode-1.mp3", "episode-2.mp3"]
