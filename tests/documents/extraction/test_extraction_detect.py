from __future__ import annotations

import io
import os
import zipfile
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from PIL import Image

from legalai.documents.extraction.detect import (
    SUPPORTED_KINDS_DESCRIPTION,
    DetectedFormat,
    detect_format,
    detect_path,
)


def _image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format=fmt)
    return buffer.getvalue()


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _docx_bytes() -> bytes:
    document = docx.Document()
    document.add_paragraph("Hello")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _kind(data: bytes) -> str | None:
    detected = detect_format(data[:8192], full=data)
    return detected.kind if detected else None


def test_pdf_by_magic_even_after_leading_junk(text_pdf: Path) -> None:
    data = text_pdf.read_bytes()
    assert detect_format(data[:8192]) == DetectedFormat("pdf", "application/pdf")
    assert _kind(b"\x00" * 500 + data) == "pdf"  # %PDF- may sit anywhere in the first KB
    assert _kind(b"x" * 2000 + data) is None  # ...but not later (and the rest is binary)


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("WEBP", "image/webp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_images(fmt: str, media_type: str) -> None:
    assert detect_format(_image_bytes(fmt)) == DetectedFormat("image", media_type)


def test_big_endian_tiff() -> None:
    assert detect_format(b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 100) == DetectedFormat("image", "image/tiff")


def test_docx_vs_zip_from_bytes() -> None:
    assert _kind(_docx_bytes()) == "docx"
    assert detect_format(_docx_bytes()[:8192]) is not None  # head-only: best effort, never raises
    plain = _zip_bytes({"a.txt": b"hello", "b.pdf": b"%PDF-1.4"})
    assert detect_format(plain[:8192], full=plain) == DetectedFormat("zip", "application/zip")


def test_docx_vs_zip_from_path(tmp_path: Path) -> None:
    (tmp_path / "contract.zip").write_bytes(_docx_bytes())  # the name is irrelevant
    (tmp_path / "files.docx").write_bytes(_zip_bytes({"a.txt": b"x"}))
    assert detect_path(tmp_path / "contract.zip") == DetectedFormat(
        "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert detect_path(tmp_path / "files.docx") == DetectedFormat("zip", "application/zip")


def test_other_office_containers_are_unsupported() -> None:
    xlsx = _zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})
    odt = _zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    assert _kind(xlsx) is None
    assert _kind(odt) is None


def test_damaged_zip_is_left_to_the_archive_handler() -> None:
    assert _kind(b"PK\x03\x04" + os.urandom(200)) == "zip"


@pytest.mark.parametrize(
    "markup",
    [
        "<!DOCTYPE html><html><body>x</body></html>",
        "\ufeff  \n<HTML><p>x</p></HTML>",
        '<?xml version="1.0"?>\n<!-- saved --><html xmlns="http://www.w3.org/1999/xhtml"></html>',
        "<body>just a body</body>",
        "<div class='a'>a div</div> and some text",
        "Intro <p>one</p><ul><li>two</li></ul><br/>",
    ],
)
def test_html(markup: str) -> None:
    assert _kind(markup.encode("utf-8")) == "html"


def test_email() -> None:
    message = EmailMessage()
    message["From"] = "alice@example.com"
    message["To"] = "bob@example.com"
    message["Subject"] = "Draft <b>contract</b>"
    message.set_content("Please review.")
    assert detect_format(message.as_bytes()) == DetectedFormat("email", "message/rfc822")
    mbox = b"From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: a@x\nDate: Mon, 1 Jan 2024\n\nhi"
    assert _kind(mbox) == "email"
    received = b"Received: from mx by host;\n\tMon, 1 Jan 2024\nReturn-Path: <a@x>\nX-Other: 1\n\nbody"
    assert _kind(received) == "email"


def test_angle_brackets_in_prose_are_not_html() -> None:
    assert _kind(b"Where a<b and c>d, clause <5> applies") == "text"
    assert _kind(b"Note: the cap is <b>USD 2m</b> per claim.") == "text"
    assert _kind(b"Some intro text then <div class='a'>a div</div>") == "text"


def test_text_with_one_header_like_line_is_text() -> None:
    assert _kind(b"Subject: the lease\n\nNotes about the lease.") == "text"
    assert _kind(b"Dear Sir,\nFrom: me\nTo: you\n") == "text"  # headers must come first


@pytest.mark.parametrize(
    "data",
    [
        "Plain UTF-8 text with umlauts: \u00e4\u00f6\u00fc \u00a7 1.".encode(),
        "\ufeffUTF-8 with BOM".encode(),
        "UTF-16 text \u00a7".encode("utf-16"),  # Python writes a BOM
        "cp1252 \u201cquotes\u201d and \u00e9".encode("cp1252"),
        b"",
    ],
)
def test_text(data: bytes) -> None:
    assert detect_format(data, full=data) == DetectedFormat("text", "text/plain")


def test_head_cut_inside_a_utf8_character_is_still_text() -> None:
    data = ("\u00e4" * 5000).encode()
    assert detect_format(data[:8191]) == DetectedFormat("text", "text/plain")


@pytest.mark.parametrize(
    "data",
    [
        b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,  # OLE2: legacy .doc
        b"\x1f\x8b\x08\x00" + bytes(range(1, 200)),
        b"{\\rtf1\\ansi Hello}",
        bytes(range(256)) * 4,
        b"BM not really a bitmap, just text starting with BM",
    ],
)
def test_unsupported_binary(data: bytes) -> None:
    detected = detect_format(data, full=data)
    assert detected is None or detected.kind == "text"
    if not data.startswith(b"BM"):
        assert detected is None


def test_random_bytes_are_rejected() -> None:
    data = os.urandom(4096)
    if b"%PDF-" not in data[:1024]:
        assert detect_format(data) is None


def test_supported_kinds_description_mentions_everything() -> None:
    for word in ("PDF", "DOCX", "text", "HTML", "e-mail", "PNG", "JPEG", "TIFF", "ZIP"):
        assert word in SUPPORTED_KINDS_DESCRIPTION
