"""Run extraction of untrusted files in a throw-away child process with hard limits.

A hostile or merely broken PDF can make a C parser loop forever, allocate without bound or
crash.  Each document is therefore extracted in its own child process that has

* a wall-clock timeout enforced by the parent (the child, and any Tesseract it started, is
  killed as a process group),
* ``RLIMIT_CPU`` (SIGXCPU at the soft limit, SIGKILL 5 s later),
* ``RLIMIT_AS`` (allocations fail, Python raises MemoryError),
* no core dumps and a small file-descriptor budget.

Children are forked from a ``forkserver``: a clean, single-threaded process that has already
imported pypdfium2, lxml, Pillow and friends, so a task starts in milliseconds.  Forking the
(multi-threaded) service itself is never done: a lock held by another thread at fork time would
stay locked forever in the child.

The child reports back over a pipe as JSON, never pickle: it has been handling hostile data and
may be compromised, so the parent must not let it choose what objects get constructed.

Operational notes:

* ``memory_mb`` limits the child's *address space*.  The preloaded interpreter needs ~100 MB and
  Tesseract (which inherits the limit) a little more; 256 MB suffices for OCR of A4 pages at
  300 dpi, 1024 MB is a comfortable production value.
* Children skip the parent's ``__main__`` (``legalai.kit.children``): a child starts in ~10 ms
  whatever runs the service.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import resource
import signal
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from legalai.documents.extraction import registry
from legalai.documents.extraction.protocol import (
    Attachment,
    CorruptDocument,
    EncryptedDocument,
    ExtractedPage,
    ExtractionError,
    ExtractionResult,
    ResourceLimitExceeded,
    UnsupportedFormat,
)
from legalai.documents.extraction.registry import ExtractionOptions
from legalai.kit import children

__all__ = ["Sandbox", "run_inline"]

log = logging.getLogger(__name__)

children.preload("legalai.documents.extraction.registry", "legalai.documents.extraction.sandbox")

_MAX_OPEN_FILES = 64  # the document, the pipe, Tesseract's pipes and temp files
_CPU_HARD_GRACE = 5  # seconds between SIGXCPU and the kernel's SIGKILL
_JOIN_GRACE = 5.0  # seconds a child that already answered gets to exit
_TRANSFER_GRACE = 1.0  # seconds past the deadline to finish reading a reply that started in time
_MAX_REASON = 500
_MALFORMED_REPLY = "The document could not be processed (malformed extraction result)."

_ERRORS: dict[str, type[ExtractionError]] = {
    cls.code: cls
    for cls in (ExtractionError, UnsupportedFormat, EncryptedDocument, CorruptDocument, ResourceLimitExceeded)
}


def run_inline(path: Path, kind: str, options: ExtractionOptions) -> ExtractionResult:
    """Extract in this process, without limits: only for trusted input (tests, tooling)."""
    return registry.extract(path, kind, options)


@dataclass(frozen=True)
class _Task:
    """What the parent sends (pickled parent -> child, which is the trusted direction)."""

    path: str
    kind: str
    options: ExtractionOptions
    cpu_seconds: int
    memory_mb: int
    allow_test_hooks: bool


class Sandbox:
    """Extract untrusted documents in a resource-limited child process, one child per call."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        cpu_seconds: int,
        memory_mb: int,
        options: ExtractionOptions,
        _test_hooks: bool = False,
    ) -> None:
        if timeout_seconds <= 0 or cpu_seconds <= 0 or memory_mb <= 0:
            raise ValueError("sandbox limits must be positive")
        self._timeout = timeout_seconds
        self._cpu_seconds = cpu_seconds
        self._memory_mb = memory_mb
        self._options = options
        self._test_hooks = _test_hooks

    def run(self, path: Path, kind: str) -> ExtractionResult:
        """Extract ``path`` as ``kind``; raises :class:`ExtractionError` like ``registry.extract``."""
        if kind not in registry.KINDS and not (self._test_hooks and kind in _TEST_HOOKS):
            raise UnsupportedFormat(f"Documents of type '{kind}' cannot be extracted.")
        task = _Task(
            path=str(path),
            kind=kind,
            options=self._options,
            cpu_seconds=self._cpu_seconds,
            memory_mb=self._memory_mb,
            allow_test_hooks=self._test_hooks,
        )
        context = children.forkserver_context()
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child_main, args=(sender, task), name="legalai-extract", daemon=True
        )
        data: bytes | None = None
        answered = False
        try:
            with children.without_main_module():
                process.start()
            # Our copy of the write end would keep the pipe open and hide the child's death.
            sender.close()
            data = self._receive(receiver, process)
            answered = True
        finally:
            exitcode = _reap(process, kill=not answered)
            receiver.close()
            sender.close()
        if data is None:
            raise self._failure(exitcode)
        return _decode_reply(data, path)

    def _receive(self, receiver: Connection, process: multiprocessing.process.BaseProcess) -> bytes | None:
        """The child's reply; ``None`` if it died without one.  Raises on timeout."""
        deadline = time.monotonic() + self._timeout
        # Read before joining: a big reply fills the pipe and the child cannot exit until it is read.
        if not receiver.poll(self._timeout):
            raise self._timed_out()
        # A child that has begun replying can still stall mid-message (a compromised one would do
        # so on purpose) and recv_bytes has no timeout: a watchdog kills it, which ends the read.
        fired = threading.Event()

        def stop_child() -> None:
            fired.set()
            _kill_group(process)

        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0) + _TRANSFER_GRACE, stop_child)
        watchdog.daemon = True
        watchdog.start()
        try:
            # The child cannot build a reply larger than its address space.
            return receiver.recv_bytes(maxlength=self._memory_mb * 1024 * 1024)
        except (EOFError, OSError) as exc:
            if fired.is_set():
                raise self._timed_out() from None
            if receiver.closed:  # recv_bytes closes a read-only end on an oversized length
                _kill_group(process)
                raise CorruptDocument(_MALFORMED_REPLY) from exc
            return None  # EOF, possibly mid-message: the child died; its exit status says why
        finally:
            watchdog.cancel()
            watchdog.join()  # it must not touch the process handle after _reap closed it

    def _timed_out(self) -> ResourceLimitExceeded:
        return ResourceLimitExceeded(
            f"Extraction took longer than {self._timeout:g} seconds and was stopped."
        )

    def _failure(self, exitcode: int | None) -> ExtractionError:
        """Why a child ended without replying, from its exit status."""
        if exitcode is not None and exitcode < 0:
            signum = -exitcode
            if signum == signal.SIGXCPU:
                return ResourceLimitExceeded(
                    f"Extraction used more than {self._cpu_seconds} seconds of CPU time and was stopped."
                )
            if signum == signal.SIGKILL:
                return ResourceLimitExceeded(
                    "Extraction was killed, most likely for exceeding its CPU time "
                    f"({self._cpu_seconds} s) or memory ({self._memory_mb} MB) limit."
                )
            return CorruptDocument(
                f"The document crashed the extraction engine ({_signal_name(signum)}); it is probably "
                f"damaged, or needs more than the {self._memory_mb} MB memory limit."
            )
        return ExtractionError(f"The extraction process ended unexpectedly (exit code {exitcode}).")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _reap(process: multiprocessing.process.BaseProcess, *, kill: bool) -> int | None:
    """Make sure the child and anything it started are gone; free the handle; return the exit code."""
    if process.pid is None:  # start() failed
        return None
    if kill:
        _kill_group(process)
    process.join(timeout=_JOIN_GRACE)
    if process.is_alive():
        _kill_group(process)
        process.join(timeout=_JOIN_GRACE)
    exitcode = process.exitcode
    if exitcode != 0:
        _kill_group(process)  # e.g. a Tesseract started by a child that SIGXCPU killed
    if exitcode is None:  # pragma: no cover - SIGKILL cannot be ignored
        log.error("sandbox child %s survived SIGKILL", process.pid)
        return None
    process.close()
    return exitcode


