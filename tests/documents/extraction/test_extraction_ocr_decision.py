"""OCR is for scans: a born-digital page with little text is taken as it is."""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from legalai.documents.extraction.registry import ExtractionOptions, extract


def test_short_and_blank_born_digital_pages_are_not_ocrd(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="Service.")
    pdf.add_page()  # blank
    image = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(image).text((20, 60), "WARRANTY", fill="black", font=ImageFont.load_default(size=60))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    pdf.add_page()
    pdf.image(buf, x=10, y=10, w=150)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(bytes(pdf.output()))
    pages = extract(path, "pdf", ExtractionOptions()).pages
    assert [(p.number, p.ocr) for p in pages] == [(1, False), (2, False), (3, True)]
    assert pages[0].text.strip() == "Service."
    assert "WARRANTY" in pages[2].text.upper()
