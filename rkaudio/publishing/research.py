"""The show's research library and how its references read: APA-like, in plain text and in HTML.

The library is what Zotero exports: CSL-JSON (``.json``) or BibTeX (``.bib``). Show notes cite it
by key (``[@abrams2021]``); ``shownotes.py`` turns those citations into in-text labels such as
"(Abrams et al., 2021)" and lists the references below the notes.

Keys are case-sensitive, as in pandoc and Zotero. Two references whose in-text labels would read
the same (same authors, same year) get year suffixes, "2021a" and "2021b", in order of title,
across the whole library, so a label means the same reference in every episode.

Every link a reference produces is http(s): DOIs become ``https://doi.org/...`` and a URL with any
other scheme is refused when the library is read.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..core.errors import ConfigError

#: A person as (family, given), or an organisation's name as one string.
Name = tuple[str, str] | str

#: CSL types whose title is part of a container (a journal, a magazine, a web site).
_ARTICLE_TYPES = {"article", "article-journal", "article-magazine", "article-newspaper",
                  "post", "post-weblog", "review", "review-book"}
#: CSL types published inside an edited book or proceedings: "In *Container* (pp. 1–9)".
_CHAPTER_TYPES = {"chapter", "paper-conference", "entry", "entry-dictionary", "entry-encyclopedia"}

_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_HTTP = re.compile(r"https?://\S+", re.IGNORECASE)
_YEAR = re.compile(r"\b(\d{4})\b")


@dataclass(frozen=True)
class Reference:
    """One work in the research library, as the show notes cite and list it."""

    key: str
    #: The CSL type: "article-journal", "report", "book", "chapter", ...
    type: str
    title: str
    authors: tuple[Name, ...] = ()
    year: int | None = None
    #: The journal, magazine or book the work appeared in.
    container: str = ""
    publisher: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    #: The bare DOI, "10.1177/1368430220983440", without a resolver prefix.
    doi: str = ""
    url: str = ""
    #: "a", "b", ... when another reference has the same authors and year (set by `Library`).
    year_suffix: str = ""


@dataclass(frozen=True)
class Citation:
    """A reference as cited at one place, with an optional locator such as "p. 4"."""

    reference: Reference
    locator: str = ""


class Library(Mapping[str, Reference]):
    """The research library: key -> `Reference`, in the order of the file.

    ``path`` is the file it was read from, named in error messages about citations.
    """

    def __init__(self, references: Iterable[Reference] = (), *, path: Path | None = None) -> None:
        self.path = path
        refs: dict[str, Reference] = {}
        for ref in references:
            if ref.key in refs:
                raise ConfigError(f"research library item {ref.key!r} appears twice; keys must be unique",
                                  path)
            refs[ref.key] = ref
        self._refs = _disambiguate(refs)

    @property
    def name(self) -> str:
        """How messages name the library: its file name."""
        return self.path.name if self.path is not None else "the research library"

    def __getitem__(self, key: str) -> Reference:
        return self._refs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"Library({len(self)} references from {self.name})"


def _disambiguate(refs: dict[str, Reference]) -> dict[str, Reference]:
    """Year suffixes for references whose in-text labels would otherwise be the same."""
    groups: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for key, ref in refs.items():
        groups[(_intext_authors(ref), ref.year)].append(key)
    out = dict(refs)
    for keys in groups.values():
        if len(keys) < 2:
            continue
        ordered = sorted(keys, key=lambda k: (refs[k].title.casefold(), k))
        for n, key in enumerate(ordered):
            out[key] = replace(refs[key], year_suffix=_suffix(n))
    return out


def _suffix(n: int) -> str:
    """a, b, ... z, aa, ab, ... (APA's suffixes for the same author and year)."""
    letters = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


# --- reading the library --------------------------------------------------------------------------

def load_library(path: Path) -> Library:
    """Read a CSL-JSON (``.json``) or BibTeX (``.bib``) research library."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".bib", ".bibtex"):
        raise ConfigError("the research library must be CSL-JSON (.json) or BibTeX (.bib), "
                          "as Zotero exports them", path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("the research library does not exist; export it from Zotero or fix "
                          "research in show.toml", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the research library: {exc}", path) from exc
    refs = _read_csl_json(text, path) if suffix == ".json" else _read_bibtex(text, path)
    return Library(refs, path=path)


def _read_csl_json(text: str, path: Path) -> list[Reference]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                          path) from exc
    if not isinstance(items, list):
        raise ConfigError("CSL-JSON must be a list of items, as Zotero exports it", path)
    refs: list[Reference] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        ref = _csl_reference(item, index, path)
        if ref.key in seen:
            raise ConfigError(f"item {ref.key!r} appears twice; keys must be unique", path)
        seen.add(ref.key)
        refs.append(ref)
    return refs


def _csl_reference(item: Any, index: int, path: Path) -> Reference:
    """One CSL-JSON item; ``citation-key`` (Zotero 7, Better BibTeX) wins over ``id``."""
    if not isinstance(item, dict):
        raise ConfigError(f"item {index} is not an object", path)
    raw_key = item.get("citation-key") or item.get("id")
    if isinstance(raw_key, int) and not isinstance(raw_key, bool):
        raw_key = str(raw_key)
    if not isinstance(raw_key, str) or not raw_key.strip():
        raise ConfigError(f"item {index} has no id", path)
    key = raw_key.strip()
    where = f"item {key!r}"

    def field(name: str) -> str:
        value = item.get(name, "")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: {name} must be text", path)
        return " ".join(str(value).split())

    title = field("title")
    if not title:
        raise ConfigError(f"{where} has no title", path)
    return Reference(
        key=key, type=field("type") or "document", title=title,
        authors=_csl_names(item.get("author", []), where, path), year=_csl_year(item.get("issued"), where, path),
        container=field("container-title"), publisher=field("publisher"), volume=field("volume"),
        issue=field("issue"), pages=field("page"), doi=_doi(field("DOI"), where, path),
        url=_url(field("URL"), where, path))


def _csl_names(names: Any, where: str, path: Path) -> tuple[Name, ...]:
    if not isinstance(names, list):
        raise ConfigError(f"{where}: author must be a list of names", path)
    out: list[Name] = []
    for name in names:
        if not isinstance(name, dict):
            raise ConfigError(f"{where}: each author must be an object with family/given or literal", path)
        parts = {k: " ".join(str(v).split()) for k, v in name.items() if isinstance(v, (str, int))}
        if parts.get("literal"):
            out.append(parts["literal"])
            continue
        family = " ".join(p for p in (parts.get("non-dropping-particle", ""), parts.get("family", "")) if p)
        given = " ".join(p for p in (parts.get("given", ""), parts.get("dropping-particle", "")) if p)
        if not family and not given:
            raise ConfigError(f"{where}: an author has no family, given or literal name", path)
        out.append((family, given) if family else given)
    return tuple(out)


def _csl_year(issued: Any, where: str, path: Path) -> int | None:
    """The year of a CSL date: ``{"date-parts": [[2021, 2]]}``, or a ``raw``/``literal`` string."""
    if issued is None or issued == "":
        return None
    if not isinstance(issued, dict):
        raise ConfigError(f"{where}: issued must be a CSL date such as {{\"date-parts\": [[2021]]}}", path)
    parts = issued.get("date-parts")
    if parts:
        try:
            return int(parts[0][0])
        except (TypeError, ValueError, IndexError, KeyError):
            raise ConfigError(f"{where}: issued.date-parts must start with a year, e.g. [[2021]]",
                              path) from None
    for name in ("raw", "literal"):
        match = _YEAR.search(str(issued.get(name, "")))
        if match:
            return int(match.group(1))
    return None


def _doi(value: str, where: str, path: Path) -> str:
    doi = _DOI_PREFIX.sub("", value.strip())
    if doi and not _DOI.fullmatch(doi):
        raise ConfigError(f"{where}: {value!r} is not a DOI (they look like 10.1177/1368430220983440)", path)
    return doi


def _url(value: str, where: str, path: Path) -> str:
    url = value.strip()
    if url and not _HTTP.fullmatch(url):
        raise ConfigError(f"{where}: URL {value!r} must start with https:// or http://", path)
    return url


# --- BibTeX ---------------------------------------------------------------------------------------

#: BibTeX entry types -> CSL types.
_BIBTEX_TYPES = {
    "article": "article-journal", "book": "book", "booklet": "book", "inbook": "chapter",
    "incollection": "chapter", "inproceedings": "paper-conference", "conference": "paper-conference",
    "proceedings": "book", "techreport": "report", "report": "report", "phdthesis": "thesis",
    "mastersthesis": "thesis", "thesis": "thesis", "manual": "report", "online": "webpage",
    "www": "webpage", "electronic": "webpage", "unpublished": "manuscript", "misc": "document",
}
#: A BibTeX entry the parser could not read lands among its comments, still starting "@type{".
_FAILED_ENTRY = re.compile(r"^\s*@\s*(\w+)\s*[{(]\s*([^,\s]*)")
#: Formatting commands whose argument is kept as plain text: \emph{x} -> x.
_FORMATTING = re.compile(r"\\(?!(?:ss|ae|AE|oe|OE|aa|AA)\b)[A-Za-z]{2,}\*?\s*(?=\{)")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _read_bibtex(text: str, path: Path) -> list[Reference]:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser

    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False, interpolate_strings=True)
    try:
        database = bibtexparser.loads(text, parser=parser)
    except Exception as exc:  # the parser raises pyparsing and assorted builtin errors
        raise ConfigError(f"not valid BibTeX: {exc}", path) from exc
    for comment in database.comments:
        failed = _FAILED_ENTRY.match(comment)
        if failed and failed.group(1).lower() not in ("comment", "preamble", "string"):
            named = f"entry {failed.group(2)!r}" if failed.group(2) else "an entry without a key"
            raise ConfigError(f"cannot parse BibTeX {named} (check its braces, quotes and commas)", path)
    refs: list[Reference] = []
    seen: set[str] = set()
    for entry in database.entries:
        ref = _bibtex_reference(entry, path)
        if ref.key in seen:
            raise ConfigError(f"entry {ref.key!r} appears twice; keys must be unique", path)
        seen.add(ref.key)
        refs.append(ref)
    return refs


def _bibtex_reference(entry: dict[str, str], path: Path) -> Reference:
    key = entry.get("ID", "").strip()
    if not key:
        raise ConfigError(f"a BibTeX {entry.get('ENTRYTYPE', '')} entry has no key", path)
    where = f"entry {key!r}"

    def field(*names: str) -> str:
        for name in names:
            if entry.get(name, "").strip():
                return _latex_text(entry[name])
        return ""

    title = field("title")
    if not title:
        raise ConfigError(f"{where} has no title", path)
    year_match = _YEAR.search(entry.get("year", "") or entry.get("date", ""))
    return Reference(
        key=key, type=_BIBTEX_TYPES.get(entry.get("ENTRYTYPE", "").lower(), "document"), title=title,
        authors=tuple(_bibtex_name(n) for n in _split_names(entry.get("author", ""))),
        year=int(year_match.group(1)) if year_match else None,
        container=field("journal", "journaltitle", "booktitle"),
        publisher=field("publisher", "institution", "organization", "school"),
        volume=field("volume"), issue=field("number", "issue"), pages=field("pages"),
        doi=_doi(_verbatim(entry.get("doi", "")), where, path),
        url=_url(_verbatim(entry.get("url", "")), where, path))


def _verbatim(value: str) -> str:
    """A DOI or URL: no LaTeX conversion, only the escapes Zotero may add (\\_, \\%, \\&, \\#)."""
    return re.sub(r"\\([_%&#~$])", r"\1", value.strip().strip("{}")).strip()


def _latex_text(value: str) -> str:
    """BibTeX field text as plain Unicode: accents, \\&, braces, -- and --- handled."""
    from bibtexparser.latexenc import latex_to_unicode

    text = _FORMATTING.sub("", value)
    text = text.replace("---", "\u2014").replace("--", "\u2013")
    text = latex_to_unicode(text)
    text = re.sub(r"(?<!\\)~", " ", text).replace("\\~", "~")
    text = re.sub(r"\\([&%$#_{}])", r"\1", text)
    return " ".join(text.split())


def _split_top(text: str, separator: re.Pattern[str]) -> list[str]:
    """``text`` split where ``separator`` matches outside braces."""
    parts: list[str] = []
    depth = start = i = 0
    while i < len(text):
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            match = separator.match(text, i)
            if match and match.end() > i:
                parts.append(text[start:i])
                start = i = match.end()
                continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _split_names(value: str) -> list[str]:
    return [n for n in _split_top(" ".join(value.split()), _AND) if n.lower() != "others"]


def _bibtex_name(name: str) -> Name:
    """A BibTeX name: ``{Organisation}``, ``Family, Given``, ``von Family, Jr, Given`` or ``Given Family``."""
    if name.startswith("{") and name.endswith("}") and _split_top(name, re.compile(r"\s+")) == [name]:
        return _latex_text(name[1:-1])
    parts = _split_top(name, re.compile(r"\s*,\s*"))
    if len(parts) >= 2:
        family, given = parts[0], parts[-1]
    else:
        words = _split_top(name, re.compile(r"\s+"))
        # BibTeX's rule: the "von" part starts at the first lower-case word before the last word.
        von = next((i for i, w in enumerate(words[:-1]) if w[:1].islower()), None)
        cut = von if von is not None else len(words) - 1
        family, given = " ".join(words[cut:]), " ".join(words[:cut])
    family, given = _latex_text(family), _latex_text(given)
    return (family, given) if family else given


# --- how references read --------------------------------------------------------------------------

def reference_link(ref: Reference) -> str:
    """Where the reference can be read: its DOI at doi.org, else its URL, else ""; always http(s)."""
    if ref.doi:
        return "https://doi.org/" + quote(ref.doi, safe="/:;()._-")
    if _HTTP.fullmatch(ref.url):
        return ref.url
    return ""


def year_label(ref: Reference) -> str:
    """"2021", "2021a", or "n.d." (no date) as APA writes it."""
    if ref.year is None:
        return "n.d." + (f"-{ref.year_suffix}" if ref.year_suffix else "")
    return f"{ref.year}{ref.year_suffix}"


def _family(name: Name) -> str:
    return name if isinstance(name, str) else (name[0] or name[1])


def _intext_authors(ref: Reference) -> str:
    """The author part of an in-text label; the main title when there are no authors (APA)."""
    names = [_family(n) for n in ref.authors]
    if not names:
        return ref.title.split(": ")[0]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} & {names[1]}"
    return f"{names[0]} et al."


def author_date(ref: Reference) -> str:
    """The in-text citation of one reference without parentheses: "Abrams et al., 2021"."""
    return f"{_intext_authors(ref)}, {year_label(ref)}"


def citation_label(cites: Sequence[Reference | Citation]) -> str:
    """The in-text citation of one or more references: "(Abrams & Hogg, 2021; Lalot et al., 2022, p. 4)"."""
    parts = []
    for cite in cites:
        citation = cite if isinstance(cite, Citation) else Citation(cite)
        locator = f", {citation.locator}" if citation.locator else ""
        parts.append(author_date(citation.reference) + locator)
    return "(" + "; ".join(parts) + ")"


def _initials(given: str) -> str:
    """"Michael A." -> "M. A."; "Jean-Paul" -> "J.-P."."""
    words = [w for w in re.split(r"[\s.]+", given) if w]
    return " ".join("-".join(f"{p[0]}." for p in w.split("-") if p) for w in words)


def _reference_name(name: Name) -> str:
    if isinstance(name, str):
        return name
    family, given = name
    initials = _initials(given)
    return f"{family}, {initials}" if family and initials else family or initials


def _reference_authors(names: tuple[Name, ...]) -> str:
    """APA's author list: "A, B, & C"; the first 19, an ellipsis and the last when there are more than 20."""
    written = [_reference_name(n) for n in names]
    if len(written) == 1:
        return written[0]
    if len(written) == 2 and isinstance(names[0], str):
        return f"{written[0]} & {written[1]}"  # the comma before & only follows an inverted name
    if len(written) > 20:
        return ", ".join(written[:19]) + ", . . . " + written[-1]
    return ", ".join(written[:-1]) + ", & " + written[-1]


@dataclass(frozen=True)
class _Part:
    """A run of a reference: plain, italic, or a link."""

    text: str
    italic: bool = False
    href: str = ""


def _stop(text: str) -> str:
    """The full stop after an element, unless it already ends in one (or in ? or !)."""
    return "" if text.rstrip().endswith((".", "?", "!")) else "."


def _parts(ref: Reference) -> list[_Part]:
    """The reference in APA order: author, date, title, source, DOI or URL."""
    link = reference_link(ref)
    in_container = bool(ref.container) and (ref.type in _ARTICLE_TYPES or ref.type in _CHAPTER_TYPES)
    # APA italicises a standalone work's title, but not a [description] standing in for one.
    described = ref.title.startswith("[") and ref.title.endswith("]")
    title = _Part(ref.title, italic=not in_container and not described, href=link)
    date = _Part(f"({year_label(ref)}).")
    parts: list[_Part] = []
    if ref.authors:
        authors = _reference_authors(ref.authors)
        parts += [_Part(authors + _stop(authors) + " "), date, _Part(" "), title, _Part(_stop(ref.title))]
    else:
        parts += [title, _Part(_stop(ref.title) + " "), date]
    if in_container and ref.type in _CHAPTER_TYPES:
        pages = f" (pp. {_dashes(ref.pages)})" if ref.pages else ""
        parts += [_Part(" In "), _Part(ref.container, italic=True), _Part(pages + ".")]
    elif in_container:
        details = ""
        if ref.volume:
            details += f", {ref.volume}" + (f"({ref.issue})" if ref.issue else "")
        if ref.pages:
            details += f", {_dashes(ref.pages)}"
        parts += [_Part(" "), _Part(ref.container, italic=True), _Part(details + ".")]
    organisations = {n for n in ref.authors if isinstance(n, str)}
    if ref.publisher and ref.publisher not in organisations and not (in_container and ref.type in _ARTICLE_TYPES):
        parts.append(_Part(f" {ref.publisher}{_stop(ref.publisher)}"))
    if link:
        parts += [_Part(" "), _Part(link, href=link)]
    return parts


def _dashes(pages: str) -> str:
    """Page ranges with an en dash: "201-209" -> "201–209"."""
    return re.sub(r"\s*(?:-+|\u2013)\s*", "\u2013", pages.strip())


def reference_text(ref: Reference) -> str:
    """The reference as plain text (RSS ``description``, ID3 comments)."""
    return "".join(p.text for p in _parts(ref))


def reference_html(ref: Reference) -> str:
    """The reference as inline HTML: the title links to the DOI or URL; every field is escaped."""
    out = []
    for part in _parts(ref):
        text = html.escape(part.text, quote=True)
        if part.href:
            text = f'<a href="{html.escape(part.href, quote=True)}">{text}</a>'
        if part.italic:
            text = f"<em>{text}</em>"
        out.append(text)
    return "".join(out)
