"""``process``: turn a raw recording into a finished, loudness-normalised episode MP3.

Two passes over the programme, and a short one in between:

1. measure the programme as it will be delivered (channel layout included);
2. calibrate: encode a few excerpts with the planned gain and measure what the encoder and the
   limiter take off, so the delivered file lands on target rather than a few tenths below it;
3. finish: one constant gain, the stings matched to the same loudness and joined, a 4x
   oversampled limiter only if peaks need one, LAME. The MP3 is measured as it is written and
   published only if it meets the target and the true-peak ceiling.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import ffmpeg_tool
from .assembly import ENCODER_HEADROOM_DB, Mix, Part, render
from .config import AudioSettings, Show, TranscriptSettings
from .errors import InputError, QualityError, WorkspaceError
from .files import atomic_path
from .inputs import check_wav_complete
from .loudness import Loudness, measure
from .naming import slugify
from .progress import ProgressCallback, silent
from .feed import FeedReport
from .publish import Prepared, episode_tags, prepare, published_text, update_feed
from .tags import write_episode_tags
from .transcript_signoff import review_status
from .transcription import (TranscriptReport, check_ready, check_reviewed, publish_transcript,
                            transcribe_episode)

log = logging.getLogger(__name__)

#: The delivered file must land within this many LU of the target (the promise is +-0.5 LU;
#: aiming tighter leaves room for the difference between meters).
AIM_TOLERANCE_LU = 0.3
PROMISED_TOLERANCE_LU = 0.5
#: Encodes before giving up: the first, and up to two corrections (loud, dense targets can need a
#: second one, because the encoder's overshoot grows as the limiter works harder).
MAX_ATTEMPTS = 3
#: True peaks sit above sample peaks by up to about 1 dB in real speech and music, so the limiter
#: goes in whenever sample peaks come within this margin of the ceiling.
INTERSAMPLE_MARGIN_DB = 1.0
#: Clips shorter than this are looped while measured, so loudness gating has enough blocks.
MIN_MEASURE_SECONDS = 3.0
#: Calibration: this many excerpts of this length, spread across a long programme.
CALIBRATION_EXCERPTS = 6
CALIBRATION_SECONDS = 10.0
#: A programme at or under this length is calibrated whole.
CALIBRATE_WHOLE_UNDER = 90.0
#: Gains above this are applied but warned about: noise rises with the speech.
LARGE_GAIN_DB = 30.0
#: Loudness ranges above this are reported: one constant gain keeps quiet passages quiet.
WIDE_LRA_LU = 15.0
#: Allowed shortfall of decoded audio against the container's stated length.
TRUNCATION_SLACK = (1.0, 0.02)  # seconds, fraction


@dataclass(frozen=True)
class StingReport:
    path: Path
    loudness: Loudness
    gain_db: float
    overlap_s: float


@dataclass(frozen=True)
class LimiterReport:
    engaged: bool
    #: The ceiling the limiter held, dBTP (below the delivery ceiling by the encoder headroom).
    ceiling_dbtp: float | None
    #: Highest sample peak the gain alone would have produced, dBFS.
    peak_without_limiter_dbfs: float
    #: How far the limiter had to pull the highest peak down, dB (0 when it was not needed).
    reduction_db: float


@dataclass
class ProcessReport:
    """What ``process`` did, in numbers a producer can check."""

    slug: str
    source: Path
    output: Path
    master: Path | None
    target_lufs: float
    ceiling_dbtp: float
    programme: Loudness
    gain_db: float
    encoder_offset_db: float
    limiter: LimiterReport
    delivered: Loudness
    intro: StingReport | None = None
    outro: StingReport | None = None
    attempts: int = 1
    duration: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: The transcript step; None when it was skipped and there was no reviewed transcript to publish.
    transcript: TranscriptReport | None = None
    #: The episode's metadata (episodes/<slug>.md) and rendered notes.
    episode: Prepared | None = None
    #: The rebuilt feed; None when the show has no base_url yet.
    feed: FeedReport | None = None


def episode_slug(source: Path, slug: str | None = None) -> str:
    """The slug given, made URL-safe, or one made from the input's file name."""
    wanted = slug if slug is not None else source.stem
    made = slugify(wanted)
    if not made:
        raise InputError(f"cannot make a URL-safe name from {wanted!r}; give one with --slug", source)
    return made


def _measure_sting(path: Path, role: str, channels: int) -> Loudness:
    try:
        return _measure_clip(path, channels)
    except InputError as exc:
        raise InputError(f"{role} sting: {exc.message}", exc.path) from None


def _measure_clip(path: Path, channels: int, on_time=None) -> Loudness:
    info = ffmpeg_tool.probe(path)
    loop = 0
    if info.duration is not None and 0 < info.duration < MIN_MEASURE_SECONDS:
        loop = math.ceil(MIN_MEASURE_SECONDS / info.duration)
    loud = measure(path, true_peak=False, channels=channels, loop=loop, on_time=on_time)
    if loop:
        loud = dataclasses.replace(loud, duration=loud.duration / (loop + 1))
    return loud


