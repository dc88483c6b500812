"""What every format extractor produces, and the errors it may raise.

    ExtractionError            the file cannot be read; ``reason`` is shown to the user
     +-- UnsupportedFormat     content is of no supported type (HTTP 415 at upload)
     +-- EncryptedDocument     password-protected
     +-- CorruptDocument       damaged or not what its signature claims
     +-- ResourceLimitExceeded sandbox time or memory limit hit

All of them are permanent: retrying the same bytes gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExtractedPage:
    number: int  # 1-based
    text: str
    ocr: bool = False


@dataclass
class Attachment:
    filename: str
    data: bytes


@dataclass
class ExtractionResult:
    kind: str  # pdf, docx, text, html, email, image
    pages: list[ExtractedPage]
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


class ExtractionError(Exception):
    code = "unreadable"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedFormat(ExtractionError):
    code = "unsupported_format"


class EncryptedDocument(ExtractionError):
    code = "encrypted"


class CorruptDocument(ExtractionError):
    code = "corrupt"


class ResourceLimitExceeded(ExtractionError):
    code = "resource_limit"
