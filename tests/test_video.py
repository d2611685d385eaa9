"""A webinar comes out as a webinar: the finished video beside the MP3, the picture copied packet
for packet, the processed sound, the captions timed to the video, the chapters; in the feed and on
the site; and the inputs that must not give a video.

One webinar (a `testsrc2` picture with the committed speech clip, and the show's intro and outro)
is processed once for the module, transcribed by a stand-in engine; every check reads what that
run wrote, with tools that are not rkaudio: ffmpeg's MD5 of the copied packets, pyloudnorm,
webvtt-py on the subtitle track ffmpeg extracts, feedparser and lxml, html5lib.
"""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import feedparser
import html5lib
import numpy as np
import pytest
import webvtt
from lxml import etree

import media_helpers as mh
from conftest import assert_one_line_error, building_show, copy_show, run_clirunner, set_audio
from show_helpers import NO_STINGS, configure, write_metadata
from transcript_helpers import StandInEngine

SLUG = "webinar"
SECONDS = 12.0
WORDS = "welcome to radical kindness. a podcast from belong about the people building bridges."
PODCAST_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"


def make_video(path: Path, seconds: float, *audio: list[str], codec: str = "libx264",
               cover: Path | None = None) -> Path:
    """A small webinar: ffmpeg's test picture (160x120, 10 fps) and the given sound tracks (each a
    list of input options), in the container ``path`` names; a cover picture attached first."""
    args: list[str] = []
    maps: list[str] = []
    n = 0
    if cover is not None:
        args += ["-i", str(cover)]
        maps += ["-map", f"{n}:v"]
        n += 1
    args += ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}"]
    maps += ["-map", f"{n}:v"]
    n += 1
    for track in audio:
        args += [*track]
        maps += ["-map", f"{n}:a"]
        n += 1
    video_options = ["-c:v:0", "png", "-disposition:v:0", "attached_pic", "-c:v:1", codec] if cover else ["-c:v", codec]
    if codec == "libx264":
        video_options += ["-preset", "ultrafast"]
    audio_codec = "libopus" if path.suffix == ".webm" else "aac"
    mh.ffmpeg(*args, *maps, *video_options, "-c:a", audio_codec, "-t", f"{seconds}", str(path))
    return path


def speech_track(seconds: float, start: float = 0.0) -> list[str]:
    return ["-ss", f"{start}", "-t", f"{seconds}", "-i", str(mh.SPEECH)]


def silent_track(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"anullsrc=r=44100:cl=stereo:d={seconds}"]


