"""The one place that runs ffmpeg.

Every ffmpeg call goes through :func:`run`, :func:`run_piped` or :func:`stream_raw`: argument lists, never a shell;
the command logged with ``shlex.join``; a non-zero exit raised as :class:`ToolError` with the
exit code and the tail of stderr. The executable comes from ``RKAUDIO_FFMPEG``, then ``ffmpeg``
on PATH, then the binary shipped in the imageio-ffmpeg wheel, so ``pip install`` is enough.
"""

from __future__ import annotations

import logging
import os
import queue

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
import re
import shlex
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..core.errors import ConfigError, InputError, ToolError

log = logging.getLogger(__name__)

#: Called with seconds of output written so far.
TimeCallback = Callable[[float], None]

#: Placeholder in producer arguments of :func:`run_piped`, replaced by the pipe's ``pipe:N``.
PIPE = "{PIPE}"

_STDERR_LINES_KEPT = 400


@lru_cache(maxsize=None)
def _find_ffmpeg(env_value: str | None) -> str:
    if env_value:
        path = shutil.which(env_value) or (env_value if Path(env_value).is_file() else None)
        if path is None:
            raise ConfigError(f"RKAUDIO_FFMPEG points to {env_value!r}, which is not an executable file")
        return path
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ConfigError("no ffmpeg found: install ffmpeg or the imageio-ffmpeg package") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


@lru_cache(maxsize=None)
def _resamples_with_soxr(exe: str) -> bool:
    try:
        run(["-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "0.01", "-af", "aresample=88200:resampler=soxr",
             "-f", "null", "-"], what="trying the soxr resampler")
    except ToolError:
        return False
    return True


def has_soxr() -> bool:
    """Whether this ffmpeg was built with libsoxr (the wheel's and Debian's are; some are not)."""
    return _resamples_with_soxr(executable())


def executable() -> str:
    """Path of the ffmpeg binary rkaudio uses."""
    return _find_ffmpeg(os.environ.get("RKAUDIO_FFMPEG") or None)


def base_args() -> list[str]:
    """The executable and the options every call shares (no banner, no stdin, no stats line)."""
    return [executable(), "-hide_banner", "-nostdin", "-nostats"]


class _StderrReader(threading.Thread):
    """Drains a stderr pipe into a bounded buffer so ffmpeg never blocks on a full pipe."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: deque[str] = deque(maxlen=_STDERR_LINES_KEPT)

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.stream.close()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _read_progress(stream, on_time: TimeCallback | None) -> None:
    """Parse ``-progress`` key=value lines and report output time in seconds."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("ascii", "replace").strip()
        if on_time is not None and line.startswith("out_time_us="):
            value = line.partition("=")[2]
            if value.lstrip("-").isdigit():
                on_time(max(0.0, int(value) / 1_000_000))
    stream.close()


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


def _raise_for(returncode: int, stderr: str, what: str) -> None:
    tail = _tail(stderr)
    last = tail.splitlines()[-1] if tail else "no message"
    raise ToolError(f"ffmpeg failed while {what} (exit {returncode}): {last}", returncode, tail)


def _popen(args: Sequence[str], **kwargs) -> subprocess.Popen:
    log.debug("running: %s", shlex.join(args))
    try:
        return subprocess.Popen(list(args), stdin=subprocess.DEVNULL, **kwargs)
    except OSError as exc:
        raise ToolError(f"cannot start ffmpeg ({args[0]}): {exc.strerror or exc}") from exc


def run(args: Sequence[str], *, what: str, on_time: TimeCallback | None = None, check: bool = True) -> str:
    """Run one ffmpeg command (``args`` without the executable) and return its stderr text.

    ``on_time`` receives the output position in seconds as ffmpeg works.
    """
    full = [*base_args(), "-progress", "pipe:1", *args]
    proc = _popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = _StderrReader(proc.stderr)
    err.start()
    try:
        _read_progress(proc.stdout, on_time)
        returncode = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    err.join()
    if check and returncode != 0:
        _raise_for(returncode, err.text, what)
    return err.text


#: A pipe this large holds about a minute of 128 kbit/s MP3, so a momentarily slower consumer
#: never stalls the encoder (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by default).
PIPE_BYTES = 1 << 20


def _widen_pipe(fd: int) -> None:
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", 1031) if fcntl else None
    if setpipe is None:
        return
    try:
        fcntl.fcntl(fd, setpipe, PIPE_BYTES)
    except OSError:  # not Linux, or above the system's cap: the default pipe still works
        pass


#: Scheduling priority (nice value) of the consumers of :func:`run_piped`. The producer holds the
#: slowest stage (the encoder, a thread of its own); a checker that competes with it for the same
#: cores as an equal slows it down, though its pipe lets it lag a minute behind and catch up in
#: the idle moments. Measured on a 10-minute episode on 2 cores: 8.0 s for the encode and the
#: check at equal priority, 6.3-7.0 s with the check at this one (6.9 s for the encode alone).
CONSUMER_NICE = 10


