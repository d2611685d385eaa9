#!/usr/bin/env python3
"""Regenerate the three-voice panel fixtures in this folder.

Each panel is a conversation of three synthetic voices taking turns of 7 to 22 s with pauses of
under a second between them, the kind of audio in which a batched Whisper decoder can return text
for only the end of a 30 s window that spans a change of voice. The turns are defined below (voice,
text, pause after); this script synthesises each turn, trims its silence so that the turn's span is
its speech, joins the turns with the pauses and writes, for each panel:

* ``<name>.flac``: 16-bit, 16 kHz, mono FLAC, with 0.4 s of silence before the first turn and 0.6 s
  after the last;
* ``<name>.turns.json``: the ground truth, each turn's voice, exact text, start and end (seconds).

Usage:  python tests/data/panels/make_panels.py [name ...]       (no names: every panel)
Needs:  espeak-ng, flite, festival and festvox-us-slt-hts (Debian); ffmpeg from RKAUDIO_FFMPEG,
        else PATH, else the imageio-ffmpeg wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATE = 16_000
LEAD_S = 0.4
TAIL_S = 0.6
#: A turn must last this long (the issue's panel: turns of 7 to 22 s).
TURN_RANGE_S = (7.0, 22.0)

# voice: (synthesiser, voice name)
VOICES = {
    "espeak-m3": ("espeak-ng", "en-us+m3"),
    "espeak-f2": ("espeak-ng", "en+f2"),
    "espeak-gb": ("espeak-ng", "en-gb-x-rp"),
    "flite-slt": ("flite", "slt"),
    "flite-rms": ("flite", "rms"),
    "flite-awb": ("flite", "awb"),
    "festival-slt": ("festival", "cmu_us_slt_arctic_hts"),
}

# Each turn: (voice, text, pause after it in seconds). Texts are from the programme's seed
# documents, with numerals dropped so that a correct transcript matches them exactly.
PANELS: dict[str, list[tuple[str, str, float]]] = {
    "panel_kindness": [
        ("flite-rms", "Social mixing is one of the most powerful ways of reducing prejudice and promoting "
                      "empathy between different groups of people.", 0.6),
        ("espeak-f2", "During the pandemic and lockdown, while opportunities for social mixing declined "
                      "sharply, instances of civic support, community connection and mutual aid surged. "
                      "As we emerge from lockdown, we face a crossroads, with a situation that has the "
                      "potential to both unite or divide sections of society.", 0.9),
        ("festival-slt", "Radical Kindness draws on these findings, using data and stories to produce "
                         "engaging, inspiring content that promotes radical kindness.", 0.0),
    ],
    "panel_library": [
        ("flite-slt", "The Practice of Kindness brings together practical examples of things that can be "
                      "done to create the conditions for kindness. However, it also highlights the barriers "
                      "to relationships within organisations, and posits kindness as a radical concept.", 0.9),
        ("espeak-gb", "A short research article by People United highlights the role of a specific type of "
                      "anger against injustice in increasing kindness and social action.", 0.5),
        ("flite-awb", "Jo Broadwood, CEO of Belong, explores the ability of the arts to connect people across "
                      "identity groups quickly and powerfully.", 0.0),
    ],
    "panel_cohesion": [
        ("espeak-m3", "The data featured in this article is part of a large scale research project designed "
                      "to track social cohesion in the United Kingdom during the pandemic.", 0.5),
        ("flite-slt", "The research, conducted in partnership by the University of Kent and the charity Belong, "
                      "the Cohesion and Integration Network, conducted surveys distributed online to "
                      "respondents from different parts of Great Britain. It finishes with five priorities "
                      "for sustaining and developing kindness.", 0.4),
        ("festival-slt", "This report brings together years of research showing that the arts can play a "
                         "practical and imaginative role in building a kinder and more caring society.", 0.0),
    ],
    "panel_essays": [
        ("festival-slt", "Research and resources on social cohesion theory and best practice. A collection of essays published by the British Academy on social integration "
                         "best practices.", 0.7),
        ("flite-rms", "This report tells the story of that two-year journey and reflects on challenges and "
                      "learning, particularly over the last months. It finishes with priorities for "
                      "sustaining and developing kindness, which we hope will feel relevant and urgent not "
                      "just for North Ayrshire, but for local government everywhere.", 0.3),
        ("espeak-m3", "Broadwood proposes a series of recommendations for arts practitioners interested in "
                      "the impact of their work on intergroup relations.", 0.0),
    ],
}


def ffmpeg() -> str:
    found = os.environ.get("RKAUDIO_FFMPEG") or shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        sys.exit("make_panels.py: no ffmpeg: set RKAUDIO_FFMPEG or put ffmpeg on PATH")
    return imageio_ffmpeg.get_ffmpeg_exe()


def synthesise(voice: str, text: str, wav: Path, folder: Path) -> None:
    engine, name = VOICES[voice]
    if shutil.which({"festival": "text2wave"}.get(engine, engine)) is None:
        sys.exit(f"make_panels.py: {engine} is not installed (apt-get install espeak-ng flite festival "
                 "festvox-us-slt-hts)")
    source = folder / "text.txt"
    source.write_text(text + "\n", encoding="utf-8")
    if engine == "espeak-ng":
        cmd = ["espeak-ng", "-v", name, "-s", "160", "-f", str(source), "-w", str(wav)]
    elif engine == "flite":
        cmd = ["flite", "-voice", name, "-f", str(source), "-o", str(wav)]
    else:
        cmd = ["text2wave", "-eval", f"(voice_{name})", "-o", str(wav), str(source)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def trimmed_samples(wav: Path) -> bytes:
    """The turn as 16 kHz mono s16 samples, without the silence the synthesiser put around it."""
    trim = "silenceremove=start_periods=1:start_threshold=-50dB:start_silence=0.02"
    return subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(wav),
         "-af", f"aresample={RATE},{trim},areverse,{trim},areverse",
         "-ac", "1", "-f", "s16le", "pipe:1"], check=True, capture_output=True).stdout


def build(name: str, turns: list[tuple[str, str, float]]) -> None:
    silence = lambda seconds: bytes(2 * round(seconds * RATE))  # noqa: E731
    pcm = bytearray(silence(LEAD_S))
    truth = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for k, (voice, text, pause) in enumerate(turns):
            synthesise(voice, text, folder / f"{k}.wav", folder)
            samples = trimmed_samples(folder / f"{k}.wav")
            start = len(pcm) / 2 / RATE
            pcm += samples
            end = len(pcm) / 2 / RATE
            low, high = TURN_RANGE_S
            if not low <= end - start <= high:
                sys.exit(f"make_panels.py: {name} turn {k + 1} lasts {end - start:.1f} s, outside "
                         f"{low:g}-{high:g} s: change its text")
            truth.append({"voice": f"{VOICES[voice][0]} {VOICES[voice][1]}", "start": round(start, 3),
                          "end": round(end, 3), "text": text})
            pcm += silence(pause)
        pcm += silence(TAIL_S)
        raw = folder / "panel.raw"
        raw.write_bytes(bytes(pcm))
        subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(RATE),
                        "-ac", "1", "-i", str(raw), "-compression_level", "12", "-map_metadata", "-1",
                        "-fflags", "+bitexact", "-flags:a", "+bitexact", str(HERE / f"{name}.flac")], check=True)
    seconds = len(pcm) / 2 / RATE
    data = {"audio": f"{name}.flac", "seconds": round(seconds, 3), "turns": truth}
    (HERE / f"{name}.turns.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    spans = ", ".join(f"{t['end'] - t['start']:.1f}" for t in truth)
    print(f"wrote {name}.flac ({seconds:.1f} s; turns of {spans} s)")


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in PANELS]
    if unknown:
        sys.exit(f"make_panels.py: no panel named {', '.join(unknown)} (known: {', '.join(PANELS)})")
    for name in names or PANELS:
        build(name, PANELS[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
