"""Creating a new show folder: ``rkaudio init``."""

from __future__ import annotations

import json
from pathlib import Path

from ..audio.stings import write_sting
from ..core.errors import WorkspaceError
from ..core.files import atomic_path, write_text_atomic
from ..show.paths import EPISODES_DIR, FEED_DIR, MEDIA_DIR, SHOW_FILE, TRANSCRIPTS_DIR

#: Apple asks for square artwork between 1400 and 3000 px; 1400 keeps the file small.
COVER_SIZE = 1400
ASSETS_DIR = "assets"


def show_toml(title: str) -> str:
    """The documented show.toml a new show starts with."""
    quoted = json.dumps(title, ensure_ascii=False)  # a TOML basic string is a JSON string
    return f'''# show.toml: the settings of one show. rkaudio finds this file from the current folder upward.
# Order of precedence: built-in defaults, then this file, then RKAUDIO_* environment variables,
# then command-line flags.

[show]
# The show's name, as podcast apps will list it.
title = {quoted}
# Who makes the show.
author = ""
# One or two sentences on what the show is about.
description = ""
# Language of the episodes (an IETF tag such as "en", "en-gb", "cy").
language = "en"
# Where the feed/ folder is served: the feed is then at <base_url>/feed.xml. Podcast apps need it;
# until it is set, process makes the episode but not the feed.
base_url = ""
# The show's web site (the feed's link). Default: base_url.
link = ""
# The show's owner, whom Apple and other directories contact (not shown to listeners).
owner_name = ""
owner_email = ""
# Square cover art, 1400 to 3000 pixels a side, PNG or JPEG.
artwork = "{ASSETS_DIR}/cover.png"
# Up to three Apple Podcasts categories: "Category" or "Category > Subcategory".
categories = []
# Whether episodes contain explicit content (each episode may say otherwise).
explicit = false
copyright = ""
# "episodic" (newest first) or "serial" (to be heard in order).
type = "episodic"
# true asks other platforms not to import this feed (podcast:locked); it needs owner_email.
locked = false
# ID3 version of the MP3's tags: 3 (ID3v2.3, which every player and car stereo reads) or 4.
id3_version = 3
# The research library the show notes cite: CSL-JSON or BibTeX, as Zotero exports it ("" for none).
research = ""

# Where listeners can support the show (podcast:funding); repeat the table for more.
# [[show.funding]]
# url = "https://example.org/donate"
# text = "Support the show"

# People credited on every episode (podcast:person); episodes add their own guests.
# [[show.people]]
# name = "Your Name"
# role = "host"

[audio]
# Programme loudness in LUFS, or a preset: "podcast" (-16, Apple's figure, the default),
# "mono" (-19, the same perceived level for mono), "ebu-r128" (-23, broadcast).
# A mono show with no target set gets -19.
target = "podcast"
# Highest true peak allowed in the finished MP3, in dBTP. A limiter acts only where peaks need it.
true_peak = -1.0
# Intro and outro stings, relative to this folder; "" for none. Each is matched to the
# programme's loudness. rkaudio init made these two; replace them with your own.
intro = "{ASSETS_DIR}/intro.flac"
outro = "{ASSETS_DIR}/outro.flac"
# Seconds the intro overlaps the start of the programme, and the outro its end.
crossfade = 1.0
# "crossfade": the sting fades under the programme, which always stays at full level;
# "overlap": sting and programme play together at full level.
transition = "crossfade"
# 2 (stereo) or 1 (mono).
channels = 2
# MP3 bitrate in kbit/s; leave out for 128 (stereo) or 96 (mono).
# bitrate = 128
# Also keep a lossless FLAC master of each finished episode in masters/.
keep_master = false
# Level the speakers: quiet passages of speech are raised and loud ones lowered (by up to 15 dB),
# so a quiet guest and a loud host come out equally loud. Music, silence and room tone are left
# alone. Turn it off for music, drama or a recording whose level changes are meant.
leveller = true
# A video recording (MP4, MKV, WebM) also gives a finished video, feed/media/<slug>.mp4: the
# picture copied untouched, this sound, the captions. "off" makes only the MP3.
video_output = "auto"

[transcript]
# Transcribe each episode as part of 'rkaudio process' (--no-transcribe skips it once).
enabled = true
# "faster-whisper" (fast, the default) or "openai-whisper" (needs: pip install 'rkaudio[openai-whisper]').
engine = "faster-whisper"
# "tiny.en" ships with rkaudio and works offline. Larger models ("base.en", "small.en", or "small"
# for other languages) are more accurate and slower; they are downloaded once, when online.
# A path to a model folder (or an openai-whisper .pt checkpoint) works too.
model = "tiny.en"
# "auto" uses a CUDA GPU when there is one, else the CPU; or "cpu", "cuda".
device = "auto"
# Speech windows decoded at once: 2 suits a CPU (more only costs memory); 8 to 16 suit a GPU.
batch_size = 2
# Beam search width: 5 is Whisper's default; 1 is about 15 % faster and a little less exact.
beam_size = 5
# CPU threads for each speech decoder; 0 chooses: one for the bundled tiny.en with faster-whisper
# (a second thread inside a decoder gains nothing at its size), else every core.
threads = 0
# Decoders working side by side on different stretches of speech (faster-whisper on the CPU);
# 0 chooses: one per core for the bundled tiny.en (almost twice as fast on two cores), else one.
workers = 0
# Language spoken, as a code such as "en"; leave out to use the show's language.
# language = "en"
# Caption rules, used when cues are cut and by 'rkaudio transcript check':
# characters a line, lines a cue, seconds a cue is shown, and reading speed in characters a second.
max_chars = 42
max_lines = 2
min_duration = 1.0
max_duration = 7.0
max_cps = 20.0
# Refuse to publish a transcript until a reviewer has marked it as reviewed in 'rkaudio review'.
require_review = false
# Label who speaks: "auto" tells the voices apart and finds how many there are, "off" labels none,
# or give the number of voices. Needs the speakers extra: pip install 'rkaudio[speakers]'.
speakers = "auto"

[site]
# The listeners' web site, written into feed/ with the feed: a page for the show, one per episode
# (player, chapters, notes, transcript) and one for the research. Put a file named like one of
# rkaudio's templates (base.html.j2, show.html.j2, episode.html.j2, research.html.j2, site.css.j2,
# site.js.j2) in a templates/ folder here to use it instead.
# Links and buttons: "#rrggbb", dark enough to read on white (4.5:1, which rkaudio checks).
colour = "#1d5a7a"
# An image shown beside the show's name on every page (PNG, JPEG, SVG or WebP); "" for none.
logo = ""

[publish]
# Where 'rkaudio publish' uploads feed/: an rclone remote and a path, e.g. "podcast-s3:bucket/show".
# Set the remote up with 'rclone config' or RCLONE_CONFIG_<NAME>_* variables: its keys and
# passwords live there, never in this file.
to = ""
'''


