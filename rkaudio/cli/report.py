"""How the CLI shows progress and results. Only the CLI imports this module."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)

from ..core.clock import clock
from .build_report import _rel

if TYPE_CHECKING:  # only named in annotations: a quick command (publish, check) loads no audio stack
    from ..audio.leveller import LevellerReport
    from ..pipeline.process import ProcessReport
    from ..pipeline.transcribe import TranscriptReport
    from ..publishing.check import CheckReport
    from ..publishing.feed import FeedReport
    from ..publishing.upload import PublishReport
    from ..transcripts.caption_check import Finding


class ProgressBar:
    """A rich progress bar fed by the core's ``(stage, done, total)`` reports; draws nothing when quiet."""

    def __init__(self, quiet: bool = False, *, in_bytes: bool = False) -> None:
        self.quiet = quiet
        #: The work is counted in bytes (an upload): show bytes done of total and the speed.
        self.in_bytes = in_bytes
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBar:
        console = Console(stderr=True)
        if not self.quiet and console.is_terminal:
            columns = ((DownloadColumn(), TransferSpeedColumn()) if self.in_bytes
                       else (TextColumn("{task.percentage:>3.0f}%"),))
            self._progress = Progress(TextColumn("{task.description:<12}"), BarColumn(), *columns,
                                      TimeRemainingColumn(), console=console, transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, stage: str, done: float, total: float) -> None:
        if self._progress is None:
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=max(total, 1e-9))
        self._progress.update(self._tasks[stage], completed=min(done, total), total=max(total, 1e-9))




def process_lines(r: ProcessReport, root: Path) -> list[str]:
    """The human summary of a process run."""
    d, p = r.audio.delivered, r.audio.programme
    ok_i = abs(d.integrated_lufs - r.audio.target_lufs) <= 0.5
    ok_tp = (d.true_peak_dbtp or 0) <= r.audio.ceiling_dbtp
    lines = [
        f"Finished {_rel(r.output, root)} ({clock(round(r.audio.duration))})",
        f"  programme  {p.integrated_lufs:6.1f} LUFS, loudness range {p.lra_lu:.1f} LU, "
        f"sample peak {p.sample_peak_dbfs:.1f} dBFS",
        f"  gain       {r.audio.gain_db:+6.2f} dB ("
        + ("after the leveller, " if r.audio.leveller is not None and r.audio.leveller.applied else "")
        + f"one constant gain; {r.audio.encoder_offset_db:+.2f} dB of it makes up what encoding takes off)",
    ]
    lines.append(f"  leveller   {leveller_summary(r.audio.leveller)}")
    lim = r.audio.limiter
    if lim.engaged and lim.reduction_db <= 0.05:
        lines.append(f"  limiter    on as a safeguard at {lim.ceiling_dbtp:.1f} dBTP; highest sample peak "
                     f"{lim.peak_without_limiter_dbfs:.1f} dBFS needed no reduction")
    elif lim.engaged:
        lines.append(f"  limiter    on: peaks held under {lim.ceiling_dbtp:.1f} dBTP, the highest "
                     f"pulled down by {lim.reduction_db:.1f} dB (4x oversampled, no compression)")
    else:
        lines.append(f"  limiter    not needed: highest peak {lim.peak_without_limiter_dbfs:.1f} dBFS after gain")
    for role, s in (("intro", r.audio.intro), ("outro", r.audio.outro)):
        if s is not None:
            lines.append(f"  {role:<10} {_rel(s.path, root)}: {s.loudness.integrated_lufs:.1f} LUFS, "
                         f"gain {s.gain_db + r.audio.encoder_offset_db:+.1f} dB, {s.overlap_s:.1f} s overlap")
    lines.append(
        f"  delivered  {d.integrated_lufs:6.1f} LUFS (target {r.audio.target_lufs:g} {'ok' if ok_i else 'MISSED'}), "
        f"true peak {d.true_peak_dbtp:.1f} dBTP (ceiling {r.audio.ceiling_dbtp:g} {'ok' if ok_tp else 'MISSED'}), "
        f"LRA {d.lra_lu:.1f} LU")
    if r.video is not None:
        v = r.audio.video
        sound = (f": sound {v.integrated_lufs:.1f} LUFS, true peak {v.true_peak_dbtp:.1f} dBTP" if v is not None else "")
        lines.append(f"  video      {_rel(r.video, root)}{sound}; picture copied, "
                     + (f"captions from {_rel(r.video_captions, root)}" if r.video_captions else "no captions yet"))
    if r.master is not None:
        lines.append(f"  master     {_rel(r.master, root)}")
    if r.transcript is not None:
        lines += ["  transcript " + line.lstrip() for line in transcript_lines(r.transcript, root, brief=True)]
    if r.episode is not None:
        ep = r.episode.episode
        made = "created" if "guid" in r.episode.written and "number" in r.episode.written else "read"
        lines.append(f"  metadata   {_rel(ep.path, root)} ({made}): \"{ep.title}\""
                     + (f", episode {ep.number}" if ep.number is not None else "")
                     + (f", {len(r.episode.notes.cited)} research reference(s)" if r.episode.notes.cited else ""))
    if r.feed is not None:
        lines.append(f"  feed       {_rel(r.feed.path, root)}: {len(r.feed.items)} episode(s), {r.feed.url}")
    if r.feed is not None and r.feed.site is not None:
        lines.append(f"  site       {_rel(r.feed.site.index, root)}: {r.feed.site.pages} page(s)")
    lines += [f"  warning: {w}" for w in r.warnings]
    return lines


