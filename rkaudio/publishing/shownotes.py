"""An episode's show notes: Markdown with research citations, made into feed HTML and plain text.

The HTML goes into the feed's ``content:encoded``, the text into ``description`` and ID3 comments.

Citations use pandoc's bracket syntax: ``[@abrams2021]``, ``[@abrams2021; @lalot2022, p. 4]``
(a locator follows a comma). Each becomes an APA in-text label, "(Abrams et al., 2021)", whose
author-and-year part links straight to the reference's DOI (https://doi.org/...) or URL, with the
full reference as the link's title. Straight to the source rather than to an anchor in the
reference list, because podcast apps show ``content:encoded`` in views that drop ``id``
attributes and fragment links, so an anchor would often lead nowhere. A reference with neither
DOI nor URL gives an unlinked label. Below the notes comes a "References" heading and a list of
every cited reference, in order of first citation. Bare ``@name`` (a social-media handle) and
``[@name](https://...)`` (a link) are left alone, as are citations inside code.

Raw HTML in the Markdown is allowed through markdown-it and then everything is sanitised with nh3
against a strict allowlist (`ALLOWED_TAGS`, links only http/https/mailto with
``rel="noopener noreferrer"``): scripts, event handlers, styles, iframes and other URL schemes
never reach the feed. The HTML is also well-formed XML (``<br />``, ``&#160;``), so feed tools
that parse ``content:encoded`` as XHTML accept it.

The plain text has no markup at all, and its angle brackets become ‹ and ›: several podcast apps
show ``description`` as HTML, and a title such as "Us & <them>" must not turn into a tag there.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from ..core.errors import MetadataError
from ..show.settings import Show
from .episode import Episode
from .research import (
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

#: The only elements the feed HTML may contain.
ALLOWED_TAGS = frozenset({"p", "br", "a", "ul", "ol", "li", "em", "strong", "code", "pre",
                          "blockquote", "h2", "h3", "h4", "hr"})
#: Elements removed together with everything inside them (not just unwrapped).
_DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript",
                         "textarea", "select", "svg", "math", "title", "frameset", "noembed"}
_SAFE_HREF = re.compile(r"(?:https?://|mailto:)\S", re.IGNORECASE)
#: Angle brackets in the plain text, as look-alikes no HTML parser reads as a tag.
_INERT_BRACKETS = str.maketrans({"<": "\u2039", ">": "\u203a"})
REFERENCES_HEADING = "References"

#: A citation key as pandoc reads it: starts with a letter, digit or _, internal punctuation allowed.
_KEY = r"\w(?:[\w:.#$%&+?~/-]*\w)?"
_CITATION_ITEM = re.compile(rf"\s*@({_KEY})\s*(?:,\s*([^;]*?))?\s*")
_BRACKETS = re.compile(r"\[([^\[\]\n]*(?:\n[^\[\]\n]*)?)\]")


@dataclass(frozen=True)
class Notes:
    """Rendered show notes: sanitised HTML, plain text (no markup, no angle brackets), and the
    references cited, in order of first citation."""

    html: str
    text: str
    cited: tuple[Reference, ...]
    #: The sanitised HTML of the notes alone, without the reference list (the site lists the
    #: references itself, each linked to the research page).
    body_html: str = ""


def render_notes(markdown: str, library: Library | None, *, episode: str) -> Notes:
    """Render an episode's Markdown show notes; a citation missing from the library is an error."""
    tokens = _MARKDOWN.parse(markdown)
    cited = _resolve_citations(tokens, library, episode)
    _fit_headings(tokens)
    body_html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {"link_citations": True})
    body_text = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {"link_citations": False})
    refs_html = refs_text = ""
    if cited:
        items = "".join(f"<li>{reference_html(ref)}</li>\n" for ref in cited)
        refs_html = f"<h2>{REFERENCES_HEADING}</h2>\n<ul>\n{items}</ul>\n"
        refs_text = REFERENCES_HEADING + "\n\n" + "\n\n".join(reference_text(ref) for ref in cited)
    text = "\n\n".join(t for t in (html_to_text(sanitise_html(body_text)), refs_text) if t)
    text = text.translate(_INERT_BRACKETS)
    return Notes(html=sanitise_html(body_html + refs_html).strip(), text=text, cited=cited,
                 body_html=sanitise_html(body_html).strip())


