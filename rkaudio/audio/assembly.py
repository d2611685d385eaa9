"""The finishing graph: programme and stings at matched loudness, joined, limited, encoded.

The graph is built with ffmpeg-python, which keeps the stream labels of a multi-input
``-filter_complex`` straight; :mod:`rkaudio.ffmpeg_tool` runs the resulting argument list.
The encoded MP3 goes both to its file and, through a pipe, to a second ffmpeg that measures it,
so the check of the delivered file runs on the other core while LAME encodes; the same meter
measures the span of it a video takes (`VideoSound`; for WebM, that span is encoded as Opus in
the same run and a third ffmpeg measures it).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffgraph

from . import ffmpeg_tool
from .leveller import ENVELOPE_RATE
from .loudness import Loudness, db_to_linear, meter_filter, parse_summary

#: Every episode is delivered at 44.1 kHz, the rate podcast apps and MP3 players expect.
SAMPLE_RATE = 44100
#: The limiter works at 4x the delivered rate, so it catches inter-sample (true) peaks.
OVERSAMPLE = 4
#: The limiter aims this far below the ceiling: MP3 encoding adds up to about 0.5 dB of overshoot.
ENCODER_HEADROOM_DB = 0.5
#: Lookahead (ms) and release (ms) of the limiter: fast enough to catch plosives, slow enough not
#: to pump on speech.
LIMITER_ATTACK_MS = 5
LIMITER_RELEASE_MS = 50


@dataclass(frozen=True)
class Part:
    """One piece of the episode: a file (or part of one) and the gain it gets."""

    path: Path
    gain_db: float
    start: float | None = None
    length: float | None = None
    #: The leveller's gain curve (raw float32, mono, `leveller.ENVELOPE_RATE`), timed like
    #: ``path``; the part is multiplied by it. None: one constant gain.
    envelope: Path | None = None


#: The programme's sound for a WebM video, which cannot carry MP3 (MP4 and Matroska take the
#: MP3's own frames, see `rkaudio.audio.video`): (encoder, container of the file, stream format to
#: the meter and the meter's demuxer for it, sample rate). Opus runs at 48 kHz only.
VIDEO_AUDIO_CODECS: dict[str, tuple[str, str, tuple[str, str], int]] = {
    "opus": ("libopus", "matroska", ("ogg", "ogg"), 48000),
}


@dataclass(frozen=True)
class VideoSound:
    """The finished video's sound: the programme's span of the finished episode (from the intro's
    lead, for the programme's length), so the video keeps the recording's timeline and the
    stings are heard only where they overlap the programme.

    With ``path`` None, the video takes the MP3's own frames over that span, and the run only
    measures the span of the MP3 as encoded; with a ``path``, the same samples are also encoded
    there in ``codec`` (a key of `VIDEO_AUDIO_CODECS`) and that encode is measured."""

    start: float
    duration: float
    path: Path | None = None
    codec: str = "opus"
    bitrate_kbps: int = 128


@dataclass(frozen=True)
class Mix:
    """Everything the graph needs to know to finish an episode."""

    programme: list[Part]
    intro: Part | None = None
    outro: Part | None = None
    intro_overlap: float = 0.0
    outro_overlap: float = 0.0
    #: "crossfade": the sting fades under the programme; "overlap": both at full level.
    transition: str = "crossfade"
    channels: int = 2
    bitrate_kbps: int = 128
    #: Limiter ceiling in dBTP, or None for no limiter.
    limiter_dbtp: float | None = None
    #: Also print a meter summary of the programme before the limiter (for calibration).
    meter_before_limiter: bool = False
    #: Also measure (or encode and measure) the programme's span for a video (see `VideoSound`).
    video: VideoSound | None = None


def _cut(part: Part) -> dict[str, str]:
    kwargs = {}
    if part.start is not None:
        kwargs["ss"] = f"{part.start:.3f}"
    if part.length is not None:
        kwargs["t"] = f"{part.length:.3f}"
    return kwargs


def _prepared(stream, part: Part, channels: int):
    layout = "mono" if channels == 1 else "stereo"
    stream = (stream
              .filter("aresample", SAMPLE_RATE)
              .filter("aformat", sample_fmts="fltp", channel_layouts=layout)
              .filter("volume", f"{part.gain_db:.3f}dB"))
    if part.envelope is None:
        return stream
    # The leveller's curve, 100 values a second, resampled (a smooth sinc interpolation) to the
    # programme's rate and copied to each channel: the programme is multiplied by it, sample by
    # sample. The curve runs a second past the programme, so the programme sets the end.
    curve = (ffgraph.input(f"file:{part.envelope}", f="f32le", ar=ENVELOPE_RATE, ac=1, **_cut(part))["a:0"]
             .filter("aresample", SAMPLE_RATE)
             .filter("pan", "mono|c0<c0" if channels == 1 else "stereo|c0<c0|c1<c0")
             .filter("aformat", sample_fmts="fltp", channel_layouts=layout))
    return ffgraph.filter([stream, curve], "amultiply")


def _join(first, second, seconds: float, fade_first: bool, fade_second: bool, transition: str):
    if seconds <= 0:
        return ffgraph.filter([first, second], "concat", n=2, v=0, a=1)
    fade = "tri" if transition == "crossfade" else "nofade"
    return ffgraph.filter([first, second], "acrossfade", d=f"{seconds:.3f}",
                          c1=fade if fade_first else "nofade",
                          c2=fade if fade_second else "nofade")


def build_args(mix: Mix, mp3_target: str, master: Path | None = None) -> list[str]:
    """ffmpeg arguments (without the executable) for the finishing run.

    ``mp3_target`` is an ffmpeg output for the MP3 (a tee spec, or a file); the graph's other
    output, if ``master`` is given, is a lossless FLAC of the same audio.
    """
    # ffmpeg-python merges identical inputs into one node, so a file used twice (the same sting as
    # intro and outro) must be opened once and split, or the graph cannot be built.
    used = [*mix.programme, *(p for p in (mix.intro, mix.outro) if p is not None)]
    uses = Counter((p.path, p.start, p.length) for p in used)
    splits: dict[tuple, Iterator] = {}

    def open_part(part: Part):
        key = (part.path, part.start, part.length)
        stream = ffgraph.input(f"file:{part.path}", **_cut(part))["a:0"]
        if uses[key] > 1:
            if key not in splits:
                split = stream.filter_multi_output("asplit", uses[key])
                splits[key] = iter([split[i] for i in range(uses[key])])
            stream = next(splits[key])
        return _prepared(stream, part, mix.channels)

    pieces = [open_part(p) for p in mix.programme]
    programme = pieces[0] if len(pieces) == 1 else ffgraph.filter(pieces, "concat", n=len(pieces), v=0, a=1)
    if mix.meter_before_limiter:
        programme = programme.filter("ebur128", framelog="quiet", peak="sample")
    episode = programme
    if mix.intro is not None:
        episode = _join(open_part(mix.intro), episode, mix.intro_overlap, True, False, mix.transition)
    if mix.outro is not None:
        episode = _join(episode, open_part(mix.outro), mix.outro_overlap, False, True, mix.transition)
    if mix.limiter_dbtp is not None:
        # soxr oversamples for about a third less CPU than ffmpeg's own resampler, where it is built in.
        resampler = {"resampler": "soxr"} if ffmpeg_tool.has_soxr() else {}
        episode = (episode
                   .filter("aresample", SAMPLE_RATE * OVERSAMPLE, **resampler)
                   .filter("alimiter", limit=f"{db_to_linear(mix.limiter_dbtp):.5f}", level=0,
                           latency=1, attack=LIMITER_ATTACK_MS, release=LIMITER_RELEASE_MS)
                   .filter("aresample", SAMPLE_RATE, **resampler))
    outputs = []
    encoded = mix.video is not None and mix.video.path is not None
    branches = 1 + (master is not None) + encoded
    if branches > 1:
        split = episode.filter_multi_output("asplit", branches)
        episode, others = split[0], iter([split[i] for i in range(1, branches)])
    if master is not None:
        outputs.append(ffgraph.output(next(others), f"file:{master}", acodec="flac", sample_fmt="s32",
                                      ar=SAMPLE_RATE, f="flac", map_metadata=-1))
    if encoded:
        outputs.append(_video_output(next(others), mix.video, mix.channels))
    mp3_kwargs = dict(acodec="libmp3lame", audio_bitrate=f"{mix.bitrate_kbps}k", ar=SAMPLE_RATE,
                      ac=mix.channels, map_metadata=-1)
    if mp3_target.startswith("[") or "|" in mp3_target:
        mp3_kwargs["f"] = "tee"
    else:
        mp3_kwargs["f"] = "mp3"
    outputs.insert(0, ffgraph.output(episode, mp3_target, **mp3_kwargs))
    return ["-y", *ffgraph.get_args(ffgraph.merge_outputs(*outputs) if len(outputs) > 1 else outputs[0])]


def _span(sound: VideoSound) -> str:
    return f"atrim=start={sound.start:.6f}:duration={sound.duration:.6f},asetpts=PTS-STARTPTS"


def _video_output(stream, sound: VideoSound, channels: int):
    """The video's own encode, to its file and (a tee) to the pipe of the meter that checks it."""
    assert sound.path is not None
    encoder, container, streamed, rate = VIDEO_AUDIO_CODECS[sound.codec]
    stream = (stream
              .filter("atrim", start=f"{sound.start:.6f}", duration=f"{sound.duration:.6f}")
              .filter("asetpts", "PTS-STARTPTS")
              .filter("aresample", rate))
    # tee's syntax reserves "|", "[", "]" and ":" (see `render`): the file is named plainly.
    tee = f"[f={container}]{sound.path.name}|[f={streamed[0]}]{ffmpeg_tool.pipe(1)}"
    return ffgraph.output(stream, tee, acodec=encoder, audio_bitrate=f"{sound.bitrate_kbps}k", ac=channels,
                          f="tee", map_metadata=-1)


@dataclass(frozen=True)
class RenderResult:
    delivered: Loudness
    programme_before_limiter: Loudness | None
    #: The video's sound as encoded, when the mix makes one (for the MP3's own frames, its true
    #: peak is the whole MP3's, which bounds it).
    video: Loudness | None = None


def render(mix: Mix, mp3_name: str, workdir: Path, master: Path | None = None,
           on_time: ffmpeg_tool.TimeCallback | None = None, true_peak: bool = True) -> RenderResult:
    """Encode the mix to ``workdir/mp3_name`` (or only measure it, if ``mp3_name`` is empty).

    The delivered MP3 is measured from the same encoder output, in parallel; ``true_peak=False``
    skips the (costly) oversampled peak meter when only loudness matters.
    """
    # tee's output syntax treats "|", "[", "]" and ":" specially, so the file is named plainly
    # and written relative to workdir.
    tee = f"[f=mp3]{mp3_name}|[f=mp3]{ffmpeg_tool.PIPE}" if mp3_name else f"[f=mp3]{ffmpeg_tool.PIPE}"
    sound = mix.video
    meter = meter_filter(true_peak)
    more = []
    if sound is not None and sound.path is None:
        # The video takes the MP3's frames over the programme's span: the meter that decodes the
        # MP3 measures that span too (loudness; the whole MP3's true peak bounds the span's).
        meter = (f"asplit=2[whole][span];[whole]{meter_filter(true_peak, 'whole')};"
                 f"[span]{_span(sound)},{meter_filter(False, 'span')},anullsink")
    elif sound is not None and sound.path is not None:
        streamed = VIDEO_AUDIO_CODECS[sound.codec][2][1]
        more.append(["-f", streamed, "-i", "pipe:0", "-af", meter_filter(true_peak), "-f", "null", "-"])
    producer = build_args(mix, tee, master)
    consumer = ["-f", "mp3", "-i", "pipe:0", "-af", meter, "-f", "null", "-"]
    texts = ffmpeg_tool.run_piped(producer, consumer, *more, what="encoding the episode", on_time=on_time,
                                  cwd=workdir)
    before = parse_summary(texts[0]) if mix.meter_before_limiter else None
    video = None
    if sound is not None and sound.path is None:
        delivered = parse_summary(texts[1], instance="ebur128@whole")
        video = dataclasses.replace(parse_summary(texts[1], instance="ebur128@span"),
                                    true_peak_dbtp=delivered.true_peak_dbtp)
    else:
        delivered = parse_summary(texts[1])
        video = parse_summary(texts[2]) if sound is not None else None
    return RenderResult(delivered=delivered, programme_before_limiter=before, video=video)
