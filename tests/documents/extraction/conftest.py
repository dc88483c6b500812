"""Fixture files for the extraction tests, all generated on the fly.

Test modules get everything through fixtures: sibling ``conftest.py`` files outside packages
share the module name ``conftest``, so importing from it directly would be ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

OCR_WORD = "Indemnification"


def render_text_image(text: str, size: tuple[int, int] = (1400, 300)) -> Image.Image:
    """Black text on white, large enough for Tesseract to read reliably."""
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).text((40, 100), text, font=ImageFont.load_default(size=60), fill=0)
    return image


def write_pdf(path: Path, pages: list[str], *, title: str | None = None, author: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text=text)
    pdf.output(str(path))
    return path


@pytest.fixture
def ocr_word() -> str:
    return OCR_WORD


@pytest.fixture
def text_image() -> Callable[[str], Image.Image]:
    return render_text_image


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(pages: list[str], **kwargs: str) -> Path:
        return write_pdf(tmp_path / f"doc{next(counter)}.pdf", pages, **kwargs)

    return make


@pytest.fixture
def text_pdf(tmp_path: Path) -> Path:
    return write_pdf(
        tmp_path / "agreement.pdf",
        [
            "MASTER SERVICES AGREEMENT\nThis agreement is made between Acme Ltd and Beta LLC.",
            "Clause 2. Payment terms are thirty days from the date of invoice.",
            "Clause 3. Governing law is the law of England and Wales.",
        ],
        title="Master Services Agreement",
        author="Legal Team",
    )


@pytest.fixture
def scanned_pdf(tmp_path: Path) -> Path:
    """A PDF whose only page is an image of text: no text layer, so OCR must kick in."""
    png = tmp_path / "scan.png"
    render_text_image(f"{OCR_WORD} clause").save(png)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(png), x=10, y=10, w=190)
    path = tmp_path / "scanned.pdf"
    pdf.output(str(path))
    return path
