"""The audio step of ``process``: a recording in, a loudness-normalised, checked MP3 out.

Two passes over the programme, and a short one in between:

1. `plan_audio` measures the programme as it will be delivered (channel layout included), and
   the stings on the other core, and decides the gain and whether a limiter is needed; with the
   leveller on (the default), the same pass finds the speech and plans the leveller's gain curve
   (`rkaudio.audio.leveller`), and the constant gain is set for the levelled programme;
2. `finish_audio` calibrates (encodes a few excerpts with the planned gain and measures what the
   encoder and the limiter take off, so the delivered file lands on target rather than a few
   tenths below it), then finishes: the leveller's curve and one constant gain, the stings (never
   levelled) matched to the same loudness
   and joined, a 4x oversampled limiter only if peaks need one, LAME. The MP3 is measured as it
   is written and accepted only if it meets the target and the true-peak ceiling.

Where the MP3 is written, and what happens to it afterwards (tags, renaming into place), is the
caller's business: see `rkaudio.pipeline.process`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import InputError, QualityError
from ..core.files import temp_name
from ..core.progress import ProgressCallback, silent
from ..show.settings import AudioSettings
from . import ffmpeg_tool
from .assembly import ENCODER_HEADROOM_DB, Mix, Part, VideoSound, render
from .inputs import check_programme
from .leveller import LevellerPlan, LevellerReport, analyse, plan_levels, write_envelope
from .loudness import Loudness, measure, measure_clip
from .timeline import intro_lead, sting_overlap

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
#: Calibration: this many excerpts of this length, spread across a long programme.
CALIBRATION_EXCERPTS = 6
CALIBRATION_SECONDS = 10.0
#: A programme at or under this length is calibrated whole.
CALIBRATE_WHOLE_UNDER = 90.0
#: Gains above this are applied but warned about: noise rises with the speech.
LARGE_GAIN_DB = 30.0
#: Loudness ranges above this are reported: one constant gain keeps quiet passages quiet.
WIDE_LRA_LU = 15.0


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


@dataclass(frozen=True)
class AudioPlan:
    """What the measuring pass decided: the programme's loudness, the stings, the gain, the limiter."""

    source: Path
    settings: AudioSettings
    programme: Loudness
    intro: StingReport | None
    outro: StingReport | None
    #: The constant gain that brings the programme to the target, before calibration.
    gain_db: float
    #: Highest sample peak of programme and stings after their gains, dBFS.
    peak_dbfs: float
    warnings: tuple[str, ...] = ()
    #: The leveller's plan; None when the leveller is off.
    leveller: LevellerPlan | None = None

    @property
    def duration(self) -> float:
        """Seconds of the finished episode: the programme and the stings, less their overlaps."""
        return self.programme.duration + sum(s.loudness.duration - s.overlap_s
                                             for s in (self.intro, self.outro) if s)

    @property
    def intro_lead(self) -> float:
        """Seconds of intro before the programme starts (what the transcript's words move by)."""
        if self.intro is None:
            return 0.0
        return intro_lead(self.settings, self.intro.loudness.duration, self.programme.duration)


@dataclass
class FinishedAudio:
    """What the audio step did, in numbers a producer can check."""

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
    #: What the leveller did; None when it was off.
    leveller: LevellerReport | None = None
    #: The video's sound as measured in its file; None when no video sound was made.
    video: Loudness | None = None


def _measure_sting(path: Path, role: str, channels: int) -> Loudness:
    try:
        return measure_clip(path, channels)
    except InputError as exc:
        raise InputError(f"{role} sting: {exc.message}", exc.path) from None


def _sting(path: Path | None, measured: Future[Loudness] | None, role: str, settings: AudioSettings,
           programme_seconds: float) -> StingReport | None:
    if path is None or measured is None:
        return None
    loud = measured.result()
    if loud.is_silent:
        raise InputError(f"{role} sting is silent: nothing to match to the programme", path)
    return StingReport(path=path, loudness=loud, gain_db=settings.target_lufs - loud.integrated_lufs,
                       overlap_s=sting_overlap(settings, loud.duration, programme_seconds))


