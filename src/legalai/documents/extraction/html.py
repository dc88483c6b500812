"""HTML to readable text with lxml: blocks become lines, tables become rows, one page.

The parser never touches the network (``no_network``), keeps libxml2's depth and size limits
(``huge_tree`` off) and recovers from malformed markup.  The tree is walked iteratively, so even
the deepest nesting libxml2 accepts cannot exhaust Python's stack.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.etree
import lxml.html

from legalai.documents.extraction.protocol import ExtractedPage, ExtractionResult
from legalai.documents.extraction.text import decode_text

__all__ = ["decode_html", "extract_html", "html_to_text"]

# Content that is never visible text.
_SKIPPED = frozenset(
    {"head", "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math"}
)
# Elements that read as separate paragraphs: surrounded by a blank line.
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl", "hr"}
    | {"figure", "address", "fieldset", "form", "section", "article"}
)
# Other block elements: start on a new line.
_BLOCKS = frozenset(
    {"div", "li", "dt", "dd", "tr", "caption", "header", "footer", "nav", "aside", "main", "body"}
    | {"figcaption", "legend", "details", "summary", "center", "title", "option", "tbody", "thead"}
)
_CELLS = frozenset({"td", "th"})

_WHITESPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# WHATWG: these labels mean windows-1252 in HTML; "utf-16" without a BOM means UTF-8.
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}


def extract_html(path: Path) -> ExtractionResult:
    text, title = html_to_text(decode_html(path.read_bytes()))
    metadata: dict[str, str] = {"title": title} if title else {}
    return ExtractionResult(kind="html", pages=[ExtractedPage(number=1, text=text)], metadata=metadata)


def decode_html(data: bytes) -> str:
    """Decode with the BOM, else a ``<meta charset>`` in the first 4 KB, else UTF-8/cp1252."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = _declared_charset(data[:4096])
        if declared is not None:
            return data.decode(declared, errors="replace")
    return decode_text(data)[0]


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    if match is None:
        return None
    label = match.group(1).decode("ascii").lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, errors="replace")  # refuses non-text codecs such as "zlib" or "base64"
    except LookupError:
        return None
    return None if name.startswith("utf-16") or name.startswith("utf-32") else name


def html_to_text(markup: str) -> tuple[str, str | None]:
    """Return ``(text, title)`` for an HTML string."""
    root = _parse(markup)
    if root is None:
        return "", None
    title_el = root.find(".//title")
    title = _collapse(title_el.text_content()).strip() if title_el is not None else ""
    body = root.find("body")
    text = _render(body if body is not None else root)
    return _tidy(text), title or None


def _parse(markup: str) -> lxml.html.HtmlElement | None:
    parser = lxml.html.HTMLParser(
        encoding="utf-8",
        recover=True,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        # Bytes plus an explicit encoding: a str containing an XML encoding declaration is refused.
        root = lxml.html.document_fromstring(markup.encode("utf-8", errors="replace"), parser=parser)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError):
        return None  # empty or hopeless input: there is no text to recover
    return root


class _Output:
    """Text sink where adjacent block boundaries merge: ``</tr><tr>`` is one line break, not two."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pending_breaks = 0

    def text(self, value: str) -> None:
        if not value:
            return
        if self._pending_breaks:
            if not value.strip():
                return  # indentation between blocks
            self._parts.append("\n" * self._pending_breaks)
            self._pending_breaks = 0
        self._parts.append(value)

    def hard_break(self) -> None:
        """``<br>``: always a new line, so ``<br><br>`` leaves a blank one."""
        self._parts.append("\n" * self._pending_breaks + "\n")
        self._pending_breaks = 0

    def line_break(self, count: int = 1) -> None:
        self._pending_breaks = max(self._pending_breaks, count)

    def result(self) -> str:
        return "".join(self._parts)


def _render(root: lxml.html.HtmlElement) -> str:
    out = _Output()
    pre_depth = 0  # whitespace inside <pre> is meaningful
    for event, element in _walk(root):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            pre_depth += tag == "pre"
            _open(out, element, tag)
            if element.text:
                out.text(element.text if pre_depth else _collapse(element.text))
            continue
        _close(out, tag)
        pre_depth -= tag == "pre"
        if element.tail and element is not root:
            out.text(element.tail if pre_depth else _collapse(element.tail))
    return out.result()


def _walk(root: lxml.html.HtmlElement) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    """Depth-first start/end events with an explicit stack; skipped subtrees only get "end"."""
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [(root, False)]
    while stack:
        element, visited = stack.pop()
        if visited:
            yield "end", element
            continue
        stack.append((element, True))
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag in _SKIPPED or not isinstance(element.tag, str):
            continue  # comments/PIs that slipped through, hidden content: only the tail counts
        yield "start", element
        stack.extend((child, False) for child in reversed(element))


def _open(out: _Output, element: lxml.html.HtmlElement, tag: str) -> None:
    if tag in _PARAGRAPHS:
        out.line_break(2)
    elif tag in _BLOCKS:
        out.line_break()
    elif tag == "br":
        out.hard_break()
    elif tag in _CELLS and _has_previous_cell(element):
        out.text(" | ")


def _close(out: _Output, tag: str) -> None:
    if tag in _PARAGRAPHS:
        out.line_break(2)
    elif tag in _BLOCKS:
        out.line_break()


def _has_previous_cell(element: lxml.html.HtmlElement) -> bool:
    sibling = element.getprevious()
    while sibling is not None:
        if isinstance(sibling.tag, str) and sibling.tag.lower() in _CELLS:
            return True
        sibling = sibling.getprevious()
    return False


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text)


def _tidy(text: str) -> str:
    lines = [line.strip(" \t") for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
