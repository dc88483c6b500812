from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_BREAK
from fpdf import FPDF
from PIL import Image

from legalai.documents.extraction import ocr
from legalai.documents.extraction.protocol import (
    CorruptDocument,
    EncryptedDocument,
    ExtractionError,
    ResourceLimitExceeded,
    UnsupportedFormat,
)
from legalai.documents.extraction.registry import ExtractionOptions, extract
from legalai.documents.extraction.sandbox import run_inline

OPTIONS = ExtractionOptions(ocr_dpi=200)

# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_pages_and_metadata(text_pdf: Path) -> None:
    result = extract(text_pdf, "pdf", OPTIONS)
    assert result.kind == "pdf"
    assert [p.number for p in result.pages] == [1, 2, 3]
    assert "Acme Ltd and Beta LLC" in result.pages[0].text
    assert "thirty days" in result.pages[1].text
    assert "England and Wales" in result.pages[2].text
    assert not any(p.ocr for p in result.pages)
    assert all("\r" not in p.text for p in result.pages)
    assert result.metadata["title"] == "Master Services Agreement"
    assert result.metadata["author"] == "Legal Team"
    assert result.metadata["page_count"] == 3
    assert dt.datetime.fromisoformat(result.metadata["created"]).year >= 2024


def test_pdf_image_only_page_is_ocrd(scanned_pdf: Path, ocr_word: str) -> None:
    result = extract(scanned_pdf, "pdf", OPTIONS)
    assert result.pages[0].ocr is True
    assert ocr_word in result.pages[0].text


def test_pdf_ocr_can_be_disabled(scanned_pdf: Path) -> None:
    result = extract(scanned_pdf, "pdf", ExtractionOptions(ocr_min_chars=0))
    assert result.pages[0].ocr is False
    assert result.pages[0].text.strip() == ""


def test_pdf_short_page_with_nothing_to_ocr_keeps_its_text(make_pdf: Callable[..., Path]) -> None:
    path = make_pdf(["Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "Annex"])
    pages = extract(path, "pdf", OPTIONS).pages
    assert pages[0].ocr is False
    assert "Annex" in pages[1].text  # OCR ran (5 chars < 16) and did not lose the text


def test_encrypted_pdf(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="Privileged and confidential settlement terms.")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    path = tmp_path / "locked.pdf"
    pdf.output(str(path))
    with pytest.raises(EncryptedDocument) as info:
        extract(path, "pdf", OPTIONS)
    assert info.value.reason == "This PDF is password-protected; upload an unprotected copy."


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.98])
def test_truncated_pdf_is_corrupt(text_pdf: Path, tmp_path: Path, cut: float) -> None:
    data = text_pdf.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CorruptDocument) as info:
        extract(path, "pdf", OPTIONS)
    assert "PDF" in info.value.reason
    assert "Traceback" not in info.value.reason


def test_garbage_after_pdf_header_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    with pytest.raises(CorruptDocument):
        extract(path, "pdf", OPTIONS)


# --- DOCX --------------------------------------------------------------------------------------


def _save(document: docx.document.Document, path: Path) -> Path:
    document.save(str(path))
    return path


@pytest.fixture
def contract_docx(tmp_path: Path) -> Path:
    document = docx.Document()
    props = document.core_properties
    props.title, props.author = "Lease Agreement", "Jane Counsel"
    props.created = dt.datetime(2024, 5, 1, 9, 30)
    section = document.sections[0]
    section.header.paragraphs[0].text = "CONFIDENTIAL - DRAFT"
    section.footer.paragraphs[0].text = "Lease v3"
    document.add_paragraph("1. Parties")
    table = document.add_table(rows=2, cols=2)
    for row, values in enumerate([("Party", "Role"), ("Acme Ltd", "Landlord")]):
        for col, value in enumerate(values):
            table.cell(row, col).text = value
    paragraph = document.add_paragraph("2. Term before the break.")
    paragraph.add_run().add_break(WD_BREAK.PAGE)
    paragraph.add_run("Continued on page two.")
    document.add_section(WD_SECTION.NEW_PAGE)
    document.add_paragraph("3. Schedule in a new section.")
    document.add_section(WD_SECTION.CONTINUOUS)
    document.add_paragraph("4. Same page, continuous section.")
    return _save(document, tmp_path / "lease.docx")


