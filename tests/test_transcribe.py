"""The transcript step end to end: the real engine on committed speech, reviewers' edits, silence.

Word error rates are computed with jiwer and captions read with webvtt-py, never with rkaudio's own
reader. No test here replaces the engine unless its name says so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import webvtt

import media_helpers as mh
from conftest import assert_one_line_error, run_clirunner, run_subprocess
from transcript_helpers import StandInEngine, assert_transcribed, caption_text, shown_lines
from wer_helpers import clip_wer_limit, normalise, wer

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "episodes" / "welcome-to-radical-kindness.flac"
DEMO_TEXT = REPO / "episodes" / "welcome-to-radical-kindness.script.txt"
SPEECH_DIR = Path(__file__).resolve().parent / "data" / "speech"


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file under ``folders`` with a hash of its bytes."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def demo_transcribed(tmp_path_factory: pytest.TempPathFactory, template_show: Path) -> tuple[Path, dict]:
    """The committed demo clip transcribed once by the real CLI in a fresh show (intro and all)."""
    root = tmp_path_factory.mktemp("demo") / "show"
    shutil.copytree(template_show, root)
    env = {"RKAUDIO_FFMPEG": mh.FFMPEG, "HOME": str(root.parent), "XDG_CACHE_HOME": str(root.parent / "cache")}
    out = run_subprocess("transcribe", DEMO, "--slug", "demo", "--title", "Welcome & <Hello>", "--json",
                         "--quiet", cwd=root, env=env)
    assert out.code == 0, out
    return root, out.json


# --- the real engine on committed speech ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.speech
def test_transcribe_demo_clip_end_to_end(demo_transcribed: tuple[Path, dict]) -> None:
    root, report = demo_transcribed
    assert report["action"] == "created"
    assert report["asr"]["engine"].startswith("faster-whisper tiny.en")
    assert_transcribed(root, "demo", DEMO_TEXT.read_text(encoding="utf-8"), max_wer=0.10)


@pytest.mark.slow
@pytest.mark.speech
def test_transcript_timed_to_the_finished_episode(demo_transcribed: tuple[Path, dict]) -> None:
    """The init show's 3 s intro overlaps the programme by 1 s: the words start 2 s later."""
    root, report = demo_transcribed
    intro_seconds = mh.describe(root / "assets" / "intro.flac").duration
    assert report["offset_s"] == pytest.approx(intro_seconds - 1.0, abs=0.02)
    first = webvtt.read(str(root / "transcripts" / "demo.vtt")).captions[0]
    # The clip's speech starts about 0.4 s in.
    assert intro_seconds - 1.0 + 0.1 < first.start_time.in_milliseconds() / 1000 < intro_seconds - 1.0 + 1.5


@pytest.mark.slow
@pytest.mark.speech
def test_other_formats_parse_and_agree(demo_transcribed: tuple[Path, dict]) -> None:
    root, _ = demo_transcribed
    folder = root / "feed" / "transcripts"
    vtt = webvtt.read(str(folder / "demo.vtt")).captions
    srt = webvtt.from_srt(str(folder / "demo.srt")).captions
    assert [c.text for c in srt] == [c.text for c in vtt]
    assert [c.start for c in srt] == [c.start for c in vtt]
    podcast = json.loads((folder / "demo.json").read_text(encoding="utf-8"))
    assert podcast["version"] == "1.0.0"
    assert normalise(" ".join(s["body"] for s in podcast["segments"])) == normalise(caption_text(vtt))
    for segment in podcast["segments"]:
        assert set(segment) >= {"startTime", "endTime", "body"}
        assert segment["startTime"] < segment["endTime"]
    text = (folder / "demo.txt").read_text(encoding="utf-8")
    assert normalise(text) == normalise(caption_text(vtt))
    page = (folder / "demo.html").read_text(encoding="utf-8")
    assert "Welcome &amp; &lt;Hello&gt;" in page and "<Hello>" not in page


@pytest.mark.slow
@pytest.mark.speech
def test_word_timings_and_probabilities_kept(demo_transcribed: tuple[Path, dict]) -> None:
    root, _ = demo_transcribed
    sidecar = json.loads((root / "transcripts" / "demo.words.json").read_text(encoding="utf-8"))
    words = [w for cue in sidecar["cues"] for w in cue["words"]]
    assert len(words) > 60
    assert all(0.0 <= w["probability"] <= 1.0 for w in words)
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)


@pytest.mark.slow
@pytest.mark.speech
@pytest.mark.parametrize("clip", sorted(p.stem for p in SPEECH_DIR.glob("*.flac")))
def test_committed_speech_clips(clip: str, show: Path) -> None:
    """Each committed clip, through the library as the benchmark runs it, within its WER limit."""
    from rkaudio.show.config import load_show
    from rkaudio.speech.engines import load_engine
    from rkaudio.speech.recognise import transcribe_file

    engine = load_engine(load_show(show).transcript, "en")
    result = transcribe_file(SPEECH_DIR / f"{clip}.flac", engine, language="en")
    heard = " ".join(w.text for w in result.words)
    reference = (SPEECH_DIR / f"{clip}.txt").read_text(encoding="utf-8")
    assert wer(reference, heard) < clip_wer_limit(clip), heard


def test_window_verdict_follows_whisper() -> None:
    """openai-whisper's rule for a window decoded at temperature 0."""
    from rkaudio.speech.engine_faster import window_verdict

    assert window_verdict(0.1, -0.3, 1.6) == "keep"
    assert window_verdict(0.9, -1.2, 1.6) == "drop"          # the model heard no speech
    assert window_verdict(0.9, -0.5, 1.6) == "keep"          # confident text outweighs no-speech
    assert window_verdict(0.1, -0.3, 2.6) == "retry"         # a decoding loop
    assert window_verdict(0.1, -1.2, 1.6) == "retry"         # little confidence
    assert window_verdict(0.9, -1.2, 2.6) == "drop"