def _check_programme(info: ffmpeg_tool.MediaInfo, loud: Loudness) -> None:
    path = info.path
    if loud.duration <= 0:
        raise InputError("holds no decodable audio", path)
    if loud.is_silent:
        raise InputError("is silent (digital silence or below -70 LUFS): nothing to normalise", path)
    stated = info.duration
    slack = max(TRUNCATION_SLACK[0], TRUNCATION_SLACK[1] * (stated or 0))
    if stated and not info.has_video and loud.duration < stated - slack:
        raise InputError(f"is truncated: it says {stated:.1f} s but only {loud.duration:.1f} s of "
                         "audio could be decoded", path)


def _sting(path: Path | None, measured: Future[Loudness] | None, role: str, settings: AudioSettings,
           programme_seconds: float) -> StingReport | None:
    if path is None or measured is None:
        return None
    loud = measured.result()
    if loud.is_silent:
        raise InputError(f"{role} sting is silent: nothing to match to the programme", path)
    return StingReport(path=path, loudness=loud, gain_db=settings.target_lufs - loud.integrated_lufs,
                       overlap_s=sting_overlap(settings, loud.duration, programme_seconds))


def sting_overlap(settings: AudioSettings, sting_seconds: float, programme_seconds: float) -> float:
    """Seconds a sting overlaps the programme: the crossfade, but at most half of either."""
    return max(0.0, min(settings.crossfade_s, sting_seconds / 2, programme_seconds / 2))


def _calibration_parts(source: Path, duration: float, gain_db: float) -> list[Part]:
    if duration <= CALIBRATE_WHOLE_UNDER:
        return [Part(source, gain_db)]
    step = duration / CALIBRATION_EXCERPTS
    return [Part(source, gain_db, start=max(0.0, (k + 0.5) * step - CALIBRATION_SECONDS / 2),
                 length=CALIBRATION_SECONDS) for k in range(CALIBRATION_EXCERPTS)]


def _calibrate(mix: Mix, workdir: Path) -> float:
    """dB the encoder and limiter take off the programme's loudness (positive: output is quieter)."""
    result = render(dataclasses.replace(mix, intro=None, outro=None, meter_before_limiter=True), "", workdir,
                    true_peak=False)
    before, after = result.programme_before_limiter, result.delivered
    if before is None or before.is_silent or after.is_silent:
        return 0.0
    offset = before.integrated_lufs - after.integrated_lufs
    # A correction this large would mean the excerpts are unrepresentative; the check of the
    # delivered file catches what remains.
    return offset if abs(offset) <= 3.0 else 0.0


