"""Colours as WCAG 2.2 measures them: relative luminance and contrast ratio of sRGB colours.

One place for the arithmetic, so the check of a show's colour and the site that derives its
dark-mode shade from it agree on what "readable" means.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"#([0-9a-fA-F]{6})")

#: WCAG 2.2 AA for normal text (1.4.3) and for focus rings and controls (1.4.11 asks 3:1; text is stricter).
AA_TEXT = 4.5


def parse_hex(value: str) -> tuple[int, int, int] | None:
    """``#rrggbb`` as (r, g, b) in 0-255; None for anything else."""
    match = _HEX.fullmatch(value.strip())
    if match is None:
        return None
    digits = match.group(1)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance: linearised sRGB, weighted 0.2126 / 0.7152 / 0.0722."""
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """The WCAG contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on(colour: tuple[int, int, int], background: tuple[int, int, int],
                ratio: float = AA_TEXT) -> tuple[int, int, int]:
    """``colour``, or the nearest mix of it towards white or black that reaches ``ratio`` on
    ``background`` (the same hue made lighter for a dark page, darker for a light one)."""
    if contrast(colour, background) >= ratio:
        return colour
    towards = (255, 255, 255) if luminance(background) < 0.18 else (0, 0, 0)
    for step in range(1, 101):
        t = step / 100
        mixed = tuple(round(c + (w - c) * t) for c, w in zip(colour, towards))
        if contrast(mixed, background) >= ratio:  # type: ignore[arg-type]
            return mixed  # type: ignore[return-value]
    return towards