def plan_audio(source: Path, info: ffmpeg_tool.MediaInfo, settings: AudioSettings, *,
               on_progress: ProgressCallback = silent) -> AudioPlan:
    """Measure the programme (and the stings, on the other core) and plan the gain.

    InputError if the programme is silent, holds no audio or is shorter than its container says.
    """
    stated = info.duration or 0.0
    with ThreadPoolExecutor(max_workers=2) as pool:
        measured = {role: pool.submit(_measure_sting, path, role, settings.channels)
                    for role, path in (("intro", settings.intro), ("outro", settings.outro)) if path}
        levels = None
        if settings.leveller:
            programme, analysis = analyse(source, settings.channels,
                                          on_time=lambda t: on_progress("measuring", t, max(stated, t)))
        else:
            programme = measure(source, true_peak=False, channels=settings.channels,
                                on_time=lambda t: on_progress("measuring", t, max(stated, t)))
        on_progress("measuring", programme.duration, programme.duration)
        check_programme(info, programme)
        if settings.leveller:
            levels = plan_levels(analysis)
        intro = _sting(settings.intro, measured.get("intro"), "intro", settings, programme.duration)
        outro = _sting(settings.outro, measured.get("outro"), "outro", settings, programme.duration)

    # The constant gain is set for the programme as the leveller leaves it.
    loudness_change = levels.loudness_change_db if levels is not None and levels.active else 0.0
    peak_change = levels.peak_change_db if levels is not None and levels.active else 0.0
    gain = settings.target_lufs - (programme.integrated_lufs + loudness_change)
    warnings = []
    if gain > LARGE_GAIN_DB:
        warnings.append(f"very quiet recording: raised by {gain:.1f} dB, so its noise is raised too")
    if programme.lra_lu > WIDE_LRA_LU and not (levels is not None and levels.active):
        warnings.append(f"wide loudness range ({programme.lra_lu:.1f} LU): one constant gain was applied "
                        "and nothing was compressed, so quiet passages stay quiet")
    peaks = [(programme.sample_peak_dbfs or 0.0) + peak_change + gain]
    peaks += [(s.loudness.sample_peak_dbfs or 0.0) + s.gain_db for s in (intro, outro) if s]
    return AudioPlan(source=source, settings=settings, programme=programme, intro=intro, outro=outro,
                     gain_db=gain, peak_dbfs=max(peaks), warnings=tuple(warnings), leveller=levels)


def _calibration_parts(source: Path, duration: float, gain_db: float, envelope: Path | None) -> list[Part]:
    if duration <= CALIBRATE_WHOLE_UNDER:
        return [Part(source, gain_db, envelope=envelope)]
    step = duration / CALIBRATION_EXCERPTS
    return [Part(source, gain_db, start=max(0.0, (k + 0.5) * step - CALIBRATION_SECONDS / 2),
                 length=CALIBRATION_SECONDS, envelope=envelope) for k in range(CALIBRATION_EXCERPTS)]


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


def finish_audio(plan: AudioPlan, mp3: Path, *, master: Path | None = None, video: bool = False,
                 video_sound: Path | None = None, video_codec: str = "opus",
                 on_progress: ProgressCallback = silent) -> FinishedAudio:
    """Calibrate, then encode the episode to ``mp3`` (and a FLAC ``master``) until it meets the
    target and the ceiling; QualityError if three attempts cannot.

    With ``video``, the same run also measures the programme's span of the MP3 (from the intro's
    lead, for the programme's length), which the finished video takes; with ``video_sound`` too,
    that span is encoded to that file in ``video_codec`` instead (a WebM cannot carry MP3), and
    that encode is measured (see `assembly.VideoSound`). ``video_sound`` is written beside ``mp3``.

    ``mp3`` is written in its own folder under its plain name (see `assembly.render`); the
    calibration's scratch output, and the leveller's gain curve while it is needed, go to the
    same folder.
    """
    levels = plan.leveller
    sound = None
    if video or video_sound is not None:
        sound = VideoSound(start=plan.intro_lead, duration=plan.programme.duration, path=video_sound,
                           codec=video_codec, bitrate_kbps=plan.settings.bitrate)
    if levels is None or not levels.active:
        return _finish(plan, mp3, master, None, sound, on_progress)
    envelope = temp_name(mp3.parent / "leveller.f32")
    try:
        write_envelope(levels, plan.programme.duration, envelope)
        return _finish(plan, mp3, master, envelope, sound, on_progress)
    finally:
        envelope.unlink(missing_ok=True)