def process_episode(show: Show, source: Path, *, slug: str | None = None, title: str | None = None,
                    settings: AudioSettings | None = None, transcribe: TranscriptSettings | None = None,
                    retranscribe: bool = False, on_progress: ProgressCallback = silent) -> ProcessReport:
    """Finish one recording into ``feed/media/<slug>.mp3``; see the module docstring.

    With ``transcribe``, the programme is then transcribed with those settings (see
    `transcription`); without, a reviewed transcript that exists is still published again.
    """
    settings = settings or show.audio
    source = source.expanduser().resolve() if source.exists() else source
    info = ffmpeg_tool.probe(source)
    check_wav_complete(source)
    name = episode_slug(source, slug)
    # A hand-edited transcript or metadata file that does not parse, show notes citing research the
    # library lacks, or a transcript engine that is not installed or has no model, stop the run
    # before any work rather than after it.
    if transcribe is not None:
        check_ready(show, name, transcribe, retranscribe=retranscribe)
    else:
        check_reviewed(show, name)
    prepared = prepare(show, name, title=title, source=source)
    warnings: list[str] = []

    stated = info.duration or 0.0
    with ThreadPoolExecutor(max_workers=2) as pool:
        # The stings are measured on the other core while the programme is.
        measured = {role: pool.submit(_measure_sting, path, role, settings.channels)
                    for role, path in (("intro", settings.intro), ("outro", settings.outro)) if path}
        programme = measure(source, true_peak=False, channels=settings.channels,
                            on_time=lambda t: on_progress("measuring", t, max(stated, t)))
        on_progress("measuring", programme.duration, programme.duration)
        _check_programme(info, programme)
        intro = _sting(settings.intro, measured.get("intro"), "intro", settings, programme.duration)
        outro = _sting(settings.outro, measured.get("outro"), "outro", settings, programme.duration)

    target, ceiling = settings.target_lufs, settings.true_peak_dbtp
    gain = target - programme.integrated_lufs
    if gain > LARGE_GAIN_DB:
        warnings.append(f"very quiet recording: raised by {gain:.1f} dB, so its noise is raised too")
    if programme.lra_lu > WIDE_LRA_LU:
        warnings.append(f"wide loudness range ({programme.lra_lu:.1f} LU): one constant gain was applied "
                        "and nothing was compressed, so quiet passages stay quiet")
    peaks = [(programme.sample_peak_dbfs or 0.0) + gain]
    peaks += [(s.loudness.sample_peak_dbfs or 0.0) + s.gain_db for s in (intro, outro) if s]
    peak_without_limiter = max(peaks)
    limiter_on = peak_without_limiter > ceiling - INTERSAMPLE_MARGIN_DB
    limiter_ceiling = ceiling - ENCODER_HEADROOM_DB

    try:
        show.media_dir.mkdir(parents=True, exist_ok=True)
        if settings.keep_master:
            show.masters_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the output folder: {exc.strerror}", show.media_dir) from None
    output = show.media_dir / f"{name}.mp3"
    master = show.masters_dir / f"{name}.flac" if settings.keep_master else None

    def mix_for(programme_gain: float, offset: float, limiter: float | None) -> Mix:
        return Mix(
            programme=[Part(source, programme_gain + offset)],
            intro=Part(intro.path, intro.gain_db + offset) if intro else None,
            outro=Part(outro.path, outro.gain_db + offset) if outro else None,
            intro_overlap=intro.overlap_s if intro else 0.0,
            outro_overlap=outro.overlap_s if outro else 0.0,
            transition=settings.transition, channels=settings.channels,
            bitrate_kbps=settings.bitrate, limiter_dbtp=limiter,
        )

    on_progress("calibrating", 0, 1)
    calibration = mix_for(gain, 0.0, limiter_ceiling if limiter_on else None)
    calibration = dataclasses.replace(
        calibration, programme=_calibration_parts(source, programme.duration, gain))
    offset = _calibrate(calibration, show.media_dir)
    on_progress("calibrating", 1, 1)
    # The make-up gain raises peaks too; it may now need the limiter.
    limiter_on = limiter_on or peak_without_limiter + offset > ceiling - INTERSAMPLE_MARGIN_DB

    total = programme.duration + sum(s.loudness.duration - s.overlap_s for s in (intro, outro) if s)
    attempts = 0
    delivered: Loudness | None = None
    with atomic_path(output) as tmp_mp3, \
            (atomic_path(master) if master else contextlib.nullcontext()) as tmp_master:
        while True:
            attempts += 1
            mix = mix_for(gain, offset, limiter_ceiling if limiter_on else None)
            result = render(mix, tmp_mp3.name, show.media_dir, master=tmp_master,
                            on_time=lambda t: on_progress("encoding", t, max(total, t)))
            delivered = result.delivered
            on_progress("encoding", total, total)
            miss = target - delivered.integrated_lufs
            over = (delivered.true_peak_dbtp or -math.inf) - ceiling
            if (abs(miss) <= AIM_TOLERANCE_LU and over <= 0) or attempts >= MAX_ATTEMPTS:
                break
            log.info("attempt %d missed (%.2f LU off, true peak %+.2f dB over); correcting",
                     attempts, miss, max(over, 0))
            if abs(miss) > AIM_TOLERANCE_LU:
                offset += miss
            if over > 0:
                limiter_on = True
                limiter_ceiling -= over + 0.2
        # ebur128 reports loudness to 0.1 LU, so a reading 0.5 off may really be up to 0.55 off.
        if round(abs(miss), 1) >= PROMISED_TOLERANCE_LU or over > 0:
            raise QualityError(
                f"the finished episode measured {delivered.integrated_lufs:.1f} LUFS and "
                f"{delivered.true_peak_dbtp:.1f} dBTP, outside target {target:g} LUFS +-0.5 and "
                f"ceiling {ceiling:g} dBTP; nothing was published", source)
        # The transcript goes into the MP3's tags, so it is made before the MP3 is published.
        if transcribe is not None:
            lead = intro.loudness.duration - intro.overlap_s if intro else 0.0
            transcript = transcribe_episode(show, source, name, title=title, settings=transcribe,
                                            retranscribe=retranscribe, offset_s=max(0.0, lead),
                                            on_progress=on_progress)
        else:
            transcript = publish_transcript(show, name, title=title)
        text = published_text(show, name) if transcript is not None else ""
        write_episode_tags(tmp_mp3, episode_tags(show, prepared, transcript_text=text, duration=total))

    reduction = max(0.0, peak_without_limiter + offset - limiter_ceiling) if limiter_on else 0.0
    if transcript is not None:
        warnings += [f"transcript: {w}" for w in transcript.warnings]
        review = review_status(show.root, name)
        if not review.reviewed:
            warnings.append(f"transcript: {review.describe()}; review it with 'rkaudio review {name}'")
    feed = update_feed(show)
    if feed is None:
        warnings.append("show.base_url is not set in show.toml, so the feed was not built")
    elif name in dict(feed.held_back):
        warnings.append("not in the feed until its transcript is reviewed (show.toml: transcript.require_review); "
                        f"signing it off in 'rkaudio review {name}' publishes it")
    return ProcessReport(
        slug=name, source=source, output=output, master=master, target_lufs=target,
        ceiling_dbtp=ceiling, programme=programme, gain_db=gain + offset,
        encoder_offset_db=offset,
        limiter=LimiterReport(limiter_on, limiter_ceiling if limiter_on else None,
                              peak_without_limiter + offset, reduction),
        delivered=delivered, intro=intro, outro=outro, attempts=attempts, duration=total,
        warnings=warnings, transcript=transcript, episode=prepared, feed=feed,
    )

