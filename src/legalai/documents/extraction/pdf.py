"""PDF text with pypdfium2, page by page; pages with (almost) no text layer are OCR'd.

Every pdfium object (document, page, text page, bitmap) is closed as soon as it is done with:
relying on finalizers would keep whole rendered pages (tens of MB each) alive until the GC runs.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from legalai.documents.extraction.ocr import ocr_image
from legalai.documents.extraction.protocol import (
    CorruptDocument,
    EncryptedDocument,
    ExtractedPage,
    ExtractionResult,
)
from legalai.documents.extraction.text import normalize_newlines

__all__ = ["extract_pdf", "parse_pdf_date"]

log = logging.getLogger(__name__)

ENCRYPTED_REASON = "This PDF is password-protected; upload an unprotected copy."
# A4 at 300 dpi is ~8.7 Mpx.  Pages can legally be 200 inches wide, which at 300 dpi would be a
# multi-gigabyte bitmap, so the render scale is reduced to stay below this.
_MAX_RENDER_PIXELS = 40_000_000


def extract_pdf(path: Path, *, ocr_languages: str, ocr_dpi: int, ocr_min_chars: int) -> ExtractionResult:
    """Text of every page; pages with fewer than ``ocr_min_chars`` visible characters get OCR.

    ``ocr_min_chars=0`` disables OCR.
    """
    with _open(path) as pdf:
        metadata = _metadata(pdf)
        pages: list[ExtractedPage] = []
        for index in range(len(pdf)):
            pages.append(_extract_page(pdf, index, ocr_languages, ocr_dpi, ocr_min_chars))
    return ExtractionResult(kind="pdf", pages=pages, metadata=metadata)


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise _open_error(getattr(exc, "err_code", None)) from exc


def _open_error(code: int | None) -> Exception:
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return EncryptedDocument(ENCRYPTED_REASON)
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return EncryptedDocument(
            "This PDF uses an unsupported encryption scheme; upload an unprotected copy."
        )
    if code == pdfium_c.FPDF_ERR_SUCCESS:
        return CorruptDocument("This PDF contains no pages.")
    return CorruptDocument("This PDF is damaged or not a valid PDF file and cannot be read.")


def _extract_page(
    pdf: pdfium.PdfDocument, index: int, languages: str, dpi: int, min_chars: int
) -> ExtractedPage:
    number = index + 1
    try:
        page = pdf[index]
    except pdfium.PdfiumError:
        # One broken page should not cost the user the rest of the document.
        log.warning("pdf page %d cannot be loaded; returning it empty", number)
        return ExtractedPage(number=number, text="")
    try:
        text = _page_text(page)
        if _visible_chars(text) >= min_chars or not _has_graphics(page):
            # Little text and nothing drawn but text: a short born-digital page, not a scan.
            return ExtractedPage(number=number, text=text)
        ocr_text = _ocr_page(page, languages, dpi)
    finally:
        page.close()
    if _visible_chars(ocr_text) >= _visible_chars(text):
        return ExtractedPage(number=number, text=ocr_text, ocr=True)
    return ExtractedPage(number=number, text=text)


def _page_text(page: pdfium.PdfPage) -> str:
    try:
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        return ""
    try:
        return normalize_newlines(textpage.get_text_range())
    finally:
        textpage.close()


def _visible_chars(text: str) -> int:
    return len("".join(text.split()))


def _has_graphics(page: pdfium.PdfPage) -> bool:
    """Whether anything on the page besides text objects could hold text for OCR (images, paths
    such as outlined glyphs, forms); an empty or text-only page cannot."""
    try:
        return any(obj.type != pdfium_c.FPDF_PAGEOBJ_TEXT for obj in page.get_objects(max_depth=3))
    except pdfium.PdfiumError:
        return True


def _ocr_page(page: pdfium.PdfPage, languages: str, dpi: int) -> str:
    width, height = page.get_size()
    scale = dpi / 72.0
    if width * height * scale * scale > _MAX_RENDER_PIXELS:
        scale = (_MAX_RENDER_PIXELS / max(width * height, 1.0)) ** 0.5
    bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False)
    try:
        # to_pil() shares the bitmap's buffer, so OCR must finish before the bitmap is closed.
        return ocr_image(bitmap.to_pil(), languages)
    finally:
        bitmap.close()


def _metadata(pdf: pdfium.PdfDocument) -> dict[str, Any]:
    raw = pdf.get_metadata_dict(skip_empty=True)
    metadata: dict[str, Any] = {"page_count": len(pdf)}
    for source, target in (("Title", "title"), ("Author", "author")):
        value = raw.get(source, "").strip()
        if value:
            metadata[target] = value
    created = parse_pdf_date(raw.get("CreationDate", ""))
    if created is not None:
        metadata["created"] = created.isoformat()
    return metadata


_PDF_DATE = re.compile(
    r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz])|([+-])(\d{2})'?(\d{2})?'?)?"
)


def parse_pdf_date(value: str) -> datetime | None:
    """Parse a PDF date string (``D:YYYYMMDDHHmmSSOHH'mm'``, trailing parts optional)."""
    match = _PDF_DATE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, zulu, sign, tz_hours, tz_minutes = match.groups()
    tz: timezone | None = None
    if zulu:
        tz = UTC
    elif sign:
        offset = timedelta(hours=int(tz_hours), minutes=int(tz_minutes or 0))
        tz = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:  # e.g. month 13, or a UTC offset of 24h or more
        return None
