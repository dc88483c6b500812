"""DOCX text: body in document order, then headers/footers and foot/endnotes on the last page.

python-docx opens the package (ZIP + relationships + core properties); the WordprocessingML is
then walked directly, because the public API loses what matters here: page and section breaks
inside runs, footnote references, content controls and text boxes.

DOCX has no stored pagination.  Pages are cut at explicit page breaks (``<w:br w:type="page"/>``,
``pageBreakBefore``) and at section breaks that start a new page; otherwise it is one page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lxml.etree
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import Part
from docx.package import Package

from legalai.documents.extraction.ooxml import ExpansionLimits, check_package
from legalai.documents.extraction.protocol import CorruptDocument, ExtractedPage, ExtractionResult

__all__ = ["extract_docx"]

log = logging.getLogger(__name__)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"

# Main-part content types we read: .docx, .docm (macros are never run), .dotx, .dotm.
_WORD_MAIN_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
        "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    }
)

# Subtrees with no visible text: properties, deleted revisions, field instructions, the
# VML duplicate of a text box (mc:Fallback), the automatic number inside a footnote.
_SKIP = frozenset(
    {
        f"{_W}pPr",
        f"{_W}rPr",
        f"{_W}tblPr",
        f"{_W}trPr",
        f"{_W}tcPr",
        f"{_W}sectPr",
        f"{_W}del",
        f"{_W}moveFrom",
        f"{_W}instrText",
        f"{_W}delText",
        f"{_W}delInstrText",
        f"{_W}footnoteRef",
        f"{_W}endnoteRef",
        f"{_W}commentReference",
        f"{_W}annotationRef",
        f"{_MC}Fallback",
    }
)
# Wrappers whose children belong to the enclosing block level (content controls, custom XML).
_TRANSPARENT = frozenset({f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}smartTag"})
_NEW_PAGE_SECTIONS = frozenset({"nextPage", "evenPage", "oddPage"})
_SEPARATOR_NOTES = frozenset({"separator", "continuationSeparator", "continuationNotice"})
_FALSE = frozenset({"0", "false", "off"})

_XML_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}


def extract_docx(path: Path, limits: ExpansionLimits | None = None) -> ExtractionResult:
    # Before python-docx reads any part into memory: a zip bomb is refused with its reason here
    # instead of running into the sandbox's memory limit.
    check_package(path, limits or ExpansionLimits(), label="DOCX")
    package = _open_package(path)
    main = package.main_document_part
    body = _xml(main).find(f"{_W}body")
    if body is None:
        raise CorruptDocument("This DOCX file has no document body.")
    context = _Context(section_breaks=_section_breaks(body))
    writer = _PageWriter()
    _blocks(body, writer, context)
    pages = writer.pages()
    extras = _extras(main, body, context)
    if extras:
        pages[-1] = f"{pages[-1]}\n\n{extras}" if pages[-1] else extras
    return ExtractionResult(
        kind="docx",
        pages=[ExtractedPage(number=i, text=text) for i, text in enumerate(pages, start=1)],
        metadata=_metadata(package),
    )


def _open_package(path: Path) -> Package:
    package = Package.open(str(path))
    try:
        content_type = package.main_document_part.content_type
    except KeyError as exc:
        raise CorruptDocument("This DOCX file has no main document part.") from exc
    if content_type not in _WORD_MAIN_TYPES:
        raise CorruptDocument("This file is not a Word document although it is packaged like one.")
    return package


def _xml(part: Part) -> lxml.etree._Element:
    element = getattr(part, "element", None)  # XmlPart subclasses are already parsed
    if isinstance(element, lxml.etree._Element):
        return element
    parser = lxml.etree.XMLParser(**_XML_PARSER_OPTIONS)
    return lxml.etree.fromstring(part.blob, parser)


# --- writing -----------------------------------------------------------------------------------


class _PageWriter:
    """Collects lines into pages."""

    def __init__(self) -> None:
        self._pages: list[list[str]] = [[]]
        self._line: list[str] = []

    def text(self, value: str) -> None:
        self._line.append(value)

    def end_line(self) -> None:
        self._pages[-1].append("".join(self._line))
        self._line = []

    def end_paragraph(self) -> None:
        if self._line:
            self.end_line()

    def page_break(self) -> None:
        self.end_paragraph()
        self._pages.append([])

    def pages(self) -> list[str]:
        self.end_paragraph()
        pages = ["\n".join(lines).strip("\n") for lines in self._pages]
        while len(pages) > 1 and not pages[-1].strip():
            pages.pop()  # a break at the very end does not start a real page
        return pages

    def flat_text(self, separator: str) -> str:
        """Everything as one string (table cells, notes: page breaks do not apply there)."""
        return separator.join(line for page in self.pages() for line in page.split("\n") if line.strip())


@dataclass
class _Context:
    section_breaks: list[bool]
    section_index: int = 0
    footnotes: dict[str, int] = field(default_factory=dict)
    endnotes: dict[str, int] = field(default_factory=dict)

    def note_number(self, kind: str, note_id: str) -> int:
        numbers = self.footnotes if kind == "footnote" else self.endnotes
        return numbers.setdefault(note_id, len(numbers) + 1)


def _section_breaks(body: lxml.etree._Element) -> list[bool]:
    """For each section end, whether the next section starts on a new page.

    A section's ``w:type`` says how *that* section starts, so the break after section i is
    decided by section i+1.  Absent ``w:type`` means ``nextPage``.
    """
    sections = [s for s in body.iter(f"{_W}sectPr") if s.getparent() is not None]
    sections = [s for s in sections if s.getparent().tag in (f"{_W}pPr", f"{_W}body")]
    starts = []
    for sect in sections:
        start = sect.find(f"{_W}type")
        starts.append(start.get(f"{_W}val", "nextPage") if start is not None else "nextPage")
    return [start in _NEW_PAGE_SECTIONS for start in starts[1:]]


# --- body --------------------------------------------------------------------------------------


def _children(element: lxml.etree._Element, tag: str) -> Iterator[lxml.etree._Element]:
    """Children named ``tag``, looking through content-control/custom-XML wrappers."""
    for child in element:
        if child.tag in _TRANSPARENT:
            yield from _children(child, tag)
        elif child.tag == tag:
            yield child


def _blocks(container: lxml.etree._Element, writer: _PageWriter, context: _Context) -> None:
    for child in container:
        if child.tag == f"{_W}p":
            _paragraph(child, writer, context)
        elif child.tag == f"{_W}tbl":
            _table(child, writer, context)
        elif child.tag in _TRANSPARENT:
            _blocks(child, writer, context)


def _paragraph(paragraph: lxml.etree._Element, writer: _PageWriter, context: _Context) -> None:
    properties = paragraph.find(f"{_W}pPr")
    if properties is not None and _is_on(properties.find(f"{_W}pageBreakBefore")):
        writer.page_break()
    _inline(paragraph, writer, context)
    writer.end_line()  # empty paragraphs are kept: they are the document's blank lines
    if properties is not None and properties.find(f"{_W}sectPr") is not None:
        index = context.section_index
        context.section_index += 1
        if index < len(context.section_breaks) and context.section_breaks[index]:
            writer.page_break()


def _is_on(toggle: lxml.etree._Element | None) -> bool:
    return toggle is not None and toggle.get(f"{_W}val", "true").lower() not in _FALSE


def _inline(element: lxml.etree._Element, writer: _PageWriter, context: _Context) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == f"{_W}t":
            writer.text(child.text or "")
        elif tag in (f"{_W}tab", f"{_W}ptab"):
            writer.text("\t")
        elif tag == f"{_W}br":
            _line_break(child, writer)
        elif tag == f"{_W}cr":
            writer.end_line()
        elif tag == f"{_W}noBreakHyphen":
            writer.text("-")
        elif tag in (f"{_W}footnoteReference", f"{_W}endnoteReference"):
            writer.text(_note_mark(child, context))
        elif tag == f"{_W}p":  # paragraph inside a text box
            writer.end_paragraph()
            _inline(child, writer, context)
            writer.end_paragraph()
        elif tag == f"{_W}tbl":  # table inside a text box
            _table(child, writer, context)
        else:  # runs, hyperlinks, insertions, fields, drawings... hold text further down
            _inline(child, writer, context)


def _line_break(br: lxml.etree._Element, writer: _PageWriter) -> None:
    if br.get(f"{_W}type") == "page":
        writer.page_break()
    else:
        writer.end_line()


def _note_mark(reference: lxml.etree._Element, context: _Context) -> str:
    kind = "footnote" if reference.tag == f"{_W}footnoteReference" else "endnote"
    number = context.note_number(kind, reference.get(f"{_W}id", ""))
    return f"[{number}]" if kind == "footnote" else f"[{_roman(number)}]"


_ROMAN = (
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
)


def _roman(number: int) -> str:
    """Word numbers endnotes i, ii, iii... by default."""
    out = []
    for value, letters in _ROMAN:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def _table(table: lxml.etree._Element, writer: _PageWriter, context: _Context) -> None:
    writer.end_paragraph()
    for row in _children(table, f"{_W}tr"):
        cells = [_cell_text(cell, context) for cell in _children(row, f"{_W}tc")]
        writer.text(" | ".join(cells))
        writer.end_line()


def _cell_text(cell: lxml.etree._Element, context: _Context) -> str:
    inner = _PageWriter()
    _blocks(cell, inner, context)
    return inner.flat_text(" ")


# --- headers, footers, notes -------------------------------------------------------------------


def _extras(main: Part, body: lxml.etree._Element, context: _Context) -> str:
    sections = [
        ("Headers", _story_texts(main, body, f"{_W}headerReference", context)),
        ("Footers", _story_texts(main, body, f"{_W}footerReference", context)),
        ("Footnotes", _note_texts(main, RT.FOOTNOTES, "footnote", context)),
        ("Endnotes", _note_texts(main, RT.ENDNOTES, "endnote", context)),
    ]
    blocks = [f"--- {label} ---\n" + "\n".join(texts) for label, texts in sections if texts]
    return "\n\n".join(blocks)


def _story_texts(main: Part, body: lxml.etree._Element, reference_tag: str, context: _Context) -> list[str]:
    """Header or footer texts of all sections, in section order, each distinct text once."""
    texts: list[str] = []
    for reference in body.iter(reference_tag):
        part = main.related_parts.get(reference.get(f"{_R}id", ""))
        if part is None:
            continue
        writer = _PageWriter()
        _blocks(_xml(part), writer, context)
        text = writer.flat_text("\n")
        if text and text not in texts:
            texts.append(text)
    return texts


def _note_texts(main: Part, reltype: str, kind: str, context: _Context) -> list[str]:
    notes_part = next(
        (rel.target_part for rel in main.rels.values() if rel.reltype == reltype and not rel.is_external),
        None,
    )
    if notes_part is None:
        return []
    try:
        root = _xml(notes_part)
    except lxml.etree.XMLSyntaxError:
        log.warning("unreadable %s part in docx; notes skipped", kind)
        return []
    numbered: list[tuple[int, str]] = []
    for note in root.iter(f"{_W}{kind}"):
        if note.get(f"{_W}type") in _SEPARATOR_NOTES:
            continue
        writer = _PageWriter()
        _blocks(note, writer, context)
        text = writer.flat_text(" ").strip()
        if text:
            number = context.note_number(kind, note.get(f"{_W}id", ""))
            mark = str(number) if kind == "footnote" else _roman(number)
            numbered.append((number, f"[{mark}] {text}"))
    return [text for _, text in sorted(numbered)]


# --- metadata ----------------------------------------------------------------------------------


def _metadata(package: Package) -> dict[str, Any]:
    # Without a core-properties part python-docx would invent one ("Word Document", today's date).
    if not any(rel.reltype == RT.CORE_PROPERTIES for rel in package.rels.values()):
        return {}
    try:
        properties = package.core_properties
        values = {"title": properties.title, "author": properties.author, "created": properties.created}
    except (KeyError, ValueError, AttributeError, lxml.etree.XMLSyntaxError):
        log.warning("unreadable core properties in docx; metadata skipped")
        return {}
    metadata: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and value.strip():
            metadata[key] = value.strip()
        elif value is not None and hasattr(value, "isoformat"):
            metadata[key] = value.isoformat()
    return metadata
