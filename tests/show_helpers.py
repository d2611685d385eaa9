"""Helpers for tests of a show's publishing side: a show set up for the feed, and episode metadata."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from conftest import run_subprocess

BASE = "https://example.org/show"
NO_STINGS = ("--intro", "none", "--outro", "none")

LIBRARY = [
    {"id": "abrams2021", "type": "article-journal", "title": "Intergroup and intragroup dimensions of COVID-19",
     "author": [{"family": "Abrams", "given": "Dominic"}, {"family": "Lalot", "given": "Fanny"},
                {"family": "Hogg", "given": "Michael A."}],
     "issued": {"date-parts": [[2021]]}, "container-title": "Group Processes & Intergroup Relations",
     "DOI": "10.1177/1368430220983440"},
    {"id": "belong2021", "type": "report", "title": "Beyond Us & Them <policy>",
     "author": [{"literal": "Belong"}], "issued": {"date-parts": [[2021]]}, "publisher": "Belong",
     "URL": "https://example.org/beyond"},
]


def configure(show: Path, **extra: str) -> None:
    """Give the test show a base_url, owner, categories and a research library."""
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('base_url = ""', f'base_url = "{BASE}"')
    text = text.replace('owner_name = ""', 'owner_name = "Owner & Co"')
    text = text.replace('owner_email = ""', 'owner_email = "owner@example.org"')
    text = text.replace('categories = []', 'categories = ["Society & Culture > Documentary", "Science"]')
    text = text.replace('research = ""', 'research = "research.json"')
    for key, value in extra.items():
        text = text.replace(f'{key} = ', f'{key} = {value}\n# was: ', 1)
    toml.write_text(text, encoding="utf-8")
    (show / "research.json").write_text(json.dumps(LIBRARY), encoding="utf-8")


def write_metadata(show: Path, slug: str, *, title: str, date: str, notes: str = "", number: int | None = None,
                   chapters: str = "", guid: str | None = None) -> Path:
    path = show / "episodes" / f"{slug}.md"
    path.parent.mkdir(exist_ok=True)
    fields = [f"title = {json.dumps(title)}", f"date = {date}", f"guid = \"{guid or uuid.uuid4()}\""]
    if number is not None:
        fields.append(f"number = {number}")
    path.write_text("+++\n" + "\n".join(fields) + "\n" + chapters + "+++\n" + notes + "\n", encoding="utf-8")
    return path


def process(wav: Path, slug: str, *extra: str) -> dict:
    """``rkaudio process`` without transcription or stings; its JSON report."""
    out = run_subprocess("process", wav, "--slug", slug, "--no-transcribe", "--json", "--quiet", *NO_STINGS, *extra)
    assert out.code == 0, out
    return out.json
