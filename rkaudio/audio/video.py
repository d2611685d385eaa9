"""The finished video of a webinar: the recording's picture, stream-copied and never re-encoded,
with the finished programme's sound, the captions as a subtitle track, and the chapters.

The sound is the MP3's own frames over the programme's span (cut at the intro's lead, sample
for sample, and measured by the finishing run, `assembly.VideoSound`): the same levelled,
normalised and limited programme, bit for bit, and no second lossy encode. Only WebM, which
cannot carry MP3, gets its own Opus encode of the same samples from the finishing run. This
module chooses the container and puts the streams together (`mux_video`), with the index at the
front (``+faststart``) so the video plays while it downloads. ffmpeg copies packets as they come: nothing is held in
memory, however long the webinar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.files import temp_name
from . import ffmpeg_tool
from .ffmpeg_tool import MediaInfo, VideoStream

#: Picture codecs an MP4 carries and browsers play from one.
MP4_VIDEO_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})
#: Picture codecs WebM carries; anything else goes into Matroska, which carries every codec.
WEBM_VIDEO_CODECS = frozenset({"vp8", "vp9", "av1"})

#: ISO 639-1 codes to the ISO 639-2/B codes containers store (MP4 keeps only three-letter codes).
_LANGUAGES = {
    "ar": "ara", "bn": "ben", "cy": "wel", "da": "dan", "de": "ger", "el": "gre", "en": "eng", "es": "spa",
    "fa": "per", "fi": "fin", "fr": "fre", "ga": "gle", "gd": "gla", "gu": "guj", "he": "heb", "hi": "hin",
    "it": "ita", "ja": "jpn", "ko": "kor", "nl": "dut", "no": "nor", "pa": "pan", "pl": "pol", "pt": "por",
    "ro": "rum", "ru": "rus", "so": "som", "sv": "swe", "sw": "swa", "ta": "tam", "tr": "tur", "uk": "ukr",
    "ur": "urd", "yi": "yid", "zh": "chi",
}


def container_language(tag: str | None) -> str:
    """The three-letter code a container stores for an IETF language tag ("en-gb" -> "eng");
    "und" (undetermined) for one it does not know."""
    primary = (tag or "").split("-")[0].strip().lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    return _LANGUAGES.get(primary, "und")


@dataclass(frozen=True)
class VideoFormat:
    """The container of a finished video and the codecs that go into it."""

    ext: str
    muxer: str
    #: "mp3": the MP3's own frames; else a key of `assembly.VIDEO_AUDIO_CODECS`, encoded for it.
    audio_codec: str
    subtitle_codec: str
    mime: str


MP4 = VideoFormat("mp4", "mp4", "mp3", "mov_text", "video/mp4")
WEBM = VideoFormat("webm", "webm", "opus", "webvtt", "video/webm")
MATROSKA = VideoFormat("mkv", "matroska", "mp3", "webvtt", "video/x-matroska")
FORMATS = {f.ext: f for f in (MP4, WEBM, MATROSKA)}


@dataclass(frozen=True)
class VideoSource:
    """What a recording gives a finished video: its picture stream and the container it goes into."""

    stream: VideoStream
    format: VideoFormat


def video_source(info: MediaInfo) -> VideoSource | None:
    """The picture a recording gives its finished video, or None for a recording without one (an
    audio file, or one whose only picture is an attached cover).

    MP4 when it can carry the picture's codec, else the recording's own WebM, else Matroska.
    """
    if not info.video:
        return None
    stream = info.video[0]
    if stream.codec in MP4_VIDEO_CODECS:
        fmt = MP4
    elif info.path.suffix.lower() == ".webm" and stream.codec in WEBM_VIDEO_CODECS:
        fmt = WEBM
    else:
        fmt = MATROSKA
    return VideoSource(stream, fmt)


def _metadata_text(value: str) -> str:
    """A value for ffmpeg's metadata file: its special characters escaped, on one line."""
    for char in ("\\", "=", ";", "#"):
        value = value.replace(char, "\\" + char)
    return " ".join(value.split())