# --- Markdown with citations ----------------------------------------------------------------------

def show_library(show: Show) -> Library | None:
    """The show's research library (``show.research``), or None when it has none."""
    return load_library(show.research) if show.research is not None else None


def episode_notes(episode: Episode, library: Library | None) -> Notes:
    """The episode's show notes as HTML and text, with its research references.

    References listed in the metadata's ``research`` but not cited in the notes are cited in a
    closing "Further reading" line, so they join the reference list.
    """
    markdown = episode.notes
    uncited = [k for k in episode.research if f"@{k}" not in markdown]
    if uncited:
        markdown += "\n\nFurther reading: [" + "; ".join(f"@{k}" for k in uncited) + "]"
    return render_notes(markdown, library, episode=episode.slug)


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: ``[@key]``, ``[@k1; @k2, p. 4]`` -> a ``citation`` token."""
    if state.src[state.pos] != "[":
        return False
    match = _BRACKETS.match(state.src, state.pos, state.posMax)
    if not match:
        return False
    end = match.end()
    if end < state.posMax and state.src[end] in "([":
        return False  # [@handle](https://...) is a link, [@x][ref] a reference link
    items = []
    for item in match.group(1).split(";"):
        found = _CITATION_ITEM.fullmatch(item)
        if not found:
            return False
        items.append((found.group(1), found.group(2) or ""))
    if not silent:
        token = state.push("citation", "", 0)
        token.content = match.group(0)
        token.meta = {"items": items}
    state.pos = end
    return True


def _render_citation(self: Any, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    """A citation's in-text label; for the HTML each author-and-year links to the source."""
    cites: list[Citation] = tokens[idx].meta["cites"]
    if not env.get("link_citations"):
        return html.escape(citation_label(cites))
    parts = []
    for cite in cites:
        label = html.escape(author_date(cite.reference))
        link = reference_link(cite.reference)
        if link:
            label = (f'<a href="{html.escape(link)}" title="{html.escape(reference_text(cite.reference))}">'
                     f"{label}</a>")
        parts.append(label + (f", {html.escape(cite.locator)}" if cite.locator else ""))
    return "(" + "; ".join(parts) + ")"


def _render_image(self: Any, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    """Images are not allowed in the notes: an image becomes a link to it, named by its alt text."""
    token = tokens[idx]
    alt = html.escape(self.renderInlineAsText(token.children or [], options, env))
    src = str(token.attrGet("src") or "")
    if _SAFE_HREF.match(src):
        return f'<a href="{html.escape(src)}">{alt or html.escape(src)}</a>'
    return alt


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True})
    # Every link becomes a link, and the sanitiser drops an unsafe address: "[text](javascript:...)"
    # then reads as "text", not as the raw Markdown markdown-it would otherwise leave in the notes.
    md.validateLink = lambda url: True
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("image", _render_image)
    return md


_MARKDOWN = _markdown()


def _inline_tokens(tokens: list[Token]) -> list[Token]:
    return [child for token in tokens if token.type == "inline" for child in token.children or []]


def _resolve_citations(tokens: list[Token], library: Library | None, episode: str) -> tuple[Reference, ...]:
    """Look every cited key up in the library; the references in order of first citation."""
    citations = [t for t in _inline_tokens(tokens) if t.type == "citation"]
    keys = list(dict.fromkeys(key for t in citations for key, _ in t.meta["items"]))
    if not keys:
        return ()
    if library is None or any(k not in library for k in keys):
        raise MetadataError(_missing_message(episode, [k for k in keys if library is None or k not in library],
                                             library))
    for token in citations:
        token.meta["cites"] = [Citation(library[key], locator) for key, locator in token.meta["items"]]
    return tuple(library[key] for key in keys)


