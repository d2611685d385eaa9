"""The MP3's ID3 tags, read back with the readers players use: tinytag and ffmpeg, as well as mutagen.

The unit tests tag a generated MP3 directly; the end-to-end tests read what ``rkaudio process``
published, with its metadata file, research notes, chapters and (in the slow test) a real transcript.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from tinytag import TinyTag

from rkaudio.core.errors import RkaudioError
from rkaudio.publishing.episode import Chapter
from rkaudio.publishing.id3 import EpisodeTags, write_episode_tags

import media_helpers as mh
from conftest import run_subprocess
from show_helpers import BASE, configure, process, write_metadata

REPO = Path(__file__).resolve().parent.parent
COVER = REPO / "assets" / "cover.png"


def ffmetadata(path: Path) -> str:
    """What ffmpeg reads of a file's tags and chapters (its ffmetadata text)."""
    return subprocess.run([mh.FFMPEG, "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, check=True).stdout


def chapters_from_ffmetadata(text: str) -> list[tuple[float, str]]:
    """(start in seconds, title) of each [CHAPTER] block ffmpeg found."""
    found = []
    for block in text.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        num, den = fields["TIMEBASE"].split("/")
        found.append((int(fields["START"]) * int(num) / int(den), fields["title"]))
    return found


@pytest.fixture
def mp3(tmp_path: Path) -> Path:
    path = tmp_path / "episode.mp3"
    subprocess.run([mh.FFMPEG, "-v", "error", "-f", "lavfi", "-i", "sine=440:d=6", "-c:a", "libmp3lame",
                    str(path)], check=True)
    return path


def full_tags(**overrides: object) -> EpisodeTags:
    values: dict[str, object] = dict(
        title='Café & "friends" <b>', show_title="Radical Kindness", author="Belong",
        date=datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc), summary="One sentence about it.",
        description="Longer show notes.\n\nReferences\n\nAbrams, D. (2021).", cover=COVER,
        transcript="Welcome to the show.\n\nSecond paragraph.", language="eng",
        chapters=(Chapter(0.0, "Introduction"), Chapter(2.5, "The research", "https://doi.org/10.1/x")),
        duration=6.0, feed_url=f"{BASE}/feed.xml", guid="5e1f0c1e-0000-4000-8000-000000000001")
    values.update(overrides)
    return EpisodeTags(**values)  # type: ignore[arg-type]


def test_every_frame_is_written_as_id3v23(mp3: Path) -> None:
    write_episode_tags(mp3, full_tags())
    tags = ID3(mp3, translate=False)  # the frames as stored, not upgraded to v2.4 on reading
    assert {f.lang for f in tags.getall("COMM") + tags.getall("USLT")} == {"eng"}
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == 'Café & "friends" <b>'
    assert str(tags["TPE1"]) == "Belong" and str(tags["TALB"]) == "Radical Kindness"
    assert str(tags["TCON"]) == "Podcast"
    # v2.3 dates: the year, then day and month, then hour and minute.
    assert (str(tags["TYER"]), str(tags["TDAT"]), str(tags["TIME"])) == ("2026", "0501", "1030")
    assert "TDRC" not in tags
    assert tags.getall("COMM")[0].text == ["One sentence about it."]
    assert tags.getall("USLT")[0].text == "Welcome to the show.\n\nSecond paragraph."
    assert str(tags["TDES"]).startswith("Longer show notes.")
    (apic,) = tags.getall("APIC")
    assert apic.mime == "image/png" and apic.type == 3 and apic.data == COVER.read_bytes()
    assert tags["PCST"].value == 1
    assert tags["WFED"].url == f"{BASE}/feed.xml"
    assert str(tags["TGID"]) == "5e1f0c1e-0000-4000-8000-000000000001"
    (toc,) = tags.getall("CTOC")
    assert toc.child_element_ids == ["chp0", "chp1"]
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    assert (chaps["chp0"].start_time, chaps["chp0"].end_time) == (0, 2500)
    assert (chaps["chp1"].start_time, chaps["chp1"].end_time) == (2500, 6000)
    assert str(chaps["chp1"].sub_frames["TIT2"]) == "The research"
    assert chaps["chp1"].sub_frames.getall("WXXX")[0].url == "https://doi.org/10.1/x"
    assert not chaps["chp0"].sub_frames.getall("WXXX")


def test_id3v24_is_an_option(mp3: Path) -> None:
    write_episode_tags(mp3, full_tags(id3_version=4))
    tags = ID3(mp3)
    assert tags.version[:2] == (2, 4)
    assert str(tags["TDRC"]).startswith("2026-01-05")
    assert len(tags.getall("CHAP")) == 2


@pytest.mark.parametrize("version", [3, 4])
def test_tinytag_reads_the_tags(mp3: Path, version: int) -> None:
    write_episode_tags(mp3, full_tags(id3_version=version))
    tag = TinyTag.get(mp3, image=True)
    assert tag.title == 'Café & "friends" <b>'
    assert (tag.artist, tag.album, tag.genre) == ("Belong", "Radical Kindness", "Podcast")
    assert tag.year and tag.year.startswith("2026")
    assert tag.comment == "One sentence about it."
    assert tag.other["lyrics"] == ["Welcome to the show.\n\nSecond paragraph."]
    assert tag.images.front_cover is not None and tag.images.front_cover.data == COVER.read_bytes()
    assert 5.5 < tag.duration < 6.5


def test_ffmpeg_reads_tags_and_chapters(mp3: Path) -> None:
    write_episode_tags(mp3, full_tags())
    meta = ffmetadata(mp3)
    assert 'title=Café & "friends" <b>' in meta
    assert "album=Radical Kindness" in meta and "genre=Podcast" in meta
    chapters = chapters_from_ffmetadata(meta)
    assert [title for _, title in chapters] == ["Introduction", "The research"]
    # ffmpeg moves chapter times by the MP3 encoder's start padding (about 25 ms).
    assert chapters[1][0] == pytest.approx(2.5, abs=0.06)


def test_retagging_replaces_the_old_tag(mp3: Path) -> None:
    write_episode_tags(mp3, full_tags())
    write_episode_tags(mp3, full_tags(title="Second", chapters=(), transcript="", cover=None))
    tags = ID3(mp3)
    assert str(tags["TIT2"]) == "Second"
    assert not tags.getall("CHAP") and not tags.getall("CTOC") and not tags.getall("USLT")
    assert not tags.getall("APIC")


def test_a_cover_that_is_not_an_image_is_named(mp3: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "cover.png"
    bogus.write_text("not an image", encoding="utf-8")
    with pytest.raises(RkaudioError, match="cover.png.*neither PNG nor JPEG"):
        write_episode_tags(mp3, full_tags(cover=bogus))


# --- what `process` publishes ---------------------------------------------------------------------

def test_process_tags_the_episode_from_its_metadata(show: Path, speech_wav: Path) -> None:
    configure(show)
    meta = write_metadata(
        show, "ep1", title="Us & <them>", date="2026-03-01T09:00:00Z", number=4,
        notes="Notes citing [@abrams2021].",
        chapters='[[chapters]]\nstart = 0\ntitle = "Start"\n'
                 '[[chapters]]\nstart = "0:02.5"\ntitle = "Research"\nurl = "https://doi.org/10.1177/1368430220983440"\n')
    guid = next(line.split('"')[1] for line in meta.read_text(encoding="utf-8").splitlines()
                if line.startswith("guid"))
    process(speech_wav, "ep1")
    mp3 = show / "feed" / "media" / "ep1.mp3"
    tags = ID3(mp3)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "Us & <them>"
    assert str(tags["TALB"]) == "Test Show"
    assert str(tags["TGID"]) == guid
    assert tags["WFED"].url == f"{BASE}/feed.xml"
    assert tags.getall("APIC")[0].data == (show / "assets" / "cover.png").read_bytes()
    assert "Abrams, D., Lalot, F., & Hogg, M. A. (2021)" in str(tags["TDES"])
    assert [c.sub_frames["TIT2"].text[0] for c in sorted(tags.getall("CHAP"), key=lambda c: c.start_time)] \
        == ["Start", "Research"]
    # The last chapter ends where the MP3 does.
    last = max(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert abs(last.end_time / 1000 - TinyTag.get(mp3).duration) < 0.2
    chapters = chapters_from_ffmetadata(ffmetadata(mp3))
    assert [t for _, t in chapters] == ["Start", "Research"]


def test_id3_version_comes_from_show_toml(show: Path, speech_wav: Path) -> None:
    configure(show)
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("id3_version = 3", "id3_version = 4"), encoding="utf-8")
    process(speech_wav, "v4")
    assert ID3(show / "feed" / "media" / "v4.mp3").version[:2] == (2, 4)


def test_bad_id3_version_is_named(show: Path, speech_wav: Path) -> None:
    from conftest import assert_one_line_error

    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("id3_version = 3", "id3_version = 5"), encoding="utf-8")
    out = run_subprocess("process", speech_wav, "--no-transcribe")
    assert_one_line_error(out, "show.toml", "id3_version")


@pytest.mark.slow
@pytest.mark.speech
def test_transcript_goes_into_the_tags(show: Path) -> None:
    """The real engine on the committed demo clip: its transcript is the MP3's USLT frame."""
    configure(show)
    source = show / "episodes" / "welcome.flac"
    shutil.copy(mh.SPEECH, source)
    out = run_subprocess("process", source, "--quiet", "--json")
    assert out.code == 0, out
    mp3 = show / "feed" / "media" / "welcome.mp3"
    lyrics = ID3(mp3).getall("USLT")[0].text
    published = (show / "feed" / "transcripts" / "welcome.txt").read_text(encoding="utf-8")
    assert lyrics == published
    assert "kindness" in lyrics.lower() and len(lyrics.split()) > 50
    assert TinyTag.get(mp3).other["lyrics"] == [lyrics]


@pytest.mark.parametrize("language,code", [("cy", "cym"), ("ur", "urd"), ("pa-Arab", "pan"), ("bn", "ben"),
                                           ("zh-Hant", "zho"), ("yue", "yue"), ("fil", "fil"), ("en-GB", "eng"),
                                           ("qq", "und")])
def test_the_show_language_becomes_the_id3_language(language: str, code: str) -> None:
    """Any IETF tag maps to its ISO 639-2 code; one no registry knows is "und", never a false "eng"."""
    from rkaudio.publishing.id3 import iso639_2

    assert iso639_2(language) == code


def test_a_tamil_show_is_tagged_in_tamil(show: Path, speech_wav: Path) -> None:
    """A language the old 21-entry table lacked: the finished MP3 says "tam", not "eng", read back
    with mutagen."""
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('language = "en"', 'language = "ta"'), encoding="utf-8")
    out = run_subprocess("process", "--no-transcribe", speech_wav, "--slug", "ta", "--quiet", "--intro", "none",
                         "--outro", "none")
    assert out.code == 0, out
    tags = ID3(show / "feed" / "media" / "ta.mp3")
    assert tags.getall("TLAN")[0].text == ["tam"]