def _yield_to_producer(pid: int) -> None:
    """Lower a consumer's scheduling priority (a no-op where the OS has no nice values)."""
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None:  # pragma: no cover - Windows
        return
    try:
        setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + CONSUMER_NICE))
    except OSError:  # already exited, or not allowed: it still works, only less smoothly
        pass


def pipe(n: int) -> str:
    """Placeholder for the pipe to consumer ``n`` (from 0) of :func:`run_piped`; ``pipe(0)`` is :data:`PIPE`."""
    return PIPE if n == 0 else f"{{PIPE{n}}}"


def run_piped(
    producer: Sequence[str],
    consumer: Sequence[str],
    *more: Sequence[str],
    what: str,
    on_time: TimeCallback | None = None,
    cwd: Path | None = None,
) -> tuple[str, ...]:
    """Run ffmpeg commands joined by pipes and return every stderr text, the producer's first.

    The producer writes a stream to :data:`PIPE` (replaced by ``pipe:N``) for the consumer, and to
    ``pipe(k)`` for the k-th of ``more`` consumers; each consumer reads its stream from stdin. All
    run at once, so a check of each encoded result costs no extra pass over the file and runs on
    another core.
    """
    consumers = [consumer, *more]
    fds: list[tuple[int, int]] = []
    started: list[subprocess.Popen] = []
    try:
        for _ in consumers:
            read_fd, write_fd = os.pipe()
            fds.append((read_fd, write_fd))
            _widen_pipe(write_fd)
        prod_args = [*base_args(), "-progress", "pipe:1"]
        for arg in producer:
            for n, (_, write_fd) in enumerate(fds):
                arg = arg.replace(pipe(n), f"pipe:{write_fd}")
            prod_args.append(arg)
        for n, args in enumerate(consumers):
            cons_args = [*base_args(), *args]
            log.debug("running: %s", shlex.join(cons_args))
            try:
                started.append(subprocess.Popen(cons_args, stdin=fds[n][0], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE))
            except OSError as exc:
                raise ToolError(f"cannot start ffmpeg ({cons_args[0]}): {exc.strerror or exc}") from exc
            os.close(fds[n][0])
            fds[n] = (-1, fds[n][1])
            _yield_to_producer(started[-1].pid)
        prod = _popen(prod_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      pass_fds=tuple(w for _, w in fds), cwd=cwd)
        for n, (_, write_fd) in enumerate(fds):
            os.close(write_fd)
            fds[n] = (-1, -1)
    except BaseException:
        for p in started:
            p.kill()
            p.wait()
        raise
    finally:
        for read_fd, write_fd in fds:
            for fd in (read_fd, write_fd):
                if fd >= 0:
                    os.close(fd)
    readers = [_StderrReader(p.stderr) for p in (prod, *started)]
    for reader in readers:
        reader.start()
    try:
        _read_progress(prod.stdout, on_time)
        codes = [p.wait() for p in (prod, *started)]
    except BaseException:
        for p in (prod, *started):
            p.kill()
            p.wait()
        raise
    for reader in readers:
        reader.join()
    if codes[0] != 0:
        _raise_for(codes[0], readers[0].text, what)
    for code, reader in zip(codes[1:], readers[1:]):
        if code != 0:
            _raise_for(code, reader.text, f"checking the result of {what}")
    return tuple(reader.text for reader in readers)


def stream_raw(args: Sequence[str], *, block_bytes: int, what: str,
               on_log: Callable[[str], None] | None = None, ahead: int = 0) -> Iterator[bytes]:
    """Run one ffmpeg command that writes raw samples to ``pipe:1`` and yield them in blocks.

    Each block holds ``block_bytes`` (the last one may hold fewer), so the caller keeps at most one
    block in memory however long the input is. Closing the generator early stops ffmpeg.
    ``on_log`` receives what ffmpeg printed (its last lines) once it has finished successfully:
    a meter in the same graph prints its summary there.

    ``ahead`` blocks are read while the caller works on the one before (a thread drains the pipe),
    so ffmpeg never waits for a caller busy with a block and the two run on both cores; memory is
    then ``ahead + 1`` blocks.
    """
    full = [*base_args(), *args]
    proc = _popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = _StderrReader(proc.stderr)
    err.start()
    finished = False
    reader = _BlockReader(proc.stdout, block_bytes, ahead) if ahead > 0 else None
    try:
        while True:
            block = reader.next() if reader is not None else proc.stdout.read(block_bytes)
            if not block:
                break
            yield block
        finished = True
    finally:
        if not finished:
            proc.kill()
        if reader is not None:
            reader.stop()
        proc.stdout.close()
        returncode = proc.wait()
        err.join()
    if returncode != 0:
        _raise_for(returncode, err.text, what)
    if on_log is not None:
        on_log(err.text)


