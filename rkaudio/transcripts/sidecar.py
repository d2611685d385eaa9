"""Keeping reviewers' work: which cues a reviewer wrote, and new machine text merged around them.

The words sidecar (``transcripts/<slug>.words.json``) records, cue by cue, what rkaudio last
wrote as ``<slug>.vtt``: each cue's words with their timings and probabilities, and whether the
reviewer wrote the cue. Comparing the reviewed .vtt with it tells what a reviewer changed:

* a cue identical to a machine cue (times, speaker, lines, identifier, settings) is still the
  machine's, and keeps its words;
* any other cue is the reviewer's: an edit of text, timing, speaker or line breaks, or a new cue.
  If its text is unchanged, it keeps the words of the machine cue it came from (the words were
  spoken when they were spoken); if its text changed, the text is lined up with the words
  recorded for the cue's stretch (`alignment.align_words`): words the reviewer left alone keep
  their times, corrected and added words get times within the cue;
* a cue of the sidecar that no longer exists and whose time no reviewed cue covers was deleted
  by the reviewer; the sidecar remembers the deleted stretch.

A new machine transcript (``retranscribe``) replaces only the machine's cues. The new words are
lined up with the reviewed text; those that belong to a reviewer's cue, or fall in a deleted
stretch, are dropped, and the rest are cut into cues between the reviewer's cues, which stay
exactly as the reviewer wrote them (see `merge`).
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import TranscriptError
from ..show.settings import CaptionRules
from ..show.state import AudioIdentity
from ..speech.words import Voice, Word
from .alignment import align_words, token
from .model import MILLISECOND, Cue, Transcript
from .segmentation import from_words

SIDECAR_FORMAT = "rkaudio transcript words"
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class SidecarCue:
    """A cue of the reviewed transcript, and whether the reviewer (rather than the engine) wrote it."""

    cue: Cue
    reviewed: bool


@dataclass(frozen=True)
class Deletion:
    """A stretch whose machine text the reviewer removed: new machine text never fills it again."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Sidecar:
    """The words sidecar: the cues rkaudio last wrote as the reviewed .vtt, with their provenance."""

    cues: tuple[SidecarCue, ...] = ()
    deleted: tuple[Deletion, ...] = ()
    language: str = "en"
    title: str = ""
    #: The audio the machine transcript was made from and timed to; None for one made before
    #: rkaudio recorded it.
    audio: AudioIdentity | None = None
    #: Where that audio holds speech (seconds, timed as the cues are); None when not recorded.
    speech: tuple[tuple[float, float], ...] | None = None
    #: The voices the diarizer told apart in that audio, with the labels their cues carry (a
    #: reviewer's names once they renamed a speaker everywhere), so a new transcript of the same
    #: recording gives each voice the same label.
    voices: tuple[Voice, ...] = ()

    @classmethod
    def from_machine(cls, transcript: Transcript) -> Sidecar:
        return cls(tuple(SidecarCue(c, False) for c in transcript.cues), (), transcript.language, transcript.title)

    @property
    def reviewed_count(self) -> int:
        return sum(1 for entry in self.cues if entry.reviewed)

    def transcript(self) -> Transcript:
        return Transcript(tuple(entry.cue for entry in self.cues), self.language, self.title)


def _key(cue: Cue) -> tuple[object, ...]:
    return (round(cue.start * 1000), round(cue.end * 1000), cue.speaker, cue.lines, cue.identifier, cue.settings)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _with_words(cue: Cue, words: Sequence[Word]) -> Cue:
    return dataclasses.replace(cue, words=tuple(dataclasses.replace(w, speaker=cue.speaker) for w in words))


