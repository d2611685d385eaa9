#!/usr/bin/env python3
"""Regenerate the conversation fixtures in this folder: several synthetic voices taking turns, at
unequal levels, over room tone, one cutting in before the other has finished.

For speaker labels (diarization) and their benchmark. For each conversation it writes:

* ``<name>.flac``: 16-bit, 16 kHz, mono FLAC;
* ``<name>.turns.json``: the ground truth, each turn's speaker, voice, text, start and end (s).

Usage:  python make_conversations.py [name ...]       (no names: every conversation)
Needs:  espeak-ng, flite, festival and festvox-us-slt-hts (Debian); ffmpeg from RKAUDIO_FFMPEG,
        else PATH, else the imageio-ffmpeg wheel; numpy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# The voices, the synthesisers and ffmpeg are the panels' (tests/data/panels/make_panels.py).
sys.path.insert(0, str(HERE.parent / "panels"))
from make_panels import RATE, VOICES, ffmpeg  # noqa: E402
from make_panels import synthesise as synthesise_turn  # noqa: E402

# speaker -> (voice, gain in dB): unequal microphones.
# Each turn: (speaker, text, gap after it in seconds; negative: the next speaker cuts in).
CONVERSATIONS: dict[str, dict] = {
    "conversation_panel": {
        "speakers": {"Host": ("flite-rms", 0.0), "Guest A": ("festival-slt", -6.0), "Guest B": ("espeak-m3", -3.0)},
        "turns": [
            ("Host", "Welcome to Radical Kindness. Today we talk about social mixing, and why it matters.", 0.5),
            ("Guest A", "Social mixing is one of the most powerful ways of reducing prejudice and promoting "
                        "empathy between different groups of people.", 0.4),
            ("Guest B", "During the pandemic and lockdown, opportunities for social mixing declined sharply. "
                        "But instances of civic support, community connection and mutual aid surged.", 0.6),
            ("Host", "So where does that leave us as we come out of lockdown?", 0.3),
            ("Guest A", "We face a crossroads, with a situation that has the potential to both unite or divide "
                        "sections of society along fault lines such as ethnicity, faith and disability.", -0.6),
            ("Guest B", "And rising hate crime adds to that risk of long term division.", 0.5),
            ("Host", "What does the research tell us about bringing people together?", 0.4),
            ("Guest B", "The arts can connect people across identity groups quickly and powerfully. "
                        "Broadwood proposes recommendations for arts practitioners.", 0.7),
            ("Guest A", "And kindness within organisations matters too. The practice of kindness brings together "
                        "practical examples of things that can be done to create the conditions for kindness.", 0.5),
            ("Host", "Thank you both. That is all for this episode of Radical Kindness.", 0.0),
        ],
    },
    "conversation_two": {
        "speakers": {"Host": ("espeak-f2", 0.0), "Guest": ("flite-awb", -8.0)},
        "turns": [
            ("Host", "Hello, and welcome to a conversation about building bridges across difference.", 0.5),
            ("Guest", "Thank you. The programme celebrates the people and projects building bridges, for "
                      "example those working with young people, asylum seekers and refugees.", 0.4),
            ("Host", "And intergenerational projects too?", 0.3),
            ("Guest", "Yes, intergenerational projects, cross cultural and interfaith work.", -0.4),
            ("Host", "What do you hope listeners take away?", 0.5),
            ("Guest", "That kindness is key to building trust and cohesion between groups.", 0.0),
        ],
    },
}
LEAD_S, TAIL_S = 0.5, 0.7
ROOM_DBFS = -64.0


def synthesise(voice: str, text: str, folder: Path) -> np.ndarray:
    """One turn in ``voice`` (synthesised as the panels are), trimmed of silence and brought to
    -20 LUFS, as float samples at 16 kHz."""
    wav = folder / "turn.wav"
    synthesise_turn(voice, text, wav, folder)
    trim = "silenceremove=start_periods=1:start_threshold=-50dB:start_silence=0.02"
    raw = subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(wav),
                          "-af", f"aresample={RATE},{trim},areverse,{trim},areverse,loudnorm=I=-20:TP=-3:LRA=20",
                          "-ar", str(RATE), "-ac", "1", "-f", "s16le", "pipe:1"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, "<i2").astype(np.float64) / 32768


def room_tone(n: int, seed: int) -> np.ndarray:
    """Pink-ish noise at ROOM_DBFS (RMS): a room, not digital silence."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n + RATE)
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, len(white))[RATE:]
    return pink / np.sqrt(np.mean(pink ** 2)) * 10 ** (ROOM_DBFS / 20)


def build(name: str, spec: dict) -> None:
    speakers = spec["speakers"]
    pieces, truth, at = [], [], LEAD_S
    with tempfile.TemporaryDirectory() as scratch:
        for speaker, text, gap in spec["turns"]:
            voice, gain = speakers[speaker]
            samples = synthesise(voice, text, Path(scratch)) * 10 ** (gain / 20)
            pieces.append((at, samples))
            end = at + len(samples) / RATE
            truth.append({"speaker": speaker, "voice": " ".join(VOICES[voice]), "start": round(at, 3),
                          "end": round(end, 3), "text": text})
            at = end + gap
    total = at + TAIL_S
    mix = room_tone(round(total * RATE), seed=len(name))
    for start, samples in pieces:
        first = round(start * RATE)
        mix[first:first + len(samples)] += samples
    pcm = np.clip(np.round(mix * 32767), -32768, 32767).astype("<i2").tobytes()
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(RATE),
                    "-ac", "1", "-i", "pipe:0", "-compression_level", "12", "-map_metadata", "-1",
                    "-fflags", "+bitexact", "-flags:a", "+bitexact", str(HERE / f"{name}.flac")],
                   input=pcm, check=True)
    data = {"audio": f"{name}.flac", "seconds": round(total, 3), "speakers": list(speakers), "turns": truth}
    (HERE / f"{name}.turns.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    print(f"wrote {name}.flac ({total:.1f} s, {len(truth)} turns, {len(speakers)} speakers)")


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in CONVERSATIONS]
    if unknown:
        sys.exit(f"make_conversations.py: no conversation named {', '.join(unknown)} "
                 f"(known: {', '.join(CONVERSATIONS)})")
    for name in names or CONVERSATIONS:
        build(name, CONVERSATIONS[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
