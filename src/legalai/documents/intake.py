"""Receiving untrusted files: streaming to disk with size caps, naming, and archive expansion.

Archives are hostile by default: every entry is checked for path traversal, links, its own size,
the compression ratio and the running total while it is decompressed (declared sizes in the
zip directory are not trusted).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from legalai.documents.extraction.ooxml import ExpansionLimits, PackageTooLarge, check_package
from legalai.kit.errors import DomainError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from legalai.kit.invisible import reveal_invisible, strip_invisible

_COPY_BLOCK = 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


_ORIGINAL_NAME_CHARS = 512  # legalai.documents.models.ORIGINAL_NAME_CHARS


@dataclass
class StagedFile:
    filename: str
    folder: str  # folder inside an archive, '/'-separated, "" at top level
    temp_path: Path
    sha256: str
    size: int
    # The name the user gave (original_name_of); None: the same as ``filename``.
    original_name: str | None = None


@dataclass
class Rejected:
    filename: str
    folder: str
    error: DomainError


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: int
    max_file_bytes: int

    @property
    def expansion(self) -> ExpansionLimits:
        """The same limits for ZIP-based documents (DOCX), which are archives too."""
        return ExpansionLimits(self.max_entries, self.max_total_bytes, self.max_ratio)


def sanitize_filename(name: str, default: str = "document") -> str:
    """A safe single path component: no directories, control characters or reserved names.

    Invisible characters (bidi overrides and isolates, zero-width and other format characters, see
    :mod:`legalai.kit.invisible`) are removed, so that ``"invoice\\u202efdp.exe"`` is stored and shown
    as ``invoicefdp.exe`` and cannot pass for a PDF. C0 controls become ``_`` as before.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base)
    base = strip_invisible(base).strip(" .")
    if not base or base in {".", ".."}:
        base = default
    if len(base.encode()) > 200:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:16] if dot else ""
        stem = (stem if dot else base).encode()[: 200 - len(ext) - 1].decode(errors="ignore")
        base = f"{stem}.{ext}" if ext else stem
    return base


def original_name_of(name: str) -> str:
    """The name as the user gave it, storable and safe to show: what versions are decided by.

    Only what cannot be stored or must not be shown raw is changed: Unicode NFC (a Mac sends
    "é" decomposed, the same name), invisible characters written out as ``<U+202E>`` (NUL and
    lone surrogates included), and a cut at 512 characters.
    """
    return reveal_invisible(unicodedata.normalize("NFC", name))[:_ORIGINAL_NAME_CHARS]


def sanitize_folder(folder: str) -> str:
    parts = [sanitize_filename(p, "_") for p in folder.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def stage_stream(source: BinaryIO, directory: Path, max_bytes: int, *, name: str) -> tuple[Path, str, int]:
    """Copy ``source`` to a new file in ``directory``, hashing it; enforce the size cap while copying."""
    digest = hashlib.sha256()
    size = 0
    fd, raw_path = tempfile.mkstemp(dir=directory, prefix="upload-")
    path = Path(raw_path)
    try:
        with os.fdopen(fd, "wb") as out:
            while block := source.read(_COPY_BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"{name!r} is larger than the limit of {_human(max_bytes)}", limit_bytes=max_bytes
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise InvalidInput(f"{name!r} is empty")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def expand_zip(archive: Path, directory: Path, limits: ArchiveLimits) -> Iterator[StagedFile | Rejected]:
    """Yield each regular file of a zip archive staged to disk, or why it was refused."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"The zip archive cannot be read: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise PayloadTooLarge(f"The archive has {len(infos)} entries; the limit is {limits.max_entries}")
        budget = [limits.max_total_bytes]
        for info in infos:
            if info.is_dir():
                continue
            yield _stage_entry(zf, info, directory, limits, budget)


def _stage_entry(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, directory: Path, limits: ArchiveLimits, budget: list[int]
) -> StagedFile | Rejected:
    raw = PurePosixPath(info.filename.replace("\\", "/"))
    folder = sanitize_folder(str(raw.parent)) if str(raw.parent) != "." else ""
    filename = sanitize_filename(raw.name)
    # The entry's whole path ("./a//b.txt" as "a/b.txt"): entries in folders that only look the same
    # once sanitized ("a:b/x.txt", "a_b/x.txt") stay apart.
    original = original_name_of(str(raw))
    if raw.is_absolute() or ".." in raw.parts or re.match(r"^[A-Za-z]:", info.filename):
        return Rejected(filename, folder, InvalidInput(f"Unsafe path in archive: {info.filename!r}"))
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return Rejected(
            filename, folder, InvalidInput(f"Symbolic link in archive refused: {info.filename!r}")
        )
    if info.flag_bits & 0x1:
        return Rejected(filename, folder, InvalidInput(f"Encrypted archive entry: {info.filename!r}"))
    if info.file_size == 0:
        return Rejected(filename, folder, InvalidInput(f"{info.filename!r} is empty"))
    try:
        path, sha, size = _decompress(zf, info, directory, limits, budget)
    except DomainError as exc:
        return Rejected(filename, folder, exc)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        return Rejected(filename, folder, InvalidInput(f"{info.filename!r} cannot be decompressed: {exc}"))
    return StagedFile(filename, folder, path, sha, size, original)


def _decompress(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, directory: Path, limits: ArchiveLimits, budget: list[int]
) -> tuple[Path, str, int]:
    digest = hashlib.sha256()
    size = 0
    compressed = max(info.compress_size, 1)
    fd, raw_path = tempfile.mkstemp(dir=directory, prefix="entry-")
    path = Path(raw_path)
    try:
        with os.fdopen(fd, "wb") as out, zf.open(info) as src:
            while block := src.read(_COPY_BLOCK):
                size += len(block)
                _check_entry_limits(info, size, compressed, limits, budget)
                digest.update(block)
                out.write(block)
        budget[0] -= size
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def _check_entry_limits(
    info: zipfile.ZipInfo, size: int, compressed: int, limits: ArchiveLimits, budget: list[int]
) -> None:
    if size > limits.max_file_bytes:
        raise PayloadTooLarge(
            f"{info.filename!r} is larger than the limit of {_human(limits.max_file_bytes)}"
        )
    if size > budget[0]:
        raise PayloadTooLarge(
            f"The archive expands beyond the limit of {_human(limits.max_total_bytes)}; stopped at "
            f"{info.filename!r}"
        )
    # Small files may compress extremely well legitimately; judge the ratio once it matters.
    if size > 1024 * 1024 and size / compressed > limits.max_ratio:
        raise PayloadTooLarge(
            f"{info.filename!r} expands more than {limits.max_ratio}x (a zip bomb?); refused"
        )


def check_office_package(path: Path, limits: ArchiveLimits, *, name: str, label: str = "DOCX") -> None:
    """Refuse a DOCX that expands like a zip bomb (:class:`PayloadTooLarge`) before it is stored.

    Costs one streaming decompression (no memory), like the entries of a ZIP upload. A package
    that cannot be read at all is let through: extraction fails it with the reason for the damage
    (and checks the expansion again, in the sandbox, before parsing).
    """
    try:
        check_package(path, limits.expansion, label=label)
    except PackageTooLarge as exc:
        raise PayloadTooLarge(f"{name!r}: {exc.reason}") from exc
    except Exception:  # noqa: BLE001 - damaged, encrypted, odd compression: extraction says which
        return


def unsupported(filename: str, description: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"{filename!r} is not a supported document type. Supported: {description}.",
        supported=description,
    )


def _human(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"
