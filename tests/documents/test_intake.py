"""Hostile archives and names, checked without the API."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from legalai.documents.intake import (
    ArchiveLimits,
    Rejected,
    StagedFile,
    check_office_package,
    expand_zip,
    original_name_of,
    sanitize_filename,
    sanitize_folder,
    stage_stream,
)
from legalai.kit.errors import InvalidInput, PayloadTooLarge
from tests.fixtures.docs import make_docx, make_docx_bomb

LIMITS = ArchiveLimits(
    max_entries=50, max_total_bytes=5 * 1024 * 1024, max_ratio=100, max_file_bytes=4 * 1024 * 1024
)


def _zip(tmp_path: Path, entries: dict[str, bytes], *, stored: bool = False) -> Path:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\brief.docx", "brief.docx"),
        ("a\x00b\r\nc.pdf", "a_b_c.pdf"),
        ("..", "document"),
        ("", "document"),
        ("  .hidden. ", "hidden"),
        ("répertoire<>:|?.txt", "répertoire_.txt"),
    ],
)
def test_sanitize_filename(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


BIDI_AND_INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # marks
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # zero-width, joiners, word joiner, BOM, soft hyphen
    "\u0085\u009b\u2028\u2029\U000e0041\u3164\ufe0f\ud800"  # C1, separators, tag, filler, VS, surrogate
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("report\u2067.pdf\u2069.exe", "report.pdf.exe"),
        ("a\u200bb\u200fc.txt", "abc.txt"),
        (f"x{BIDI_AND_INVISIBLE}y.docx", "xy.docx"),
        ("\u202e..\u200b", "document"),  # what is left after stripping is checked too
        ("dir\u202e/\u200b.hidden.txt", "hidden.txt"),
        ("مستند\u061c.pdf", "مستند.pdf"),  # letters of right-to-left scripts stay
    ],
)
def test_sanitize_filename_strips_bidi_and_invisible_characters(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_archive_entry_names_and_folders_lose_invisible_characters(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"scans\u2066/in\u200dvoice\u202efdp.exe": b"plain text in disguise"})
    [entry] = list(expand_zip(path, tmp_path, LIMITS))
    assert isinstance(entry, StagedFile)
    assert (entry.folder, entry.filename) == ("scans", "invoicefdp.exe")


def test_long_names_keep_their_extension() -> None:
    name = sanitize_filename("x" * 400 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 200


def test_sanitize_folder_drops_traversal_components() -> None:
    assert sanitize_folder("a/./b\\c/") == "a/b/c"


def test_stage_stream_hashes_and_enforces_limits(tmp_path: Path) -> None:
    path, sha, size = stage_stream(io.BytesIO(b"hello"), tmp_path, 10, name="h.txt")
    assert path.read_bytes() == b"hello" and size == 5
    assert sha == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    with pytest.raises(PayloadTooLarge):
        stage_stream(io.BytesIO(b"x" * 11), tmp_path, 10, name="big.txt")
    with pytest.raises(InvalidInput):
        stage_stream(io.BytesIO(b""), tmp_path, 10, name="empty.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "failed stagings leave nothing behind"


def test_total_expanded_size_is_capped_while_streaming(tmp_path: Path) -> None:
    entries = {
        f"part{i}.txt": bytes(range(256)) * 4096 * 3 for i in range(4)
    }  # 3 MB each, incompressible-ish
    results = list(expand_zip(_zip(tmp_path, entries, stored=True), tmp_path, LIMITS))
    staged = [r for r in results if isinstance(r, StagedFile)]
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert sum(s.size for s in staged) <= LIMITS.max_total_bytes
    assert rejected and all(isinstance(r.error, PayloadTooLarge) for r in rejected)
    assert "expands beyond" in rejected[0].error.detail


def test_lying_zip_headers_do_not_bypass_the_size_cap(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"big.txt": b"A" * (5 * 1024 * 1024)})
    # Rewrite the declared uncompressed size in the central directory to something tiny.
    data = bytearray(path.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    results = list(expand_zip(path, tmp_path, LIMITS))
    assert all(isinstance(r, Rejected) for r in results)


def test_too_many_entries_is_refused_up_front(tmp_path: Path) -> None:
    path = _zip(tmp_path, {f"f{i}.txt": b"x" for i in range(LIMITS.max_entries + 1)})
    with pytest.raises(PayloadTooLarge, match="entries"):
        list(expand_zip(path, tmp_path, LIMITS))


def test_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InvalidInput, match="cannot be read"):
        list(expand_zip(path, tmp_path, LIMITS))


def test_docx_bombs_are_refused_at_upload_with_the_archive_limits(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(make_docx_bomb(256))
    with pytest.raises(PayloadTooLarge) as caught:
        check_office_package(bomb, LIMITS, name="bomb.docx")
    assert caught.value.detail.startswith("'bomb.docx': The DOCX expands to more than")
    assert f"the limit is {LIMITS.max_ratio}" in caught.value.detail
    normal = tmp_path / "normal.docx"
    normal.write_bytes(make_docx(["Fine."]))
    check_office_package(normal, LIMITS, name="normal.docx")
    with pytest.raises(PayloadTooLarge, match="expands to more than 100,000 bytes"):
        check_office_package(normal, ArchiveLimits(100, 100_000, 100, 10**9), name="normal.docx")
    damaged = tmp_path / "damaged.docx"
    damaged.write_bytes(make_docx(["Fine."])[:-100])
    check_office_package(damaged, LIMITS, name="damaged.docx")  # extraction will say it is damaged


def test_original_names_keep_what_the_user_typed_but_show_invisible_characters() -> None:
    assert original_name_of("../../etc/passwd") == "../../etc/passwd"
    assert original_name_of("") == ""
    assert (
        original_name_of("Re\u0301sume\u0301.pdf") == "R\u00e9sum\u00e9.pdf"
    )  # NFC: a Mac's name is the same
    assert original_name_of("invoice\u202efdp.exe\x00") == "invoice<U+202E>fdp.exe<U+0000>"
    assert original_name_of("x" * 600) == "x" * 512


def test_archive_entries_carry_their_path_as_original_name(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"./a//b:c/x.txt": b"one", "a/b_c/x.txt": b"two"})
    staged = [r for r in expand_zip(path, tmp_path, LIMITS) if isinstance(r, StagedFile)]
    assert [(s.folder, s.filename, s.original_name) for s in staged] == [
        ("a/b_c", "x.txt", "a/b:c/x.txt"),
        ("a/b_c", "x.txt", "a/b_c/x.txt"),
    ]