def write_cover(path: Path, title: str, size: int = COVER_SIZE) -> Path:
    """A plain, legible square cover: the show's title on a calm gradient."""
    from PIL import Image, ImageDraw, ImageFont

    top, bottom = (38, 70, 83), (231, 111, 81)
    img = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(img)
    for y in range(size):
        t = y / (size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    words, lines = title.split(), []
    font = ImageFont.load_default(size=size // 11)
    for word in words:
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= size * 0.8:
            lines[-1] = trial
        else:
            lines.append(word)
    line_h = size // 9
    y = (size - line_h * len(lines)) // 2
    for line in lines:
        draw.text((size // 2, y + line_h // 2), line, font=font, fill=(255, 255, 255), anchor="mm")
        y += line_h
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG", optimize=True)
    return path


def init_show(root: Path, title: str | None = None) -> list[Path]:
    """Create a show folder; never overwrite anything already there. Returns what was created."""
    title = (title or root.name or "My Podcast").strip() or "My Podcast"
    if (root / SHOW_FILE).exists():
        raise WorkspaceError(f"{SHOW_FILE} already exists; this is already a show folder", root)
    created: list[Path] = []
    try:
        for sub in (EPISODES_DIR, TRANSCRIPTS_DIR, FEED_DIR, MEDIA_DIR, ASSETS_DIR):
            folder = root / sub
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                created.append(folder)
        assets = root / ASSETS_DIR
        for path, make in ((assets / "cover.png", lambda p: write_cover(p, title)),
                           (assets / "intro.flac", lambda p: write_sting(p, "intro", 3.0)),
                           (assets / "outro.flac", lambda p: write_sting(p, "outro", 3.0))):
            if not path.exists():
                make(path)
                created.append(path)
        write_text_atomic(root / SHOW_FILE, show_toml(title))
        created.append(root / SHOW_FILE)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the show folder: {exc.strerror or exc}", root) from None
    return created
