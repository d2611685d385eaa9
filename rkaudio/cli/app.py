"""The command line: parse, call the library, report. No production logic lives here."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import __version__
from ..core import leaving
from ..core.errors import (
    ConfigError,
    CHECKS_FAILED,
    INTERNAL_ERROR,
    INTERRUPTED,
    RkaudioError,
    TranscriptError,
    UnreviewedTranscriptError,
)
from ..show.config import audio_from_table, find_root, load_show, transcript_from_table
from ..show.paths import SHOW_FILE, episode_paths
from ..show.settings import AudioSettings, Show, TranscriptSettings

app = typer.Typer(
    name="rkaudio",
    help="Podcast and webinar production, offline: loudness, intro and outro, transcripts, feed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar; print only the result and errors.")]
Debug = Annotated[bool, typer.Option("--debug", help="Log every ffmpeg command and show tracebacks.")]
Engine = Annotated[Optional[str], typer.Option(
    help="Speech engine: faster-whisper (default) or openai-whisper (needs the rkaudio\\[openai-whisper] extra).",
    show_default=False)]
Speakers = Annotated[Optional[str], typer.Option(
    help="Speaker labels: auto (tell the voices apart, the default), off, or the number of voices. "
         "Default: show.toml (transcript.speakers).", show_default=False)]
Model = Annotated[Optional[str], typer.Option(
    help="Whisper model: tiny.en (bundled, the default), a name such as base.en or small (downloaded once, "
         "when online), or the path of a model folder or checkpoint.", show_default=False)]
Device = Annotated[Optional[str], typer.Option(help="auto (a CUDA GPU if present, else the CPU), cpu or cuda.",
                                               show_default=False)]
Retranscribe = Annotated[bool, typer.Option(
    "--retranscribe", help="Transcribe again even though a reviewed transcript exists: new machine text is "
                           "merged around the cues the reviewer wrote, and every earlier version is kept in "
                           "transcripts/history/.")]
Jobs = Annotated[int, typer.Option(
    "--jobs", "-j", help="Episodes worked on side by side; 0 (the default) means one per core.", min=0)]
Workspace = Annotated[Optional[Path], typer.Option(
    "--workspace", "-w", help="The show folder. Default: the current folder or its nearest parent with a show.toml.",
    show_default=False)]


def _fail(message: str, code: int) -> None:
    typer.echo(f"rkaudio: error: {message.replace(chr(10), ' ').strip()}", err=True)
    raise typer.Exit(code)


def _run(debug: bool, work: Callable[[], int | None]) -> None:
    """The one place where errors become messages and exit codes."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        code = work() or 0
    except typer.Exit:
        raise
    except RkaudioError as exc:
        if debug:
            traceback.print_exc()
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was published", INTERRUPTED)
    except Exception as exc:  # a bug: say so in one line unless asked for the details
        if debug:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for details)",
              INTERNAL_ERROR)
    else:
        if code:
            raise typer.Exit(code)