def reconcile(reviewed: Sequence[Cue], previous: Sidecar) -> Sidecar:
    """The sidecar for the reviewed cues: provenance and words carried over from ``previous``."""
    entries = previous.cues
    exact: dict[tuple[object, ...], list[int]] = {}
    by_text: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        exact.setdefault(_key(entry.cue), []).append(index)
        by_text.setdefault(_norm(entry.cue.text), []).append(index)
    used: set[int] = set()
    matched: list[int | None] = []
    for cue in reviewed:
        found = next((i for i in exact.get(_key(cue), ()) if i not in used), None)
        if found is not None:
            used.add(found)
        matched.append(found)
    spoken = _Spoken(entries)
    result = []
    for cue, found in zip(reviewed, matched):
        if found is not None:
            result.append(SidecarCue(_with_words(cue, entries[found].cue.words), entries[found].reviewed))
            continue
        text = _norm(cue.text)
        free = [i for i in by_text.get(text, ()) if i not in used] if text else []
        source = min(free, key=lambda i: abs(entries[i].cue.start - cue.start), default=None)
        if source is not None:
            used.add(source)
            result.append(SidecarCue(_with_words(cue, entries[source].cue.words), True))
        else:
            words = align_words(cue.text, spoken.between(cue.start, cue.end), cue.start, cue.end, cue.speaker)
            result.append(SidecarCue(dataclasses.replace(cue, words=words), True))

    covered = _Coverage(reviewed)
    deleted = {d for d in previous.deleted if not covered.overlaps(d.start, d.end)}
    for index, entry in enumerate(entries):
        cue = entry.cue
        if index not in used and cue.text and not covered.overlaps(cue.start, cue.end):
            deleted.add(Deletion(cue.start, cue.end, cue.text))
    return Sidecar(tuple(result), tuple(sorted(deleted, key=lambda d: (d.start, d.end))),
                   previous.language, previous.title, previous.audio, previous.speech,
                   renamed_voices(previous, reviewed))


def renamed_voices(previous: Sidecar, reviewed: Sequence[Cue]) -> tuple[Voice, ...]:
    """The voices of ``previous`` with the names a reviewer gave them.

    A voice whose label no reviewed cue carries any more was renamed if the cues now over its
    stretches (the previous cues with its label) carry one other name for most of that time,
    which is what renaming a speaker everywhere does.
    """
    if not previous.voices:
        return ()
    now = {cue.speaker for cue in reviewed if cue.speaker}
    labels = {v.label for v in previous.voices}
    renamed = []
    for voice in previous.voices:
        name = voice.label
        if voice.label not in now:
            spans = [(e.cue.start, e.cue.end) for e in previous.cues if e.cue.speaker == voice.label]
            seconds: dict[str, float] = {}
            for cue in reviewed:
                if cue.speaker and cue.speaker not in labels:
                    shared = sum(max(0.0, min(cue.end, end) - max(cue.start, start)) for start, end in spans)
                    seconds[cue.speaker] = seconds.get(cue.speaker, 0.0) + shared
            total = sum(end - start for start, end in spans)
            best = max(seconds, key=lambda k: seconds[k], default=None)
            if best is not None and total > 0 and seconds[best] >= 0.5 * total:
                name = best
        renamed.append(Voice(name, voice.voiceprint))
    return tuple(renamed)


class _Spoken:
    """The words recorded in a sidecar, found by time: those whose middle falls in a stretch."""

    def __init__(self, entries: Sequence[SidecarCue]) -> None:
        self._words = sorted((w for e in entries for w in e.cue.words), key=lambda w: (w.start + w.end, w.start))
        self._middles = [(w.start + w.end) / 2 for w in self._words]

    def between(self, start: float, end: float) -> list[Word]:
        return self._words[bisect.bisect_left(self._middles, start):bisect.bisect_left(self._middles, end)]


class _Coverage:
    """Answers "does any cue overlap this stretch?" for cues in start order."""

    def __init__(self, cues: Sequence[Cue]) -> None:
        ordered = sorted(cues, key=lambda c: c.start)
        self._starts = [c.start for c in ordered]
        self._max_end = [-math.inf]
        for cue in ordered:
            self._max_end.append(max(self._max_end[-1], cue.end))

    def overlaps(self, start: float, end: float) -> bool:
        # Of the cues starting before ``end``, the one ending last overlaps if any does.
        return self._max_end[bisect.bisect_left(self._starts, end)] > start


