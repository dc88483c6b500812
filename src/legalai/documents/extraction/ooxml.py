"""Refuse Office Open XML packages (DOCX, and XLSX/PPTX alike) that expand too much: zip bombs.

A DOCX is a ZIP archive. One whose ``word/document.xml`` is hundreds of megabytes of repeated
whitespace deflates to a few hundred kilobytes, and python-docx reads every part into memory
before any XML is parsed. The package is therefore measured first, with the limits of ZIP uploads
(:class:`legalai.documents.intake.ArchiveLimits`: entries, total expanded size, ratio):

1. the declared sizes of the central directory (instant, nothing is decompressed), then
2. the actual sizes, by decompressing every part in blocks that are counted and thrown away,
   stopping at the first block over a limit (memory stays at one block).

The ratio of a part is its expanded size over its compressed size, where the compressed size
is at most the file's size on disk: a header that claims more compressed bytes than the file
holds cannot make a bomb look harmless. Parts under 1 MB are not judged by ratio (tiny XML
parts compress extremely well legitimately); the package as a whole is, once it expands past
that, so a bomb split into many small parts is refused too.

A part whose header understates its size: :mod:`zipfile` never returns more than the declared
size and then fails the CRC check, but ``ZipFile.read()`` (what python-docx calls) inflates all
of the part's compressed data in one call before cutting it to that size, so such a bomb would
still fill the memory. Read here in 1 MB blocks, it stops at the first block with
:class:`zipfile.BadZipFile`, which callers report as a damaged file.

This module runs both at upload (cheap refusal with the reason) and in the sandbox child before
python-docx opens the package (the last line of defence, e.g. for e-mail attachments).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from legalai.documents.extraction.protocol import ResourceLimitExceeded

__all__ = ["RATIO_FLOOR", "ExpansionLimits", "PackageTooLarge", "check_package"]

# Below this many expanded bytes a compression ratio is not judged (same rule as ZIP uploads).
RATIO_FLOOR = 1024 * 1024
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ExpansionLimits:
    """How far a ZIP-based document may expand; defaults are those of ``Settings``."""

    max_entries: int = 10_000
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_ratio: int = 200

    def __post_init__(self) -> None:
        if self.max_entries <= 0 or self.max_total_bytes <= 0 or self.max_ratio <= 0:
            raise ValueError("expansion limits must be positive")


class PackageTooLarge(ResourceLimitExceeded):
    """The package expands beyond a limit; ``reason`` says which, in words for the user."""


def check_package(path: Path, limits: ExpansionLimits, *, label: str = "DOCX") -> None:
    """Raise :class:`PackageTooLarge` if the ZIP package at ``path`` expands beyond ``limits``.

    ``label`` names the format in the reason ("The DOCX expands to ..."). A file that is not a
    readable ZIP raises :class:`zipfile.BadZipFile` (or ``OSError``, ``EOFError``...).
    """
    on_disk = max(path.stat().st_size, 1)
    with zipfile.ZipFile(path) as package:
        infos = [info for info in package.infolist() if not info.is_dir()]
        if len(infos) > limits.max_entries:
            raise PackageTooLarge(
                f"The {label} has {len(infos)} parts; the limit is {limits.max_entries}: refused as a "
                "possible zip bomb."
            )
        _check_declared(infos, on_disk, limits, label)
        _check_actual(package, infos, on_disk, limits, label)


def _compressed(info: zipfile.ZipInfo, on_disk: int) -> int:
    return max(1, min(info.compress_size, on_disk))


def _check_declared(infos: list[zipfile.ZipInfo], on_disk: int, limits: ExpansionLimits, label: str) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        _check_sizes(info.file_size, _compressed(info, on_disk), total, on_disk, limits, label)


def _check_actual(
    package: zipfile.ZipFile, infos: list[zipfile.ZipInfo], on_disk: int, limits: ExpansionLimits, label: str
) -> None:
    total = 0
    for info in infos:
        size = 0
        compressed = _compressed(info, on_disk)
        with package.open(info) as part:
            while block := part.read(_BLOCK):
                size += len(block)
                total += len(block)
                _check_sizes(size, compressed, total, on_disk, limits, label)


def _check_sizes(
    size: int, compressed: int, total: int, on_disk: int, limits: ExpansionLimits, label: str
) -> None:
    for expanded, packed in ((size, compressed), (total, on_disk)):
        if expanded > RATIO_FLOOR and expanded / packed > limits.max_ratio:
            raise PackageTooLarge(
                f"The {label} expands to more than {expanded:,} bytes (compression ratio "
                f"{expanded // packed}, the limit is {limits.max_ratio}): refused as a possible zip bomb."
            )
    if total > limits.max_total_bytes:
        raise PackageTooLarge(
            f"The {label} expands to more than {limits.max_total_bytes:,} bytes, the limit for "
            "archives: refused as a possible zip bomb."
        )
