"""The research library: reading CSL-JSON and BibTeX, APA-like references and in-text labels."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rkaudio.core.errors import ConfigError
from rkaudio.publishing.research import (
    Citation,
    Library,
    Reference,
    author_date,
    citation_label,
    load_library,
    reference_html,
    reference_link,
    reference_text,
)

REPO = Path(__file__).resolve().parents[1]

ABRAMS = Reference(
    key="abrams2021", type="article-journal",
    title="Intergroup and intragroup dimensions of COVID-19: A social identity perspective on social "
          "fragmentation and unity",
    authors=(("Abrams", "Dominic"), ("Lalot", "Fanny"), ("Hogg", "Michael A.")), year=2021,
    container="Group Processes & Intergroup Relations", volume="24", issue="2", pages="201-209",
    doi="10.1177/1368430220983440")
UNWIN = Reference(
    key="unwin2018", type="report",
    title="Kindness, emotions and human relationships: The blind spot in public policy",
    authors=(("Unwin", "Julia"),), year=2018, publisher="Carnegie UK Trust",
    url="https://www.carnegieuktrust.org.uk/")
BELONG = Reference(key="belong2021", type="report", title="Beyond Us and Them", authors=("Belong",),
                   year=2021, publisher="Belong", url="https://www.belongnetwork.co.uk/")


def write_json(folder: Path, items: object, name: str = "research.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


# --- CSL-JSON -------------------------------------------------------------------------------------

def test_csl_json_items_become_references(tmp_path: Path) -> None:
    path = write_json(tmp_path, [
        {"id": "abrams2021", "type": "article-journal",
         "author": [{"family": "Abrams", "given": "Dominic"}, {"family": "Hogg", "given": "Michael A."}],
         "issued": {"date-parts": [[2021, 2]]}, "title": "Intergroup & intragroup",
         "container-title": "Group Processes & Intergroup Relations", "volume": 24, "issue": "2",
         "page": "201-209", "DOI": "https://doi.org/10.1177/1368430220983440"},
        {"id": "belong2021", "type": "report", "author": [{"literal": "Belong"}],
         "issued": {"raw": "2021-02-23"}, "title": "Beyond Us and Them", "publisher": "Belong",
         "URL": "https://www.belongnetwork.co.uk/"},
        {"id": "zomeren2008", "type": "article-journal", "title": "Toward an integrative model",
         "author": [{"family": "Zomeren", "non-dropping-particle": "van", "given": "Martijn"}]},
    ])
    library = load_library(path)
    assert list(library) == ["abrams2021", "belong2021", "zomeren2008"]
    abrams = library["abrams2021"]
    assert abrams.authors == (("Abrams", "Dominic"), ("Hogg", "Michael A."))
    assert (abrams.year, abrams.volume, abrams.issue, abrams.pages) == (2021, "24", "2", "201-209")
    assert abrams.container == "Group Processes & Intergroup Relations"
    assert abrams.doi == "10.1177/1368430220983440"  # the resolver prefix is dropped
    belong = library["belong2021"]
    assert belong.authors == ("Belong",) and belong.year == 2021 and belong.publisher == "Belong"
    assert library["zomeren2008"].authors == (("van Zomeren", "Martijn"),)
    assert library["zomeren2008"].year is None
    assert "Abrams2021" not in library  # keys are case-sensitive


def test_csl_citation_key_wins_over_zotero_item_id(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"id": "http://zotero.org/users/1/items/ABCD", "citation-key": "abrams2021",
                                  "type": "article-journal", "title": "T"}])
    assert list(load_library(path)) == ["abrams2021"]


@pytest.mark.parametrize(("items", "problem"), [
    ([{"id": "a1", "title": "One"}, {"id": "a1", "title": "Two"}], "item 'a1' appears twice"),
    ([{"type": "book", "title": "No key"}], "item 1 has no id"),
    ([{"id": "a1", "title": "Fine"}, {"id": "b2", "type": "book"}], "item 'b2' has no title"),
    ({"id": "a1", "title": "not a list"}, "must be a list"),
    ([{"id": "a1", "title": "T", "URL": "javascript:alert(1)"}], "item 'a1': URL"),
    ([{"id": "a1", "title": "T", "DOI": "not-a-doi"}], "item 'a1': 'not-a-doi' is not a DOI"),
    ([{"id": "a1", "title": "T", "author": [{"family": "A"}, "B"]}], "item 'a1': each author"),
    ([{"id": "a1", "title": "T", "issued": {"date-parts": [["soon"]]}}], "item 'a1': issued"),
])
def test_broken_csl_json_names_the_file_and_the_item(tmp_path: Path, items: object, problem: str) -> None:
    path = write_json(tmp_path, items)
    with pytest.raises(ConfigError) as caught:
        load_library(path)
    message = str(caught.value)
    assert "research.json" in message and problem in message
    assert "\n" not in message


def test_unparseable_json_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "research.json"
    path.write_text('[{"id": "a1", "title": "T"},', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"research\.json: not valid JSON \(line 1"):
        load_library(path)


def test_missing_or_unknown_library_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_library(tmp_path / "research.json")
    other = tmp_path / "research.ris"
    other.write_text("TY  - JOUR\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"research\.ris: .*CSL-JSON \(\.json\) or BibTeX \(\.bib\)"):
        load_library(other)


# --- BibTeX ---------------------------------------------------------------------------------------

BIBTEX = r"""
% exported from Zotero
@string{kent = "University of Kent"}