def merge(current: Sidecar, machine: Transcript, rules: CaptionRules | None = None) -> Sidecar:
    """``current`` with its machine cues replaced by ``machine``'s, around the reviewer's cues.

    Each new word is placed by aligning the new text with the reviewed text (difflib, word by
    word), so two engines' slightly different timings cannot slip a word out of a reviewer's cue
    into the gap beside it: a new word that lines up with a word of a reviewer's cue, or replaces
    words of one, is dropped. A word the alignment cannot place (new text) is placed by time and
    dropped if its midpoint falls in a reviewer's cue or a deleted stretch. The kept words are cut
    into cues afresh in the gaps between the reviewer's cues, their times held inside each gap.
    """
    entries = sorted(current.cues, key=lambda e: e.cue.start)
    stretches = sorted([(e.cue.start, e.cue.end) for e in entries if e.reviewed]
                       + [(d.start, d.end) for d in current.deleted])
    barriers: list[list[float]] = []
    for start, end in stretches:
        if barriers and start <= barriers[-1][1]:
            barriers[-1][1] = max(barriers[-1][1], end)
        else:
            barriers.append([start, end])
    # Gap k runs from the end of barrier k-1 to the start of barrier k.
    bounds = [0.0, *(edge for b in barriers for edge in b), math.inf]
    gaps = [(bounds[2 * k], bounds[2 * k + 1]) for k in range(len(barriers) + 1)]
    barrier_starts = [b[0] for b in barriers]

    def gap_at(moment: float) -> int | None:
        k = bisect.bisect_right(barrier_starts, moment)
        return None if k and moment < barriers[k - 1][1] else k

    words = list(machine.words)
    placed = _align(entries, words)
    chosen: list[list[Word]] = [[] for _ in gaps]
    for word, owner in zip(words, placed):
        if owner is None:
            k = gap_at((word.start + word.end) / 2)
        elif entries[owner].reviewed:
            k = None
        else:
            cue = entries[owner].cue
            k = gap_at((cue.start + cue.end) / 2)
        if k is not None:
            low, high = gaps[k]
            start = min(max(word.start, low), max(low, high - MILLISECOND))
            chosen[k].append(dataclasses.replace(word, start=start, end=min(max(word.end, start), high)))
    fresh: list[SidecarCue] = []
    for (_, high), inside in zip(gaps, chosen):
        until = None if math.isinf(high) else high
        fresh.extend(SidecarCue(c, False) for c in from_words(inside, rules=rules, until=until))
    merged = sorted([*(e for e in entries if e.reviewed), *fresh], key=lambda e: e.cue.start)
    return Sidecar(tuple(merged), current.deleted, machine.language, machine.title or current.title, current.audio,
                   current.speech, current.voices)


