"""An episode ready for review (transcript, words sidecar, a short MP3) and a running review server.

The transcript is made by the library from synthetic timed words (some of which the "engine" was
unsure of), and the MP3 is a quiet tone made by ffmpeg, long enough to cover every cue.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from rkaudio.review.server import ReviewServer, start_server
from rkaudio.review.session import ReviewSession
from rkaudio.show.config import load_show
from rkaudio.speech.words import Word
from rkaudio.transcripts.segmentation import transcript_from_words
from rkaudio.transcripts.store import save_machine_transcript

import media_helpers as mh
from transcript_helpers import speech

SLUG = "ep1"
#: Three sentences, cut into a handful of cues; "Ayrshire" is the word the engine was unsure of.
TEXT = ("Welcome to Radical Kindness, the podcast about building bridges. "
        "Today we visit a youth project in North Ayrshire and hear from the people who run it. "
        "They tell us what changed when neighbours started to meet.")
UNSURE_WORD = "Ayrshire"
#: Seconds of audio: longer than the transcript, so every cue can be played.
AUDIO_SECONDS = 16.0


def episode_words(text: str = TEXT, speakers: tuple[str, ...] = ()) -> list[Word]:
    """The words of ``text``; with ``speakers``, each sentence is theirs in turn."""
    words, sentence = [], 0
    for w in speech(text):
        who = speakers[sentence % len(speakers)] if speakers else None
        words.append(Word(w.start, w.end, w.text, 0.31 if w.text == UNSURE_WORD else 0.93, who))
        if w.text.endswith("."):
            sentence += 1
    return words


def make_episode(root: Path, slug: str = SLUG, *, text: str = TEXT, mp3: bool = True,
                 require_review: bool = False, speakers: tuple[str, ...] = ()) -> Path:
    """Write ``transcripts/<slug>.*`` (as a first machine transcript) and ``feed/media/<slug>.mp3``."""
    transcript = transcript_from_words(episode_words(text, speakers), language="en", title="Building bridges")
    save_machine_transcript(root, slug, transcript, require_review=require_review)
    if mp3:
        media = root / "feed" / "media"
        media.mkdir(parents=True, exist_ok=True)
        mh.ffmpeg("-f", "lavfi", "-i", f"sine=frequency=330:duration={AUDIO_SECONDS}", "-af", "volume=0.2",
                  "-ac", "1", "-ar", "22050", "-b:a", "32k", media / f"{slug}.mp3")
    return root / "transcripts" / f"{slug}.vtt"


@contextlib.contextmanager
def running_server(root: Path, slug: str = SLUG) -> Iterator[ReviewServer]:
    """A review server for ``slug`` on a free port of 127.0.0.1, serving from a thread."""
    server = start_server(ReviewSession(load_show(root), slug), port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