def packets_md5(path: Path, stream: str = "0:v:0") -> str:
    """MD5 of a stream's packets as stored (stream-copied, never decoded)."""
    proc = subprocess.run([mh.FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                           "-map", stream, "-c", "copy", "-f", "md5", "-"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def picture_stream(path: Path) -> str:
    """``0:N`` of the file's first video stream that is not an attached picture, as ffmpeg lists it."""
    for line in mh.describe(path).text.splitlines():
        m = re.search(r"Stream #0:(\d+)\S*: Video: ", line)
        if m and "attached pic" not in line:
            return f"0:{m.group(1)}"
    raise AssertionError(f"no picture in {path}")


def seconds(stamp: str) -> float:
    """A WebVTT timestamp (hh:mm:ss.ttt or mm:ss.ttt) in seconds."""
    parts = [float(p) for p in stamp.split(":")]
    return sum(p * 60 ** n for n, p in enumerate(reversed(parts)))


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types, in file order."""
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size == 0:
            break
        offset += size
    return boxes


@pytest.fixture(scope="module")
def webinar(tmp_path_factory: pytest.TempPathFactory, template_show: Path):
    """The show after processing one webinar with chapters, intro and outro; and the run's report."""
    from rkaudio.pipeline import process as process_module
    from rkaudio.pipeline import transcribe as transcribe_module
    from rkaudio.show.config import load_show

    with building_show(tmp_path_factory, template_show, "webinar") as root:
        configure(root)
        source = make_video(root / "episodes" / f"{SLUG}.mp4", SECONDS, speech_track(SECONDS))
        write_metadata(root, SLUG, title="Bridges: a webinar", date="2026-03-01T10:00:00Z",
                       chapters='[[chapters]]\nstart = 0\ntitle = "Welcome"\n'
                                '[[chapters]]\nstart = "0:08"\ntitle = "The Network"\n')
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(transcribe_module, "load_engine", lambda settings, language: StandInEngine(WORDS))
            show = load_show(root)
            report = process_module.process_episode(show, source, slug=SLUG, transcribe=show.transcript)
        yield root, report


def test_the_picture_is_copied_packet_for_packet_into_a_faststart_mp4(webinar) -> None:
    root, report = webinar
    video = root / "feed" / "media" / f"{SLUG}.mp4"
    assert report.video == video and video.is_file()
    assert (root / "feed" / "media" / f"{SLUG}.mp3").is_file(), "the MP3 is still made"
    assert packets_md5(video) == packets_md5(root / "episodes" / f"{SLUG}.mp4")
    boxes = top_level_boxes(video)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    info = mh.describe(video)
    assert info.video_streams == 1 and info.audio_streams == 1
    assert info.codec == "mp3" and info.sample_rate == 44100
    assert not list((root / "feed" / "media").glob(".rkaudio-*")), "no temporary file is left"


def test_the_video_sound_is_the_finished_programme(webinar) -> None:
    """On target, under the ceiling (pyloudnorm, an oversampled peak), and the MP3's own samples
    from the end of the intro's lead, to the sample: in sync with the picture, which starts where
    the programme starts."""
    root, report = webinar
    video = root / "feed" / "media" / f"{SLUG}.mp4"
    measured = mh.assert_delivered(video, -16.0)
    assert abs(measured.duration - report.audio.programme.duration) < 0.05
    lead = report.transcript.offset_s
    assert lead > 1.0, "the show's intro plays before the programme in the MP3"
    sound, rate = mh.decode(video, rate=44100, channels=1)
    mp3, _ = mh.decode(root / "feed" / "media" / f"{SLUG}.mp3", rate=44100, channels=1)
    a, b = int(2 * rate), int((SECONDS - 2) * rate)
    start = round(lead * rate)
    x = sound[a:b, 0]

    def similarity(k: int) -> float:
        y = mp3[a + start + k: b + start + k, 0]
        return float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y)))

    scores = {k: similarity(k) for k in range(-200, 201)}
    best = max(scores, key=scores.get)
    assert best == 0 and scores[0] > 0.999, (best, scores[best], scores[0])


def test_captions_are_embedded_with_their_language_and_timed_to_the_video(webinar, tmp_path: Path) -> None:
    root, report = webinar
    video = root / "feed" / "media" / f"{SLUG}.mp4"
    text = mh.describe(video).text
    assert re.search(r"Stream #0:\d+\[\w+\]\(eng\): Subtitle: mov_text", text), text
    extracted = tmp_path / "extracted.vtt"
    mh.ffmpeg("-i", str(video), "-map", "0:s:0", "-f", "webvtt", str(extracted))
    embedded = webvtt.read(str(extracted))
    for_mp3 = webvtt.read(str(root / "feed" / "transcripts" / f"{SLUG}.vtt"))
    for_video = webvtt.read(str(root / "feed" / "transcripts" / f"{SLUG}.video.vtt"))
    lead = report.transcript.offset_s
    assert len(embedded) == len(for_mp3) == len(for_video) > 1
    assert "welcome to radical kindness" in " ".join(c.text for c in embedded).lower()
    for inside, published, mp3 in zip(embedded, for_video, for_mp3):
        assert inside.text == published.text == mp3.text
        assert abs(seconds(inside.start) - (seconds(mp3.start) - lead)) < 0.002
        assert published.start == inside.start and published.end == inside.end
    srt = (root / "feed" / "transcripts" / f"{SLUG}.video.srt").read_text(encoding="utf-8")
    assert for_video.captions[0].start.replace(".", ",") in srt


def test_chapters_are_in_the_container_moved_by_the_intro(webinar) -> None:
    root, report = webinar
    text = mh.describe(root / "feed" / "media" / f"{SLUG}.mp4").text
    starts = [float(s) for s in re.findall(r"Chapter #\d+:\d+: start (\d+\.\d+)", text)]
    assert re.findall(r"title\s+: (.+)", text)[:3] == ["Bridges: a webinar", "Welcome", "The Network"]
    assert starts[0] == 0.0
    assert abs(starts[1] - (8.0 - report.transcript.offset_s)) < 0.002


def test_the_feed_offers_the_video_beside_the_mp3(webinar) -> None:
    root, _ = webinar
    feed_xml = root / "feed" / "feed.xml"
    entry = feedparser.parse(feed_xml.read_bytes()).entries[0]
    assert [(e["type"], e["href"].rsplit("/", 1)[-1]) for e in entry.enclosures] == [("audio/mpeg", f"{SLUG}.mp3")]
    item = etree.parse(str(feed_xml)).find("channel/item")
    alternates = item.findall(f"{{{PODCAST_NS}}}alternateEnclosure")
    assert len(alternates) == 1
    alt = alternates[0]
    video = root / "feed" / "media" / f"{SLUG}.mp4"
    assert alt.get("type") == "video/mp4"
    assert int(alt.get("length")) == video.stat().st_size
    assert alt.get("height") == "120"
    duration = mh.describe(video).duration
    assert abs(int(alt.get("bitrate")) - video.stat().st_size * 8 / duration) / int(alt.get("bitrate")) < 0.02
    sources = alt.findall(f"{{{PODCAST_NS}}}source")
    assert [s.get("uri") for s in sources] == [f"https://example.org/show/media/{SLUG}.mp4"]


def test_check_reads_the_video_back(webinar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rkaudio.publishing.check import check_show
    from rkaudio.show.config import load_show

    prepared, _ = webinar
    root = copy_show(prepared, tmp_path, monkeypatch)
    rows = {r.check: r for r in check_show(load_show(root)).results if r.check.startswith("video")}
    assert set(rows) == {"video length", "video type", "video loudness"}
    assert all(r.ok for r in rows.values()), rows
    with (root / "feed" / "media" / f"{SLUG}.mp4").open("ab") as fh:
        fh.write(b"\0" * 10)
    rows = {r.check: r for r in check_show(load_show(root)).results if r.check.startswith("video")}
    assert not rows["video length"].ok, rows["video length"]


def test_the_episode_page_plays_the_video_with_captions_on(webinar) -> None:
    root, _ = webinar
    page = root / "feed" / "episodes" / SLUG / "index.html"
    doc = html5lib.parse(page.read_text(encoding="utf-8"), namespaceHTMLElements=False)
    video = doc.find(".//video")
    assert video is not None and video.get("controls") is not None
    assert (page.parent / video.get("src")).resolve() == (root / "feed" / "media" / f"{SLUG}.mp4").resolve()
    track = video.find("track")
    assert track.get("kind") == "captions" and track.get("default") is not None and track.get("srclang")
    assert (page.parent / track.get("src")).resolve() == (root / "feed" / "transcripts" / f"{SLUG}.video.vtt").resolve()
    links = [a.get("href") for a in doc.iter("a")]
    assert any(h and (page.parent / h).resolve() == (root / "feed" / "media" / f"{SLUG}.mp3").resolve()
               and "audio-only" in "".join(a.itertext()) for a in doc.iter("a") for h in [a.get("href")]), links


def test_a_sign_off_reaches_the_video(webinar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer's correction, signed off, is in the video's caption copies and its subtitle track;
    the picture and the sound are untouched."""
    from rkaudio.pipeline.republish import sign_off
    from rkaudio.show.config import load_show

    prepared, _ = webinar
    root = copy_show(prepared, tmp_path, monkeypatch)
    video = root / "feed" / "media" / f"{SLUG}.mp4"
    picture, sound = packets_md5(video), packets_md5(video, "0:a:0")
    vtt = root / "transcripts" / f"{SLUG}.vtt"
    text = vtt.read_text(encoding="utf-8")
    assert "radical kindness" in text.lower()
    vtt.write_text(re.sub("radical kindness", "Radical Kindness, reviewed", text, count=1, flags=re.I), encoding="utf-8")
    sign_off(load_show(root), SLUG, "Ann Example")
    assert "Radical Kindness, reviewed" in (root / "feed" / "transcripts" / f"{SLUG}.video.vtt").read_text(encoding="utf-8")
    extracted = tmp_path / "extracted.vtt"
    mh.ffmpeg("-i", str(video), "-map", "0:s:0", "-f", "webvtt", str(extracted))
    assert "Radical Kindness, reviewed" in " ".join(c.text for c in webvtt.read(str(extracted)))
    assert packets_md5(video) == picture and packets_md5(video, "0:a:0") == sound
    assert top_level_boxes(video).index("moov") < top_level_boxes(video).index("mdat")
    assert "Chapter #0:1" in mh.describe(video).text


# --- inputs that must not give a video, or give it differently ------------------------------------

def _process(source: Path, *extra: str):
    return run_clirunner("process", source, "--slug", "clip", "--no-transcribe", "--json", "--quiet",
                         *NO_STINGS, *extra)


def test_a_video_without_sound_is_one_line_error(show: Path) -> None:
    source = show / "episodes" / "silent-film.mp4"
    mh.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=2", "-c:v", "libx264",
              "-preset", "ultrafast", str(source))
    assert_one_line_error(_process(source), "silent-film.mp4", "no audio")
    assert not list((show / "feed" / "media").glob("*"))


def test_several_sound_tracks_the_first_is_used_and_the_output_says_so(show: Path) -> None:
    """The second track is silent: had it been used, the run would have stopped (a silent programme)."""
    source = make_video(show / "episodes" / "two-tracks.mkv", 4.0, speech_track(4.0, 2.0), silent_track(4.0))
    out = _process(source)
    assert out.code == 0, out
    video = show / "feed" / "media" / "clip.mp4"
    assert out.json["video"]["path"] == "feed/media/clip.mp4"
    assert any("2 sound tracks" in w and "first" in w for w in out.json["warnings"]), out.json["warnings"]
    assert mh.describe(video).audio_streams == 1
    mh.assert_delivered(video, -16.0)
    assert packets_md5(video) == packets_md5(source)


def test_an_audio_recording_gives_no_video_and_no_warning(show: Path, speech_wav: Path) -> None:
    out = _process(speech_wav)
    assert out.code == 0, out
    assert out.json["video"] is None
    assert not [w for w in out.json["warnings"] if "video" in w.lower()], out.json["warnings"]
    assert sorted(p.name for p in (show / "feed" / "media").iterdir()) == ["clip.mp3"]


def test_an_attached_cover_is_not_the_video(show: Path) -> None:
    """A sound file with a cover gives no video; a video with a cover gives the video, not the cover."""
    cover = show / "assets" / "cover.png"
    song = show / "episodes" / "with-cover.m4a"
    mh.ffmpeg("-i", str(cover), *speech_track(4.0, 2.0), "-map", "0:v", "-map", "1:a", "-c:v", "png",
              "-disposition:v:0", "attached_pic", "-c:a", "aac", str(song))
    assert "attached pic" in mh.describe(song).text
    out = _process(song)
    assert out.code == 0 and out.json["video"] is None, out
    assert not [w for w in out.json["warnings"] if "video" in w.lower()]

    both = make_video(show / "episodes" / "covered.mp4", 4.0, speech_track(4.0, 2.0), cover=cover)
    assert mh.describe(both).text.count("attached pic") == 1
    out = _process(both)
    assert out.code == 0 and out.json["video"]["path"] == "feed/media/clip.mp4", out
    made = show / "feed" / "media" / "clip.mp4"
    assert "attached pic" not in mh.describe(made).text
    assert packets_md5(made) == packets_md5(both, picture_stream(both))


def test_no_video_makes_only_the_mp3_and_takes_down_an_earlier_video(show: Path) -> None:
    source = make_video(show / "episodes" / "talk.mp4", 4.0, speech_track(4.0, 2.0))
    assert _process(source).code == 0
    assert (show / "feed" / "media" / "clip.mp4").is_file()
    out = _process(source, "--no-video")
    assert out.code == 0, out
    assert out.json["video"] is None
    assert sorted(p.name for p in (show / "feed" / "media").iterdir()) == ["clip.mp3"]
    set_audio(show, video_output="sometimes")
    bad = _process(source)
    assert_one_line_error(bad, "show.toml", "audio.video_output")


@pytest.mark.slow
def test_vp8_in_webm_stays_webm_with_opus_and_webvtt(show: Path) -> None:
    """MP4 cannot carry VP8: the video stays WebM, its sound Opus, its captions WebVTT."""
    source = make_video(show / "episodes" / "vp8.webm", 4.0, speech_track(4.0, 2.0), codec="libvpx")
    out = _process(source)
    assert out.code == 0, out
    video = show / "feed" / "media" / "clip.webm"
    assert out.json["video"]["path"] == "feed/media/clip.webm"
    info = mh.describe(video)
    assert info.codec == "opus" and info.sample_rate == 48000
    assert packets_md5(video) == packets_md5(source)
    data, rate = mh.decode(video)
    assert abs(mh.lufs(data, rate) + 16.0) <= mh.LU_TOLERANCE


@pytest.mark.browser
def test_the_video_on_the_page_in_chromium(webinar, browser) -> None:
    """The page with the video passes axe-core (no serious or critical violations); the captions
    track is on by default; Tab reaches the video's controls, and the audio-only link after them."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    from test_review_browser import AXE, REPO, _missing, wait_for
    from test_site_browser import AXE_TAGS, open_page

    if not AXE.is_file():
        _missing(f"{AXE.relative_to(REPO)} not found (make test installs it with npm)")
    root, _ = webinar
    driver = browser
    open_page(driver, root / "feed", f"episodes/{SLUG}/index.html")
    wait_for(lambda: driver.execute_script("const t = document.querySelector('#video').textTracks;"
                                           "return t.length === 1 && t[0].mode === 'showing' && t[0].kind === 'captions'"),
             "the captions track to be showing")
    driver.execute_script("document.activeElement.blur()")
    keys = ActionChains(driver)
    seen = []
    for _ in range(60):
        keys.send_keys(Keys.TAB).perform()
        seen.append(driver.execute_script("const a = document.activeElement;"
                                          "return a.tagName + ' ' + (a.id || a.textContent.trim().slice(0, 40))"))
        if seen[-1].startswith("A Listen to the audio-only version"):
            break
    else:
        pytest.fail(f"Tab never reached the audio-only link: {seen}")
    assert "VIDEO video" in seen, seen
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
           .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact,
                                                                nodes: v.nodes.map(n => n.target.join(' '))}))}))
           .catch(e => done({error: String(e)}));
    """, AXE_TAGS)
    assert "error" not in result, result
    assert [v for v in result["violations"] if v["impact"] in ("serious", "critical")] == [], result


@pytest.mark.speech
@pytest.mark.slow
def test_a_webinar_end_to_end_with_the_real_engine(show: Path, tmp_path: Path) -> None:
    """``rkaudio process`` on a webinar in episodes/, as a producer runs it: the MP3 and the video,
    the captions the bundled model heard inside the video."""
    from conftest import run_subprocess

    configure(show)
    source = make_video(show / "episodes" / "talk.mp4", SECONDS, speech_track(SECONDS))
    out = run_subprocess("process", source, "--json", "--quiet")
    assert out.code == 0, out
    assert out.json["video"]["path"] == "feed/media/talk.mp4"
    assert (show / "feed" / "media" / "talk.mp3").is_file()
    extracted = tmp_path / "inside.vtt"
    mh.ffmpeg("-i", str(show / "feed" / "media" / "talk.mp4"), "-map", "0:s:0", "-f", "webvtt", str(extracted))
    heard = " ".join(c.text for c in webvtt.read(str(extracted))).lower()
    assert "kindness" in heard, heard
    assert "alternateEnclosure" in (show / "feed" / "feed.xml").read_text(encoding="utf-8")


def test_video_output_is_read_from_show_toml_and_the_environment(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rkaudio.core.errors import ConfigError
    from rkaudio.show.config import load_show

    assert load_show(show).audio.video_output == "auto"
    set_audio(show, video_output="off")
    assert load_show(show).audio.video_output == "off"
    monkeypatch.setenv("RKAUDIO_VIDEO_OUTPUT", "auto")
    assert load_show(show).audio.video_output == "auto"
    monkeypatch.setenv("RKAUDIO_VIDEO_OUTPUT", "always")
    with pytest.raises(ConfigError, match="video_output"):
        load_show(show)
