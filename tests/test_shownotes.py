"""Show notes: citations resolved against the research library, sanitised feed HTML, plain text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rkaudio.core.errors import MetadataError
from rkaudio.publishing.research import Library, Reference, reference_text
from rkaudio.publishing.shownotes import ALLOWED_TAGS, Notes, render_notes

EPISODE = "welcome-to-radical-kindness"
DOI = "https://doi.org/10.1177/1368430220983440"

ABRAMS = Reference(
    key="abrams2021", type="article-journal", title="Intergroup and intragroup dimensions of COVID-19",
    authors=(("Abrams", "Dominic"), ("Lalot", "Fanny"), ("Hogg", "Michael A.")), year=2021,
    container="Group Processes & Intergroup Relations", volume="24", issue="2", pages="201-209",
    doi="10.1177/1368430220983440")
LALOT = Reference(key="lalot2022", type="article-journal", title="The social cohesion investment",
                  authors=(("Lalot", "Fanny"), ("Abrams", "Dominic"), ("Broadwood", "Jo")), year=2022,
                  container="Journal of Community & Applied Social Psychology")
UNWIN = Reference(key="unwin2018", type="report", title="Kindness, emotions and human relationships",
                  authors=(("Unwin", "Julia"),), year=2018, publisher="Carnegie UK Trust",
                  url="https://www.carnegieuktrust.org.uk/")
HOSTILE_TITLE = Reference(key="fish2020", type="report", title='Fish & <Chips>: "quoted" & it\'s',
                          authors=("Chips & <Co>",), year=2020, url="https://example.org/?a=1&b=2")


@pytest.fixture
def library() -> Library:
    return Library([ABRAMS, LALOT, UNWIN, HOSTILE_TITLE], path=Path("/show/research.json"))


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def well_formed(html: str) -> ET.Element:
    return ET.fromstring(f"<div>{html}</div>")


def assert_safe(html: str) -> None:
    """Only allowed tags; no event handlers or styles; links only http(s)/mailto, opened safely."""
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED_TAGS, tag
        for name in attrs:
            assert not name.startswith("on") and name != "style", (tag, name)
        if tag == "a":
            assert set(attrs) <= {"href", "title", "rel"}
            assert attrs["rel"] == "noopener noreferrer"
            href = attrs.get("href")
            assert href is None or href.startswith(("https://", "http://", "mailto:")), href
    well_formed(html)


# --- citations ------------------------------------------------------------------------------------

def test_citation_links_to_the_doi_and_lists_the_reference(library: Library) -> None:
    notes = render_notes("Belonging matters [@abrams2021].", library, episode=EPISODE)
    root = well_formed(notes.html)
    citation = root.find("p/a")
    assert citation is not None
    assert citation.get("href") == DOI and citation.text == "Abrams et al., 2021"
    assert citation.get("title") == reference_text(ABRAMS)
    assert "".join(root.find("p").itertext()) == "Belonging matters (Abrams et al., 2021)."
    assert root.find("h2").text == "References"
    items = root.findall("ul/li")
    assert len(items) == 1 and "".join(items[0].itertext()) == reference_text(ABRAMS)
    assert items[0].find("a").get("href") == DOI
    assert notes.cited == (ABRAMS,)
    assert_safe(notes.html)


def test_several_citations_locators_and_reference_order(library: Library) -> None:
    markdown = ("See [@unwin2018; @lalot2022, p. 4].\n\n"
                "- Also [@abrams2021]\n- and again [@unwin2018, pp. 10-12]\n")
    notes = render_notes(markdown, library, episode=EPISODE)
    root = well_formed(notes.html)
    first = root.find("p")
    assert "".join(first.itertext()) == "See (Unwin, 2018; Lalot et al., 2022, p. 4)."
    links = first.findall("a")
    # lalot2022 has neither DOI nor URL: its label is plain text.
    assert [(a.get("href"), a.text) for a in links] == [("https://www.carnegieuktrust.org.uk/", "Unwin, 2018")]
    assert notes.cited == (UNWIN, LALOT, ABRAMS)  # order of first citation, each once
    assert len(root.findall("ul/li")) == 2 + 3
    assert "(Unwin, 2018, pp. 10-12)" in notes.text


def test_citations_are_left_alone_in_code_links_and_handles(library: Library) -> None:
    markdown = ("Write `[@nokey]` to cite. Follow [@belongnetwork](https://example.org/belong) "
                "or @belongnetwork, or mail [us](mailto:podcast@example.org).\n\n"
                "```\n[@nokey]\n```\n")
    notes = render_notes(markdown, library, episode=EPISODE)
    assert notes.cited == ()
    assert "<code>[@nokey]</code>" in notes.html
    assert '<a href="https://example.org/belong" rel="noopener noreferrer">@belongnetwork</a>' in notes.html
    assert "References" not in notes.html and "References" not in notes.text
    assert render_notes("No research here.", None, episode=EPISODE).cited == ()


def test_missing_key_names_the_episode_and_the_key(library: Library) -> None:
    with pytest.raises(MetadataError) as caught:
        render_notes("As shown [@abrams2021; @smith2020].", library, episode=EPISODE)
    assert str(caught.value) == (f"episode '{EPISODE}': show notes cite [@smith2020], which is not in "
                                 "the research library research.json")

    with pytest.raises(MetadataError, match=r"\[@smith2020\] and \[@jones2019\], which are not in"):
        render_notes("[@smith2020] [@jones2019]", library, episode=EPISODE)
    with pytest.raises(MetadataError, match=r"did you mean \[@abrams2021\]"):
        render_notes("[@Abrams2021]", library, episode=EPISODE)


def test_citations_without_a_library(library: Library) -> None:
    with pytest.raises(MetadataError) as caught:
        render_notes("As shown [@abrams2021].", None, episode=EPISODE)
    message = str(caught.value)
    assert message.startswith(f"episode '{EPISODE}': show notes cite [@abrams2021]")
    assert "no research library" in message and "\n" not in message


# --- HTML -----------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "Hello <script>alert(1)</script> there",
    "<img src=x onerror=alert(1)>",
    "text <img src=x onerror=alert(1)> inline",
    "[x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[x](JaVaScRiPt:alert(1))",
    '<a href="data:text/html,<script>alert(1)</script>">data</a>',
    "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example/"></iframe>',
    '<p style="position:fixed" onclick="alert(1)">styled</p>',
    '<a href="https://ok.example/" onmouseover="alert(1)" style="x" target="_blank">ok</a>',
    "<svg><script>alert(1)</script></svg>",
    "<style>body{display:none}</style>",
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example/"><input name="q"></form>',
    "[rel](/relative/path) [proto](//evil.example/)",
    '<a href="vbscript:msgbox(1)">vb</a>',
    "![img](javascript:alert(1))",
    "<!-- <script>alert(1)</script> -->",
    "<div><p>nested <b onload=alert(1)>bold</b></p></div>",
]


@pytest.mark.parametrize("markdown", HOSTILE)
def test_hostile_notes_are_sanitised(markdown: str, library: Library) -> None:
    notes = render_notes(f"Intro [@abrams2021].\n\n{markdown}\n", library, episode=EPISODE)
    assert_safe(notes.html)
    tags = {tag for tag, _ in Elements(notes.html).found}
    assert not tags & {"script", "iframe", "img", "style", "object", "embed", "form", "input", "svg"}
    lowered = notes.html.lower()
    assert 'href="javascript' not in lowered and 'href="data' not in lowered
    assert "<" not in notes.text and ">" not in notes.text


def test_scripts_lose_their_content() -> None:
    notes = render_notes("Hello <script>alert(1)</script>\n\n<script>\nsteal()\n</script>\n", None,
                         episode=EPISODE)
    assert "alert" not in notes.html and "steal" not in notes.html
    assert "alert" not in notes.text and "steal" not in notes.text


def test_escaped_titles_and_well_formed_xhtml(library: Library) -> None:
    markdown = ("# Episode one\n\nFirst line  \nsecond line&nbsp;here & <then>\n\n---\n\n"
                "> A quote [@fish2020]\n\n##### Deep heading\n")
    notes = render_notes(markdown, library, episode=EPISODE)
    assert "<br />" in notes.html and "<hr />" in notes.html
    assert "&nbsp;" not in notes.html
    assert "Fish &amp; &lt;Chips&gt;" in notes.html and "<Chips>" not in notes.html
    assert "Chips &amp; &lt;Co&gt;" in notes.html
    root = well_formed(notes.html)
    assert [h.tag for h in root if h.tag in ("h2", "h3", "h4")] == ["h2", "h4", "h2"]
    item = root.find("ul/li")
    assert "".join(item.itertext()) == reference_text(HOSTILE_TITLE)
    assert item.find("em/a").get("href") == "https://example.org/?a=1&b=2"
    quote = root.find("blockquote/p/a")
    assert quote.text == "Chips & <Co>, 2020"
    assert quote.get("title") == reference_text(HOSTILE_TITLE)  # quotes and & survive, escaped
    assert_safe(notes.html)
    # Apps that show the description as HTML must not find a tag in the plain text.
    assert "Fish & \u2039Chips\u203a: \"quoted\" & it's" in notes.text
    assert "<" not in notes.text and ">" not in notes.text


def test_empty_notes() -> None:
    assert render_notes("", None, episode=EPISODE) == Notes(html="", text="", cited=())
    assert render_notes("  \n\n", Library(), episode=EPISODE) == Notes(html="", text="", cited=())


# --- plain text -----------------------------------------------------------------------------------

def test_plain_text_for_description(library: Library) -> None:
    markdown = (
        "## In this episode\n\n"
        "We talk about **belonging** and *kindness* [@abrams2021], with\n"
        "[Belong](https://www.belongnetwork.co.uk/) and `code`.\n\n"
        "1. First point\n2. Second [point](https://example.org/2)\n\n"
        "- Mail <podcast@example.org>\n- See <https://example.org/>\n\n"
        "> Kindness is radical.\n\n"
        "Further reading: [@unwin2018; @lalot2022]\n"
    )
    notes = render_notes(markdown, library, episode=EPISODE)
    assert notes.text == (
        "In this episode\n\n"
        "We talk about belonging and kindness (Abrams et al., 2021), with "
        "Belong (https://www.belongnetwork.co.uk/) and code.\n\n"
        "1. First point\n2. Second point (https://example.org/2)\n\n"
        "- Mail podcast@example.org\n- See https://example.org/\n\n"
        "    Kindness is radical.\n\n"
        "Further reading: (Unwin, 2018; Lalot et al., 2022)\n\n"
        "References\n\n"
        f"{reference_text(ABRAMS)}\n\n{reference_text(UNWIN)}\n\n{reference_text(LALOT)}"
    )
    for syntax in ("**", "](", "`", "##", "<", "&amp;"):
        assert syntax not in notes.text
