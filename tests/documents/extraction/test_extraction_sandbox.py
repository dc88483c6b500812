from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pickle
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from fpdf import FPDF

from legalai.documents.extraction.protocol import (
    CorruptDocument,
    EncryptedDocument,
    ExtractionError,
    ResourceLimitExceeded,
    UnsupportedFormat,
)
from legalai.documents.extraction.registry import ExtractionOptions
from legalai.documents.extraction.sandbox import Sandbox, _decode_reply, run_inline

OPTIONS = ExtractionOptions(ocr_dpi=200)


def _sandbox(*, timeout: float = 20, cpu: int = 20, memory_mb: int = 1024) -> Sandbox:
    return Sandbox(
        timeout_seconds=timeout, cpu_seconds=cpu, memory_mb=memory_mb, options=OPTIONS, _test_hooks=True
    )


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _assert_healthy(sandbox: Sandbox, text_pdf: Path) -> None:
    """The sandbox still extracts normally and nothing was left behind."""
    result = sandbox.run(text_pdf, "pdf")
    assert "Acme Ltd" in result.pages[0].text
    assert multiprocessing.active_children() == []


def test_pdf_through_the_sandbox_matches_inline(text_pdf: Path) -> None:
    assert _sandbox().run(text_pdf, "pdf") == run_inline(text_pdf, "pdf", OPTIONS)


def test_ocr_works_under_the_limits(scanned_pdf: Path, ocr_word: str) -> None:
    page = _sandbox().run(scanned_pdf, "pdf").pages[0]
    assert page.ocr is True
    assert ocr_word in page.text


def test_document_errors_are_relayed(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="Confidential")
    pdf.set_encryption(owner_password="o", user_password="u")
    locked = tmp_path / "locked.pdf"
    pdf.output(str(locked))
    with pytest.raises(EncryptedDocument) as info:
        _sandbox().run(locked, "pdf")
    assert info.value.reason == "This PDF is password-protected; upload an unprotected copy."

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\xff" * 500)
    with pytest.raises(CorruptDocument):
        _sandbox().run(broken, "pdf")


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _sandbox().run(tmp_path / "gone.pdf", "pdf")


