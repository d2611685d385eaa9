"""``rkaudio init``: the show folder, its documented show.toml, cover and stings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import media_helpers as mh
from conftest import assert_one_line_error

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LAYOUT = ["show.toml", "episodes", "transcripts", "feed", "feed/media",
          "assets/cover.png", "assets/intro.flac", "assets/outro.flac"]


def test_init_creates_a_show(tmp_path: Path, rk) -> None:
    root = tmp_path / "My Show"
    out = rk("init", str(root), "--title", "Radical Test")
    assert out.code == 0, out
    for rel in LAYOUT:
        assert (root / rel).exists(), rel
    for folder in ("episodes", "transcripts", "feed", "feed/media"):
        assert (root / folder).is_dir()

    data = tomllib.loads((root / "show.toml").read_text(encoding="utf-8"))
    assert data["show"]["title"] == "Radical Test"
    assert data["audio"]["intro"] == "assets/intro.flac"
    assert data["audio"]["outro"] == "assets/outro.flac"
    assert "#" in (root / "show.toml").read_text(encoding="utf-8")  # documented with comments


def test_show_toml_loads_with_the_defaults(tmp_path: Path) -> None:
    from rkaudio.pipeline.workspace import init_show
    from rkaudio.show.config import load_show

    root = tmp_path / "show"
    init_show(root, "Defaults")
    show = load_show(root)
    assert show.title == "Defaults"
    assert show.audio.target_lufs == -16.0
    assert show.audio.true_peak_dbtp == -1.0
    assert show.audio.channels == 2
    assert show.audio.bitrate == 128
    assert show.audio.intro == root / "assets" / "intro.flac"
    assert show.audio.outro == root / "assets" / "outro.flac"


def test_cover_is_square_and_large_enough(template_show: Path) -> None:
    from PIL import Image

    with Image.open(template_show / "assets" / "cover.png") as img:
        assert img.format == "PNG"
        assert img.width == img.height >= 1400
        assert img.mode in ("RGB", "RGBA")
        # A drawn cover, not a blank canvas.
        assert len(img.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 10


@pytest.mark.parametrize("sting", ["intro.flac", "outro.flac"])
def test_stings_are_audible_flac(template_show: Path, sting: str) -> None:
    path = template_show / "assets" / sting
    info = mh.describe(path)
    assert info.codec == "flac"
    assert 1.0 <= info.duration <= 10.0
    m = mh.measure(path)
    assert -40.0 < m.integrated_lufs < 0.0
    assert m.true_peak_dbtp < 0.0


def test_init_refuses_to_overwrite(template_show: Path, tmp_path: Path, rk) -> None:
    import shutil

    root = tmp_path / "existing"
    shutil.copytree(template_show, root)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    out = rk("init", str(root), "--title", "Another")
    assert_one_line_error(out, "existing", r"already")
    assert out.code == 3
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


def test_init_title_defaults_to_folder_name(tmp_path: Path) -> None:
    from rkaudio.show.config import load_show

    from conftest import run_subprocess

    out = run_subprocess("init", "Kindness Hour", "--quiet")
    assert out.code == 0, out
    assert load_show(tmp_path / "Kindness Hour").title == "Kindness Hour"


def test_init_title_with_quotes_and_unicode(tmp_path: Path, rk) -> None:
    title = 'Tom\'s "Shów" — a \\ b'
    out = rk("init", str(tmp_path / "q"), "--title", title, "--quiet")
    assert out.code == 0, out
    data = tomllib.loads((tmp_path / "q" / "show.toml").read_text(encoding="utf-8"))
    assert data["show"]["title"] == title


def test_init_then_process(tmp_path: Path, speech_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Straight from init to a finished episode, with init's own stings."""
    from conftest import run_subprocess

    root = tmp_path / "fresh"
    assert run_subprocess("init", root, "--quiet").code == 0
    monkeypatch.chdir(root)
    out = run_subprocess("process", speech_wav, "--slug", "first", "--no-transcribe", "--quiet")
    assert out.code == 0, out
    mh.assert_delivered(root / "feed" / "media" / "first.mp3", -16.0)