def _kill_group(process: multiprocessing.process.BaseProcess) -> None:
    pid = process.pid
    if pid is None:
        return
    # The child made itself leader of group `pid`; if it did not get that far, that group does
    # not exist yet and killpg fails harmlessly, so only the child itself is killed.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, ValueError):
        process.kill()


# --- reply decoding (parent side; the data is untrusted) ---------------------------------------


def _decode_reply(data: bytes, path: Path) -> ExtractionResult:
    try:
        reply = json.loads(data)
        if not isinstance(reply, dict):
            raise TypeError("reply is not an object")
        if "error" in reply:
            raise _error_from(reply, path)
        return _result_from(reply["ok"])
    except (ValueError, TypeError, KeyError, RecursionError, binascii.Error) as exc:
        log.error("sandbox child sent a malformed reply for %s: %s", path.name, exc)
        raise CorruptDocument(_MALFORMED_REPLY) from exc


def _error_from(reply: dict[str, Any], path: Path) -> Exception:
    code, reason = reply.get("error"), reply.get("reason")
    if code == "missing":
        return FileNotFoundError(path)
    if not isinstance(reason, str) or not reason:
        reason = "The document could not be processed."
    cls = _ERRORS.get(code, ExtractionError) if isinstance(code, str) else ExtractionError
    return cls(reason[:_MAX_REASON])


