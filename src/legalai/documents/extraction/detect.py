"""Decide a file's format from its content (magic bytes), never from its name.

Names and client-sent media types are attacker-controlled; the bytes are what the parsers will see.

    detect_format(head, full=...)   bytes already in memory
    detect_path(path)               a file on disk; opens ZIPs to look at their entry names

Kinds: pdf, docx, zip, image, html, email, text.  ``None`` means unsupported (executables, OLE
``.doc``, other office containers, random binary...).
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HEAD_SIZE",
    "SUPPORTED_KINDS_DESCRIPTION",
    "DetectedFormat",
    "detect_format",
    "detect_path",
]

# Enough for every signature below plus a good sample for the text/HTML/e-mail sniffers.
HEAD_SIZE = 8192
# The text sniffer is pure Python; a bigger sample only costs time without changing the verdict.
_TEXT_SAMPLE_SIZE = 64 * 1024

SUPPORTED_KINDS_DESCRIPTION = (
    "PDF, DOCX, plain text, HTML, e-mail (.eml), images (PNG, JPEG, TIFF, GIF, BMP, WEBP), "
    "ZIP archives of these"
)

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class DetectedFormat:
    kind: str
    media_type: str


PDF = DetectedFormat("pdf", "application/pdf")
DOCX = DetectedFormat("docx", DOCX_MEDIA_TYPE)
ZIP = DetectedFormat("zip", "application/zip")
HTML = DetectedFormat("html", "text/html")
EMAIL = DetectedFormat("email", "message/rfc822")
TEXT = DetectedFormat("text", "text/plain")

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

_IMAGE_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)

# BITMAPINFOHEADER variants; checked because "BM" alone would also match plain text.
_BMP_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


def detect_format(head: bytes, *, full: bytes | None = None) -> DetectedFormat | None:
    """Classify content.

    ``head`` is the start of the file (``HEAD_SIZE`` bytes is plenty).  ZIP containers can only be
    told apart (DOCX vs. plain archive) by their entry list: pass ``full`` (the whole file) or use
    :func:`detect_path`.  Without it the local file headers inside ``head`` are scanned, which is a
    best effort: Word writes ``word/document.xml`` early, but other producers may not.
    """
    if full is not None and not head:
        head = full[:HEAD_SIZE]
    if _is_zip(head):
        names = _zip_names_from_bytes(full) if full is not None else _local_header_names(head)
        return _classify_zip(names)
    if full is not None:
        sample = full[:_TEXT_SAMPLE_SIZE]
        return _classify(head, sample, truncated=len(full) > len(sample))
    # A caller-supplied head may end mid-character; treat it as cut off.
    return _classify(head, head, truncated=True)


def detect_path(path: Path) -> DetectedFormat | None:
    """Classify a file on disk, reading only its head (and a ZIP's central directory)."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_SIZE)
    if _is_zip(head):
        return _classify_zip(_zip_names_from_path(path))
    return _classify(head, head, truncated=len(head) == HEAD_SIZE)


def _classify(head: bytes, sample: bytes, *, truncated: bool) -> DetectedFormat | None:
    if b"%PDF-" in head[:1024]:
        return PDF
    image = _detect_image(head)
    if image is not None:
        return image
    text = _decode_sample(sample, truncated=truncated)
    if text is None:
        return None
    return _classify_text(text)


# --- ZIP ---------------------------------------------------------------------------------------


def _is_zip(head: bytes) -> bool:
    return head.startswith(_ZIP_MAGICS)


def _zip_names_from_bytes(data: bytes) -> list[str] | None:
    return _zip_names(lambda: zipfile.ZipFile(io.BytesIO(data)))


def _zip_names_from_path(path: Path) -> list[str] | None:
    return _zip_names(lambda: zipfile.ZipFile(path))


def _zip_names(opener: Callable[[], zipfile.ZipFile]) -> list[str] | None:
    try:
        with opener() as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _local_header_names(head: bytes) -> list[str]:
    """Entry names from the local file headers fully contained in ``head``."""
    names: list[str] = []
    for match in re.finditer(rb"PK\x03\x04", head):
        start = match.start()
        if start + 30 > len(head):
            break
        name_len = int.from_bytes(head[start + 26 : start + 28], "little")
        raw = head[start + 30 : start + 30 + name_len]
        if len(raw) == name_len:
            names.append(raw.decode("utf-8", errors="replace"))
    return names


def _classify_zip(names: list[str] | None) -> DetectedFormat | None:
    if names is None:
        # Damaged archive: let the archive handler report it (it will fail with a clear reason).
        return ZIP
    entries = set(names)
    if "word/document.xml" in entries:
        return DOCX
    if _is_other_document_container(entries):
        return None
    return ZIP


def _is_other_document_container(entries: set[str]) -> bool:
    """XLSX/PPTX/ODF/EPUB are ZIPs too, but unpacking them as archives would index raw XML."""
    if "mimetype" in entries:  # ODF and EPUB store their media type in this first entry
        return True
    if "[Content_Types].xml" in entries:
        return any(n.startswith(("xl/", "ppt/", "visio/")) for n in entries)
    return False


# --- images ------------------------------------------------------------------------------------


def _detect_image(head: bytes) -> DetectedFormat | None:
    for magic, media_type in _IMAGE_MAGICS:
        if head.startswith(magic):
            return DetectedFormat("image", media_type)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return DetectedFormat("image", "image/webp")
    if _is_bmp(head):
        return DetectedFormat("image", "image/bmp")
    return None


def _is_bmp(head: bytes) -> bool:
    if not head.startswith(b"BM") or len(head) < 18:
        return False
    dib_size = int.from_bytes(head[14:18], "little")
    return dib_size in _BMP_DIB_HEADER_SIZES


# --- text-based formats ------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Binary formats that happen to decode as cp1252 without NULs in their first KB are rare, but
# these are common enough to reject explicitly (OLE2 = legacy .doc/.xls/.msg, RTF is not
# supported either).
_REJECTED_MAGICS = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x7fELF", b"\x1f\x8b", b"{\\rtf")

_MAX_CONTROL_RATIO = 0.01
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\x1a")  # \x1a: DOS end-of-file marker


def _decode_sample(sample: bytes, *, truncated: bool) -> str | None:
    """The sample as text, or None when it looks binary."""
    if sample.startswith(_REJECTED_MAGICS):
        return None
    text = _decode_with_bom(sample, truncated=truncated)
    if text is None:
        if b"\x00" in sample:
            return None
        text = _decode(sample, "utf-8", truncated=truncated)
    if text is None:
        text = sample.decode("cp1252", errors="replace")
    return text if _looks_textual(text) else None


def _decode_with_bom(sample: bytes, *, truncated: bool) -> str | None:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return _decode(sample[len(bom) :], encoding, truncated=truncated)
    return None


def _decode(data: bytes, encoding: str, *, truncated: bool) -> str | None:
    # A head cut in the middle of a multi-byte character must not count as invalid.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(data, final=not truncated)
    except UnicodeDecodeError:
        return None


def _looks_textual(text: str) -> bool:
    if not text:
        return True
    controls = sum(1 for ch in text if (ch < " " and ch not in _ALLOWED_CONTROLS) or ch == "\ufffd")
    return controls / len(text) <= _MAX_CONTROL_RATIO


_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body)[\s>/]", re.IGNORECASE)
_XML_PROLOG = re.compile(r"<\?xml[^>]*\?>\s*", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
# A known tag name closed right away or followed by an attribute: "<p>", "<div class=...", "<br/>".
# Requiring that keeps prose such as "if a<b and c>d" from being taken for markup.
_HTML_TAG = re.compile(
    r"<(div|p|table|tr|td|br|span|a|h[1-6]|ul|ol|li|title|meta|style|script|font|center|b|i|u"
    r"|strong|em|hr|img)(?:\s*/?>|\s+[a-z-]+\s*=)",
    re.IGNORECASE,
)


def _classify_text(text: str) -> DetectedFormat:
    stripped = text.lstrip("\ufeff \t\r\n")
    if _starts_like_html(stripped):
        return HTML
    if _looks_like_email(stripped):
        return EMAIL
    if _looks_like_fragment(stripped[:1024]):
        return HTML
    return TEXT


def _looks_like_fragment(head: str) -> bool:
    """An HTML fragment without <html>: it opens with a tag, or uses several different tags.

    A plain-text note that mentions one tag ("the <b> element", "<script>") stays text.
    """
    tags = {m.group(1).lower() for m in _HTML_TAG.finditer(head)}
    return bool(tags) and (_HTML_TAG.match(head) is not None or len(tags) >= 3)


def _starts_like_html(text: str) -> bool:
    text = _XML_PROLOG.sub("", text[:4096], count=1)
    while text.startswith("<!--"):  # leading comments (e.g. "saved from url") before <html>
        stripped = _HTML_COMMENT.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return _HTML_START.match(text) is not None


# RFC 5322 field name: printable ASCII except ":" and space.
_HEADER_LINE = re.compile(r"^([!-9;-~]+):")
_MBOX_FROM = re.compile(r"^From \S+")
_EMAIL_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "received",
        "message-id",
        "mime-version",
        "return-path",
        "content-type",
    }
)
_MAX_HEADER_NAMES = 30


def _looks_like_email(text: str) -> bool:
    lines = text.splitlines()
    if lines and _MBOX_FROM.match(lines[0]):  # mbox "From sender date" envelope line
        lines = lines[1:]
    names: list[str] = []
    for index, line in enumerate(lines):
        if not line.strip() or len(names) >= _MAX_HEADER_NAMES:
            break
        if line[0] in " \t" and index > 0:  # folded continuation of the previous header
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            break
        names.append(match.group(1).lower())
    return len(_EMAIL_HEADERS.intersection(names)) >= 2