def test_docx_body_tables_breaks_and_metadata(contract_docx: Path) -> None:
    result = extract(contract_docx, "docx", OPTIONS)
    texts = [p.text for p in result.pages]
    assert len(texts) == 3
    assert texts[0].splitlines() == [
        "1. Parties",
        "Party | Role",
        "Acme Ltd | Landlord",
        "2. Term before the break.",
    ]
    assert texts[1] == "Continued on page two."
    assert texts[2].startswith("3. Schedule in a new section.")
    assert "4. Same page, continuous section." in texts[2]
    assert result.metadata == {
        "title": "Lease Agreement",
        "author": "Jane Counsel",
        "created": "2024-05-01T09:30:00+00:00",
    }


def test_docx_headers_and_footers_once_on_last_page(contract_docx: Path) -> None:
    pages = extract(contract_docx, "docx", OPTIONS).pages
    last = pages[-1].text
    assert "--- Headers ---\nCONFIDENTIAL - DRAFT" in last
    assert "--- Footers ---\nLease v3" in last
    assert last.count("CONFIDENTIAL - DRAFT") == 1  # three sections share the one header
    assert all("CONFIDENTIAL" not in p.text for p in pages[:-1])


_NOTES_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:{kind}s xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>
<w:{kind} w:type="continuationSeparator" w:id="0">
  <w:p><w:r><w:continuationSeparator/></w:r></w:p></w:{kind}>
<w:{kind} w:id="2">
  <w:p><w:r><w:{kind}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:{kind}>