def chapters_metadata(title: str, chapters: Sequence[tuple[float, float, str]]) -> str:
    """ffmpeg's metadata file: the title and each chapter's (start, end, title), in milliseconds."""
    lines = [";FFMETADATA1", f"title={_metadata_text(title)}"]
    for start, end, name in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}", f"END={round(end * 1000)}",
                  f"title={_metadata_text(name)}"]
    return "\n".join(lines) + "\n"


def mux_video(source: VideoSource, recording: Path, sound: Path, target: Path, *, title: str,
              span: tuple[float, float] | None = None, captions: Path | None = None, language: str | None = None,
              chapters: Sequence[tuple[float, float, str]] = (),
              on_time: ffmpeg_tool.TimeCallback | None = None) -> None:
    """Write ``target``: the recording's picture copied packet for packet; the finished ``sound``,
    its packets copied too (the MP3, cut to ``span``, (start, length) in seconds; or a file already
    encoded for ``source.format``); the ``captions`` (WebVTT) as a subtitle track in ``language``;
    the chapters and the title. The index goes first in an MP4 (faststart)."""
    fmt = source.format
    lang = container_language(language)
    metadata = temp_name(target.with_name(f"{target.stem}.ffmetadata"))
    try:
        metadata.write_text(chapters_metadata(title, chapters), encoding="utf-8")
        # A cut of copied MP3 frames plays from the exact sample: ffmpeg trims the first frame's
        # head (an edit list in MP4, a codec delay in Matroska).
        cut = ["-ss", f"{span[0]:.6f}", "-t", f"{span[1]:.6f}"] if span is not None else []
        args = ["-i", f"file:{recording}", *cut, "-i", f"file:{sound}"]
        maps = ["-map", f"0:{source.stream.index}", "-map", "1:a:0"]
        subtitle: list[str] = []
        if captions is not None:
            args += ["-f", "webvtt", "-i", f"file:{captions}"]
            maps += ["-map", "2:s:0"]
            subtitle = ["-c:s", fmt.subtitle_codec, "-metadata:s:s:0", f"language={lang}",
                        "-disposition:s:0", "default"]
        meta_input = 2 + (captions is not None)
        args += ["-f", "ffmetadata", "-i", f"file:{metadata}"]
        args += [*maps, "-c:v", "copy", "-c:a", "copy", *subtitle,
                 "-metadata:s:a:0", f"language={lang}",
                 "-map_metadata", str(meta_input), "-map_chapters", str(meta_input if chapters else -1)]
        if fmt.muxer == "mp4":
            args += ["-movflags", "+faststart"]
        args += ["-f", fmt.muxer, "-y", f"file:{target}"]
        ffmpeg_tool.run(args, what=f"writing the video {target.name}", on_time=on_time)
    finally:
        metadata.unlink(missing_ok=True)


def replace_captions(video: Path, target: Path, *, captions: Path | None, language: str | None = None,
                     on_time: ffmpeg_tool.TimeCallback | None = None) -> None:
    """Write ``target``: the finished ``video`` with its subtitle track replaced by ``captions``
    (WebVTT; None leaves it without one), every other packet copied, chapters and title kept: a
    reviewer's sign-off reaches the video without processing it again."""
    fmt = FORMATS.get(video.suffix.lstrip(".").lower(), MP4)
    args = ["-i", f"file:{video}"]
    subtitle: list[str] = []
    if captions is not None:
        args += ["-f", "webvtt", "-i", f"file:{captions}"]
        subtitle = ["-map", "1:s:0", "-c:s", fmt.subtitle_codec,
                    "-metadata:s:s:0", f"language={container_language(language)}", "-disposition:s:0", "default"]
    args += ["-map", "0:v:0", "-map", "0:a:0", *subtitle, "-c:v", "copy", "-c:a", "copy",
             "-map_metadata", "0", "-map_chapters", "0"]
    if fmt.muxer == "mp4":
        args += ["-movflags", "+faststart"]
    args += ["-f", fmt.muxer, "-y", f"file:{target}"]
    ffmpeg_tool.run(args, what=f"replacing the captions of {video.name}", on_time=on_time)