def test_attachments_round_trip_as_bytes(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Files"
    message.set_content("See attached.")
    payload = bytes(range(256)) * 10
    message.add_attachment(payload, maintype="application", subtype="octet-stream", filename="data.bin")
    path = tmp_path / "m.eml"
    path.write_bytes(message.as_bytes())
    result = _sandbox().run(path, "email")
    assert [(a.filename, a.data) for a in result.attachments] == [("data.bin", payload)]


def test_timeout_stops_a_hanging_extraction(text_pdf: Path) -> None:
    sandbox = _sandbox(timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ResourceLimitExceeded) as info:
        sandbox.run(text_pdf, "_test_sleep")
    assert time.monotonic() - started < 2.5  # timeout + kill + slack for a loaded CI machine
    assert info.value.reason == "Extraction took longer than 1 seconds and was stopped."
    _assert_healthy(sandbox, text_pdf)


def test_child_stalling_mid_reply_is_stopped(text_pdf: Path) -> None:
    sandbox = _sandbox(timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ResourceLimitExceeded, match="longer than 1 seconds"):
        sandbox.run(text_pdf, "_test_stall")
    assert time.monotonic() - started < 3.5  # timeout + 1 s transfer grace + slack
    _assert_healthy(sandbox, text_pdf)


def test_oversized_reply_is_refused(text_pdf: Path) -> None:
    sandbox = _sandbox(timeout=5.0)
    started = time.monotonic()
    with pytest.raises(CorruptDocument, match="malformed"):
        sandbox.run(text_pdf, "_test_oversize")
    assert time.monotonic() - started < 2.0
    _assert_healthy(sandbox, text_pdf)


def test_timeout_also_kills_helper_processes(tmp_path: Path, text_pdf: Path) -> None:
    pid_file = tmp_path / "helper.pid"
    pid_file.write_text("")
    with pytest.raises(ResourceLimitExceeded):
        _sandbox(timeout=1.0).run(pid_file, "_test_grandchild")
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while _is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _is_running(pid)


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie is dead, merely not yet reaped by init


def test_memory_limit(text_pdf: Path) -> None:
    sandbox = _sandbox(memory_mb=300)
    with pytest.raises(ResourceLimitExceeded) as info:
        sandbox.run(text_pdf, "_test_alloc")
    assert "memory" in info.value.reason
    assert "300 MB" in info.value.reason
    _assert_healthy(sandbox, text_pdf)


def test_cpu_limit(text_pdf: Path) -> None:
    sandbox = _sandbox(cpu=1, timeout=15)  # the wall-clock timeout must not be what stops it
    with pytest.raises(ResourceLimitExceeded) as info:
        sandbox.run(text_pdf, "_test_cpu")
    assert "CPU time" in info.value.reason
    _assert_healthy(sandbox, text_pdf)


@pytest.mark.parametrize(("hook", "signal_name"), [("_test_abort", "SIGABRT"), ("_test_segfault", "SIGSEGV")])
def test_crash_is_reported_clearly(text_pdf: Path, hook: str, signal_name: str) -> None:
    sandbox = _sandbox()
    with pytest.raises(CorruptDocument) as info:
        sandbox.run(text_pdf, hook)
    assert "crashed" in info.value.reason
    assert signal_name in info.value.reason
    _assert_healthy(sandbox, text_pdf)


def test_large_reply_does_not_deadlock(text_pdf: Path) -> None:
    result = _sandbox(timeout=10).run(text_pdf, "_test_big")
    assert len(result.pages[0].text) > 10_000_000
    assert len(result.attachments[0].data) == 1024 * 1024


def test_no_descriptor_or_process_leaks(text_pdf: Path) -> None:
    sandbox = _sandbox(timeout=1.0)
    sandbox.run(text_pdf, "pdf")  # warm up: the fork server's own descriptors
    before = _open_fds()
    for kind in ("pdf", "_test_abort", "_test_sleep", "pdf"):
        with contextlib.suppress(ExtractionError):
            sandbox.run(text_pdf, kind)
    assert _open_fds() == before
    assert multiprocessing.active_children() == []


def test_test_hooks_need_the_flag(text_pdf: Path) -> None:
    sandbox = Sandbox(timeout_seconds=5, cpu_seconds=5, memory_mb=512, options=OPTIONS)
    with pytest.raises(UnsupportedFormat):
        sandbox.run(text_pdf, "_test_sleep")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Sandbox(timeout_seconds=0, cpu_seconds=1, memory_mb=1, options=OPTIONS)


@pytest.mark.parametrize(
    "reply",
    [
        pickle.dumps({"ok": 1}),
        b"[]",
        b'{"ok": {"kind": "pdf", "pages": "x", "metadata": {}, "attachments": []}}',
        b'{"ok": {"kind": "pdf", "pages": [{"number": "1", "text": "", "ocr": false}],'
        b' "metadata": {}, "attachments": []}}',
        b'{"ok": {"kind": "pdf", "pages": [], "metadata": {},'
        b' "attachments": [{"filename": "a", "data": "not base64!"}]}}',
        b"[" * 100_000,
    ],
)
def test_malformed_replies_are_rejected(reply: bytes) -> None:
    with pytest.raises(CorruptDocument):
        _decode_reply(reply, Path("x.pdf"))


def test_error_replies_map_to_classes() -> None:
    with pytest.raises(EncryptedDocument, match="locked"):
        _decode_reply(json.dumps({"error": "encrypted", "reason": "locked"}).encode(), Path("x.pdf"))
    with pytest.raises(ExtractionError, match="odd") as info:
        _decode_reply(json.dumps({"error": "no-such-code", "reason": "odd"}).encode(), Path("x.pdf"))
    assert type(info.value) is ExtractionError