def _missing_message(episode: str, missing: list[str], library: Library | None) -> str:
    cited = " and ".join(f"[@{k}]" for k in missing)
    if library is None:
        return (f"episode {episode!r}: show notes cite {cited}, but the show has no research library "
                f"(set research = \"research.json\" under [show] in show.toml)")
    verb = "which is" if len(missing) == 1 else "which are"
    message = f"episode {episode!r}: show notes cite {cited}, {verb} not in the research library {library.name}"
    if len(missing) == 1:
        near = [k for k in library if k.casefold() == missing[0].casefold()]
        if near:
            message += f" (keys are case-sensitive: did you mean [@{near[0]}]?)"
    return message


def _fit_headings(tokens: list[Token]) -> None:
    """Headings into the h2-h4 the feed allows: # becomes h2 and ##### or ###### become h4."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(max(int(token.tag[1]), 2), 4)}"


# --- sanitising -----------------------------------------------------------------------------------

def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Only absolute http(s) and mailto links: no relative, javascript: or data: URLs."""
    if attribute == "href" and not _SAFE_HREF.match(value.strip()):
        return None
    return value


def sanitise_html(fragment: str) -> str:
    """The fragment reduced to `ALLOWED_TAGS`, safe links only, serialised as well-formed XHTML."""
    clean = nh3.clean(fragment, tags=set(ALLOWED_TAGS), clean_content_tags=_DROPPED_WITH_CONTENT,
                      attributes={"a": {"href", "title"}}, attribute_filter=_keep_attribute,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer",
                      strip_comments=True)
    # html5ever writes HTML: make the two void elements and the one named entity it uses XML-safe.
    return re.sub(r"<(br|hr)>", r"<\1 />", clean).replace("&nbsp;", "&#160;")


# --- plain text -----------------------------------------------------------------------------------

class _TextWriter(HTMLParser):
    """Sanitised notes HTML as plain text: blank lines between blocks, links as "text (url)"."""

    _BLOCKS = {"p", "h2", "h3", "h4", "pre", "blockquote", "ul", "ol", "li", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, int | None]] = []  # (text, which top-level list it is in)
        self.list_count = 0
        self.inline: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [next number] for <ol>, [] for <ul>
        self.marker = ""
        self.quote = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self._flush()
        if tag == "br":
            self.inline.append("\x00")
        elif tag == "pre":
            self.pre += 1
        elif tag == "blockquote":
            self.quote += 1
        elif tag in ("ul", "ol"):
            if not self.lists:
                self.list_count += 1
            start = dict(attrs).get("start") or "1"
            self.lists.append([int(start) if start.isdigit() else 1] if tag == "ol" else [])
        elif tag == "li" and self.lists:
            numbers = self.lists[-1]
            if numbers:
                self.marker = f"{numbers[0]}. "
                numbers[0] += 1
            else:
                self.marker = "- "
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.inline)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            href, start = self.links.pop()
            shown = " ".join("".join(self.inline[start:]).split())
            target = href[len("mailto:"):] if href.lower().startswith("mailto:") else href
            if target and shown not in (target, href):
                self.inline.append(f" ({target})")
            return
        if tag in self._BLOCKS:
            self._flush()
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)
        elif tag == "blockquote":
            self.quote = max(self.quote - 1, 0)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()

    def handle_data(self, data: str) -> None:
        self.inline.append(data)

    def _flush(self) -> None:
        raw = "".join(self.inline)
        self.inline = []
        if self.pre:
            lines = raw.strip("\n").split("\n")
        else:
            lines = [" ".join(line.split()) for line in raw.split("\x00")]
        if not any(line.strip() for line in lines):
            return
        depth = max(len(self.lists) - 1, 0)
        indent = "    " * self.quote + "  " * depth
        first = indent + self.marker
        rest = indent + " " * len(self.marker)
        self.marker = ""
        text = "\n".join((first if i == 0 else rest) + line for i, line in enumerate(lines))
        self.blocks.append((text, self.list_count if self.lists else None))

    def text(self) -> str:
        self._flush()
        out = ""
        previous: int | None = None
        for text, in_list in self.blocks:
            if out:
                out += "\n" if in_list is not None and in_list == previous else "\n\n"
            out += text
            previous = in_list
        return out


def html_to_text(fragment: str) -> str:
    """Plain text of sanitised notes HTML, with no markup left."""
    writer = _TextWriter()
    writer.feed(fragment)
    writer.close()
    return writer.text().strip()
