"""The second engine, openai-whisper: the real engine on committed speech, its models, its errors.

No test here replaces the engine. The bundled tiny.en weights are converted at test time, into a
temporary user cache or a temporary checkpoint, never into the repository. Word error rates are
computed with jiwer and captions read with webvtt-py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import media_helpers as mh
from conftest import assert_one_line_error, run_clirunner, run_subprocess
from transcript_helpers import assert_caption_rules, assert_transcribed
from wer_helpers import clip_wer_limit, wer

#: openai-whisper (and PyTorch) is an extra: its tests run in the full lane only (marked torch) and
#: are skipped where it is not installed.
HAVE_WHISPER = importlib.util.find_spec("whisper") is not None


def needs_whisper(test):
    return pytest.mark.torch(pytest.mark.skipif(not HAVE_WHISPER, reason="openai-whisper is not installed")(test))

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "episodes" / "welcome-to-radical-kindness.flac"
DEMO_TEXT = REPO / "episodes" / "welcome-to-radical-kindness.script.txt"
SPEECH_DIR = Path(__file__).resolve().parent / "data" / "speech"
ENGINE = ("--engine", "openai-whisper")
#: Where an attempt to download a model goes when the machine is offline: nowhere, at once.
OFFLINE = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled tiny.en as a local openai-whisper checkpoint file, made once for this module."""
    if not HAVE_WHISPER:
        pytest.skip("openai-whisper is not installed")
    from rkaudio.speech.ct2_convert import convert_ct2_whisper
    from rkaudio.speech.engine import bundled_model_path

    return convert_ct2_whisper(bundled_model_path(), tmp_path_factory.mktemp("checkpoint") / "tiny-en-local.pt")


def _decode16k(path: Path) -> np.ndarray:
    from rkaudio.speech import recognise as asr

    return np.frombuffer(b"".join(asr._decoded_blocks(path, 600.0)), dtype=np.float32)


# --- the real engine on committed speech ------------------------------------------------------

@pytest.mark.slow
@needs_whisper
def test_transcribe_demo_with_openai_whisper_end_to_end(show: Path, isolated_env: Path) -> None:
    """The CLI as a producer runs it, with the default model name: converted once, offline."""
    out = run_subprocess("transcribe", DEMO, "--slug", "demo", *ENGINE, "--json", "--quiet")
    assert out.code == 0, out
    report = out.json
    assert report["action"] == "created"
    assert report["asr"]["engine"].startswith("openai-whisper tiny.en (bundled)")
    assert "fp32 on cpu" in report["asr"]["engine"]
    assert_transcribed(show, "demo", DEMO_TEXT.read_text(encoding="utf-8"), max_wer=0.10)
    sidecar = json.loads((show / "transcripts" / "demo.words.json").read_text(encoding="utf-8"))
    probabilities = [w["probability"] for cue in sidecar["cues"] for w in cue["words"]]
    assert len(probabilities) > 60
    assert all(0.0 <= p <= 1.0 for p in probabilities) and len(set(probabilities)) > 5
    # The conversion went into the user's cache (the isolated XDG_CACHE_HOME), once.
    cached = list((isolated_env / "xdg_cache_home" / "rkaudio" / "openai-whisper").glob("*.pt"))
    assert len(cached) == 1, cached


@pytest.mark.slow
@needs_whisper
@pytest.mark.parametrize("clip", sorted(p.stem for p in SPEECH_DIR.glob("*.flac")))
def test_committed_speech_clips_with_a_local_checkpoint(clip: str, show: Path, checkpoint: Path) -> None:
    """Each committed clip, from a local .pt checkpoint, within its WER limit."""
    slug = clip.replace("_", "-")
    out = run_clirunner("transcribe", SPEECH_DIR / f"{clip}.flac", "--slug", slug, *ENGINE,
                        "--model", checkpoint, "--json", "--quiet")
    assert out.code == 0, out
    assert out.json["asr"]["engine"].startswith(f"openai-whisper {checkpoint}")
    heard = (show / "transcripts" / f"{slug}.txt").read_text(encoding="utf-8")
    reference = (SPEECH_DIR / f"{clip}.txt").read_text(encoding="utf-8")
    assert wer(reference, heard) < clip_wer_limit(clip), heard
    assert_caption_rules(show / "transcripts" / f"{slug}.vtt")


@pytest.mark.slow
@needs_whisper
def test_engine_decodes_only_the_clips_and_times_words_from_the_start_of_the_audio(checkpoint: Path) -> None:
    from rkaudio.speech.engine_openai import OpenAIWhisperEngine
    from rkaudio.speech.windows import speech_spans, speech_windows

    speech = _decode16k(SPEECH_DIR / "kindness_programme.flac")
    lead = 3.0
    audio = np.concatenate([np.zeros(int(lead * 16000), dtype=np.float32), speech,
                            0.3 * speech[:16000 * 8]])  # 8 s more speech, which no clip covers
    clips = [w for w in speech_windows(speech_spans(audio)) if w[0] < lead + speech.size / 16000 - 0.5]
    engine = OpenAIWhisperEngine(str(checkpoint), device="auto", language="en", beam_size=5)
    assert engine.name == "openai-whisper" and "fp32 on cpu" in engine.label
    words = engine.transcribe(audio, clips)
    assert lead + 0.1 < words[0].start < lead + 1.2, words[:3]
    end = clips[-1][1]
    assert all(clips[0][0] - 0.5 <= w.start <= w.end <= end + 0.5 for w in words), words
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert all(isinstance(w.probability, float) and 0.0 <= w.probability <= 1.0 for w in words)
    reference = (SPEECH_DIR / "kindness_programme.txt").read_text(encoding="utf-8")
    assert wer(reference, " ".join(w.text for w in words)) < 0.15