class _BlockReader(threading.Thread):
    """Reads a pipe in blocks into a bounded queue, so the process writing it never waits for the
    reader's consumer (up to ``ahead`` blocks). An empty block marks the end of the stream."""

    def __init__(self, stream, block_bytes: int, ahead: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.block_bytes = block_bytes
        self.blocks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=ahead)
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                block = self.stream.read(self.block_bytes)
                self._put(block)
                if not block:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer and raised there
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self.stopping.is_set():
            try:
                self.blocks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self) -> bytes:
        item = self.blocks.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        """Stop reading (the process is finished or killed, so a read in progress returns)."""
        self.stopping.set()
        self.join()


# --- probing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoStream:
    """A picture stream: its index among all the file's streams (what ``-map 0:N`` names), codec
    and size. Attached pictures (a cover in an MP4 or MKV) are not counted as video."""

    index: int
    codec: str
    width: int
    height: int


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reports about a file before decoding it."""

    path: Path
    duration: float | None
    audio: list[AudioStream] = field(default_factory=list)
    has_video: bool = False
    video: list[VideoStream] = field(default_factory=list)
    #: The container's overall bit rate, bit/s, when ffmpeg states it.
    bitrate: int | None = None

    @property
    def first_audio(self) -> AudioStream:
        return self.audio[0]


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (Audio|Video|Subtitle|Data|Attachment): (.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_BITRATE = re.compile(r"bitrate: (\d+) kb/s")
_RATE = re.compile(r"(\d+) Hz")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5,
                    "5.1": 6, "6.0": 6, "6.1": 7, "7.0": 7, "7.1": 8}
_CHANNELS = re.compile(r"(\d+) channels")


def _parse_audio(desc: str) -> AudioStream:
    parts = [p.strip() for p in desc.split(",")]
    codec = parts[0].split()[0] if parts and parts[0] else "unknown"
    rate_m = _RATE.search(desc)
    rate = int(rate_m.group(1)) if rate_m else 0
    channels = 0
    m = _CHANNELS.search(desc)
    if m:
        channels = int(m.group(1))
    else:
        for part in parts[1:]:
            name = part.split("(")[0].strip()
            if name in _LAYOUT_CHANNELS:
                channels = _LAYOUT_CHANNELS[name]
                break
    return AudioStream(codec=codec, sample_rate=rate, channels=channels)


def probe(path: Path) -> MediaInfo:
    """Describe a media file, or raise :class:`InputError` saying why it is unusable."""
    if not path.exists():
        raise InputError("file not found", path)
    if path.is_dir():
        raise InputError("is a folder, not an audio or video file", path)
    if path.stat().st_size == 0:
        raise InputError("file is empty (0 bytes)", path)
    if not os.access(path, os.R_OK):
        raise InputError("file cannot be read (permission denied)", path)
    # "ffmpeg -i FILE" with no output describes the input and exits 1; that is expected.
    # "file:" keeps names that start with "-" or contain ":" from being read as options or protocols.
    text = run(["-i", f"file:{path}"], what=f"reading {path.name}", check=False)
    info = MediaInfo(path=path, duration=None)
    streams: list[AudioStream] = []
    video: list[VideoStream] = []
    duration: float | None = None
    bitrate: int | None = None
    for line in text.splitlines():
        m = _DURATION.search(line)
        if m and duration is None:
            h, mi, s = m.groups()
            duration = int(h) * 3600 + int(mi) * 60 + float(s)
            rate = _BITRATE.search(line)
            bitrate = int(rate.group(1)) * 1000 if rate else None
        m = _STREAM.search(line)
        if m:
            index, kind, desc = m.groups()
            if kind == "Audio":
                streams.append(_parse_audio(desc))
            elif kind == "Video" and "attached pic" not in desc:
                size = _SIZE.search(desc)
                video.append(VideoStream(index=int(index), codec=desc.split(",")[0].split()[0],
                                         width=int(size.group(1)) if size else 0,
                                         height=int(size.group(2)) if size else 0))
    if "Input #0" not in text:
        details = [ln.split("] ", 1)[-1].strip() for ln in text.splitlines()
                   if ln.startswith("[") and "@ 0x" in ln]
        reason = f" (ffmpeg: {details[0]})" if details else ""
        raise InputError(f"cannot read this file: it is not audio or video, or it is damaged{reason}", path)
    if not streams:
        raise InputError("has no audio stream", path)
    return MediaInfo(path=info.path, duration=duration, audio=streams, has_video=bool(video), video=video,
                     bitrate=bitrate)


def input_args(path: Path, *, start: float | None = None, length: float | None = None,
               loop: int = 0) -> list[str]:
    """ffmpeg input options for a file, safe for any file name."""
    args: list[str] = []
    if loop:
        args += ["-stream_loop", str(loop)]
    if start is not None:
        args += ["-ss", f"{start:.3f}"]
    if length is not None:
        args += ["-t", f"{length:.3f}"]
    return [*args, "-i", f"file:{path}"]
