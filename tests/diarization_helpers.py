"""Scoring speaker labels against the ground truth of a fixture, as diarization is scored
(NIST's diarization error rate), independently of rkaudio's code."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CONVERSATIONS = Path(__file__).resolve().parent / "data" / "conversations"
#: The three-voice panels (tests/data/panels), each with its ``.turns.json``.
PANELS = CONVERSATIONS.parent / "panels"
PANEL_NAMES = sorted(p.name.removesuffix(".turns.json") for p in PANELS.glob("*.turns.json"))
#: Scored in 10 ms frames.
STEP_S = 0.01


@dataclass(frozen=True)
class Score:
    #: Share of the reference speech (outside the collars) given the right speaker.
    right: float
    #: Diarization error rate: missed speech, false alarms and confusion over reference speech.
    der: float
    missed: float
    false_alarm: float
    confusion: float
    speakers: int


def truth(name: str) -> dict:
    return json.loads((CONVERSATIONS / f"{name}.turns.json").read_text(encoding="utf-8"))


def _frames(turns: Iterable[tuple[float, float, str]], n: int) -> list[set[str]]:
    labels: list[set[str]] = [set() for _ in range(n)]
    for start, end, who in turns:
        for i in range(max(0, round(start / STEP_S)), min(n, round(end / STEP_S))):
            labels[i].add(who)
    return labels


def score(reference: Sequence[tuple[float, float, str]], hypothesis: Sequence[tuple[float, float, str]],
          seconds: float, *, collar: float = 0.25) -> Score:
    """Compare labelled turns ``(start, end, speaker)``, mapping hypothesis speakers onto reference
    speakers one to one in the way that scores best, and ignoring ``collar`` seconds either side of
    each reference boundary (where even people disagree)."""
    n = round(seconds / STEP_S) + 1
    ref, hyp = _frames(reference, n), _frames(hypothesis, n)
    scored = [True] * n
    for start, end, _ in reference:
        for edge in (start, end):
            for i in range(max(0, round((edge - collar) / STEP_S)), min(n, round((edge + collar) / STEP_S))):
                scored[i] = False
    ref_names = sorted({who for _, _, who in reference})
    hyp_names = sorted({who for _, _, who in hypothesis})
    padded = hyp_names + [None] * max(0, len(ref_names) - len(hyp_names))
    best: tuple[int, dict[str, str]] | None = None
    for chosen in itertools.permutations(padded, len(ref_names)):
        mapping = {h: r for r, h in zip(ref_names, chosen) if h is not None}
        right = sum(1 for i in range(n) if scored[i] and {mapping.get(h) for h in hyp[i]} & ref[i])
        if best is None or right > best[0]:
            best = (right, mapping)
    assert best is not None
    right, mapping = best
    total = missed = false_alarm = confusion = 0
    for i in range(n):
        if not scored[i]:
            continue
        r, h = ref[i], {mapping.get(x, f"unmatched {x}") for x in hyp[i]}
        total += len(r)
        missed += max(0, len(r) - len(h))
        false_alarm += max(0, len(h) - len(r))
        confusion += min(len(r), len(h)) - len(r & h)
    speech = sum(1 for i in range(n) if scored[i] and ref[i])
    return Score(right / max(1, speech), (missed + false_alarm + confusion) / max(1, total),
                 missed / max(1, total), false_alarm / max(1, total), confusion / max(1, total), len(hyp_names))


def reference_turns(name: str) -> list[tuple[float, float, str]]:
    return [(t["start"], t["end"], t["speaker"]) for t in truth(name)["turns"]]
