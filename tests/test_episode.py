"""Episode metadata files: created once, completed without touching what a person wrote, checked."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from rkaudio.core.errors import MetadataError
from rkaudio.publishing.episode import EpisodeDraft, ensure_episode, list_episodes, read_episode
from rkaudio.show.paths import EpisodePaths

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc)


def test_created_file_reads_back(show: Path) -> None:
    path, written = ensure_episode(show, "ep-one", EpisodeDraft(title="Episode one", source="episodes/one.wav",
                                                                 now=NOW))
    assert path == show / "episodes" / "ep-one.md"
    assert set(written) >= {"title", "guid", "date", "number"}
    ep = read_episode(show, "ep-one")
    assert ep.title == "Episode one" and ep.number == 1 and ep.date == NOW.replace(microsecond=0)
    assert len(ep.guid) == 36 and ep.source == "episodes/one.wav"
    assert ep.notes == "" or ep.notes.startswith("<!--")


def test_numbers_follow_on(show: Path) -> None:
    ensure_episode(show, "a", EpisodeDraft(title="A", now=NOW))
    ensure_episode(show, "b", EpisodeDraft(title="B", now=NOW))
    assert read_episode(show, "b").number == 2
    assert list_episodes(show) == ["a", "b"]


def test_person_written_fields_are_never_changed(show: Path) -> None:
    path = EpisodePaths(show, "ep").metadata
    path.parent.mkdir(exist_ok=True)
    text = ('+++\n# my own comment\ntitle = "My title & <more>"   # keep this\nnumber = 7\n'
            'date = 2025-01-02\nsummary = "Mine"\n\n[[chapters]]\nstart = "0:00"\ntitle = "Start"\n+++\n\n'
            "My notes.\n")
    path.write_text(text, encoding="utf-8")
    _, written = ensure_episode(show, "ep", EpisodeDraft(title="Other title", now=NOW))
    assert written == ["guid"]
    after = path.read_text(encoding="utf-8")
    # Everything that was there is there, byte for byte, in the same order; only the guid is new.
    assert after.replace("\n", "").count("# my own comment") == 1
    for line in text.splitlines():
        assert line in after.splitlines()
    ep = read_episode(show, "ep")
    assert ep.title == "My title & <more>" and ep.number == 7 and ep.notes == "My notes."
    guid = ep.guid
    _, written = ensure_episode(show, "ep", EpisodeDraft(title="Again", now=NOW))
    assert written == [] and read_episode(show, "ep").guid == guid


@pytest.mark.parametrize("front, problem", [
    ('title = "x"\nguid = "g"\ndate = 2025-01-01\nnumbr = 3\n', "unknown field 'numbr'"),
    ('title = ""\nguid = "g"\ndate = 2025-01-01\n', "title is missing"),
    ('title = "x"\nguid = "g"\ndate = "yesterday"\n', "date must be"),
    ('title = "x"\nguid = "g"\ndate = 2025-01-01\nexplicit = "no"\n', "explicit must be true or false"),
    ('title = "x"\nguid = "g"\ndate = 2025-01-01\n[[chapters]]\nstart = "1:00"\ntitle = "B"\n'
     '[[chapters]]\nstart = "0:30"\ntitle = "A"\n', "chapter 2 \\(A\\) starts at or before"),
    ('title = "x"\nguid = "g"\ndate = 2025-01-01\n[[chapters]]\nstart = "soon"\ntitle = "A"\n',
     "chapter 1 start must be"),
    ('title = "x"\nguid = "g"\ndate = 2025-01-01\n[[chapters]]\nstart = 0\ntitle = "A"\n'
     'url = "javascript:alert(1)"\n', "url must be an http"),
    ('title = "x"\nguid = "g"\ndate = 2025-01-01\ntype = "film"\n', "type must be one of"),
    ('title = "x\nguid = "g"\n', "line 2"),
])
def test_bad_metadata_is_named(show: Path, front: str, problem: str) -> None:
    path = EpisodePaths(show, "bad").metadata
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"+++\n{front}+++\nnotes\n", encoding="utf-8")
    with pytest.raises(MetadataError, match=problem) as caught:
        read_episode(show, "bad")
    assert "bad.md" in str(caught.value)


def test_unclosed_front_matter(show: Path) -> None:
    path = EpisodePaths(show, "open").metadata
    path.parent.mkdir(exist_ok=True)
    path.write_text('+++\ntitle = "x"\n', encoding="utf-8")
    with pytest.raises(MetadataError, match="never closed"):
        read_episode(show, "open")
    with pytest.raises(MetadataError, match="never closed"):
        ensure_episode(show, "open", EpisodeDraft(title="x"))
    assert path.read_text(encoding="utf-8") == '+++\ntitle = "x"\n'


def test_chapter_times(show: Path) -> None:
    path = EpisodePaths(show, "ch").metadata
    path.parent.mkdir(exist_ok=True)
    path.write_text('+++\ntitle = "x"\nguid = "g"\ndate = 2025-01-01T10:00:00Z\n'
                    '[[chapters]]\nstart = 0\ntitle = "A"\n'
                    '[[chapters]]\nstart = "1:02.5"\ntitle = "B"\nurl = "https://example.org/b"\n'
                    '[[chapters]]\nstart = "1:00:00"\ntitle = "C"\n+++\n', encoding="utf-8")
    ep = read_episode(show, "ch")
    assert [(c.start, c.title, c.url) for c in ep.chapters] == [
        (0.0, "A", None), (62.5, "B", "https://example.org/b"), (3600.0, "C", None)]