def _align(entries: Sequence[SidecarCue], words: Sequence[Word]) -> list[int | None]:
    """For each new word, the index of the reviewed cue it lines up with, or None if it is new text."""
    tokens, owners = [], []
    for index, entry in enumerate(entries):
        for written in entry.cue.text.split():
            tokens.append(token(written))
            owners.append(index)
    placed: list[int | None] = [None] * len(words)
    matcher = difflib.SequenceMatcher(None, tokens, [token(w.text) for w in words], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            placed[j1:j2] = owners[i1:i2]
        elif tag == "replace" and len(set(owners[i1:i2])) == 1:
            placed[j1:j2] = [owners[i1]] * (j2 - j1)
    return placed


# --- the sidecar file ---------------------------------------------------------------------------

def _number(value: float) -> float:
    return round(value, 3)


def sidecar_json(sidecar: Sidecar) -> str:
    """The sidecar as JSON text (stable key order, so unchanged content gives identical bytes)."""
    cues = []
    for entry in sidecar.cues:
        cue = entry.cue
        item: dict[str, Any] = {"start": _number(cue.start), "end": _number(cue.end), "speaker": cue.speaker,
                                "lines": list(cue.lines), "reviewed": entry.reviewed}
        if cue.identifier:
            item["identifier"] = cue.identifier
        if cue.settings:
            item["settings"] = cue.settings
        item["words"] = [{"start": _number(w.start), "end": _number(w.end), "text": w.text,
                          "probability": None if w.probability is None else round(w.probability, 4)}
                         for w in cue.words]
        cues.append(item)
    data = {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "language": sidecar.language,
        "title": sidecar.title,
        **({"audio": sidecar.audio.as_json()} if sidecar.audio is not None else {}),
        "cues": cues,
        "deleted": [{"start": _number(d.start), "end": _number(d.end), "text": d.text} for d in sidecar.deleted],
        **({"speech": [[_number(s), _number(e)] for s, e in sidecar.speech]} if sidecar.speech is not None else {}),
        **({"voices": [{"label": v.label, "voiceprint": [round(x, 5) for x in v.voiceprint]} for v in sidecar.voices]}
           if sidecar.voices else {}),
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def parse_sidecar(text: str, name: str | Path = "<words>") -> Sidecar:
    """Read a sidecar written by `sidecar_json`; TranscriptError naming what is wrong and where."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"not valid JSON: {exc.msg}", name, exc.lineno) from None
    reader = _Reader(name)
    top = reader.mapping(data, "the file")
    if top.get("format") != SIDECAR_FORMAT:
        raise TranscriptError(f'not a words file written by rkaudio (no "format": "{SIDECAR_FORMAT}")', name)
    if top.get("version") != SIDECAR_VERSION:
        raise TranscriptError(f"words file version {top.get('version')!r} is not one this rkaudio reads "
                              f"({SIDECAR_VERSION})", name)
    entries = []
    for n, raw in enumerate(reader.sequence(top.get("cues", []), "cues")):
        where = f"cues[{n}]"
        item = reader.mapping(raw, where)
        speaker = reader.optional_text(item.get("speaker"), f"{where}.speaker")
        words = []
        for k, raw_word in enumerate(reader.sequence(item.get("words", []), f"{where}.words")):
            w_where = f"{where}.words[{k}]"
            word = reader.mapping(raw_word, w_where)
            probability = word.get("probability")
            words.append(Word(reader.time(word.get("start"), f"{w_where}.start"),
                              reader.time(word.get("end"), f"{w_where}.end"),
                              reader.text(word.get("text"), f"{w_where}.text"),
                              None if probability is None else reader.time(probability, f"{w_where}.probability"),
                              speaker))
        lines = tuple(reader.text(line, f"{where}.lines")
                      for line in reader.sequence(item.get("lines"), f"{where}.lines"))
        cue = Cue(reader.time(item.get("start"), f"{where}.start"), reader.time(item.get("end"), f"{where}.end"),
                  lines, speaker, tuple(words),
                  reader.optional_text(item.get("identifier"), f"{where}.identifier") or "",
                  reader.optional_text(item.get("settings"), f"{where}.settings") or "")
        if not isinstance(item.get("reviewed"), bool):
            raise TranscriptError(f"{where}.reviewed must be true or false", name)
        entries.append(SidecarCue(cue, item["reviewed"]))
    deleted = []
    for n, raw in enumerate(reader.sequence(top.get("deleted", []), "deleted")):
        item = reader.mapping(raw, f"deleted[{n}]")
        deleted.append(Deletion(reader.time(item.get("start"), f"deleted[{n}].start"),
                                reader.time(item.get("end"), f"deleted[{n}].end"),
                                reader.text(item.get("text"), f"deleted[{n}].text")))
    audio = None
    if "audio" in top:
        audio = AudioIdentity.from_json(top["audio"])
        if audio is None:
            raise TranscriptError('audio must be {"sha256": ..., "lead_s": ...}', name)
    speech = None
    if "speech" in top:
        speech = []
        for n, raw in enumerate(reader.sequence(top["speech"], "speech")):
            pair = reader.sequence(raw, f"speech[{n}]")
            if len(pair) != 2:
                raise TranscriptError(f"speech[{n}] must be [start, end]", name)
            start, end = reader.time(pair[0], f"speech[{n}][0]"), reader.time(pair[1], f"speech[{n}][1]")
            if end < start:
                raise TranscriptError(f"speech[{n}] ends before it starts", name)
            speech.append((start, end))
        speech.sort()
    voices = []
    for n, raw in enumerate(reader.sequence(top.get("voices", []), "voices")):
        item = reader.mapping(raw, f"voices[{n}]")
        values = reader.sequence(item.get("voiceprint", []), f"voices[{n}].voiceprint")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in values):
            raise TranscriptError(f"voices[{n}].voiceprint must be a list of numbers", name)
        voices.append(Voice(reader.text(item.get("label"), f"voices[{n}].label"), tuple(float(x) for x in values)))
    return Sidecar(tuple(entries), tuple(deleted),
                   reader.optional_text(top.get("language"), "language") or "en",
                   reader.optional_text(top.get("title"), "title") or "", audio,
                   None if speech is None else tuple(speech), tuple(voices))


class _Reader:
    """Typed access to parsed JSON, failing with the path of the bad value."""

    def __init__(self, name: str | Path) -> None:
        self.name = name

    def _fail(self, where: str, what: str) -> TranscriptError:
        return TranscriptError(f"{where} must be {what}", self.name)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self._fail(where, "an object")
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self._fail(where, "a list")
        return value

    def time(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._fail(where, "a number")
        return float(value)

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self._fail(where, "a string")
        return value

    def optional_text(self, value: Any, where: str) -> str | None:
        return None if value is None else self.text(value, where)
