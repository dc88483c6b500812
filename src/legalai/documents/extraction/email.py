"""RFC 822 / MIME e-mail (.eml): headers, the readable body, and attachments.

Page 1 starts with the key headers ("From: ...\\nTo: ...\\nDate: ...\\nSubject: ...") followed by
the text/plain body, or the HTML body converted to text when there is no plain part.  Files
attached to the message (and forwarded messages, as ``.eml``) are returned as attachments for
the caller to ingest as separate documents; inline images without a file name are dropped.
"""

from __future__ import annotations

import contextlib
import email.message
import email.policy
import email.utils
import logging
import mimetypes
import re
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from legalai.documents.extraction.html import html_to_text
from legalai.documents.extraction.protocol import Attachment, ExtractedPage, ExtractionResult
from legalai.documents.extraction.text import decode_text, normalize_newlines
from legalai.kit.invisible import strip_invisible

__all__ = ["extract_email"]

log = logging.getLogger(__name__)

_Message = email.message.EmailMessage

# (header, metadata key, shown at the top of the page)
_HEADERS = (
    ("From", "from", True),
    ("To", "to", True),
    ("Cc", "cc", True),
    ("Date", "date", True),
    ("Subject", "subject", True),
    ("Message-ID", "message_id", False),
)
# MIME trees deeper than this are hostile, not mail.
_MAX_DEPTH = 50
_MAX_FILENAME = 200
_UNSAFE_FILENAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def extract_email(path: Path) -> ExtractionResult:
    with path.open("rb") as fh:
        message = BytesParser(_Message, policy=email.policy.default).parse(fh)
    headers = {key: value for name, key, _ in _HEADERS if (value := _header(message, name))}
    shown = [f"{name}: {headers[key]}" for name, key, show in _HEADERS if show and key in headers]
    preamble = "\n".join(shown) + "\n\n" if shown else ""
    text = preamble + _body_text(message)
    return ExtractionResult(
        kind="email",
        pages=[ExtractedPage(number=1, text=text.rstrip("\n") + "\n" if text.strip() else "")],
        metadata=_metadata(headers),
        attachments=_attachments(message),
    )


def _header(message: _Message, name: str) -> str:
    """A header as readable text; malformed headers fall back to their raw value."""
    try:
        value = message.get(name)
        text = str(value) if value is not None else ""
    except Exception:  # noqa: BLE001 - the header parser has raised on odd input before
        text = next((str(raw) for key, raw in message.raw_items() if key.lower() == name.lower()), "")
    return " ".join(text.split())  # unfold and tidy whitespace


def _metadata(headers: dict[str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(headers)
    if "subject" in headers:
        metadata["title"] = headers["subject"]
    if "date" in headers:
        # An unparseable Date keeps only the raw header.
        with contextlib.suppress(TypeError, ValueError, IndexError):
            metadata["created"] = email.utils.parsedate_to_datetime(headers["date"]).isoformat()
    return metadata


# --- body --------------------------------------------------------------------------------------


def _body_text(message: _Message) -> str:
    try:
        plain = message.get_body(preferencelist=("plain",))
        html = None if plain is not None else message.get_body(preferencelist=("html",))
    except (KeyError, IndexError, TypeError, ValueError):
        log.warning("malformed MIME structure; e-mail body not found")
        return ""
    if plain is not None:
        return normalize_newlines(_part_text(plain)).strip("\n") + "\n"
    if html is not None:
        return html_to_text(_part_text(html))[0] + "\n"
    return ""


def _part_text(part: email.message.Message) -> str:
    getter = getattr(part, "get_content", None)
    if getter is not None:
        try:
            return str(getter())
        except (LookupError, ValueError, AssertionError, TypeError):
            pass  # unknown charset or broken transfer encoding: decode the bytes ourselves
    payload = part.get_payload(decode=True)
    return decode_text(payload)[0] if isinstance(payload, bytes) else ""


# --- attachments -------------------------------------------------------------------------------


def _attachments(message: _Message) -> list[Attachment]:
    found: list[Attachment] = []
    body_parts = _body_parts(message)
    _collect(message, found, body_parts, depth=0)
    return found


def _body_parts(message: _Message) -> set[int]:
    try:
        parts = [message.get_body(preferencelist=(kind,)) for kind in ("plain", "html")]
    except (KeyError, IndexError, TypeError, ValueError):
        return set()
    return {id(part) for part in parts if part is not None}


def _collect(part: email.message.Message, found: list[Attachment], body_parts: set[int], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if part.get_content_type() == "message/rfc822" and depth > 0:
        _collect_message(part, found)
        return
    if part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, email.message.Message):
                _collect(child, found, body_parts, depth + 1)
        return
    if id(part) in body_parts:
        return  # the body we already rendered
    filename = part.get_filename()
    if filename is None and part.get_content_disposition() != "attachment":
        return  # inline image of an HTML body, alternative body parts, etc.
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        name = _safe_filename(filename) or _generated_name(part.get_content_type(), len(found) + 1)
        found.append(Attachment(filename=name, data=data))


def _collect_message(part: email.message.Message, found: list[Attachment]) -> None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, email.message.Message):
        return
    try:
        data = inner.as_bytes(policy=email.policy.default)
    except Exception:  # noqa: BLE001 - re-serialising a hostile message may fail in many ways
        log.warning("forwarded message cannot be serialised; skipped")
        return
    name = _safe_filename(part.get_filename()) or _safe_filename(_subject_of(inner))
    name = name or f"message-{len(found) + 1}"
    if not name.lower().endswith(".eml"):
        name += ".eml"
    found.append(Attachment(filename=name, data=data))


def _subject_of(message: email.message.Message) -> str | None:
    try:
        subject = message.get("Subject")
    except Exception:  # noqa: BLE001 - see _header
        return None
    return str(subject) if subject else None


def _safe_filename(name: str | None) -> str | None:
    """Base name only, without path separators or control characters (it will be stored)."""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Bidi overrides and zero-width characters would let "invoice\u202efdp.exe" pass for a PDF.
    name = strip_invisible(_UNSAFE_FILENAME_CHARS.sub("_", name)).strip(" ._")
    if not name:
        return None
    if len(name) <= _MAX_FILENAME:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) < 10:  # keep the extension: it is how the file will be recognised later
        return stem[: _MAX_FILENAME - len(ext) - 1] + dot + ext
    return name[:_MAX_FILENAME]


def _generated_name(content_type: str, index: int) -> str:
    extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"attachment-{index}{extension}"