def _show(workspace: Path | None) -> Show:
    return load_show(find_root(workspace if workspace is not None else Path.cwd()))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rkaudio {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """rkaudio: podcast and webinar production, offline."""


# --- init ---------------------------------------------------------------------------------------

@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new show (created if missing).")],
    title: Annotated[Optional[str], typer.Option(help="The show's title. Default: the folder's name.")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Create a new show folder: show.toml, episodes/, transcripts/, feed/, cover and stings."""
    from ..pipeline.workspace import init_show

    def work() -> None:
        created = init_show(directory, title)
        if not quiet:
            typer.echo(f"Created a show in {directory}:")
            for path in created:
                typer.echo(f"  {path.relative_to(directory) if path != directory else path}")
            typer.echo(f"Next: put a recording in {directory / 'episodes'} and run "
                       f"'rkaudio process episodes/NAME.wav' inside {directory}.")

    _run(debug, work)


# --- loudness -----------------------------------------------------------------------------------

@app.command()
def loudness(
    file: Annotated[Path, typer.Argument(help="Any audio or video file.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print integrated_lufs, true_peak_dbtp and lra_lu as JSON.")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Measure integrated loudness (LUFS), true peak (dBTP) and loudness range (LU)."""
    from ..audio import ffmpeg_tool
    from ..audio.loudness import measure
    from .report import ProgressBar

    def work() -> None:
        info = ffmpeg_tool.probe(file)
        with ProgressBar(quiet or as_json) as bar:
            result = measure(file, true_peak=True,
                             on_time=lambda t: bar("measuring", t, max(info.duration or 0, t)))
        if as_json:
            typer.echo(json.dumps(result.as_json()))
        else:
            typer.echo(f"Integrated loudness: {result.integrated_lufs:6.1f} LUFS")
            typer.echo(f"True peak:           {result.true_peak_dbtp:6.1f} dBTP")
            typer.echo(f"Loudness range:      {result.lra_lu:6.1f} LU")

    _run(debug, work)


@app.command()
def levels(
    file: Annotated[Path, typer.Argument(help="A recording (any format process takes).", show_default=False)],
    png: Annotated[Optional[Path], typer.Option(
        help="Also draw the picture to this PNG (needs the rkaudio\\[plot] extra).", show_default=False)] = None,
    width: Annotated[int, typer.Option(min=20, max=400, help="Columns of the text plot.")] = 72,
    as_json: Annotated[bool, typer.Option("--json", help="Print the leveller's plan as JSON (no plot).")] = False,
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Show what the leveller would do to a recording: its passages, and its short-term loudness over time
    without and with levelling (a text plot; --png for a picture). Uses the show's target if there is a show."""
    from ..audio import ffmpeg_tool
    from ..audio.inputs import check_programme
    from ..audio.leveller import LevellerReport, analyse, plan_levels
    from ..audio.levelplot import curves, text_plot, write_png
    from ..core.errors import WorkspaceError
    from .report import ProgressBar, leveller_json, leveller_summary

    def work() -> None:
        try:
            settings = _show(workspace).audio
        except WorkspaceError:
            if workspace is not None:
                raise
            settings = AudioSettings()
        info = ffmpeg_tool.probe(file)
        with ProgressBar(quiet or as_json) as bar:
            programme, analysis = analyse(file, settings.channels,
                                          on_time=lambda t: bar("measuring", t, max(info.duration or 0, t)))
        check_programme(info, programme)
        plan = plan_levels(analysis)
        lev = LevellerReport.of(plan)
        drawn = curves(plan, programme.integrated_lufs, settings.target_lufs)
        if png is not None:
            write_png(drawn, png, title=file.name)
        if as_json:
            typer.echo(json.dumps({**(leveller_json(lev) or {}), "passages_detail": [
                {"start_s": round(p.start, 1), "end_s": round(p.end, 1), "level_lufs": round(p.level_lufs, 1),
                 "gain_db": round(p.gain_db, 2)} for p in plan.passages],
                "png": str(png) if png is not None else None}, indent=2))
            return
        typer.echo(f"{file.name}: leveller {leveller_summary(lev)}")
        for line in text_plot(drawn, width):
            typer.echo(line)
        if png is not None:
            typer.echo(f"Wrote {png}")

    _run(debug, work)


# --- process ------------------------------------------------------------------------------------

@app.command()
def process(
    inputs: Annotated[list[Path], typer.Argument(help="The recording: WAV, FLAC, MP3, M4A/AAC, OGG/Opus, or a video (MP4, MKV, WebM). Several recordings are finished side by side (see --jobs), the feed rebuilt once after them.", show_default=False)],
    intro: Annotated[Optional[str], typer.Option(help="Intro sting; 'none' for no intro. Default: show.toml.", show_default=False)] = None,
    outro: Annotated[Optional[str], typer.Option(help="Outro sting; 'none' for no outro. Default: show.toml.", show_default=False)] = None,
    target: Annotated[Optional[str], typer.Option(help="Loudness target in LUFS, or a preset: podcast (-16), mono (-19), ebu-r128 (-23).", show_default=False)] = None,
    true_peak: Annotated[Optional[float], typer.Option("--true-peak", help="True-peak ceiling in dBTP (default -1).", show_default=False)] = None,
    crossfade: Annotated[Optional[float], typer.Option(help="Seconds each sting overlaps the programme (default 1).", show_default=False)] = None,
    channels: Annotated[Optional[int], typer.Option(help="1 (mono) or 2 (stereo).", show_default=False)] = None,
    bitrate: Annotated[Optional[int], typer.Option(help="MP3 bitrate in kbit/s (default 128 stereo, 96 mono).", show_default=False)] = None,
    master: Annotated[Optional[bool], typer.Option("--master/--no-master", help="Also keep a lossless FLAC master in masters/.", show_default=False)] = None,
    leveller: Annotated[Optional[bool], typer.Option(
        "--leveller/--no-leveller",
        help="Level the speakers: raise quiet passages of speech and lower loud ones (up to 15 dB) so every voice "
             "comes out equally loud; music and silence are left alone. On by default (show.toml: audio.leveller); "
             "turn it off for music or drama.", show_default=False)] = None,
    video: Annotated[Optional[bool], typer.Option(
        "--video/--no-video",
        help="For a video recording, also write the finished video (feed/media/SLUG.mp4): the picture copied "
             "untouched, the processed sound, the captions. On by default (show.toml: audio.video_output).",
        show_default=False)] = None,
    title: Annotated[Optional[str], typer.Option(help="Episode title. Default: the input's file name.", show_default=False)] = None,
    slug: Annotated[Optional[str], typer.Option(help="Name of the episode in URLs and files. Default: the input's name, made URL-safe.", show_default=False)] = None,
    no_transcribe: Annotated[bool, typer.Option("--no-transcribe", help="Skip the transcript step (a reviewed transcript is still published).")] = False,
    retranscribe: Retranscribe = False,
    engine: Engine = None,
    model: Model = None,
    device: Device = None,
    speakers: Speakers = None,
    jobs: Jobs = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Finish a recording: loudness-normalise it, add intro and outro, write feed/media/SLUG.mp3, and transcribe it."""
    from ..pipeline.process import process_episode
    from .report import ProgressBar, process_json, process_lines

    def work() -> int:
        show = _show(workspace)
        settings = _audio_overrides(show, intro=intro, outro=outro, target=target, true_peak=true_peak,
                                    crossfade=crossfade, channels=channels, bitrate=bitrate, master=master,
                                    leveller=leveller, video=video)
        speech = _transcript_overrides(show, engine=engine, model=model, device=device, speakers=speakers)
        wanted = speech.enabled and not no_transcribe
        if len(inputs) > 1:
            if slug or title or retranscribe:
                given = "--slug" if slug else "--title" if title else "--retranscribe"
                raise ConfigError(f"{given} applies to one recording; process the recordings one at a time to use it")
            return _build(show, settings, speech if wanted else None, sources=inputs, force=True, jobs=jobs,
                          dry_run=False, as_json=as_json, quiet=quiet, debug=debug)
        input = inputs[0]
        with ProgressBar(quiet or as_json) as bar:
            report = process_episode(show, input, slug=slug, title=title, settings=settings,
                                     transcribe=speech if wanted else None, retranscribe=retranscribe,
                                     on_progress=bar)
        if as_json:
            typer.echo(json.dumps(process_json(report, show.root), indent=2))
        else:
            for line in process_lines(report, show.root):
                typer.echo(line)
        return 0

    _run(debug, work)


# --- build --------------------------------------------------------------------------------------

@app.command()
def build(
    jobs: Jobs = 0,
    no_transcribe: Annotated[bool, typer.Option("--no-transcribe", help="Skip the transcript step (a reviewed transcript is still published).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be done, and do nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Bring the whole show up to date: every recording in episodes/, redoing only what changed, side by side.

    A new or changed recording is finished as by 'process'; a changed title, note or show setting
    retags the MP3 in place; the feed and site are rebuilt once at the end. With nothing changed,
    nothing is written.
    """
    def work() -> int:
        show = _show(workspace)
        speech = show.transcript
        return _build(show, show.audio, speech if speech.enabled and not no_transcribe else None, sources=None,
                      force=False, jobs=jobs, dry_run=dry_run, as_json=as_json, quiet=quiet, debug=debug)

    _run(debug, work)


def _build(show: Show, audio: AudioSettings, speech: Optional[TranscriptSettings], *, sources: Optional[list[Path]],
           force: bool, jobs: int, dry_run: bool, as_json: bool, quiet: bool, debug: bool) -> int:
    from ..pipeline.build import build as build_show
    from .build_report import BuildProgress, build_json, build_lines

    with BuildProgress(quiet or as_json or dry_run) as progress:
        report = build_show(show, audio=audio, speech=speech, sources=sources, force=force, jobs=jobs,
                            dry_run=dry_run, debug=debug, on_plan=progress.plan, on_step=progress.step,
                            on_progress=progress)
    if as_json:
        typer.echo(json.dumps(build_json(report, show.root), indent=2))
    elif not quiet or report.failed:
        for line in build_lines(report, show.root):
            typer.echo(line)
    for failure in report.failed:
        typer.echo(f"rkaudio: error: {failure.slug}: {failure.message.splitlines()[0]}", err=True)
    return report.failed[0].exit_code if report.failed else 0


# --- transcribe and transcript ----------------------------------------------------------------

@app.command()
def transcribe(
    input: Annotated[Path, typer.Argument(help="The recording (any format process takes).", show_default=False)],
    slug: Annotated[Optional[str], typer.Option(help="Name of the episode in URLs and files. Default: the input's name, made URL-safe.", show_default=False)] = None,
    title: Annotated[Optional[str], typer.Option(help="Title for the transcript page. Default: the input's file name.", show_default=False)] = None,
    engine: Engine = None,
    model: Model = None,
    device: Device = None,
    speakers: Speakers = None,
    retranscribe: Retranscribe = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Transcribe a recording into transcripts/SLUG.{vtt,srt,json,txt,html} without processing its audio.

    Timings match the finished episode: they allow for the show's intro. A reviewed transcript is never overwritten.
    """
    from ..audio import ffmpeg_tool
    from ..audio.timeline import probed_intro_lead
    from ..pipeline.process import slug_for
    from ..pipeline.republish import refresh_video_captions
    from ..pipeline.transcribe import transcribe_episode
    from .report import ProgressBar, transcript_json, transcript_lines

    def work() -> int:
        show = _show(workspace)
        speech = _transcript_overrides(show, engine=engine, model=model, device=device, speakers=speakers)
        name = slug_for(show, input, slug)
        info = ffmpeg_tool.probe(input)
        with ProgressBar(quiet or as_json) as bar:
            report = transcribe_episode(show, input, name, title=title, settings=speech,
                                        retranscribe=retranscribe, offset_s=probed_intro_lead(show.audio, info.duration),
                                        on_progress=bar)
        if report.published:
            refresh_video_captions(show, name)
        if as_json:
            typer.echo(json.dumps(transcript_json(report, show.root), indent=2))
        else:
            for line in transcript_lines(report, show.root):
                typer.echo(line)
        return 0

    _run(debug, work)


transcript_app = typer.Typer(help="Check and publish reviewed transcripts.", no_args_is_help=True)
app.add_typer(transcript_app, name="transcript")


@transcript_app.command("check")
def transcript_check(
    slug: Annotated[str, typer.Argument(help="The episode's slug (transcripts/SLUG.vtt).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    workspace: Workspace = None,
    debug: Debug = False,
) -> None:
    """Check transcripts/SLUG.vtt against the caption rules; exit 1 if any rule is broken (errors, not warnings)."""
    from ..transcripts.caption_check import has_errors
    from ..transcripts.store import check_transcript
    from .report import finding_json

    def work() -> int:
        show = _show(workspace)
        findings = check_transcript(show.root, slug, show.transcript.rules)
        paths = episode_paths(show.root, slug)
        shown = paths.shown(paths.vtt)
        errors = sum(f.severity == "error" for f in findings)
        if as_json:
            typer.echo(json.dumps({"file": shown, "errors": errors, "warnings": len(findings) - errors,
                                   "findings": [finding_json(f) for f in findings]}, indent=2))
        else:
            for finding in findings:
                typer.echo(f"{shown}: {finding}")
            typer.echo(f"{shown}: {errors} error(s), {len(findings) - errors} warning(s)")
        return CHECKS_FAILED if has_errors(findings) else 0

    _run(debug, work)


@transcript_app.command("publish")
def transcript_publish(
    slug: Annotated[str, typer.Argument(help="The episode's slug (transcripts/SLUG.vtt).", show_default=False)],
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Remake the .srt, .json, .txt and .html and the copies in feed/transcripts/ from the reviewed .vtt
    (and, for a webinar, the video's captions)."""
    from ..pipeline.republish import refresh_video_captions
    from ..pipeline.transcribe import refresh_transcript
    from .report import transcript_lines

    def work() -> None:
        show = _show(workspace)
        report = refresh_transcript(show, slug)
        if report is None:
            paths = episode_paths(show.root, slug)
            raise TranscriptError("not found: there is no transcript to publish yet", paths.shown(paths.vtt))
        refresh_video_captions(show, slug)
        if not quiet:
            for line in transcript_lines(report, show.root):
                typer.echo(line)

    _run(debug, work)


# --- feed and check -----------------------------------------------------------------------------

@app.command()
def feed(
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Rebuild feed/feed.xml from every episode (episodes/*.md with an MP3 in feed/media/).

    With transcript.require_review on, episodes whose transcript was never reviewed are held back
    and the command exits 6 after writing the feed of the others.
    """
    from ..publishing.feed import build_feed
    from .report import feed_lines

    def work() -> None:
        show = _show(workspace)
        report = build_feed(show)
        if not quiet:
            for line in feed_lines(report, show.root):
                typer.echo(line)
        if report.held_back:
            slugs = ", ".join(slug for slug, _ in report.held_back)
            raise UnreviewedTranscriptError(f"show.toml requires reviewed transcripts, so {len(report.held_back)} "
                                            f"episode(s) were held back from the feed: {slugs}",
                                            show.root / SHOW_FILE)

    _run(debug, work)


@app.command()
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    online: Annotated[bool, typer.Option("--online", help="Also ask the web for the headers of the feed's URL and "
                                                          "every enclosure URL: status and length.")] = False,
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Check the whole show offline: loudness, tags, artwork, feed, enclosures, guids, transcript and chapter URLs.

    Exits 1 if any check fails.
    """
    from ..publishing.check import check_show
    from ..publishing.online import check_online
    from .report import ProgressBar, check_table

    def work() -> int:
        show = _show(workspace)
        with ProgressBar(quiet or as_json) as bar:
            report = check_show(show, on_progress=bar, extra=[check_online] if online else None)
        if as_json:
            typer.echo(json.dumps({"ok": report.ok, "results": [dataclasses.asdict(r) for r in report.results]},
                                  indent=2))
        else:
            check_table(report)
        return 0 if report.ok else CHECKS_FAILED

    _run(debug, work)


@app.command()
def publish(
    to: Annotated[Optional[str], typer.Option(
        "--to", help="An rclone remote and path, e.g. podcast-s3:bucket/show. Default: show.toml (\\[publish] to) "
                     "or RKAUDIO_PUBLISH_TO.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run",
                                          help="Say what would be uploaded and deleted; change nothing.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete remote files that are no longer in feed/ "
                                                        "(after the new feed is up).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: Workspace = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Upload feed/ with rclone: media, transcripts, chapters and pages first, then feed.xml once every
    enclosure is up at its length. Only changed files move; credentials stay in rclone's config."""
    from ..publishing.upload import PublishOptions, publish as publish_feed
    from .report import ProgressBar, publish_json, publish_lines

    def work() -> None:
        show = _show(workspace)
        with ProgressBar(quiet or as_json, in_bytes=True) as bar:
            report = publish_feed(show, PublishOptions(to=to, dry_run=dry_run, prune=prune), on_progress=bar)
        if as_json:
            typer.echo(json.dumps(publish_json(report), indent=2))
        elif not quiet:
            for line in publish_lines(report):
                typer.echo(line)

    _run(debug, work)


# --- review -------------------------------------------------------------------------------------

@app.command()
def review(
    slug: Annotated[str, typer.Argument(help="The episode's slug (transcripts/SLUG.vtt).", show_default=False)],
    port: Annotated[Optional[int], typer.Option(
        min=0, max=65535, show_default=False,
        help="Port on 127.0.0.1 to serve the editor on (default 8719); 0 for any free port. The browser keeps "
             "unsaved changes per address, so use the same port to find them again.")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the editor's address; do not open a browser.")] = False,
    workspace: Workspace = None,
    debug: Debug = False,
) -> None:
    """Review and correct transcripts/SLUG.vtt in the browser while listening to the episode (Ctrl-C stops)."""
    import webbrowser

    from ..review.server import DEFAULT_PORT, start_server
    from ..review.session import ReviewSession

    def work() -> None:
        show = _show(workspace)
        session = ReviewSession(show, slug)
        server = start_server(session, DEFAULT_PORT if port is None else port)
        try:
            typer.echo(f"Reviewing {session.shown_vtt} at {server.url}")
            if session.audio is None:
                typer.echo("No audio found for this episode (feed/media/ or episodes/); the transcript can still be edited.")
            typer.echo("Press Ctrl-C to stop.")
            if not no_browser:
                # Without a display, Python would fall back to a text-mode browser in this terminal.
                headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                                     or os.environ.get("WAYLAND_DISPLAY"))
                if headless or not webbrowser.open(server.url):
                    typer.echo("Open the address above in a web browser.")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                typer.echo("Stopped the review server. Unsaved changes stay in the browser until you save them.")
        finally:
            server.server_close()

    _run(debug, work)


def _transcript_overrides(show: Show, **flags: Optional[str]) -> TranscriptSettings:
    """Apply the transcript flags that were given over the show's settings."""
    table: dict[str, object] = {k: v for k, v in flags.items() if v is not None}
    model = table.get("model")
    if isinstance(model, str) and Path(model).expanduser().exists():
        table["model"] = str(Path(model).expanduser().resolve())  # relative to where the command runs
    if not table:
        return show.transcript
    return transcript_from_table(table, show.root, "command-line options", base=show.transcript)


def _audio_overrides(show: Show, **flags: object) -> AudioSettings:
    """Apply the flags that were given over the show's (show.toml + environment) settings."""
    table: dict[str, object] = {}
    for name in ("intro", "outro"):
        value = flags[name]
        if value is not None:
            table[name] = "" if str(value).strip().lower() in ("", "none") else str(Path(str(value)).expanduser().resolve())
    names = {"target": "target", "true_peak": "true_peak", "crossfade": "crossfade",
             "channels": "channels", "bitrate": "bitrate", "master": "keep_master",
             "leveller": "leveller"}
    for flag, key in names.items():
        if flags[flag] is not None:
            table[key] = flags[flag]
    if flags.get("video") is not None:
        table["video_output"] = "auto" if flags["video"] else "off"
    if not table:
        return show.audio
    return audio_from_table(table, show.root, "command-line options", base=show.audio)


def main() -> None:
    """Console entry point. Once the speech libraries are loaded, the process leaves without
    tearing the interpreter down (`rkaudio.core.leaving`): a second sooner, every file written."""
    try:
        app()
    except SystemExit as exc:
        leaving.finish(exc.code)


if __name__ == "__main__":  # pragma: no cover
    main()