@pytest.mark.slow
@needs_whisper
def test_conversion_is_cached_and_redone_when_the_model_changes(tmp_path: Path) -> None:
    from rkaudio.speech.engine import bundled_model_path
    from rkaudio.speech.engine_openai import cache_dir, converted_checkpoint

    folder = tmp_path / "my-model"
    shutil.copytree(bundled_model_path(), folder)
    first = converted_checkpoint(folder)
    assert first.parent == cache_dir() and first.is_file()
    assert str(cache_dir()).startswith(os.environ["XDG_CACHE_HOME"])
    made = first.stat().st_mtime_ns
    assert converted_checkpoint(folder) == first and first.stat().st_mtime_ns == made  # not redone
    stat = (folder / "model.bin").stat()
    os.utime(folder / "model.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    second = converted_checkpoint(folder)
    assert second != first and second.is_file()
    assert not first.exists(), "the stale conversion of the same model was left behind"
    assert [p.name for p in cache_dir().iterdir()] == [second.name]


# --- errors: one line, no traceback -------------------------------------------------------------

#: rkaudio as a program on a machine without the extra: importing whisper or torch fails.
WITHOUT_EXTRA = [sys.executable, "-c",
                 "import sys; sys.modules['whisper'] = None; sys.modules['torch'] = None; "
                 "sys.argv[0] = 'rkaudio'; from rkaudio.cli import main; main()"]


def test_missing_extra_is_one_line_saying_what_to_install(show: Path, speech_wav: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_subprocess("transcribe", speech_wav, *ENGINE, entry=WITHOUT_EXTRA)
    line = assert_one_line_error(out, "openai-whisper engine", r"not installed.*pip install 'rkaudio\[openai-whisper\]'")
    assert out.code == 3, line
    monkeypatch.setitem(sys.modules, "whisper", None)
    out = run_clirunner("transcribe", speech_wav, *ENGINE)
    assert_one_line_error(out, "openai-whisper engine", r"pip install 'rkaudio\[openai-whisper\]'")
    assert list((show / "transcripts").glob("*.vtt")) == []


def test_missing_extra_from_show_toml(show: Path, speech_wav: Path) -> None:
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('engine = "faster-whisper"',
                                                             'engine = "openai-whisper"'), encoding="utf-8")
    out = run_subprocess("process", speech_wav, "--quiet", entry=WITHOUT_EXTRA)
    assert_one_line_error(out, "openai-whisper engine", r"pip install 'rkaudio\[openai-whisper\]'")
    # Said before any audio work, not after the episode was encoded.
    assert not (show / "feed" / "media").exists() or not list((show / "feed" / "media").iterdir())


@needs_whisper
def test_bad_model_paths_are_one_line(show: Path, speech_wav: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.pt"
    out = run_clirunner("transcribe", speech_wav, *ENGINE, "--model", missing)
    assert_one_line_error(out, "no-such-model.pt", "no such model")
    assert out.code == 3

    garbage = tmp_path / "notes.pt"
    garbage.write_text("these are not weights", encoding="utf-8")
    out = run_subprocess("transcribe", speech_wav, *ENGINE, "--model", garbage)
    assert_one_line_error(out, "notes.pt", "not an openai-whisper checkpoint")
    assert out.code == 3

    folder = tmp_path / "empty-folder"
    folder.mkdir()
    out = run_clirunner("transcribe", speech_wav, *ENGINE, "--model", folder)
    assert_one_line_error(out, "empty-folder", "neither an openai-whisper checkpoint.*model.bin")

    out = run_clirunner("transcribe", speech_wav, *ENGINE, "--model", "tiny.enn")
    assert_one_line_error(out, "tiny.enn", "not a model openai-whisper knows")
    assert list((show / "transcripts").glob("*.vtt")) == []


@needs_whisper
def test_truncated_ctranslate2_model_is_one_line_naming_model_bin(show: Path, speech_wav: Path,
                                                                   tmp_path: Path) -> None:
    from rkaudio.speech.engine import bundled_model_path

    folder = tmp_path / "cut-model"
    folder.mkdir()
    whole = (bundled_model_path() / "model.bin").read_bytes()
    (folder / "model.bin").write_bytes(whole[:len(whole) // 3])
    out = run_subprocess("transcribe", speech_wav, *ENGINE, "--model", folder)
    line = assert_one_line_error(out, str(folder / "model.bin"), "truncated")
    assert out.code == 3, line
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "rkaudio" / "openai-whisper"
    assert not cache.exists() or list(cache.iterdir()) == []  # no half-written conversion


@needs_whisper
def test_named_model_offline_is_one_clear_line(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("transcribe", speech_wav, *ENGINE, "--model", "base.en", env=OFFLINE)
    line = assert_one_line_error(out, "base.en", "not on this machine and could not be downloaded")
    assert "tiny.en" in line and out.code == 4
    assert not list(Path(os.environ["XDG_CACHE_HOME"]).rglob("*.pt"))


@pytest.mark.slow
@needs_whisper
def test_no_speech_gives_an_empty_transcript_with_openai_whisper(show: Path) -> None:
    rate = 44100
    t = np.arange(15 * rate) / rate
    chords = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    audio = np.concatenate([np.zeros(5 * rate), chords + 0.003 * np.random.default_rng(2).standard_normal(t.size)])
    source = mh.write_wav(show / "episodes" / "no-speech.wav", np.stack([audio, audio], axis=1), rate)
    out = run_subprocess("transcribe", source, *ENGINE)
    assert out.code == 0, out
    assert "no speech" in (out.out + out.err).lower(), out
    assert (show / "transcripts" / "no-speech.txt").read_text(encoding="utf-8").strip() == ""
