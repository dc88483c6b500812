"""DOCX zip bombs are refused before python-docx reads a part into memory."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from legalai.documents.extraction.ooxml import ExpansionLimits, PackageTooLarge, check_package
from legalai.documents.extraction.protocol import CorruptDocument, ResourceLimitExceeded
from legalai.documents.extraction.registry import ExtractionOptions, extract
from legalai.documents.extraction.sandbox import Sandbox
from tests.fixtures.docs import make_docx, make_docx_bomb

OPTIONS = ExtractionOptions(ocr_dpi=200)
MB = 1024 * 1024


@pytest.fixture
def bomb(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.docx"
    path.write_bytes(make_docx_bomb(256))  # 256 MB of XML in ~300 KB
    return path


def test_docx_bomb_is_refused_before_parsing_quickly_and_in_little_memory(bomb: Path) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ResourceLimitExceeded) as caught:
            extract(bomb, "docx", OPTIONS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10
    assert peak < 16 * MB, f"{peak / MB:.0f} MB allocated"
    reason = caught.value.reason
    assert reason.startswith("The DOCX expands to more than 268,4") and "compression ratio" in reason
    assert "refused as a possible zip bomb" in reason and "limit is 200" in reason


def test_docx_bomb_in_the_sandbox_fails_with_its_reason_not_the_memory_limit(bomb: Path) -> None:
    sandbox = Sandbox(timeout_seconds=60, cpu_seconds=60, memory_mb=256, options=OPTIONS)
    started = time.monotonic()
    with pytest.raises(ResourceLimitExceeded) as caught:
        sandbox.run(bomb, "docx")
    assert time.monotonic() - started < 20
    assert "zip bomb" in caught.value.reason and "memory" not in caught.value.reason


def test_the_limits_come_from_the_extraction_options(tmp_path: Path) -> None:
    path = tmp_path / "normal.docx"
    path.write_bytes(make_docx(["An ordinary agreement."]))
    assert "ordinary" in extract(path, "docx", OPTIONS).pages[0].text
    tight = ExtractionOptions(package_limits=ExpansionLimits(max_total_bytes=100_000))
    with pytest.raises(ResourceLimitExceeded, match=r"expands to more than 100,000 bytes"):
        extract(path, "docx", tight)
    few = ExtractionOptions(package_limits=ExpansionLimits(max_entries=3))
    with pytest.raises(ResourceLimitExceeded, match=r"parts; the limit is 3"):
        extract(path, "docx", few)


def test_a_bomb_split_into_many_small_parts_is_refused_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(20):  # each part is under the 1 MB below which a ratio is not judged
            zf.writestr(f"word/part{i}.xml", b" " * (MB - 1))
    with pytest.raises(PackageTooLarge, match="compression ratio"):
        check_package(path, ExpansionLimits(max_ratio=100))


def _patch_sizes(
    data: bytes, name: bytes, *, compressed: int | None = None, expanded: int | None = None
) -> bytes:
    """Rewrite the sizes of entry ``name`` in its local header and the central directory."""
    out = bytearray(data)
    for signature, fields, name_at in ((b"PK\x03\x04", 18, 30), (b"PK\x01\x02", 20, 46)):
        start = 0
        while (start := out.find(signature, start)) != -1:
            if out[start + name_at : start + name_at + len(name)] == name:
                if compressed is not None:
                    out[start + fields : start + fields + 4] = compressed.to_bytes(4, "little")
                if expanded is not None:
                    out[start + fields + 4 : start + fields + 8] = expanded.to_bytes(4, "little")
            start += 4
    return bytes(out)


def _small_bomb(mb: int = 20) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(make_docx(["x"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                head, tail = data.split(b"<w:body>", 1)
                data = head + b"<w:body>" + b" " * (mb * MB) + tail
            zf.writestr(info.filename, data)
    return out.getvalue()


def test_lying_headers_do_not_let_a_bomb_through(tmp_path: Path) -> None:
    path = tmp_path / "liar.docx"
    # Claims 2 GB of compressed data for 20 KB: the ratio is taken against the file's real size.
    path.write_bytes(_patch_sizes(_small_bomb(), b"word/document.xml", compressed=2**31))
    with pytest.raises(PackageTooLarge, match="compression ratio"):
        check_package(path, ExpansionLimits())
    # Claims 10 bytes expanded: zipfile returns only those and the CRC fails, but ZipFile.read()
    # would first inflate the whole part in one call (~50 MB allocated for this 20 MB part).
    # Read in blocks, the check stops at the first one: the file is reported damaged.
    path.write_bytes(_patch_sizes(_small_bomb(), b"word/document.xml", expanded=10))
    tracemalloc.start()
    try:
        with pytest.raises(CorruptDocument):
            extract(path, "docx", OPTIONS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB
