"""Transcript files in a show folder: reviewers' edits survive every run, history, publishing."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import webvtt

from rkaudio.core.errors import TranscriptError
from rkaudio.show.paths import episode_paths
from rkaudio.transcripts.caption_check import has_errors
from rkaudio.transcripts.formats import to_vtt
from rkaudio.transcripts.model import Transcript
from rkaudio.transcripts.segmentation import transcript_from_words
from rkaudio.transcripts.store import (
    check_transcript,
    has_transcript,
    load_transcript,
    regenerate,
    save_machine_transcript,
)

from transcript_helpers import SAMPLE, assert_caption_rules, speech

SLUG = "ep1"
#: What the reviewer changes: a word the engine misheard, in the third cue.
MISHEARD, CORRECTED = "England about her work", "England about their work"


def _clock():
    """Each call a second later, so history names are distinct and in order."""
    moments = itertools.count()
    base = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)
    return lambda: base + timedelta(seconds=next(moments))


@pytest.fixture
def clock():
    return _clock()


def machine(text: str = SAMPLE) -> Transcript:
    return transcript_from_words(speech(text), language="en-gb", title="Welcome <b>& hello</b>")


#: The engine's second opinion of the same audio: two words heard differently, elsewhere.
SECOND = SAMPLE.replace("Welcome", "Hello").replace("youth worker", "youth leader")


def _edit(root: Path) -> bytes:
    path = root / "transcripts" / f"{SLUG}.vtt"
    text = path.read_text(encoding="utf-8")
    assert text.count(MISHEARD) == 1
    path.write_text(text.replace(MISHEARD, CORRECTED), encoding="utf-8")
    return path.read_bytes()


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _cue_block(vtt: str, words: str) -> str:
    (block,) = [b for b in vtt.split("\n\n") if words in b]
    return block


@pytest.mark.parametrize("title", ["", "A title"])
def test_first_transcript_puts_nothing_in_the_history(title: str, tmp_path, clock):
    """Nothing was replaced, so there is no earlier version to keep, whatever the title."""
    transcript = transcript_from_words(speech(SAMPLE), language="", title=title)
    update = save_machine_transcript(tmp_path, SLUG, transcript, now=clock)
    files = episode_paths(tmp_path, SLUG)
    assert update.archived == [] and not files.history.exists()
    assert len(update.written) == len(set(update.written))
    assert f"<title>{title or SLUG}: transcript</title>" in files.derived("html").read_text(encoding="utf-8")


def test_first_transcript_writes_every_format_and_publishes_it(tmp_path, clock):
    update = save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    assert update.action == "created" and not update.empty and update.reviewer_cues == 0
    assert not has_errors(update.findings)
    files = episode_paths(tmp_path, SLUG)
    for ext in ("vtt", "machine.vtt", "words.json", "srt", "json", "txt", "html"):
        assert (tmp_path / "transcripts" / f"{SLUG}.{ext}").is_file(), ext
    for ext in ("vtt", "srt", "json", "html", "txt"):
        assert files.published(ext).read_bytes() == (tmp_path / "transcripts" / f"{SLUG}.{ext}").read_bytes()
    assert not files.published("words.json").exists()
    captions = assert_caption_rules(files.vtt)
    assert " ".join(c.text.replace("\n", " ") for c in captions) == SAMPLE
    assert "<title>Welcome &lt;b&gt;&amp; hello&lt;/b&gt;: transcript</title>" in files.derived("html").read_text()
    assert '<html lang="en-gb">' in files.derived("html").read_text()
    words = json.loads(files.words.read_text())
    probabilities = [w["probability"] for c in words["cues"] for w in c["words"]]
    assert len(probabilities) == len(SAMPLE.split()) and set(probabilities) == {0.9}
    assert update.archived == [] and not files.history.exists()


def test_a_first_transcript_has_no_history(tmp_path, clock):
    """Nothing existed before, so nothing is an earlier version, even where the save fills in
    a title or language the engine did not give."""
    update = save_machine_transcript(tmp_path, SLUG, transcript_from_words(speech(SAMPLE)), now=clock)
    assert update.action == "created"
    assert update.archived == [] and not episode_paths(tmp_path, SLUG).history.exists()


def test_a_new_machine_transcript_never_replaces_the_reviewed_vtt(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    machine_before = files.machine_vtt.read_bytes()
    edited = _edit(tmp_path)
    assert has_transcript(tmp_path, SLUG)

    update = save_machine_transcript(tmp_path, SLUG, machine(SECOND), now=clock)

    assert update.action == "kept"
    assert files.vtt.read_bytes() == edited
    assert files.machine_vtt.read_bytes() == machine_before  # still the base the edit was made on
    for ext in ("srt", "json", "txt", "html"):
        text = files.derived(ext).read_text(encoding="utf-8")
        assert CORRECTED in text and MISHEARD not in text, ext
        assert files.published(ext).read_text(encoding="utf-8") == text
    assert CORRECTED in files.published("vtt").read_text(encoding="utf-8")
    # The formats made from the machine text went to the history folder before being replaced.
    old_srt = [p for p in files.history.iterdir() if p.name.endswith(".srt")]
    assert len(old_srt) == 1 and MISHEARD in old_srt[0].read_text(encoding="utf-8")


def test_retranscribe_keeps_the_reviewers_cue_and_takes_the_new_machine_text_elsewhere(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    machine_before = files.machine_vtt.read_bytes()
    edited = _edit(tmp_path)
    reviewed_block = _cue_block(edited.decode(), CORRECTED)

    second = machine(SECOND)
    update = save_machine_transcript(tmp_path, SLUG, second, retranscribe=True, now=clock)

    assert update.action == "merged" and update.reviewer_cues == 1
    vtt = files.vtt.read_text(encoding="utf-8")
    assert reviewed_block in vtt  # timing, speaker and lines exactly as the reviewer left them
    assert "Hello to Radical Kindness" in vtt and "youth leader" in vtt
    assert "Welcome" not in vtt and "youth worker" not in vtt and MISHEARD not in vtt
    for words in ("from the north", "young people of her town", "the podcast about"):
        assert vtt.count(words) == 1, words  # no new word under the reviewer's cue, none lost
    captions = webvtt.read(str(files.vtt)).captions
    starts = [c.start_time.in_milliseconds() for c in captions]
    ends = [c.end_time.in_milliseconds() for c in captions]
    assert starts == sorted(starts) and all(e <= s for e, s in zip(ends, starts[1:]))
    assert not has_errors(check_transcript(tmp_path, SLUG))
    assert files.machine_vtt.read_text(encoding="utf-8") == to_vtt(second.cues)
    # Every replaced file is in the history, byte for byte.
    history = {p.name: p.read_bytes() for p in files.history.iterdir()}
    assert edited in [data for name, data in history.items() if re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z\.vtt", name)]
    assert machine_before in [data for name, data in history.items() if name.endswith(".machine.vtt")]
    # The other formats follow the merged .vtt.
    for ext in ("srt", "json", "txt", "html"):
        text = files.published(ext).read_text(encoding="utf-8")
        assert CORRECTED in text and "youth leader" in text, ext
    sidecar = json.loads(files.words.read_text())
    reviewed = [c for c in sidecar["cues"] if c["reviewed"]]
    assert len(reviewed) == 1 and CORRECTED in " ".join(reviewed[0]["lines"])
    assert [w["text"] for w in reviewed[0]["words"]] == " ".join(reviewed[0]["lines"]).split()
    assert all(c["words"] for c in sidecar["cues"] if not c["reviewed"])

    # A third transcript later: the edit is still the reviewer's.
    third = machine(SECOND.replace("long conversation", "long chat"))
    save_machine_transcript(tmp_path, SLUG, third, retranscribe=True, now=clock)
    vtt = files.vtt.read_text(encoding="utf-8")
    assert reviewed_block in vtt and "long chat" in vtt and "conversation" not in vtt


@pytest.mark.parametrize("drift", [-0.35, -0.1, 0.1, 0.35])
def test_retranscribe_neither_repeats_nor_loses_words_when_the_engine_times_them_differently(
        tmp_path, clock, drift):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    _edit(tmp_path)
    words = [dataclasses.replace(w, start=max(0.0, w.start + drift), end=w.end + drift) for w in speech(SECOND)]
    save_machine_transcript(tmp_path, SLUG, transcript_from_words(words), retranscribe=True, now=clock)
    merged = load_transcript(tmp_path, SLUG)
    assert " ".join(c.text for c in merged.cues) == SECOND.replace(MISHEARD, CORRECTED)
    assert not has_errors(check_transcript(tmp_path, SLUG))


def test_a_corrected_cue_keeps_the_timings_of_the_words_the_reviewer_left_alone(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    before = json.loads(files.words.read_text())["cues"]
    text = files.vtt.read_text(encoding="utf-8")
    first_timing = text.split("\n")[2]
    retimed = first_timing.replace("00:00:00.000", "00:00:00.100")
    assert retimed != first_timing
    files.vtt.write_text(text.replace(first_timing, retimed).replace(MISHEARD, CORRECTED), encoding="utf-8")

    update = regenerate(tmp_path, SLUG, now=clock)

    assert update.reviewer_cues == 2
    cues = json.loads(files.words.read_text())["cues"]
    # Retimed only: the reviewer's now, but the words were spoken when they were spoken.
    assert cues[0]["reviewed"] and cues[0]["start"] == 0.1
    assert " ".join(w["text"] for w in cues[0]["words"]) == " ".join(cues[0]["lines"])
    # A word corrected mid-cue: one timed word per word of the new text; the others keep their
    # times and probabilities, the corrected one sits where the misheard one was, unsure of nothing.
    corrected, machine_words = cues[2]["words"], before[2]["words"]
    assert cues[2]["reviewed"] and CORRECTED in " ".join(cues[2]["lines"])
    assert [w["text"] for w in corrected] == " ".join(cues[2]["lines"]).split()
    assert len(corrected) == len(machine_words)
    changed = [(was["text"], now["text"]) for was, now in zip(machine_words, corrected) if was["text"] != now["text"]]
    assert changed == [("her", "their")]
    for was, now in zip(machine_words, corrected):
        assert (now["start"], now["end"]) == (was["start"], was["end"])
        assert now["probability"] == (None if now["text"] == "their" else was["probability"])
    assert all(not c["reviewed"] and c["words"] for c in (cues[1], *cues[3:]))
    transcript = load_transcript(tmp_path, SLUG)
    assert [w.text for w in transcript.cues[2].words] == transcript.cues[2].text.split()
    assert transcript.cues[0].words[0].probability == 0.9


def test_a_reviewer_deletion_is_not_undone_by_retranscribing(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    text = files.vtt.read_text(encoding="utf-8")
    last = text.rstrip("\n").split("\n\n")[-1]
    assert "Let us begin." in last
    files.vtt.write_text(text.replace("\n\n" + last, ""), encoding="utf-8")
    regenerate(tmp_path, SLUG, now=clock)
    save_machine_transcript(tmp_path, SLUG, machine(SECOND), retranscribe=True, now=clock)
    vtt = files.vtt.read_text(encoding="utf-8")
    assert "Hello" in vtt and "begin" not in vtt


def test_without_a_sidecar_or_machine_copy_every_cue_counts_as_reviewed(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    files.words.unlink()
    files.machine_vtt.unlink()
    before = webvtt.read(str(files.vtt)).captions
    update = save_machine_transcript(tmp_path, SLUG, machine(SECOND), retranscribe=True, now=clock)
    assert update.reviewer_cues == len(before)
    after = webvtt.read(str(files.vtt)).captions
    assert [(c.start, c.end, c.text) for c in after] == [(c.start, c.end, c.text) for c in before]


@pytest.mark.parametrize("action", ["regenerate", "save", "retranscribe", "check"])
def test_a_malformed_vtt_is_reported_by_line_and_nothing_is_rewritten(tmp_path, clock, action):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    lines = files.vtt.read_text(encoding="utf-8").split("\n")
    timings = [n for n, line in enumerate(lines) if " --> " in line]
    broken_at = timings[2]
    lines[broken_at] = lines[broken_at].replace(" --> ", " -> ")
    files.vtt.write_text("\n".join(lines), encoding="utf-8")
    before = _snapshot(tmp_path)

    with pytest.raises(TranscriptError) as caught:
        if action == "regenerate":
            regenerate(tmp_path, SLUG, now=clock)
        elif action == "check":
            check_transcript(tmp_path, SLUG)
        else:
            save_machine_transcript(tmp_path, SLUG, machine(SECOND), retranscribe=action == "retranscribe", now=clock)

    message = str(caught.value)
    assert message.startswith(f"transcripts/{SLUG}.vtt: line {broken_at + 1}: cue timing "), message
    assert "\n" not in message and caught.value.exit_code == 6
    assert _snapshot(tmp_path) == before
    assert not files.history.exists()


def test_silence_gives_valid_empty_files_and_says_so(tmp_path, clock):
    update = save_machine_transcript(tmp_path, SLUG, transcript_from_words([]), now=clock)
    assert update.empty
    files = episode_paths(tmp_path, SLUG)
    assert files.vtt.read_text() == "WEBVTT\n" and webvtt.read(str(files.vtt)).captions == []
    assert json.loads(files.published("json").read_text()) == {"version": "1.0.0", "segments": []}
    assert files.published("srt").read_text() == "" and files.published("txt").read_text() == ""
    assert "<h1>ep1</h1>" in files.published("html").read_text()
    assert check_transcript(tmp_path, SLUG) == []


def test_retranscribing_silence_keeps_the_reviewers_cues(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    _edit(tmp_path)
    update = save_machine_transcript(tmp_path, SLUG, transcript_from_words([]), retranscribe=True, now=clock)
    vtt = episode_paths(tmp_path, SLUG).vtt.read_text(encoding="utf-8")
    assert update.reviewer_cues == 1 and not update.empty
    assert CORRECTED in vtt and "Welcome" not in vtt


def test_an_unchanged_run_rewrites_nothing(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    before = _snapshot(tmp_path)
    update = regenerate(tmp_path, SLUG, now=clock)
    assert update.written == [] and update.archived == []
    assert _snapshot(tmp_path) == before


def test_the_published_vtt_leaves_out_reviewers_notes(tmp_path, clock):
    save_machine_transcript(tmp_path, SLUG, machine(), now=clock)
    files = episode_paths(tmp_path, SLUG)
    files.vtt.write_text(files.vtt.read_text().replace("WEBVTT\n", "WEBVTT\n\nNOTE ask Ann about the name\n"))
    regenerate(tmp_path, SLUG, now=clock)
    assert "NOTE" in files.vtt.read_text() and "NOTE" not in files.published("vtt").read_text()


@pytest.mark.parametrize("slug", ["", "../outside", "a/b", ".hidden"])
def test_a_slug_cannot_reach_outside_the_transcripts_folder(tmp_path, slug):
    with pytest.raises(TranscriptError, match="cannot name a transcript"):
        episode_paths(tmp_path, slug)


def test_regenerate_without_a_transcript_says_so(tmp_path):
    with pytest.raises(TranscriptError, match=r"transcripts/ep1\.vtt: not found"):
        regenerate(tmp_path, SLUG)