def _finish(plan: AudioPlan, mp3: Path, master: Path | None, envelope: Path | None, video: VideoSound | None,
            on_progress: ProgressCallback) -> FinishedAudio:
    settings, intro, outro = plan.settings, plan.intro, plan.outro
    target, ceiling = settings.target_lufs, settings.true_peak_dbtp
    workdir = mp3.parent
    limiter_on = plan.peak_dbfs > ceiling - INTERSAMPLE_MARGIN_DB
    limiter_ceiling = ceiling - ENCODER_HEADROOM_DB

    def mix_for(programme_gain: float, offset: float, limiter: float | None) -> Mix:
        return Mix(
            programme=[Part(plan.source, programme_gain + offset, envelope=envelope)],
            intro=Part(intro.path, intro.gain_db + offset) if intro else None,
            outro=Part(outro.path, outro.gain_db + offset) if outro else None,
            intro_overlap=intro.overlap_s if intro else 0.0,
            outro_overlap=outro.overlap_s if outro else 0.0,
            transition=settings.transition, channels=settings.channels,
            bitrate_kbps=settings.bitrate, limiter_dbtp=limiter,
        )

    on_progress("calibrating", 0, 1)
    calibration = dataclasses.replace(mix_for(plan.gain_db, 0.0, limiter_ceiling if limiter_on else None),
                                      programme=_calibration_parts(plan.source, plan.programme.duration,
                                                                   plan.gain_db, envelope))
    offset = _calibrate(calibration, workdir)
    on_progress("calibrating", 1, 1)
    # The make-up gain raises peaks too; it may now need the limiter.
    limiter_on = limiter_on or plan.peak_dbfs + offset > ceiling - INTERSAMPLE_MARGIN_DB

    total = plan.duration
    attempts = 0
    while True:
        attempts += 1
        mix = dataclasses.replace(mix_for(plan.gain_db, offset, limiter_ceiling if limiter_on else None), video=video)
        result = render(mix, mp3.name, workdir, master=master,
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
            f"ceiling {ceiling:g} dBTP; nothing was published", plan.source)

    warnings = list(plan.warnings)
    video_loudness = result.video
    if video_loudness is not None:
        # The video's sound is the programme without the parts of the stings that do not overlap it;
        # the stings are matched to the same loudness, so it lands on the target too: measured in
        # the same run, from the MP3's frames the video takes (or the video's own encode).
        video_miss = abs(target - video_loudness.integrated_lufs)
        if round(video_miss, 1) >= PROMISED_TOLERANCE_LU or (video_loudness.true_peak_dbtp or -math.inf) > ceiling:
            warnings.append(f"the video's sound measured {video_loudness.integrated_lufs:.1f} LUFS and "
                            f"{video_loudness.true_peak_dbtp:.1f} dBTP (target {target:g} LUFS, ceiling "
                            f"{ceiling:g} dBTP): the stings, which it leaves out, weigh on the MP3's loudness")
    reduction = max(0.0, plan.peak_dbfs + offset - limiter_ceiling) if limiter_on else 0.0
    return FinishedAudio(
        target_lufs=target, ceiling_dbtp=ceiling, programme=plan.programme, gain_db=plan.gain_db + offset,
        encoder_offset_db=offset,
        limiter=LimiterReport(limiter_on, limiter_ceiling if limiter_on else None, plan.peak_dbfs + offset,
                              reduction),
        delivered=delivered, intro=intro, outro=outro, attempts=attempts, duration=total,
        warnings=warnings, video=video_loudness,
        leveller=LevellerReport.of(plan.leveller) if plan.leveller is not None else None)
