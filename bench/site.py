"""Benchmark: how long the listeners' site of a 100-episode show takes to build, and how big a page is.

Makes a show of 100 episodes in a temporary folder: each with show notes citing the demo's
research library, three chapters and a published 30-minute transcript (450 cues in two voices),
and one short MP3 copied for each (the site reads only an MP3's header). Then times, in-process:

1. a cold build: ``build_feed`` (the feed, the chapters and the whole site) into an empty ``feed/``;
2. a rebuild of the unchanged show, which must write nothing;
3. a rebuild after one episode's notes changed, which must rewrite that episode's page only;
4. the site alone (``build_site``) on the unchanged show, to separate it from the feed.

Each runs several times and the table gives medians. It also reports the size of an episode page
with its stylesheet and script, for the 30-minute episodes and for one an hour long. The target
(issue 15): the site builds in 5 s or less, and an episode page's own HTML, CSS and JS stay under
150 KB. Results go into BENCHMARKS.md between the ``bench:site`` markers.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import report

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SECTION = "site"
KEYS = [item["id"] for item in json.loads((REPO / "research.json").read_text(encoding="utf-8"))]
SENTENCE = "and that is why we keep coming back to the people who run the project every single week"


def _vtt(minutes: int) -> str:
    """A transcript of ``minutes`` of talk: a 4-second cue of two lines at a time, two voices."""
    def ts(s: int) -> str:
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000"

    cues = [f"{ts(s)} --> {ts(s + 4)}\n<v {'Ann' if (s // 60) % 2 else 'Ben'}>{SENTENCE[:40]}\n{SENTENCE[40:80]}\n"
            for s in range(0, minutes * 60, 4)]
    return "WEBVTT\n\n" + "\n".join(cues)


def make_show(root: Path, episodes: int) -> None:
    from rkaudio.audio import ffmpeg_tool
    from rkaudio.pipeline.workspace import init_show
    from rkaudio.transcripts.store import regenerate

    init_show(root, "Benchmark Show")
    toml = root / "show.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('base_url = ""', 'base_url = "https://example.org/bench"')
    text = text.replace('research = ""', 'research = "research.json"')
    toml.write_text(text, encoding="utf-8")
    shutil.copy(REPO / "research.json", root / "research.json")
    media = root / "feed" / "media"
    media.mkdir(parents=True, exist_ok=True)
    first = media / "ep001.mp3"
    ffmpeg_tool.run(["-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=5", "-ac", "1", "-b:a", "32k",
                     f"file:{first}"], what="making a test tone")
    for n in range(1, episodes + 1):
        slug = f"ep{n:03d}"
        if n > 1:
            shutil.copy(first, media / f"{slug}.mp3")
        cited = "; ".join(f"@{KEYS[(n + k) % len(KEYS)]}" for k in range(3))
        (root / "episodes" / f"{slug}.md").write_text(
            f'+++\ntitle = "Episode {n}: bridges across difference"\nnumber = {n}\n'
            f"date = 2026-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}T09:00:00Z\n"
            f'summary = "Episode {n} meets the people building bridges."\nguid = "bench-{n}"\n'
            '[[chapters]]\nstart = "0:00"\ntitle = "Introduction"\n'
            '[[chapters]]\nstart = "10:00"\ntitle = "The project"\n'
            '[[chapters]]\nstart = "20:00"\ntitle = "What changed"\n'
            f"+++\nWe talk about **social mixing** and what it changes [{cited}].\n\n"
            "Find out more on the project's site.\n", encoding="utf-8")
        (root / "transcripts").mkdir(exist_ok=True)
        (root / "transcripts" / f"{slug}.vtt").write_text(_vtt(60 if n == 1 else 30), encoding="utf-8")
        regenerate(root, slug, title=f"Episode {n}")


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args()

    from rkaudio.publishing.feed import build_feed
    from rkaudio.publishing.site import build_site
    from rkaudio.show.config import load_show

    work = Path(tempfile.mkdtemp(prefix="rkaudio-bench-site-"))
    try:
        root = work / "show"
        print(f"Making a show of {args.episodes} episodes in {root} ...", flush=True)
        make_show(root, args.episodes)
        show = load_show(root)
        generated = [root / "feed" / d for d in ("index.html", "sitemap.xml", "episodes", "research", "site")]

        def clear() -> None:
            for path in generated:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

        cold, warm, one, site_only = [], [], [], []
        notes = root / "episodes" / "ep050.md"
        original = notes.read_text(encoding="utf-8")
        for run in range(args.runs):
            clear()
            cold.append(timed(lambda: build_feed(show)))
            result = build_feed(show)
            warm.append(timed(lambda: build_feed(show)))
            assert build_feed(show).site.written == [], "an unchanged rebuild wrote files"
            notes.write_text(original.replace("We talk", f"Run {run}: we talk"), encoding="utf-8")
            one.append(timed(lambda: build_feed(show)))
            site_only.append(timed(lambda: build_site(show, result.items)))
            notes.write_text(original, encoding="utf-8")
            print(f"  run {run + 1}: cold {cold[-1]:.2f} s, unchanged {warm[-1]:.2f} s, one changed {one[-1]:.2f} s, "
                  f"site alone {site_only[-1]:.2f} s", flush=True)
        build_feed(show)
        assets = sum((root / "feed" / "site" / name).stat().st_size for name in ("site.css", "site.js"))
        half = (root / "feed" / "episodes" / "ep002" / "index.html").stat().st_size
        hour = (root / "feed" / "episodes" / "ep001" / "index.html").stat().st_size
        pages = len(list((root / "feed").rglob("index.html")))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f}–{max(values):.2f} s |"

    markdown = "\n".join([
        f"Measured {report.now()} on {report.machine_summary()}, Python {platform.python_version()}: "
        f"{args.episodes} episodes, {pages} pages, {args.runs} runs each.",
        "",
        "| build | median | range |",
        "| --- | ---: | ---: |",
        row("feed and site, into an empty feed/", cold),
        row("feed and site, nothing changed (no file written)", warm),
        row("feed and site, one episode's notes changed (one page written)", one),
        row("the site alone, nothing changed", site_only),
        "",
        "| episode page, with its stylesheet and script | size |",
        "| --- | ---: |",
        f"| 30 minutes of talk (450 cues) | {(half + assets) / 1024:.0f} KB ({half / 1024:.0f} KB HTML) |",
        f"| 60 minutes of talk (900 cues) | {(hour + assets) / 1024:.0f} KB ({hour / 1024:.0f} KB HTML) |",
        f"| the stylesheet and script every page shares | {assets / 1024:.1f} KB |",
        "",
        f"Target: at most 5 s for the build, under 150 KB for a page: "
        f"{'met' if statistics.median(cold) <= 5 and hour + assets < 150 * 1024 else 'NOT met'}.",
    ])
    report.publish(markdown, SECTION, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