</w:{kind}s>"""
_REL = (
    '<Relationship Id="rId{n}" Target="{kind}s.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}s"/>'
)
_OVERRIDE = (
    '<Override PartName="/word/{kind}s.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}s+xml"/>'
)


def _add_notes(source: Path, target: Path) -> Path:
    """python-docx cannot write footnotes: splice footnotes.xml/endnotes.xml into the package."""
    with zipfile.ZipFile(source) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    document = entries["word/document.xml"].decode()
    document = document.replace(
        "<w:r><w:t>FOOTNOTE</w:t></w:r>", '<w:r><w:footnoteReference w:id="2"/></w:r>'
    ).replace("<w:r><w:t>ENDNOTE</w:t></w:r>", '<w:r><w:endnoteReference w:id="2"/></w:r>')
    entries["word/document.xml"] = document.encode()
    rels = entries["word/_rels/document.xml.rels"].decode()
    types = entries["[Content_Types].xml"].decode()
    for n, kind, text in ((90, "footnote", "See the 2019 Act."), (91, "endnote", "Drafting note.")):
        entries[f"word/{kind}s.xml"] = _NOTES_XML.format(kind=kind, text=text).encode()
        rels = rels.replace("</Relationships>", _REL.format(n=n, kind=kind) + "</Relationships>")
        types = types.replace("</Types>", _OVERRIDE.format(kind=kind) + "</Types>")
    entries["word/_rels/document.xml.rels"] = rels.encode()
    entries["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def test_docx_footnotes_and_endnotes(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("The statute applies")
    paragraph.add_run("FOOTNOTE")
    paragraph.add_run(" unless excluded")
    paragraph.add_run("ENDNOTE")
    paragraph.add_run(".")
    path = _add_notes(_save(document, tmp_path / "plain.docx"), tmp_path / "notes.docx")
    text = extract(path, "docx", OPTIONS).pages[-1].text
    assert text.startswith("The statute applies[1] unless excluded[i].")
    assert "--- Footnotes ---\n[1] See the 2019 Act." in text
    assert "--- Endnotes ---\n[i] Drafting note." in text


def test_docx_without_page_breaks_is_one_page(tmp_path: Path) -> None:
    document = docx.Document()
    for i in range(5):
        document.add_paragraph(f"Paragraph {i}")
    pages = extract(_save(document, tmp_path / "one.docx"), "docx", OPTIONS).pages
    assert len(pages) == 1
    assert pages[0].text.splitlines()[:2] == ["Paragraph 0", "Paragraph 1"]


def test_docx_trailing_page_break_adds_no_empty_page(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Only page")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    pages = extract(_save(document, tmp_path / "trailing.docx"), "docx", OPTIONS).pages
    assert [p.text for p in pages] == ["Only page"]


def test_corrupt_docx(tmp_path: Path) -> None:
    good = io.BytesIO()
    docx.Document().save(good)
    path = tmp_path / "broken.docx"
    path.write_bytes(good.getvalue()[:2000])
    with pytest.raises(CorruptDocument) as info:
        extract(path, "docx", OPTIONS)
    assert info.value.reason == "This Word document is damaged or malformed and cannot be read."


def test_docx_with_malformed_xml(tmp_path: Path) -> None:
    source = io.BytesIO()
    docx.Document().save(source)
    path = tmp_path / "badxml.docx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            data = b"<w:document><unclosed>" if name == "word/document.xml" else src.read(name)
            dst.writestr(name, data)
    with pytest.raises(CorruptDocument):
        extract(path, "docx", OPTIONS)


# --- text and HTML -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Line one\r\nLine two \u00a7\rLine three".encode(), "utf-8"),
        ("\ufeffLine one\nLine two \u00a7\nLine three".encode(), "utf-8"),
        ("Line one\r\nLine two \u00a7\r\nLine three".encode("utf-16"), None),
        ("Line one\nLine two \u00a7\nLine three".encode("cp1252"), "cp1252"),
    ],
)
def test_text_decoding_and_newlines(tmp_path: Path, data: bytes, encoding: str | None) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    result = extract(path, "text", OPTIONS)
    assert result.pages[0].text == "Line one\nLine two \u00a7\nLine three"
    if encoding:
        assert result.metadata["encoding"] == encoding


def test_text_form_feeds_split_pages(tmp_path: Path) -> None:
    path = tmp_path / "printout.txt"
    path.write_bytes(b"Page one\fPage two\fPage three\f")
    pages = extract(path, "text", OPTIONS).pages
    assert [(p.number, p.text) for p in pages] == [(1, "Page one"), (2, "Page two"), (3, "Page three")]


_HTML = """<!DOCTYPE html>
<html><head><title>Board  Minutes</title>
<style>body { color: red }</style><script>document.write("evil")</script>
<link rel="stylesheet" href="http://example.invalid/x.css"></head>
<body><h1>Minutes</h1><p>The board   met on
Monday.<br>Quorum present.</p><noscript>enable js</noscript>
<table><tr><th>Name</th><th>Vote</th></tr><tr><td>Smith</td><td>For</td></tr></table>
<ul><li>Item one</li><li>Item two</li></ul><template><p>hidden</p></template>
<img src="http://example.invalid/track.png">Done &amp; dusted.</body></html>"""


def test_html(tmp_path: Path) -> None:
    path = tmp_path / "minutes.html"
    path.write_text(_HTML, encoding="utf-8")
    result = extract(path, "html", OPTIONS)
    assert result.metadata == {"title": "Board Minutes"}
    assert result.pages[0].text == (
        "Minutes\n\nThe board met on Monday.\nQuorum present.\n\n"
        "Name | Vote\nSmith | For\n\nItem one\nItem two\n\nDone & dusted."
    )


@pytest.mark.parametrize(
    "markup",
    [
        b"<p>unclosed <b>bold <div>nested</p></table></html>",
        b"<div>" * 200_000 + b"deep",
        b"",
        b"<<<>>> <!-- never closed",
        "<meta charset='windows-1252'><p>caf\u00e9</p>".encode("cp1252"),
        b"<meta charset=base64><p>caf\xc3\xa9</p>",  # not a text codec: ignored, UTF-8 used
    ],
)
def test_html_survives_malformed_input(tmp_path: Path, markup: bytes) -> None:
    path = tmp_path / "bad.html"
    path.write_bytes(markup)
    result = extract(path, "html", OPTIONS)
    assert len(result.pages) == 1
    if b"caf" in markup:
        assert result.pages[0].text == "caf\u00e9"


# --- e-mail ------------------------------------------------------------------------------------


def _email(tmp_path: Path, *, html_only: bool = False) -> Path:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.com>"
    message["To"] = "bob@example.com"
    message["Cc"] = "carol@example.com"
    message["Subject"] = "Draft settlement agreement"
    message["Date"] = "Tue, 02 Jan 2024 10:15:00 +0100"
    message["Message-ID"] = "<abc123@example.com>"
    if html_only:
        message.set_content("<p>Please <b>review</b> the draft.</p>", subtype="html")
    else:
        message.set_content("Please review the draft.\r\nThanks.")
        message.add_alternative("<p>Please <b>review</b> the draft.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="../../draft.pdf"
    )
    forwarded = EmailMessage()
    forwarded["From"] = "dave@example.com"
    forwarded["Subject"] = "Earlier thread"
    forwarded.set_content("Old message.")
    message.add_attachment(forwarded)
    message.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", disposition="inline")
    path = tmp_path / "message.eml"
    path.write_bytes(message.as_bytes())
    return path


def test_email_headers_body_and_attachments(tmp_path: Path) -> None:
    result = extract(_email(tmp_path), "email", OPTIONS)
    assert result.pages[0].text == (
        "From: Alice Example <alice@example.com>\nTo: bob@example.com\nCc: carol@example.com\n"
        "Date: Tue, 02 Jan 2024 10:15:00 +0100\nSubject: Draft settlement agreement\n\n"
        "Please review the draft.\nThanks.\n"
    )
    assert result.metadata["subject"] == "Draft settlement agreement"
    assert result.metadata["message_id"] == "<abc123@example.com>"
    assert result.metadata["created"] == "2024-01-02T10:15:00+01:00"
    names = [a.filename for a in result.attachments]
    assert names == ["draft.pdf", "Earlier thread.eml"]  # path stripped; inline image dropped
    assert result.attachments[0].data == b"%PDF-1.4 fake"
    assert b"Old message." in result.attachments[1].data


def test_email_attachment_names_lose_bidi_and_zero_width_characters(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "alice@example.com"
    message["Subject"] = "Invoice"
    message.set_content("See attached.")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice\u202efdp.exe"
    )
    message.add_attachment(b"notes", maintype="text", subtype="plain", filename="\u200bnotes\u2066.txt")
    path = tmp_path / "bidi.eml"
    path.write_bytes(message.as_bytes())
    names = [a.filename for a in extract(path, "email", OPTIONS).attachments]
    assert names == ["invoicefdp.exe", "notes.txt"]


def test_email_html_only_body(tmp_path: Path) -> None:
    text = extract(_email(tmp_path, html_only=True), "email", OPTIONS).pages[0].text
    assert text.endswith("Subject: Draft settlement agreement\n\nPlease review the draft.\n")


def test_email_with_broken_headers_and_charset(tmp_path: Path) -> None:
    path = tmp_path / "odd.eml"
    path.write_bytes(
        b"From: =?x-unknown?q?bad?= <<<\nTo: ,,,@@@\nSubject: Odd\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\n\nBody text \xe9\n"
    )
    result = extract(path, "email", OPTIONS)
    assert "Subject: Odd" in result.pages[0].text
    assert "Body text" in result.pages[0].text


# --- images / OCR ------------------------------------------------------------------------------


def test_png_ocr(tmp_path: Path, text_image: Callable[[str], Image.Image], ocr_word: str) -> None:
    path = tmp_path / "scan.png"
    text_image(f"{ocr_word} clause").save(path)
    result = extract(path, "image", OPTIONS)
    assert result.kind == "image"
    assert result.pages[0].ocr is True
    assert ocr_word in result.pages[0].text


def test_multi_frame_tiff_is_one_page_per_frame(
    tmp_path: Path, text_image: Callable[[str], Image.Image]
) -> None:
    path = tmp_path / "fax.tif"
    first, second = text_image("Schedule"), text_image("Appendix")
    first.save(path, save_all=True, append_images=[second])
    pages = extract(path, "image", OPTIONS).pages
    assert [p.number for p in pages] == [1, 2]
    assert "Schedule" in pages[0].text
    assert "Appendix" in pages[1].text


def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (2000, 2000), 255).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ResourceLimitExceeded) as info:
        extract(path, "image", OPTIONS)
    assert "too large" in info.value.reason


def test_corrupt_image(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:100])
    with pytest.raises(CorruptDocument):
        extract(path, "image", OPTIONS)


def test_missing_tesseract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text_image: Callable[[str], Image.Image]
) -> None:
    path = tmp_path / "scan.png"
    text_image("Words").save(path)
    monkeypatch.setattr(ocr.pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(ExtractionError) as info:
        extract(path, "image", OPTIONS)
    assert info.value.reason == "OCR is unavailable: the tesseract-ocr program is not installed"


# --- registry ----------------------------------------------------------------------------------


def test_unknown_kind(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedFormat):
        extract(path, "zip", OPTIONS)


def test_missing_file_is_not_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        extract(tmp_path / "nope.pdf", "pdf", OPTIONS)


def test_wrong_kind_is_reported_as_corrupt_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "really-text.docx"
    path.write_text("not a zip at all")
    with pytest.raises(CorruptDocument) as info:
        extract(path, "docx", OPTIONS)
    assert info.value.reason == "This Word document is damaged or malformed and cannot be read."


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="ocr_languages"):
        ExtractionOptions(ocr_languages="eng --psm 0")
    with pytest.raises(ValueError, match="ocr_dpi"):
        ExtractionOptions(ocr_dpi=10_000)


def test_run_inline_is_registry_extract(text_pdf: Path) -> None:
    assert run_inline(text_pdf, "pdf", OPTIONS) == extract(text_pdf, "pdf", OPTIONS)
