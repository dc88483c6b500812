"""One entry point for all formats: ``extract(path, kind, options)``.

``kind`` comes from :mod:`legalai.documents.extraction.detect`.  Whatever a parser raises is
turned into an :class:`ExtractionError` whose ``reason`` is fit to show a user; library
tracebacks go to the log, never to the user.

Run this in-process only for trusted input; untrusted uploads go through
:class:`legalai.documents.extraction.sandbox.Sandbox`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from legalai.documents.extraction.docx import extract_docx
from legalai.documents.extraction.email import extract_email
from legalai.documents.extraction.html import extract_html
from legalai.documents.extraction.ocr import extract_image
from legalai.documents.extraction.ooxml import ExpansionLimits
from legalai.documents.extraction.pdf import extract_pdf
from legalai.documents.extraction.protocol import (
    CorruptDocument,
    ExtractionError,
    ExtractionResult,
    ResourceLimitExceeded,
    UnsupportedFormat,
)
from legalai.documents.extraction.text import extract_text

__all__ = ["KINDS", "ExtractionOptions", "extract"]

log = logging.getLogger(__name__)


_LANGUAGES = re.compile(r"^[A-Za-z0-9_]+(?:\+[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class ExtractionOptions:
    ocr_languages: str = "eng"  # Tesseract codes joined with "+", e.g. "eng+deu"
    ocr_dpi: int = 300
    ocr_min_chars: int = 16  # PDF pages with fewer visible characters are OCR'd; 0 disables OCR
    # How far a DOCX (a ZIP package) may expand before it is refused as a zip bomb: the limits of
    # ZIP uploads (Settings.max_archive_*).
    package_limits: ExpansionLimits = field(default_factory=ExpansionLimits)

    def __post_init__(self) -> None:
        # Configuration mistakes must fail loudly here, not surface later as "corrupt document".
        if not _LANGUAGES.match(self.ocr_languages):
            raise ValueError(f"ocr_languages must look like 'eng' or 'eng+deu', got {self.ocr_languages!r}")
        if not 50 <= self.ocr_dpi <= 1200:
            raise ValueError(f"ocr_dpi must be between 50 and 1200, got {self.ocr_dpi}")
        if self.ocr_min_chars < 0:
            raise ValueError(f"ocr_min_chars must not be negative, got {self.ocr_min_chars}")


_Extractor = Callable[[Path, ExtractionOptions], ExtractionResult]

_EXTRACTORS: dict[str, _Extractor] = {
    "pdf": lambda path, o: extract_pdf(
        path, ocr_languages=o.ocr_languages, ocr_dpi=o.ocr_dpi, ocr_min_chars=o.ocr_min_chars
    ),
    "docx": lambda path, o: extract_docx(path, o.package_limits),
    "text": lambda path, o: extract_text(path),
    "html": lambda path, o: extract_html(path),
    "email": lambda path, o: extract_email(path),
    "image": lambda path, o: extract_image(path, o.ocr_languages),
}

KINDS = frozenset(_EXTRACTORS)

_DESCRIPTIONS = {
    "pdf": "PDF",
    "docx": "Word document",
    "text": "text file",
    "html": "HTML page",
    "email": "e-mail",
    "image": "image",
}


def extract(path: Path, kind: str, options: ExtractionOptions) -> ExtractionResult:
    """Extract ``path`` as ``kind``.

    Raises :class:`ExtractionError` (or a subclass) for anything wrong with the document, and
    ``FileNotFoundError`` when ``path`` does not exist (an infrastructure problem, not the user's).
    """
    extractor = _EXTRACTORS.get(kind)
    if extractor is None:
        raise UnsupportedFormat(f"Documents of type '{kind}' cannot be extracted.")
    if not path.is_file():
        raise FileNotFoundError(path)
    try:
        return extractor(path, options)
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ResourceLimitExceeded(
            "The document needs more memory than is available to process it."
        ) from exc
    except RecursionError as exc:
        raise CorruptDocument(f"This {_DESCRIPTIONS[kind]} is nested too deeply to process.") from exc
    except Exception as exc:
        # Parsers signal damage with whatever exception they like (KeyError, struct.error...).
        log.warning("extraction of %s as %s failed", path.name, kind, exc_info=True)
        raise CorruptDocument(
            f"This {_DESCRIPTIONS[kind]} is damaged or malformed and cannot be read."
        ) from exc