def _result_from(data: Any) -> ExtractionResult:
    if not isinstance(data, dict):
        raise TypeError("result is not an object")
    kind, pages, metadata, attachments = data["kind"], data["pages"], data["metadata"], data["attachments"]
    if not isinstance(kind, str) or not isinstance(metadata, dict):
        raise TypeError("bad kind or metadata")
    if not isinstance(pages, list) or not isinstance(attachments, list):
        raise TypeError("bad pages or attachments")
    return ExtractionResult(
        kind=kind,
        pages=[_page_from(page) for page in pages],
        metadata=metadata,
        attachments=[_attachment_from(item) for item in attachments],
    )


def _page_from(page: Any) -> ExtractedPage:
    number, text, ocr = page["number"], page["text"], page["ocr"]
    if type(number) is not int or not isinstance(text, str) or not isinstance(ocr, bool):
        raise TypeError("bad page")
    return ExtractedPage(number=number, text=text, ocr=ocr)


def _attachment_from(item: Any) -> Attachment:
    filename, data = item["filename"], item["data"]
    if not isinstance(filename, str) or not isinstance(data, str):
        raise TypeError("bad attachment")
    return Attachment(filename=filename, data=base64.b64decode(data, validate=True))


# --- child side --------------------------------------------------------------------------------


def _child_main(conn: Connection, task: _Task) -> None:
    """Entry point in the child: limit, extract, reply, exit."""
    try:
        os.setpgid(0, 0)  # own process group, so a timeout also kills Tesseract
        _apply_limits(task)
        # Tesseract's OpenMP threads only add contention (and address space) in a 1-doc child.
        os.environ["OMP_THREAD_LIMIT"] = "1"
        reply = _encode(_run_task(task, conn))
    except MemoryError:
        reply = _encode(_memory_error(task))
    try:
        conn.send_bytes(reply)
    except MemoryError:
        conn.send_bytes(_encode(_memory_error(task)))
    finally:
        conn.close()


def _apply_limits(task: _Task) -> None:
    memory = task.memory_mb * 1024 * 1024
    _lower_limit(resource.RLIMIT_AS, memory, memory)
    _lower_limit(resource.RLIMIT_CPU, task.cpu_seconds, task.cpu_seconds + _CPU_HARD_GRACE)
    _lower_limit(resource.RLIMIT_CORE, 0, 0)
    _lower_limit(resource.RLIMIT_NOFILE, _MAX_OPEN_FILES, _MAX_OPEN_FILES)


def _lower_limit(which: int, soft: int, hard: int) -> None:
    """Set a limit, never above the current hard limit (raising it needs privileges)."""
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


def _run_task(task: _Task, conn: Connection) -> dict[str, Any]:
    path = Path(task.path)
    try:
        hook = _TEST_HOOKS.get(task.kind) if task.allow_test_hooks else None
        result = hook(path, conn) if hook else registry.extract(path, task.kind, task.options)
        return {"ok": _result_to_json(result)}
    except ResourceLimitExceeded as exc:
        if isinstance(exc.__cause__, MemoryError):  # the registry's wording does not know the limit
            return _memory_error(task)
        return {"error": exc.code, "reason": exc.reason}
    except ExtractionError as exc:
        return {"error": exc.code, "reason": exc.reason}
    except MemoryError:
        return _memory_error(task)
    except FileNotFoundError:
        return {"error": "missing", "reason": "The file to extract does not exist."}
    except Exception:
        log.exception("unexpected failure in sandbox child")
        return {"error": ExtractionError.code, "reason": "The document could not be processed."}