@pytest.mark.slow
@pytest.mark.speech
def test_unsure_window_is_decoded_again(show: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A batched window with a low average log-probability goes through temperature fallback on its
    own, and its words still reach the transcript, timed in the recording."""
    import logging
    from dataclasses import replace

    from rkaudio.show.config import load_show
    from rkaudio.speech.engines import load_engine
    from rkaudio.speech.recognise import transcribe_file

    engine = load_engine(load_show(show).transcript, "en")
    unsure: list[float] = []

    def low_confidence(batched):
        def transcribe(*args, **kwargs):
            segments, info = batched(*args, **kwargs)
            out = []
            for seg in segments:
                out.append(replace(seg, avg_logprob=-1.5))
                unsure.append(seg.start)
            return iter(out), info
        return transcribe

    for pipeline in engine.pipelines:
        pipeline.transcribe = low_confidence(pipeline.transcribe)
    with caplog.at_level(logging.INFO, logger="rkaudio.speech.engine_faster"):
        result = transcribe_file(DEMO, engine, language="en")
    assert unsure
    assert sum("decoding it again" in r.getMessage() for r in caplog.records) == len(unsure)
    text = " ".join(w.text for w in result.words)
    assert wer(DEMO_TEXT.read_text(encoding="utf-8"), text) < 0.10, text
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and starts[0] >= 0.0 and result.words[-1].end <= result.duration


@pytest.mark.slow
@pytest.mark.speech
def test_blocks_join_without_losing_words(show: Path) -> None:
    """Cut into 12 s blocks, the clip is heard as it is whole: held-over speech is not lost or doubled."""
    from rkaudio.show.config import load_show
    from rkaudio.speech.engines import load_engine
    from rkaudio.speech.recognise import transcribe_file

    engine = load_engine(load_show(show).transcript, "en")
    whole = transcribe_file(DEMO, engine, language="en")
    cut = transcribe_file(DEMO, engine, language="en", block_seconds=12.0)
    assert cut.duration == pytest.approx(whole.duration, abs=0.01)
    text = " ".join(w.text for w in cut.words)
    assert wer(DEMO_TEXT.read_text(encoding="utf-8"), text) < 0.10, text
    starts = [w.start for w in cut.words]
    assert starts == sorted(starts)


# --- no speech ---------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.speech
@pytest.mark.parametrize("kind", ["silence", "music"])
def test_no_speech_gives_an_empty_transcript_and_a_warning(kind: str, show: Path) -> None:
    rate = 44100
    if kind == "silence":
        audio = np.zeros(20 * rate)
    else:  # a slow sequence of chords with a little noise: music, not speech
        t = np.arange(20 * rate) / rate
        notes = (220.0, 277.2, 329.6, 440.0)
        audio = sum(0.1 * np.sin(2 * np.pi * f * (1 + (k % 2) * (t // 2.5) / 8) * t) for k, f in enumerate(notes))
        audio = audio + 0.003 * np.random.default_rng(1).standard_normal(audio.size)
    source = mh.write_wav(show / "episodes" / f"{kind}.wav", np.stack([audio, audio], axis=1), rate)
    out = run_subprocess("transcribe", source)
    assert out.code == 0, out
    assert "Traceback" not in out.err
    assert "no speech" in out.out.lower() + out.err.lower(), out
    assert webvtt.read(str(show / "transcripts" / f"{kind}.vtt")).captions == []
    podcast = json.loads((show / "feed" / "transcripts" / f"{kind}.json").read_text(encoding="utf-8"))
    assert podcast["segments"] == []
    assert (show / "transcripts" / f"{kind}.txt").read_text(encoding="utf-8").strip() == ""


# --- reviewers' edits --------------------------------------------------------------------------

def _edit_first_cue(vtt: Path, new_text: str) -> None:
    """Replace the text of the first cue, as a reviewer would in an editor."""
    lines = vtt.read_text(encoding="utf-8").splitlines()
    arrow = next(i for i, line in enumerate(lines) if "-->" in line)
    end = next((i for i in range(arrow + 1, len(lines)) if not lines[i].strip()), len(lines))
    lines[arrow + 1:end] = [new_text]
    vtt.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.speech
def test_reviewed_transcript_survives_process_and_retranscribe(show: Path) -> None:
    source = show / "episodes" / "demo.flac"
    shutil.copy(DEMO, source)
    assert run_subprocess("transcribe", source, "--quiet").code == 0
    vtt = show / "transcripts" / "demo.vtt"
    _edit_first_cue(vtt, "Welcome to Radical Kindness (edited by a reviewer).")
    edited = vtt.read_bytes()

    out = run_subprocess("process", source, "--json", "--quiet")
    assert out.code == 0, out
    assert out.json["transcript"]["action"] == "kept"
    assert vtt.read_bytes() == edited
    published = webvtt.read(str(show / "feed" / "transcripts" / "demo.vtt")).captions
    assert shown_lines(published[0]) == ["Welcome to Radical Kindness (edited by a reviewer)."]
    assert "edited by a reviewer" in (show / "feed" / "transcripts" / "demo.srt").read_text(encoding="utf-8")

    out = run_subprocess("transcribe", source, "--retranscribe", "--json", "--quiet")
    assert out.code == 0, out
    assert out.json["action"] == "merged" and out.json["reviewer_cues"] >= 1
    captions = webvtt.read(str(vtt)).captions
    assert shown_lines(captions[0]) == ["Welcome to Radical Kindness (edited by a reviewer)."]
    assert len(captions) > 5  # the machine's other cues are still there
    history = show / "transcripts" / "history" / "demo"
    saved = [p.read_bytes() for p in history.iterdir()]
    assert saved, "earlier versions were not kept"


def test_edit_survives_with_a_stand_in_engine(show: Path) -> None:
    """The same rules through the library, with an engine that always hears the same words."""
    from rkaudio.pipeline.transcribe import transcribe_episode
    from rkaudio.show.config import load_show

    source = mh.write_wav(show / "episodes" / "ep.wav", mh.speech(6.0, rate=16000), 16000)
    settings = load_show(show)
    first = transcribe_episode(settings, source, "ep", engine=StandInEngine("hello there. this is a test."))
    assert first.action == "created"
    vtt = show / "transcripts" / "ep.vtt"
    _edit_first_cue(vtt, "Hello there. This is a reviewed test.")
    edited = vtt.read_bytes()
    again = transcribe_episode(settings, source, "ep", engine=StandInEngine("something else entirely"))
    assert again.action == "kept" and again.asr is None
    assert vtt.read_bytes() == edited
    merged = transcribe_episode(settings, source, "ep", retranscribe=True,
                                engine=StandInEngine("something else entirely"))
    assert merged.action == "merged"
    assert "This is a reviewed test." in vtt.read_text(encoding="utf-8")
    assert any(p.suffix == ".vtt" for p in merged.archived) or edited in [
        p.read_bytes() for p in (show / "transcripts" / "history" / "ep").iterdir()]


def test_new_transcript_page_takes_the_recordings_name(show: Path) -> None:
    """Without --title, a new transcript is titled with the recording's file name; a kept one keeps its own."""
    from rkaudio.pipeline.transcribe import transcribe_episode
    from rkaudio.show.config import load_show

    source = mh.write_wav(show / "episodes" / "Kindness at work.wav", mh.speech(6.0, rate=16000), 16000)
    transcribe_episode(load_show(show), source, "ep", engine=StandInEngine("one two three four"))
    page = show / "feed" / "transcripts" / "ep.html"
    assert "<title>Kindness at work: transcript</title>" in page.read_text(encoding="utf-8")
    renamed = source.rename(source.with_name("take-2.wav"))
    transcribe_episode(load_show(show), renamed, "ep", retranscribe=True, engine=StandInEngine("one two three five"))
    assert "<title>Kindness at work: transcript</title>" in page.read_text(encoding="utf-8")


def test_stand_in_words_shift_by_the_offset(show: Path) -> None:
    from rkaudio.pipeline.transcribe import transcribe_episode
    from rkaudio.show.config import load_show

    source = mh.write_wav(show / "episodes" / "ep.wav", mh.speech(6.0, rate=16000), 16000)
    transcribe_episode(load_show(show), source, "a", engine=StandInEngine("one two three four"))
    transcribe_episode(load_show(show), source, "b", engine=StandInEngine("one two three four"), offset_s=2.5)
    a = webvtt.read(str(show / "transcripts" / "a.vtt")).captions
    b = webvtt.read(str(show / "transcripts" / "b.vtt")).captions
    assert [c.text for c in a] == [c.text for c in b]
    for x, y in zip(a, b):
        assert y.start_time.in_milliseconds() - x.start_time.in_milliseconds() == 2500


@pytest.mark.parametrize("command", ["process", "transcribe"])
def test_malformed_vtt_is_reported_with_its_line_and_nothing_is_rewritten(command: str, show: Path,
                                                                          speech_wav: Path) -> None:
    transcripts = show / "transcripts"
    (transcripts / "ep.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello.\n\n"
                                        "00:00:04.000 --> 00:00:0x.000\nBroken.\n", encoding="utf-8")
    (transcripts / "ep.srt").write_text("old\n", encoding="utf-8")
    before = snapshot(transcripts, show / "feed")
    out = run_clirunner(command, str(speech_wav), "--slug", "ep", "--retranscribe")
    line = assert_one_line_error(out, "ep.vtt", r"line 6")
    assert out.code == 6, line
    assert snapshot(transcripts, show / "feed") == before
    assert not (show / "feed" / "media" / "ep.mp3").exists()


def test_no_transcribe_still_publishes_a_reviewed_transcript(show: Path, speech_wav: Path) -> None:
    (show / "transcripts" / "ep.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nA reviewed line.\n", encoding="utf-8")
    out = run_subprocess("process", speech_wav, "--slug", "ep", "--no-transcribe", "--json", "--quiet")
    assert out.code == 0, out
    assert out.json["transcript"]["action"] == "regenerated"
    published = webvtt.read(str(show / "feed" / "transcripts" / "ep.vtt")).captions
    assert [c.text for c in published] == ["A reviewed line."]


def test_no_transcribe_without_a_transcript_writes_none(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("process", speech_wav, "--slug", "ep", "--no-transcribe", "--json", "--quiet")
    assert out.code == 0, out
    assert out.json["transcript"] is None
    assert not (show / "transcripts" / "ep.vtt").exists()
    assert not (show / "feed" / "transcripts").exists()


# --- transcript check --------------------------------------------------------------------------

def test_transcript_check_reports_each_broken_rule_with_its_time(show: Path) -> None:
    (show / "transcripts" / "ep.vtt").write_text(
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.000\nThis line is much too long to be read comfortably on a phone.\n\n"
        "00:00:02.500 --> 00:00:12.000\nOverlaps the cue before it and stays far too long.\n",
        encoding="utf-8")
    out = run_clirunner("transcript", "check", "ep")
    assert out.code == 1, out
    assert "00:00:01.000" in out.out and "00:00:02.500" in out.out
    assert "error" in out.out
    out = run_clirunner("transcript", "check", "ep", "--json")
    rules = {f["rule"] for f in out.json["findings"]}
    assert {"line-length", "overlap", "max-duration"} <= rules, rules


def test_transcript_check_passes_a_clean_file(show: Path) -> None:
    (show / "transcripts" / "ep.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nA short, clean caption.\n", encoding="utf-8")
    out = run_subprocess("transcript", "check", "ep")
    assert out.code == 0, out
    assert "0 error(s)" in out.out


def test_transcript_check_of_a_missing_transcript(show: Path) -> None:
    out = run_subprocess("transcript", "check", "nothing-here")
    assert_one_line_error(out, "nothing-here.vtt", "not found|no such|missing")


def test_transcript_publish_remakes_the_copies(show: Path) -> None:
    (show / "transcripts" / "ep.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nFirst words.\n", encoding="utf-8")
    out = run_subprocess("transcript", "publish", "ep")
    assert out.code == 0, out
    assert (show / "feed" / "transcripts" / "ep.srt").read_text(encoding="utf-8").count("First words.") == 1


# --- settings and models -----------------------------------------------------------------------

def test_unknown_transcript_setting_is_named(show: Path, speech_wav: Path) -> None:
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('model = "tiny.en"', 'modle = "base"'),
                    encoding="utf-8")
    out = run_subprocess("transcribe", speech_wav)
    assert_one_line_error(out, "show.toml", "transcript.modle")


def test_bad_engine_is_named(show: Path, speech_wav: Path) -> None:
    out = run_clirunner("transcribe", str(speech_wav), "--engine", "shorthand")
    assert_one_line_error(out, "command-line options", "transcript.engine")


def test_missing_model_folder(show: Path, speech_wav: Path, tmp_path: Path) -> None:
    out = run_subprocess("transcribe", speech_wav, "--model", tmp_path / "no-model-here")
    assert_one_line_error(out, "no-model-here", "model")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    out = run_subprocess("transcribe", speech_wav, "--model", empty)
    assert_one_line_error(out, "empty-model", "model.bin")


def test_bad_model_stops_process_before_any_audio_work(show: Path, speech_wav: Path, tmp_path: Path) -> None:
    out = run_clirunner("process", str(speech_wav), "--slug", "ep", "--model", str(tmp_path / "no-model-here"))
    assert_one_line_error(out, "no-model-here", "model")
    assert not (show / "feed" / "media" / "ep.mp3").exists()
    # With --no-transcribe the model is not needed, so its absence is no error.
    out = run_clirunner("process", str(speech_wav), "--slug", "ep", "--model", str(tmp_path / "no-model-here"),
                        "--no-transcribe", "--quiet")
    assert out.code == 0, out


def test_named_model_offline_is_one_clear_line(show: Path, speech_wav: Path) -> None:
    out = run_subprocess("transcribe", speech_wav, "--model", "base.en",
                         env={"HF_HUB_OFFLINE": "1"})
    line = assert_one_line_error(out, "base.en", "not on this machine")
    assert "tiny.en" in line


def test_model_from_the_environment(show: Path, speech_wav: Path, tmp_path: Path) -> None:
    out = run_subprocess("transcribe", speech_wav, env={"RKAUDIO_MODEL": str(tmp_path / "elsewhere")})
    assert_one_line_error(out, "elsewhere", "model")


def test_engine_threads_and_workers() -> None:
    """The bundled tiny.en on faster-whisper: one decoder per core, one thread each. Other models:
    one decoder on every core. Settings win."""
    from rkaudio.show.settings import TranscriptSettings
    from rkaudio.speech.engine import cpu_threads
    from rkaudio.speech.engines import engine_threads, engine_workers

    assert engine_threads(TranscriptSettings()) == 1
    assert engine_workers(TranscriptSettings()) == cpu_threads()
    assert engine_threads(TranscriptSettings(threads=3)) == 3
    assert engine_workers(TranscriptSettings(threads=3)) == 1
    assert engine_workers(TranscriptSettings(workers=3)) == 3
    assert engine_threads(TranscriptSettings(model="/models/small")) == cpu_threads()
    assert engine_workers(TranscriptSettings(model="/models/small")) == 1
    assert engine_threads(TranscriptSettings(engine="openai-whisper")) == cpu_threads()
    assert engine_workers(TranscriptSettings(engine="openai-whisper")) == 1


@pytest.mark.slow
@pytest.mark.speech
def test_decoders_side_by_side_hear_what_one_hears(show: Path) -> None:
    """Two decoders share the windows between them: every window is heard once, in order."""
    from dataclasses import replace

    from rkaudio.show.config import load_show
    from rkaudio.speech.engines import load_engine
    from rkaudio.speech.recognise import transcribe_file

    settings = load_show(show).transcript
    one = load_engine(replace(settings, workers=1), "en")
    two = load_engine(replace(settings, workers=2, threads=1), "en")
    assert two.workers == 2 and "x 2 decoders" in two.label
    alone = transcribe_file(DEMO, one, language="en", block_seconds=12.0)
    shared = transcribe_file(DEMO, two, language="en", block_seconds=12.0)
    reference = DEMO_TEXT.read_text(encoding="utf-8")
    heard = " ".join(w.text for w in shared.words)
    assert wer(reference, heard) < 0.10, heard
    assert wer(" ".join(w.text for w in alone.words), heard) < 0.03
    starts = [w.start for w in shared.words]
    assert starts == sorted(starts)


@pytest.mark.slow
@pytest.mark.speech
def test_a_build_job_takes_more_decoders_once_the_others_are_done(show: Path) -> None:
    """With a core budget (a build job's), the engine makes room for a decoder per core and uses
    its own share until the budget grows; what it hears does not change."""
    from dataclasses import replace

    from rkaudio.show.config import load_show
    from rkaudio.speech import engine as speech_engine
    from rkaudio.speech.engines import load_engine
    from rkaudio.speech.recognise import transcribe_file

    free = [0]
    speech_engine.set_core_budget(lambda: free[0], 2)
    try:
        job = load_engine(replace(load_show(show).transcript, threads=1, workers=1), "en")
        assert len(job.pipelines) == 2 and job.workers == 1 and "decoders" not in job.label
        assert job._decoders_now() == 1  # noqa: SLF001
        sharing = transcribe_file(DEMO, job, language="en", block_seconds=12.0)
        free[0] = 2
        assert job._decoders_now() == 2  # noqa: SLF001
        alone = transcribe_file(DEMO, job, language="en", block_seconds=12.0)
    finally:
        speech_engine.set_core_budget(None)
    assert speech_engine.cores_now(1) == 1 and speech_engine.cores_at_most(1) == 1
    heard = " ".join(w.text for w in alone.words)
    assert wer(DEMO_TEXT.read_text(encoding="utf-8"), heard) < 0.10, heard
    assert wer(" ".join(w.text for w in sharing.words), heard) < 0.03


def test_threads_setting_is_read_and_checked(show: Path, speech_wav: Path) -> None:
    from rkaudio.show.config import load_show

    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    assert "threads = 0" in text
    toml.write_text(text.replace("threads = 0", "threads = 2"), encoding="utf-8")
    assert load_show(show).transcript.threads == 2
    toml.write_text(text.replace("threads = 0", "threads = -1"), encoding="utf-8")
    assert_one_line_error(run_subprocess("transcribe", speech_wav), "show.toml", "transcript.threads")
    assert "workers = 0" in text
    toml.write_text(text.replace("workers = 0", "workers = 2"), encoding="utf-8")
    assert load_show(show).transcript.workers == 2
    toml.write_text(text.replace("workers = 0", "workers = true"), encoding="utf-8")
    assert_one_line_error(run_subprocess("transcribe", speech_wav), "show.toml", "transcript.workers")


def test_transcribe_bad_inputs(show: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("not audio at all", encoding="utf-8")
    assert_one_line_error(run_subprocess("transcribe", tmp_path / "missing.wav"), "missing.wav", "not found")
    assert_one_line_error(run_subprocess("transcribe", tmp_path / "empty.wav"), "empty.wav", "empty")
    assert_one_line_error(run_subprocess("transcribe", tmp_path / "notes.wav"), "notes.wav", "not audio")
    assert list((show / "transcripts").glob("*.vtt")) == []


# --- windows and blocks ------------------------------------------------------------------------

def test_speech_windows_group_up_to_thirty_seconds_and_cut_at_the_longest_pause() -> None:
    from rkaudio.speech.windows import speech_windows

    # 31 s of speech without a 2 s pause: it needs two windows. The longest pause (0.9 s, after
    # 12 s) is where they meet, not the last pause that would fill the first window (0.4 s at 29 s).
    spans = [(0.5, 5.0), (5.3, 12.0), (12.9, 29.0), (29.4, 31.5), (40.0, 41.0)]
    windows = speech_windows(spans, duration=41.2)
    assert [pytest.approx(w) for w in windows] == [(0.1, 12.4), (12.5, 31.9), (39.6, 41.2)]
    assert all(end - start <= 30.0 for start, end in windows)


def test_speech_windows_avoid_short_windows() -> None:
    """A longer pause one second in would leave a window too short to understand."""
    from rkaudio.speech.windows import speech_windows

    spans = [(0.0, 1.0), (2.5, 15.0), (15.4, 31.0)]
    assert [pytest.approx(w) for w in speech_windows(spans)] == [(0.0, 15.2), (15.2, 31.4)]


def test_speech_windows_use_as_few_windows_as_fit() -> None:
    from rkaudio.speech.windows import speech_windows

    spans = [(k * 3.0, k * 3.0 + 2.7) for k in range(30)]  # 90 s of speech, a 0.3 s pause every 3 s
    windows = speech_windows(spans)
    assert len(windows) == 4
    assert all(end - start <= 30.0 for start, end in windows)
    assert [w[0] for w in windows] == sorted(w[0] for w in windows)
    assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))


def test_long_pause_starts_a_new_window() -> None:
    from rkaudio.speech.windows import speech_windows

    assert [pytest.approx(w) for w in speech_windows([(0.2, 2.0), (6.0, 8.0)])] == [(0.0, 2.4), (5.6, 8.4)]


def test_speech_longer_than_a_window_is_cut_into_equal_parts() -> None:
    from rkaudio.speech.windows import speech_windows

    windows = speech_windows([(10.0, 70.0)])
    assert len(windows) == 3
    assert all(end - start <= 30.0 for start, end in windows)
    assert windows[0][0] == pytest.approx(9.6) and windows[-1][1] == pytest.approx(70.4)


def test_window_at_the_end_of_a_block_is_held_over() -> None:
    from rkaudio.speech.windows import split_block

    windows, keep = split_block([(1.0, 20.0), (25.0, 59.8)], 60.0, final=False)
    assert windows == [(1.0, 20.0)] and keep == pytest.approx(24.8)
    windows, keep = split_block([(1.0, 20.0), (25.0, 59.8)], 60.0, final=True)
    assert len(windows) == 2 and keep == 60.0
    windows, keep = split_block([(1.0, 20.0)], 60.0, final=False)
    assert windows == [(1.0, 20.0)] and keep == pytest.approx(59.0)
