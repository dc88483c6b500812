"""OCR with Tesseract (via pytesseract) for images and for scanned PDF pages.

Pillow's decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``) is left on; images above it are
refused with :class:`ResourceLimitExceeded` instead of being decoded into gigabytes of RAM.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytesseract
from PIL import Image, ImageOps

from legalai.documents.extraction.protocol import (
    CorruptDocument,
    ExtractedPage,
    ExtractionError,
    ExtractionResult,
    ResourceLimitExceeded,
)

__all__ = ["OCR_UNAVAILABLE", "extract_image", "ocr_image"]

OCR_UNAVAILABLE = "OCR is unavailable: the tesseract-ocr program is not installed"

# Only the decoders we advertise; every other Pillow plugin is attack surface we do not need.
_FORMATS = ("PNG", "JPEG", "TIFF", "GIF", "BMP", "WEBP")
# Tesseract language codes joined with "+", e.g. "eng+deu"; also keeps option-like strings out.
_LANGUAGES = re.compile(r"^[A-Za-z0-9_]+(?:\+[A-Za-z0-9_]+)*$")
# Errors Pillow raises for damaged or truncated files.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)


def ocr_image(image: Image.Image, languages: str) -> str:
    """Recognise the text in ``image``; newlines normalised, surrounding blank lines stripped."""
    if not _LANGUAGES.match(languages):
        raise ValueError(f"invalid Tesseract language list: {languages!r}")
    try:
        text = pytesseract.image_to_string(_for_tesseract(image), lang=languages)
    except pytesseract.TesseractNotFoundError as exc:
        raise ExtractionError(OCR_UNAVAILABLE) from exc
    except pytesseract.TesseractError as exc:
        raise _tesseract_failure(exc, languages) from exc
    return str(text).replace("\r\n", "\n").replace("\f", "").strip("\n")


def extract_image(path: Path, languages: str) -> ExtractionResult:
    """One page per frame for multi-page TIFFs, otherwise a single page (first frame)."""
    pages: list[ExtractedPage] = []
    with _open_image(path) as image:
        metadata = {"format": image.format, "width": image.width, "height": image.height}
        for number, frame in enumerate(_frames(image), start=1):
            pages.append(ExtractedPage(number=number, text=ocr_image(frame, languages), ocr=True))
            frame.close()
    metadata["frames"] = len(pages)
    return ExtractionResult(kind="image", pages=pages, metadata=metadata)


def _open_image(path: Path) -> Image.Image:
    try:
        return Image.open(path, formats=_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_large() from exc
    except _DECODE_ERRORS as exc:
        raise CorruptDocument("The image is damaged or not in a supported image format.") from exc


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    """Decoded copies of the frames to OCR; decoding errors become CorruptDocument."""
    count = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    for index in range(count):
        try:
            image.seek(index)
            _check_size(image)
            frame = ImageOps.exif_transpose(image) if index == 0 else image.copy()
            frame.load()
        except Image.DecompressionBombError as exc:
            raise _too_large() from exc
        except _DECODE_ERRORS as exc:
            raise CorruptDocument(f"The image is damaged (frame {index + 1} cannot be decoded).") from exc
        yield frame


def _check_size(image: Image.Image) -> None:
    # Pillow only checks the first frame at open(), and only refuses at twice the limit.
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and image.width * image.height > limit:
        raise _too_large()


def _too_large() -> ResourceLimitExceeded:
    return ResourceLimitExceeded(
        f"The image is too large to process (more than {Image.MAX_IMAGE_PIXELS or 0:,} pixels)."
    )


def _for_tesseract(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white and use a mode Tesseract reads (16-bit, CMYK... are not)."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith(("I", "F")):
        return _stretch_to_8bit(image)
    return image.convert("RGB")


def _stretch_to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit greyscale (scanners emit it): map the actual value range onto 0..255."""
    wide = image.convert("F")
    low, high = (float(v) for v in cast("tuple[float, float]", wide.getextrema()))
    scale = 255.0 / (high - low) if high != low else 1.0
    return wide.point(lambda value: (value - low) * scale).convert("L")


def _tesseract_failure(exc: pytesseract.TesseractError, languages: str) -> ExtractionError:
    message = str(getattr(exc, "message", "")) or str(exc)
    if "Failed loading language" in message or "loading language" in message.lower():
        return ExtractionError(
            f"OCR is unavailable for language(s) '{languages}': the Tesseract language data is not installed."
        )
    return CorruptDocument("OCR failed on this image; it may be damaged.")