def leveller_summary(lev: LevellerReport | None) -> str:
    """The leveller's report line: what it did, or why it did nothing."""
    if lev is None:
        return "off"
    if lev.note:
        return f"stood aside: {lev.note}"
    if not lev.applied:
        return (f"{lev.passages} passage(s), already even (spread {lev.spread_before_lu:.1f} LU): "
                "nothing changed")
    # The minus sign, not a hyphen: "lowered by up to −6.6 dB".
    return (f"{lev.passages} passages, quiet ones raised by up to {lev.max_raise_db:+.1f} dB, "
            f"loud ones lowered by up to {lev.max_cut_db:+.1f} dB, "
            f"spread {lev.spread_before_lu:.1f} → {lev.spread_after_lu:.1f} LU").replace("-", "−")


def leveller_json(lev: LevellerReport | None) -> dict[str, Any] | None:
    if lev is None:
        return None
    return {"applied": lev.applied, "passages": lev.passages, "max_raise_db": round(lev.max_raise_db, 2),
            "max_cut_db": round(lev.max_cut_db, 2), "spread_before_lu": round(lev.spread_before_lu, 2),
            "spread_after_lu": round(lev.spread_after_lu, 2), "speech_s": round(lev.speech_s, 1),
            "other_sound_s": round(lev.other_sound_s, 1), "loudness_change_db": round(lev.loudness_change_db, 2),
            "note": lev.note or None}


def feed_lines(r: FeedReport, root: Path) -> list[str]:
    """The human summary of a feed rebuild."""
    lines = [f"Wrote {_rel(r.path, root)} ({r.url}): {len(r.items)} episode(s), newest first"]
    for item in r.items:
        ep = item.episode
        extras = [f"{len(item.transcripts)} transcript format(s)"] if item.transcripts else []
        if item.chapters_url:
            extras.append(f"{len(ep.chapters)} chapters")
        lines.append(f"  {ep.date:%Y-%m-%d}  {ep.title} ({clock(round(item.duration))}, {item.size:,} bytes"
                     + (", " + ", ".join(extras) if extras else "") + ")")
    for slug, why in r.held_back:
        lines.append(f"  held back (show.toml requires reviewed transcripts): {slug}: {why}; "
                     f"review it with 'rkaudio review {slug}'")
    for slug in r.unpublished:
        lines.append(f"  not published yet (no feed/media/{slug}.mp3): {slug}")
    if r.site is not None:
        lines.append(f"Wrote the site: {_rel(r.site.index, root)} and {r.site.pages - 1} more page(s) "
                     f"({len(r.site.written)} file(s) changed)")
    lines += [f"  warning: {w}" for w in r.warnings]
    return lines