@article{abrams2021,
  title = {Intergroup and Intragroup Dimensions of {COVID}-19: Fragmentation \& Unity},
  author = {Abrams, Dominic and Lalot, Fanny and Hogg, Michael A.},
  year = {2021},
  journal = {Group Processes \& Intergroup Relations},
  volume = {24}, number = {2}, pages = {201--209},
  doi = {10.1177/1368430220983440},
}

@techreport{belong2021,
  author = {{Belong -- The Cohesion and Integration Network} and {University of Kent}},
  title = "Beyond Us and Them: Policy \& Practice in Caf\'{e}s and \emph{Communities}",
  institution = kent,
  year = 2021,
  url = {https://www.belongnetwork.co.uk/beyond\_us},
}

@incollection{broadwood2017,
  author = {Jo Broadwood and Ludwig van Beethoven},
  title = {The Arts and Intergroup Relations},
  booktitle = {If You Could Do One Thing},
  publisher = {The British Academy},
  date = {2017-09},
  pages = {50-58},
}
"""


def write_bib(folder: Path, text: str, name: str = "library.bib") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bibtex_entries_become_references(tmp_path: Path) -> None:
    library = load_library(write_bib(tmp_path, BIBTEX))
    assert list(library) == ["abrams2021", "belong2021", "broadwood2017"]

    abrams = library["abrams2021"]
    assert abrams.type == "article-journal"
    assert abrams.title == "Intergroup and Intragroup Dimensions of COVID-19: Fragmentation & Unity"
    assert abrams.authors == (("Abrams", "Dominic"), ("Lalot", "Fanny"), ("Hogg", "Michael A."))
    assert abrams.container == "Group Processes & Intergroup Relations"
    assert (abrams.year, abrams.volume, abrams.issue, abrams.pages) == (2021, "24", "2", "201\u2013209")
    assert abrams.doi == "10.1177/1368430220983440"

    belong = library["belong2021"]
    assert belong.type == "report"
    assert belong.authors == ("Belong \u2013 The Cohesion and Integration Network", "University of Kent")
    assert belong.title == "Beyond Us and Them: Policy & Practice in Cafés and Communities"
    assert belong.publisher == "University of Kent"  # @string macro
    assert belong.url == "https://www.belongnetwork.co.uk/beyond_us"

    chapter = library["broadwood2017"]
    assert chapter.type == "chapter"
    assert chapter.authors == (("Broadwood", "Jo"), ("van Beethoven", "Ludwig"))
    assert (chapter.container, chapter.publisher, chapter.year) == ("If You Could Do One Thing",
                                                                    "The British Academy", 2017)


@pytest.mark.parametrize(("text", "problem"), [
    ("@misc{a1, title={One}}\n@misc{a1, title={Two}}\n", "entry 'a1' appears twice"),
    ("@misc{a1, author={Someone}}\n", "entry 'a1' has no title"),
    ("@misc{a1, title={fine}}\n@misc{broken, title={unclosed\n@misc{a2, title={x}}\n",
     "cannot parse BibTeX entry 'broken'"),
    ("@misc{a1, title={T}, url={ftp://example.org/x}}\n", "entry 'a1': URL"),
])
def test_broken_bibtex_names_the_file_and_the_entry(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_library(write_bib(tmp_path, text))
    assert "library.bib" in str(caught.value) and problem in str(caught.value)


# --- references -----------------------------------------------------------------------------------

def test_journal_article_reference() -> None:
    assert reference_text(ABRAMS) == (
        "Abrams, D., Lalot, F., & Hogg, M. A. (2021). Intergroup and intragroup dimensions of COVID-19: "
        "A social identity perspective on social fragmentation and unity. Group Processes & Intergroup "
        "Relations, 24(2), 201\u2013209. https://doi.org/10.1177/1368430220983440")
    doi = "https://doi.org/10.1177/1368430220983440"
    assert reference_html(ABRAMS) == (
        f'Abrams, D., Lalot, F., &amp; Hogg, M. A. (2021). <a href="{doi}">Intergroup and intragroup '
        "dimensions of COVID-19: A social identity perspective on social fragmentation and unity</a>. "
        "<em>Group Processes &amp; Intergroup Relations</em>, 24(2), 201\u2013209. "
        f'<a href="{doi}">{doi}</a>')


def test_report_reference() -> None:
    assert reference_text(UNWIN) == (
        "Unwin, J. (2018). Kindness, emotions and human relationships: The blind spot in public policy. "
        "Carnegie UK Trust. https://www.carnegieuktrust.org.uk/")
    assert reference_html(UNWIN) == (
        'Unwin, J. (2018). <em><a href="https://www.carnegieuktrust.org.uk/">Kindness, emotions and human '
        "relationships: The blind spot in public policy</a></em>. Carnegie UK Trust. "
        '<a href="https://www.carnegieuktrust.org.uk/">https://www.carnegieuktrust.org.uk/</a>')
    # An organisation that is both author and publisher is named once (APA).
    assert reference_text(BELONG) == "Belong. (2021). Beyond Us and Them. https://www.belongnetwork.co.uk/"
    partners = Reference(key="p", type="report", title="T", authors=("Belong", "University of Kent"), year=2021)
    assert reference_text(partners) == "Belong & University of Kent. (2021). T."


def test_chapter_undated_and_unauthored_references() -> None:
    chapter = Reference(key="c", type="chapter", title="The arts and intergroup relations",
                        authors=(("Broadwood", "Jo"),), container="If you could do one thing",
                        publisher="The British Academy", pages="50-58")
    assert reference_text(chapter) == ("Broadwood, J. (n.d.). The arts and intergroup relations. "
                                       "In If you could do one thing (pp. 50\u201358). The British Academy.")
    anonymous = Reference(key="d", type="report", title="Arts and kindness?", year=2019)
    assert reference_text(anonymous) == "Arts and kindness? (2019)."
    assert citation_label([anonymous]) == "(Arts and kindness?, 2019)"


def test_html_escapes_every_field_and_links_only_http() -> None:
    ref = Reference(key="x", type="article-journal", title='Fish & <Chips> "quoted" it\'s',
                    authors=("O'Brien & <Sons>",), year=2020, container="A & B", url="javascript:alert(1)")
    assert reference_link(ref) == ""
    out = reference_html(ref)
    assert "href" not in out and "<Chips>" not in out and "<Sons>" not in out
    assert "Fish &amp; &lt;Chips&gt; &quot;quoted&quot; it&#x27;s" in out
    element = ET.fromstring(f"<li>{out}</li>")  # well-formed
    assert "".join(element.itertext()) == reference_text(ref)


def test_given_names_become_initials() -> None:
    ref = Reference(key="x", type="book", title="T", year=2000,
                    authors=(("Sartre", "Jean-Paul"), ("Hogg", "M.A."), ("Plato", "")))
    assert reference_text(ref).startswith("Sartre, J.-P., Hogg, M. A., & Plato. (2000). T.")


# --- in-text labels -------------------------------------------------------------------------------

def test_in_text_labels_for_one_two_and_more_authors() -> None:
    one = Reference(key="u", type="report", title="T", authors=(("Unwin", "Julia"),), year=2018)
    two = Reference(key="a", type="book", title="T", authors=(("Abrams", "D."), ("Hogg", "M. A.")), year=2021)
    three = Reference(key="l", type="book", title="T", year=2022,
                      authors=(("Lalot", "F."), ("Abrams", "D."), ("Broadwood", "J.")))
    assert citation_label([one]) == "(Unwin, 2018)"
    assert citation_label([two]) == "(Abrams & Hogg, 2021)"
    assert citation_label([three]) == "(Lalot et al., 2022)"
    assert citation_label([ABRAMS]) == "(Abrams et al., 2021)"
    assert citation_label([BELONG]) == "(Belong, 2021)"
    assert citation_label([two, Citation(three, "p. 4")]) == "(Abrams & Hogg, 2021; Lalot et al., 2022, p. 4)"
    assert author_date(Reference(key="n", type="book", title="T", authors=("People United",))) == \
        "People United, n.d."


def test_same_authors_and_year_get_suffixes_in_title_order() -> None:
    later = Reference(key="b2", type="report", title="Community, connection and cohesion",
                      authors=("Belong",), year=2021)
    earlier = Reference(key="b1", type="report", title="Beyond Us and Them", authors=("Belong",), year=2021)
    other = Reference(key="b3", type="report", title="Other", authors=("Belong",), year=2020)
    library = Library([later, earlier, other])
    assert citation_label([library["b1"], library["b2"], library["b3"]]) == \
        "(Belong, 2021a; Belong, 2021b; Belong, 2020)"
    assert reference_text(library["b2"]).startswith("Belong. (2021b). Community")
    with pytest.raises(ConfigError, match="'b1' appears twice"):
        Library([earlier, earlier])


# --- the show's own library -----------------------------------------------------------------------

def test_committed_research_library() -> None:
    path = REPO / "research.json"
    items = json.loads(path.read_text(encoding="utf-8"))
    keys = [item["id"] for item in items]
    assert len(keys) >= 8 and len(set(keys)) == len(keys)
    assert all(item.get("note") for item in items)

    library = load_library(path)
    assert len(library) == len(items)
    for ref in library.values():
        assert ref.key == ref.key.lower()
        assert not ref.url or ref.url.startswith("https://")

    abrams = library["abrams2021"]
    assert abrams.doi == "10.1177/1368430220983440"
    assert citation_label([abrams]) == "(Abrams et al., 2021)"
    assert '<a href="https://doi.org/10.1177/1368430220983440">Intergroup' in reference_html(abrams)
    assert reference_text(abrams).startswith("Abrams, D., Lalot, F., & Hogg, M. A. (2021).")
