"""How the CLI shows a build: progress across episodes and the closing table. Apart from
`report` so that a build with nothing to do loads none of the audio, speech or feed modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from ..pipeline.build import BuildReport, Step


def _rel(path: Path | None, root: Path) -> str:
    if path is None:
        return ""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class BuildProgress:
    """Progress across episodes: one line per episode at work (its stage and how far), and a line
    for the episodes done; draws nothing when quiet."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.total = 0
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._overall: TaskID | None = None

    def __enter__(self) -> BuildProgress:
        return self

    def plan(self, steps: list[Step]) -> None:
        """Called once the build knows its work: the bar starts with the episodes to do."""
        self.total = sum(s.action != "none" for s in steps)
        console = Console(stderr=True)
        if not self.quiet and console.is_terminal and self.total:
            self._progress = Progress(
                TextColumn("{task.description:<40}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(), console=console, transient=True)
            self._overall = self._progress.add_task(f"episodes (0 of {self.total} done)", total=self.total)
            self._progress.start()

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def step(self, slug: str, event: str) -> None:
        if self._progress is None:
            return
        if event == "done":
            if slug in self._tasks:
                self._progress.remove_task(self._tasks.pop(slug))
            assert self._overall is not None
            self._progress.advance(self._overall)
            finished = next(t for t in self._progress.tasks if t.id == self._overall).completed
            self._progress.update(self._overall, description=f"episodes ({finished:.0f} of {self.total} done)")

    def __call__(self, slug: str, stage: str, done: float, total: float) -> None:
        if self._progress is None:
            return
        label = f"  {slug[:24]} {stage}"
        if slug not in self._tasks:
            self._tasks[slug] = self._progress.add_task(label, total=max(total, 1e-9))
        self._progress.update(self._tasks[slug], description=label, completed=min(done, total),
                              total=max(total, 1e-9))


def build_lines(r: BuildReport, root: Path) -> list[str]:
    """The closing table of a build: episode, what was done, time, result."""
    lines: list[str] = []
    shown = [s for s in r.steps if s.action != "none"] if r.steps else []
    if r.dry_run:
        if not shown:
            return [f"Nothing to do: {len(r.steps)} episode(s) up to date."]
        lines.append(f"Would do ({len(shown)} of {len(r.steps)} episodes):")
        width = max(len(s.slug) for s in shown)
        lines += [f"  {s.slug:<{width}}  {s.action:<10}  {s.why}" for s in shown]
        return lines
    if not r.results:
        lines.append(f"Nothing to do: {len(r.steps)} episode(s) up to date."
                     + ("" if r.rebuilt else " Nothing was written."))
    else:
        width = max(len("episode"), *(len(x.slug) for x in r.results))
        lines.append(f"{'episode':<{width}}  {'done':<10}  {'time':>7}  result")
        for x in r.results:
            result = x.message if x.ok else f"FAILED: {x.message}"
            lines.append(f"{x.slug:<{width}}  {x.action:<10}  {x.seconds:6.1f}s  {result}")
        up_to_date = len(r.steps) - len(r.results)
        if up_to_date:
            lines.append(f"({up_to_date} other episode(s) up to date)")
    if r.rebuilt and r.feed is not None:
        lines.append(f"Feed: {_rel(r.feed.path, root)} ({len(r.feed.items)} episodes)"
                     + (f"; site: {_rel(r.feed.site.index, root)}" if getattr(r.feed, "site", None) else ""))
        lines += [f"  warning: {w}" for w in r.feed.warnings]
    elif r.rebuilt:
        lines.append("The feed was not built: show.base_url is not set in show.toml")
    if r.failed:
        lines.append(f"{len(r.failed)} episode(s) failed: {', '.join(x.slug for x in r.failed)}")
    return lines


def build_json(r: BuildReport, root: Path) -> dict[str, Any]:
    """The machine-readable report of a build."""
    results = {x.slug: x for x in r.results}
    return {
        "dry_run": r.dry_run,
        "jobs": r.jobs,
        "episodes": [{"slug": s.slug, "source": _rel(s.source, root), "action": s.action, "why": s.why,
                      **({"ok": results[s.slug].ok, "seconds": round(results[s.slug].seconds, 2),
                          "result": results[s.slug].message, "report": results[s.slug].report}
                         if s.slug in results else {})} for s in r.steps],
        "feed_rebuilt": r.rebuilt,
        "feed": _rel(r.feed.path, root) if r.feed is not None else None,
        "failed": [x.slug for x in r.failed],
    }