def check_table(report: CheckReport) -> None:
    """The compliance report as a table on stdout."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name in ("", "what", "check", "detail"):
        table.add_column(name)
    for r in report.results:
        mark = "[red]FAIL[/red]" if not r.ok else "[yellow]WARN[/yellow]" if r.warning else "PASS"
        table.add_row(mark, escape(r.subject), escape(r.check), escape(r.detail))
    console = Console(width=160, soft_wrap=False)
    console.print(table)
    failed = len(report.failures)
    warned = len(report.warnings)
    console.print(f"{len(report.results) - failed - warned} passed, {warned} warning(s), {failed} failed")


_ACTIONS = {
    "created": "written",
    "kept": "kept as reviewed (not transcribed again; use --retranscribe to merge new machine text)",
    "merged": "transcribed again and merged around the reviewer's cues",
    "remade": "transcribed again: the recording changed, and nobody had reviewed the old transcript",
    "regenerated": "published again from the reviewed file",
}


def transcript_lines(t: TranscriptReport, root: Path, *, brief: bool = False) -> list[str]:
    """The human summary of a transcript step."""
    action = _ACTIONS.get(t.action, t.action)
    if t.action == "kept" and not t.reviewed:
        action = "kept: already transcribed from this recording (use --retranscribe to transcribe it again)"
    lines = [f"{_rel(t.vtt, root)}: {t.cues} cues, {action}"]
    if t.asr is not None:
        a = t.asr
        lines.append(f"  {a.engine}: {clock(round(a.duration))} of audio ({clock(round(a.speech_seconds))} speech), "
                     f"{len(a.words)} words in {a.elapsed_s:.1f} s ({a.realtime_factor:.0f}x real time)")
        lines.append(f"  words cover {coverage_percent(a.coverage)} of detected speech"
                     + (f"; {a.recovery.windows} window(s) decoded again to find speech they missed"
                        if a.recovery.windows else ""))
    if t.speakers is not None:
        d = t.speakers
        names = ", ".join(d.speakers) or "none"
        loading = f", after {d.load_s:.1f} s loading the diarizer" if d.load_s >= 1 else ""
        lines.append(f"  speakers: {len(d.speakers)} voice(s) told apart ({names}) in {d.elapsed_s:.1f} s "
                     f"({d.realtime_factor:.0f}x real time){loading}")
    elif t.speakers_note:
        lines.append(f"  {t.speakers_note}")
    if t.offset_s:
        lines.append(f"  timed to the finished episode: words start {t.offset_s:.2f} s later, after the intro")
    if t.reviewer_cues:
        lines.append(f"  {t.reviewer_cues} cue(s) kept exactly as the reviewer wrote them")
    if t.archived:
        lines.append(f"  earlier versions saved in {_rel(t.archived[0].parent, root)}/")
    if t.published:
        lines.append(f"  published to {_rel(root / 'feed' / 'transcripts', root)}/{t.slug}.{{vtt,srt,json,html,txt}}")
    elif t.stale is None:
        lines.append("  not published: show.toml requires a reviewer's sign-off (transcript.require_review)")
    if not brief:
        lines += [f"  warning: {w}" for w in t.warnings]
    return lines


def coverage_percent(fraction: float) -> str:
    """A coverage for people: one decimal, and never rounded up to 100% when something is missing."""
    shown = f"{fraction * 100:.1f}"
    if shown == "100.0" and fraction < 1.0:
        shown = "99.9"
    return f"{shown}%"


def transcript_json(t: TranscriptReport, root: Path) -> dict[str, Any]:
    """The machine-readable report of a transcript step."""
    asr = None
    if t.asr is not None:
        asr = {"engine": t.asr.engine, "language": t.asr.language, "duration_s": round(t.asr.duration, 3),
               "speech_s": round(t.asr.speech_seconds, 3), "words": len(t.asr.words),
               "elapsed_s": round(t.asr.elapsed_s, 3), "realtime_factor": round(t.asr.realtime_factor, 1),
               "covered_speech_s": round(t.asr.covered_seconds, 3), "coverage": round(t.asr.coverage, 4),
               "redecoded": dataclasses.asdict(t.asr.recovery),
               "speech_without_words": [{"recording_start_s": g.start, "recording_end_s": g.end,
                                         "speech_s": round(g.speech_s, 3)}
                                        for g in t.asr.gaps]}
    return {
        "slug": t.slug, "action": t.action, "published": t.published, "stale": t.stale, "reviewed": t.reviewed,
        "vtt": _rel(t.vtt, root),
        "cues": t.cues,
        "empty": t.empty,
        "reviewer_cues": t.reviewer_cues, "offset_s": round(t.offset_s, 3), "asr": asr,
        "speakers": None if t.speakers is None else {
            "labels": t.speakers.speakers, "turns": len(t.speakers.turns),
            "elapsed_s": round(t.speakers.elapsed_s, 3), "realtime_factor": round(t.speakers.realtime_factor, 1),
            "load_s": round(t.speakers.load_s, 3)},
        "speakers_note": t.speakers_note,
        "written": [_rel(p, root) for p in t.written], "archived": [_rel(p, root) for p in t.archived],
        "findings": [finding_json(f) for f in t.findings], "warnings": t.warnings,
    }


def finding_json(f: Finding) -> dict[str, Any]:
    return {"severity": f.severity, "cue": f.cue, "start_s": f.start, "line": f.line, "rule": f.rule,
            "message": f.message}


def process_json(r: ProcessReport, root: Path) -> dict[str, Any]:
    """The machine-readable report of a process run."""
    def sting(s: Any) -> dict[str, Any] | None:
        if s is None:
            return None
        return {"path": _rel(s.path, root), "integrated_lufs": s.loudness.integrated_lufs,
                "gain_db": round(s.gain_db + r.audio.encoder_offset_db, 2), "overlap_s": round(s.overlap_s, 3)}

    return {
        "slug": r.slug,
        "output": _rel(r.output, root),
        "master": _rel(r.master, root) or None,
        "duration_s": round(r.audio.duration, 3),
        "target_lufs": r.audio.target_lufs,
        "true_peak_ceiling_dbtp": r.audio.ceiling_dbtp,
        "programme": {**r.audio.programme.as_json(), "sample_peak_dbfs": r.audio.programme.sample_peak_dbfs},
        "gain_db": round(r.audio.gain_db, 2),
        "encoder_offset_db": round(r.audio.encoder_offset_db, 2),
        "limiter": dataclasses.asdict(r.audio.limiter),
        "leveller": leveller_json(r.audio.leveller),
        "delivered": r.audio.delivered.as_json(),
        "intro": sting(r.audio.intro),
        "outro": sting(r.audio.outro),
        "attempts": r.audio.attempts,
        "video": {"path": _rel(r.video, root), "captions": _rel(r.video_captions, root) or None,
                  "delivered": r.audio.video.as_json() if r.audio.video is not None else None}
        if r.video is not None else None,
        "transcript": transcript_json(r.transcript, root) if r.transcript is not None else None,
        "episode": {"metadata": _rel(r.episode.episode.path, root), "title": r.episode.episode.title,
                    "guid": r.episode.episode.guid, "written": r.episode.written,
                    "references": [ref.key for ref in r.episode.notes.cited]} if r.episode is not None else None,
        "feed": {"path": _rel(r.feed.path, root), "url": r.feed.url, "episodes": len(r.feed.items),
                 "site": _rel(r.feed.site.index, root) if r.feed.site is not None else None}
        if r.feed is not None else None,
        "warnings": r.warnings,
    }


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def publish_lines(r: PublishReport) -> list[str]:
    """The human summary of a publish (or of what a dry run would do)."""
    would = "would be " if r.dry_run else ""
    lines = [f"{'Dry run: nothing changed on' if r.dry_run else 'Published to'} {r.target} "
             f"(files compared by {r.compared_by})"]
    shown = ", ".join(r.uploaded[:6]) + (f" and {len(r.uploaded) - 6} more" if len(r.uploaded) > 6 else "")
    lines.append(f"  uploaded   {len(r.uploaded)} file(s) {would}sent, {_size(r.bytes_uploaded)}"
                 + (f": {shown}" if r.uploaded else ""))
    lines.append(f"  unchanged  {r.unchanged} file(s) already there")
    if not r.dry_run:
        lines.append(f"  verified   {r.enclosures_verified} enclosure(s) on the remote at the feed's lengths")
        lines.append("  feed       feed.xml " + ("uploaded last" if r.feed_uploaded else "unchanged"))
    if r.deleted:
        lines.append(f"  deleted    {len(r.deleted)} remote file(s) {would}deleted (--prune): "
                     + ", ".join(r.deleted[:6]))
    if r.extra and not r.deleted:
        lines.append(f"  extra      {len(r.extra)} remote file(s) not in feed/ kept; --prune deletes them")
    return lines


def publish_json(r: PublishReport) -> dict[str, Any]:
    return dataclasses.asdict(r)
