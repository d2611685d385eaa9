"""Pictures of the leveller's work: short-term loudness over time, without and with levelling.

Both curves come from the measuring pass's frames (`leveller.LevellerPlan.short_term`), each
normalised to the target as ``process`` would (one constant gain without the leveller; the
leveller's curve and then one constant gain with it), so the only difference between them is
the levelling. The text plot needs nothing; the PNG needs matplotlib (``rkaudio[plot]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.clock import clock
from ..core.errors import ConfigError
from ..core.files import atomic_path
from .leveller import FRAME_S, LevellerPlan

#: Eight heights of block, lowest first.
BLOCKS = "▁▂▃▄▅▆▇█"
#: Short-term loudness below this (pauses, room tone) is drawn as the floor of the plot.
FLOOR_BELOW_TARGET_LU = 24.0


@dataclass(frozen=True)
class LevelCurves:
    """Short-term loudness per 100 ms frame, LUFS, both at the target's integrated loudness."""

    without: np.ndarray
    with_leveller: np.ndarray
    target_lufs: float

    @property
    def seconds(self) -> float:
        return len(self.without) * FRAME_S


def curves(plan: LevellerPlan, programme_lufs: float, target_lufs: float) -> LevelCurves:
    """The plan's before-and-after short-term loudness, each moved to the target."""
    before, after = plan.short_term()
    change = plan.loudness_change_db if plan.active else 0.0
    return LevelCurves(without=before + (target_lufs - programme_lufs),
                       with_leveller=after + (target_lufs - programme_lufs - change), target_lufs=target_lufs)


def text_plot(c: LevelCurves, width: int = 72) -> list[str]:
    """Two rows of blocks (the loudest short-term loudness in each column), with a time axis."""
    top = c.target_lufs + 6.0
    bottom = c.target_lufs - FLOOR_BELOW_TARGET_LU
    n = len(c.without)
    columns = max(1, min(width, n))
    edges = np.linspace(0, n, columns + 1).astype(int)

    def row(values: np.ndarray) -> str:
        out = []
        for a, b in zip(edges[:-1], edges[1:]):
            v = float(np.max(values[a:max(b, a + 1)]))
            share = 0.0 if not math.isfinite(v) else (min(max(v, bottom), top) - bottom) / (top - bottom)
            out.append(BLOCKS[min(len(BLOCKS) - 1, int(share * len(BLOCKS)))])
        return "".join(out)

    end = clock(round(c.seconds))
    return [f"short-term loudness (3 s), {bottom:g} to {top:g} LUFS; each column {c.seconds / columns:.1f} s",
            f"  without leveller  {row(c.without)}",
            f"  with leveller     {row(c.with_leveller)}",
            f"                    0:00{end.rjust(columns - 4)}"]


def write_png(c: LevelCurves, path: Path, title: str = "") -> Path:
    """The two curves as a PNG (written atomically); ConfigError if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("drawing a PNG needs matplotlib: pip install 'rkaudio[plot]'") from None
    minutes = np.arange(len(c.without)) * FRAME_S / 60
    floor = c.target_lufs - FLOOR_BELOW_TARGET_LU - 6
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    ax.plot(minutes, np.maximum(c.without, floor), color="#b0b0b0", linewidth=1.2, label="without leveller")
    ax.plot(minutes, np.maximum(c.with_leveller, floor), color="#1f5fa8", linewidth=1.4, label="with leveller")
    ax.axhline(c.target_lufs, color="#c0392b", linewidth=0.8, linestyle="--", label=f"target {c.target_lufs:g} LUFS")
    ax.set_ylim(floor, c.target_lufs + 8)
    ax.set_xlim(0, max(minutes[-1] if len(minutes) else 0, 1e-3))
    ax.set_xlabel("minutes")
    ax.set_ylabel("short-term loudness (LUFS)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
