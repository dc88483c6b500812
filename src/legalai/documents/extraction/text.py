"""Plain text: decode, normalise newlines, one page per form feed."""

from __future__ import annotations

import codecs
from pathlib import Path

from legalai.documents.extraction.protocol import ExtractedPage, ExtractionResult

__all__ = ["decode_text", "extract_text", "normalize_newlines", "pages_from_text"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)``.

    A BOM wins; otherwise UTF-8 if it is valid, else cp1252 (the usual encoding of legacy Western
    documents, and it maps almost every byte, so decoding never fails).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def normalize_newlines(text: str) -> str:
    # NUL is not valid in most downstream stores (e.g. PostgreSQL text) and carries no meaning here.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def pages_from_text(text: str) -> list[ExtractedPage]:
    """Split on form feeds (printer page breaks) when present; otherwise one page."""
    parts = text.split("\f") if "\f" in text else [text]
    if len(parts) > 1 and not parts[-1].strip():
        parts.pop()  # a trailing form feed ends the last page rather than starting a new one
    return [ExtractedPage(number=i, text=part) for i, part in enumerate(parts, start=1)]


def extract_text(path: Path) -> ExtractionResult:
    text, encoding = decode_text(path.read_bytes())
    return ExtractionResult(
        kind="text",
        pages=pages_from_text(normalize_newlines(text)),
        metadata={"encoding": encoding},
    )