def _memory_error(task: _Task) -> dict[str, Any]:
    return {
        "error": ResourceLimitExceeded.code,
        "reason": f"The document needs more than the {task.memory_mb} MB memory limit to process.",
    }


def _encode(reply: dict[str, Any]) -> bytes:
    # Lone surrogates cannot be encoded as UTF-8; they carry no text, so replace them.
    return json.dumps(reply, ensure_ascii=False).encode("utf-8", errors="replace")


def _result_to_json(result: ExtractionResult) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "pages": [{"number": p.number, "text": p.text, "ocr": p.ocr} for p in result.pages],
        "metadata": _json_safe(result.metadata),
        "attachments": [
            {"filename": a.filename, "data": base64.b64encode(a.data).decode("ascii")}
            for a in result.attachments
        ],
    }


def _json_safe(value: Any, depth: int = 0) -> Any:
    """Metadata as JSON: dates become ISO strings, unknown objects their ``str``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth > 20:
        return str(value)
    if isinstance(value, dict):
        return {str(key): _json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(item, depth + 1) for item in value]
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat())
    return str(value)


# --- test hooks (only reachable with Sandbox(_test_hooks=True)) ---------------------------------


def _hook_sleep(path: Path, conn: Connection) -> ExtractionResult:
    time.sleep(3600)
    raise AssertionError("unreachable")


def _hook_alloc(path: Path, conn: Connection) -> ExtractionResult:
    hoard = []
    while True:  # until RLIMIT_AS makes an allocation fail
        hoard.append(bytearray(16 * 1024 * 1024))


def _hook_cpu(path: Path, conn: Connection) -> ExtractionResult:
    while True:  # until SIGXCPU
        pass


def _hook_abort(path: Path, conn: Connection) -> ExtractionResult:
    os.abort()


def _hook_segfault(path: Path, conn: Connection) -> ExtractionResult:
    ctypes.string_at(0)  # read from address 0: SIGSEGV
    raise AssertionError("unreachable")


def _hook_grandchild(path: Path, conn: Connection) -> ExtractionResult:
    """Start a helper (as Tesseract would), publish its pid in ``path``, then hang."""
    helper = subprocess.Popen(["sleep", "3600"])
    path.write_text(str(helper.pid))
    time.sleep(3600)
    raise AssertionError("unreachable")


def _hook_stall(path: Path, conn: Connection) -> ExtractionResult:
    """Announce a 1 MB reply, send 3 bytes of it, then hang (a compromised child could)."""
    os.write(conn.fileno(), struct.pack("!i", 1024 * 1024) + b'{"o')
    time.sleep(3600)
    raise AssertionError("unreachable")


def _hook_oversize(path: Path, conn: Connection) -> ExtractionResult:
    """Announce a reply bigger than any legitimate one could be, then hang."""
    os.write(conn.fileno(), struct.pack("!i", -1) + struct.pack("!Q", 2**40))
    time.sleep(3600)
    raise AssertionError("unreachable")


def _hook_big(path: Path, conn: Connection) -> ExtractionResult:
    """A reply far larger than a pipe buffer, to prove the parent reads while the child writes."""
    text = "lorem ipsum dolor sit amet " * 400_000  # ~11 MB
    return ExtractionResult(
        kind="text",
        pages=[ExtractedPage(number=1, text=text)],
        attachments=[Attachment(filename="blob.bin", data=os.urandom(1024 * 1024))],
    )


_TEST_HOOKS: dict[str, Callable[[Path, Connection], ExtractionResult]] = {
    "_test_sleep": _hook_sleep,
    "_test_alloc": _hook_alloc,
    "_test_cpu": _hook_cpu,
    "_test_abort": _hook_abort,
    "_test_segfault": _hook_segfault,
    "_test_grandchild": _hook_grandchild,
    "_test_stall": _hook_stall,
    "_test_oversize": _hook_oversize,
    "_test_big": _hook_big,
}
