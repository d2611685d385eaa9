"""``rkaudio check``: the offline compliance report passes a good show and names each thing broken.

Each failure is made the way it happens in life (a file replaced or cut short, a feed edited by
hand, art swapped for the wrong size), and the report must find it by reading the published files.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

import media_helpers as mh
from conftest import building_show, copy_show, run_clirunner, run_subprocess
from show_helpers import configure, process, write_metadata


def check(*extra: str) -> tuple[int, list[dict]]:
    out = run_clirunner("check", "--json", *extra)
    assert out.code in (0, 1), out
    report = json.loads(out.out)
    assert report["ok"] == (out.code == 0)
    return out.code, report["results"]


def failures(results: list[dict]) -> set[tuple[str, str]]:
    return {(r["subject"], r["check"]) for r in results if not r["ok"]}


@pytest.fixture(scope="module")
def _published(tmp_path_factory: pytest.TempPathFactory, template_show: Path, speech_wav: Path) -> Path:
    """Two processed episodes and a published transcript (built once for the module)."""
    with building_show(tmp_path_factory, template_show, "check") as show:
        _publish(show, speech_wav)
    return show


@pytest.fixture
def published(_published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_show(_published, tmp_path, monkeypatch)


def _publish(show: Path, speech_wav: Path) -> None:
    configure(show)
    write_metadata(show, "one", title="One", date="2026-01-05T10:00:00Z", number=1, notes="See [@abrams2021].",
                   chapters='[[chapters]]\nstart = 0\ntitle = "Start"\n')
    write_metadata(show, "two", title="Two", date="2026-02-05T10:00:00Z", number=2)
    process(speech_wav, "one")
    process(speech_wav, "two")
    # A transcript published beside episode one, as the transcript step leaves it.
    (show / "feed" / "transcripts").mkdir(exist_ok=True)
    (show / "feed" / "transcripts" / "one.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n",
                                                          encoding="utf-8")
    assert run_clirunner("feed", "--quiet").code == 0


def test_a_good_show_passes(published: Path) -> None:
    code, results = check()
    assert code == 0, failures(results)
    checks = {r["check"] for r in results}
    assert {"artwork", "well-formed XML", "channel elements", "itunes:explicit", "unique guid",
            "enclosure length", "enclosure type", "transcript URL", "chapters URL", "loudness", "true peak",
            "tags"} <= checks
    loud = next(r for r in results if r["check"] == "loudness" and r["subject"].endswith("one.mp3"))
    assert "-16" in loud["detail"]


def test_table_output_and_exit_code(published: Path) -> None:
    out = run_subprocess("check")
    assert out.code == 0, out
    assert "PASS" in out.out and "0 failed" in out.out


def test_enclosure_length_mismatch_is_found(published: Path) -> None:
    mp3 = published / "feed" / "media" / "two.mp3"
    with mp3.open("ab") as f:  # replaced by a longer file after the feed was built
        f.write(b"\0" * 1000)
    code, results = check()
    assert code == 1
    assert ("episode 'Two'", "enclosure length") in failures(results)


def test_a_quiet_replacement_mp3_fails_loudness_and_tags(published: Path, quiet_speech_wav: Path) -> None:
    mp3 = published / "feed" / "media" / "one.mp3"
    subprocess.run([mh.FFMPEG, "-v", "error", "-y", "-i", str(quiet_speech_wav), "-c:a", "libmp3lame",
                    "-write_id3v2", "0", str(mp3)], check=True)
    code, results = check()
    assert code == 1
    found = failures(results)
    assert ("feed/media/one.mp3", "loudness") in found
    assert ("feed/media/one.mp3", "tags") in found


def test_duplicate_guid_and_missing_transcript_are_found(published: Path) -> None:
    feed = published / "feed" / "feed.xml"
    text = feed.read_text(encoding="utf-8")
    guids = [line.split(">")[1].split("<")[0] for line in text.splitlines() if "<guid" in line]
    feed.write_text(text.replace(guids[1], guids[0]), encoding="utf-8")
    (published / "feed" / "transcripts" / "one.vtt").unlink()
    (published / "feed" / "chapters" / "one.json").unlink()
    code, results = check()
    assert code == 1
    found = failures(results)
    assert ("episode 'One'", "unique guid") in found
    assert ("episode 'One'", "transcript URL") in found
    assert ("episode 'One'", "chapters URL") in found


def test_wrong_artwork_is_found(published: Path) -> None:
    Image.new("RGB", (1200, 900), "navy").save(published / "assets" / "cover.png")
    code, results = check()
    assert code == 1
    row = next(r for r in results if r["check"] == "artwork")
    assert not row["ok"] and "1200x900" in row["detail"]


def test_a_broken_feed_is_reported_not_raised(published: Path) -> None:
    feed = published / "feed" / "feed.xml"
    feed.write_text(feed.read_text(encoding="utf-8")[:-200], encoding="utf-8")
    code, results = check()
    assert code == 1
    assert ("feed", "well-formed XML") in failures(results)


def test_no_feed_yet(show: Path) -> None:
    configure(show)
    code, results = check()
    assert code == 1
    assert ("feed", "feed.xml exists") in failures(results)
