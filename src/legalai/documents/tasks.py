"""The document processing job: claim, extract in the sandbox, chunk, index, finish.

Idempotent by construction: a version is claimed with a lease in one UPDATE, and its pages and
chunks are replaced and the version marked ``ready`` in one transaction that first checks the
lease is still ours. A job delivered twice, or re-delivered after its worker was killed, either
finds the version finished and does nothing, finds it under another worker's live lease and ends
quietly (that worker finishes it, or the sweeper sends it again once the lease has expired), or
redoes it from scratch without duplicates.

``ready`` means searchable: pages, chunks and the full-text index. Analysis and embedding are
follow-up stages (``legalai.documents.stages``) whose rows the same transaction creates and
whose jobs are sent after it commits.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from legalai.accounts.service import system_principal
from legalai.documents.chunking import chunk_pages
from legalai.documents.extraction.protocol import ExtractionError, ExtractionResult
from legalai.documents.models import (
    Chunk,
    Document,
    DocumentVersion,
    Page,
    ProcessingStatus,
)
from legalai.documents.repository import DocumentRepository
from legalai.documents.service import queue_version
from legalai.documents.stages import SendStage, create_stages, record_event
from legalai.kit.db import transaction, utcnow
from legalai.observability import metrics
from legalai.observability.logging import bound_contextvars, get_logger
from legalai.retrieval.indexing import insert_chunks
from legalai.storage.protocol import BlobCorrupted, BlobNotFound, blob_key

log = get_logger(__name__)


class PermanentJobError(Exception):
    """Retrying cannot help (the file itself is bad); the version is marked failed."""


class TransientJobError(Exception):
    """Worth retrying later (storage or database hiccup, lease held by a live worker)."""


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class Outcome:
    status: str
    reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


class DocumentProcessor:
    """Runs one version through the pipeline. Needs a Runtime (settings, sessions, store, sandbox)."""

    def __init__(
        self,
        runtime: Any,
        enqueue: Callable[[DocumentVersion], None],
        send_stage: SendStage | None = None,
    ) -> None:
        self.rt = runtime
        self.enqueue = enqueue
        self.send_stage = send_stage

    def process(self, version_id: str, organization_id: str, matter_id: str) -> Outcome:
        me = worker_identity()
        with bound_contextvars(version_id=version_id, matter_id=matter_id):
            claimed = self._claim(version_id, organization_id, matter_id, me)
            if isinstance(claimed, Outcome):
                return claimed
            timings: dict[str, float] = {}
            try:
                result = self._extract(claimed, timings)
            except ExtractionError as exc:
                self._fail(claimed, me, exc.reason, exc.code)
                return Outcome(ProcessingStatus.failed.value, exc.reason, timings)
            except BaseException as exc:
                # A transient failure (storage, database): give the claim back so the retry, in
                # whichever worker, can take it at once instead of waiting for the lease to expire.
                self._release(claimed, me, exc)
                raise
            try:
                return self._finish(claimed, me, result, timings)
            except BaseException as exc:
                self._release(claimed, me, exc)
                raise

    # ---- stages -------------------------------------------------------------------------------

    def _claim(self, version_id: str, org_id: str, matter_id: str, me: str) -> DocumentVersion | Outcome:
        now = utcnow()
        with transaction(self.rt.sessions) as session:
            repo = DocumentRepository(session, system_principal(org_id, matter_id))
            try:
                version = repo.version(version_id)
            except Exception:  # noqa: BLE001 - deleted since it was queued: nothing to do
                log.info("job.skipped", reason="version no longer exists")
                return Outcome("gone")
            if version.status in (ProcessingStatus.ready.value, ProcessingStatus.failed.value):
                return Outcome(version.status, version.failure_reason)
            claimed = session.execute(
                update(DocumentVersion)
                .where(
                    DocumentVersion.id == version_id,
                    # Finished versions are never claimed again, even if another worker finished
                    # this one between the read above and this update.
                    DocumentVersion.status.in_(
                        [ProcessingStatus.queued.value, ProcessingStatus.processing.value]
                    ),
                    or_(
                        DocumentVersion.status == ProcessingStatus.queued.value,
                        DocumentVersion.lease_expires_at.is_(None),
                        DocumentVersion.lease_expires_at < now,
                    ),
                )
                .values(
                    status=ProcessingStatus.processing.value,
                    lease_owner=me,
                    lease_expires_at=now + timedelta(seconds=self.rt.settings.job_lease_seconds),
                    attempts=DocumentVersion.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(claimed) != 1:
                # A duplicate message (the sweeper, a redelivery) met the version under another
                # worker's live lease: that worker finishes it, or the sweeper sends it again once
                # the lease has expired. Nothing to retry, nothing to report as an error.
                log.info(
                    "job.duplicate",
                    reason="being processed by another worker",
                    holder=version.lease_owner,
                    lease_expires_at=str(version.lease_expires_at),
                )
                return Outcome("busy")
            _set_document_status(session, version, ProcessingStatus.processing.value)
            record_event(session, version_id, "claim", "ok", me, f"attempt {version.attempts + 1}")
            session.refresh(version)
            log.info("job.claimed", attempt=version.attempts)
            return version

    def _extract(self, version: DocumentVersion, timings: dict[str, float]) -> ExtractionResult:
        with tempfile.TemporaryDirectory(prefix="legalai-job-") as tmp:
            target = Path(tmp) / "original"
            started = time.perf_counter()
            try:
                self.rt.store.download_to(version.blob_key, target, sha256=version.sha256)
            except (BlobNotFound, BlobCorrupted) as exc:
                raise ExtractionError(f"The stored original cannot be read back: {exc}") from exc
            timings["fetch"] = _ms(started)
            started = time.perf_counter()
            try:
                result: ExtractionResult = self.rt.sandbox.run(target, version.kind)
            finally:
                timings["extract"] = _ms(started)
                metrics.STAGE_SECONDS.labels("extract").observe(timings["extract"] / 1000)
            return result

    def _finish(
        self,
        version: DocumentVersion,
        me: str,
        result: ExtractionResult,
        timings: dict[str, float],
    ) -> Outcome:
        settings = self.rt.settings
        started = time.perf_counter()
        texts = [(p.number, p.text) for p in result.pages]
        spans = chunk_pages(texts, settings.chunk_chars, settings.chunk_overlap_chars)
        timings["chunk"] = _ms(started)
        page_text = dict(texts)
        started = time.perf_counter()
        with transaction(self.rt.sessions) as session:
            if not _still_ours(session, version.id, me):
                log.warning("job.lease_lost")
                return Outcome("lease_lost")
            session.execute(delete(Chunk).where(Chunk.version_id == version.id))
            session.execute(delete(Page).where(Page.version_id == version.id))
            if result.pages:
                session.execute(
                    insert(Page),
                    [
                        {"version_id": version.id, "number": p.number, "text": p.text, "ocr": p.ocr}
                        for p in result.pages
                    ],
                )
            insert_chunks(session, version, page_text, spans)
            children = self._add_attachments(session, version, result)
            create_stages(
                session,
                version,
                self.send_stage,
                analysis=self.rt.analysis.enabled,
                embedding=self.rt.retrieval.embed_in_pipeline,
                chunks=len(spans),
            )
            timings["index"] = _ms(started)
            session.execute(
                update(DocumentVersion)
                .where(DocumentVersion.id == version.id)
                .values(
                    status=ProcessingStatus.ready.value,
                    failure_reason=None,
                    page_count=len(result.pages),
                    timings=timings,
                    extracted_metadata=_json_safe(result.metadata),
                    lease_owner=None,
                    lease_expires_at=None,
                    processed_at=utcnow(),
                )
            )
            _set_document_status(session, version, ProcessingStatus.ready.value)
            record_event(
                session,
                version.id,
                "index",
                "ok",
                me,
                f"{len(result.pages)} pages, {len(spans)} chunks",
                sum(timings.values()),
            )
            for child in children:
                queue_version(session, self.enqueue, child)
        for stage in ("chunk", "index"):
            metrics.STAGE_SECONDS.labels(stage).observe(timings[stage] / 1000)
        ocr_pages = sum(1 for p in result.pages if p.ocr)
        metrics.PAGES_PROCESSED.labels("true").inc(ocr_pages)
        metrics.PAGES_PROCESSED.labels("false").inc(len(result.pages) - ocr_pages)
        metrics.DOCUMENTS_PROCESSED.labels("ready").inc()
        log.info("job.ready", pages=len(result.pages), chunks=len(spans), timings=timings)
        return Outcome(ProcessingStatus.ready.value, None, timings)

    def _add_attachments(
        self, session: Session, version: DocumentVersion, result: ExtractionResult
    ) -> list[DocumentVersion]:
        """E-mail attachments become child documents, once per parent version."""
        from legalai.documents.extraction.detect import detect_format

        if not result.attachments:
            return []
        parent = session.get(Document, version.document_id)
        if parent is None:
            return []
        existing = set(
            session.scalars(select(Document.filename).where(Document.parent_id == parent.id)).all()
        )
        created: list[DocumentVersion] = []
        for index, att in enumerate(result.attachments, start=1):
            name = _attachment_name(att.filename, index)
            fmt = detect_format(b"", full=att.data)
            if name in existing or fmt is None or fmt.kind == "zip":
                continue
            created.append(self._store_attachment(session, parent, version, name, att.data, fmt))
        return created

    def _store_attachment(
        self, session: Session, parent: Document, version: DocumentVersion, name: str, data: bytes, fmt: Any
    ) -> DocumentVersion:
        import hashlib
        import io

        sha = hashlib.sha256(data).hexdigest()
        key = blob_key(sha)
        self.rt.store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
        child = Document(
            organization_id=parent.organization_id,
            matter_id=parent.matter_id,
            parent_id=parent.id,
            filename=name,
            path=parent.path,
            kind=fmt.kind,
            status=ProcessingStatus.queued.value,
        )
        session.add(child)
        session.flush()
        child_version = DocumentVersion(
            document_id=child.id,
            organization_id=parent.organization_id,
            matter_id=parent.matter_id,
            number=1,
            sha256=sha,
            size_bytes=len(data),
            kind=fmt.kind,
            media_type=fmt.media_type,
            blob_key=key,
            request_id=version.request_id,
        )
        session.add(child_version)
        session.flush()
        child.current_version_id = child_version.id
        return child_version

    def _fail(self, version: DocumentVersion, me: str, reason: str, code: str) -> None:
        with transaction(self.rt.sessions) as session:
            if not _still_ours(session, version.id, me):
                return
            session.execute(
                update(DocumentVersion)
                .where(DocumentVersion.id == version.id)
                .values(
                    status=ProcessingStatus.failed.value,
                    failure_reason=reason,
                    lease_owner=None,
                    lease_expires_at=None,
                    processed_at=utcnow(),
                )
            )
            _set_document_status(session, version, ProcessingStatus.failed.value)
            record_event(session, version.id, "extract", "failed", me, reason)
        metrics.EXTRACTION_FAILURES.labels(code).inc()
        metrics.DOCUMENTS_PROCESSED.labels("failed").inc()
        log.warning("job.failed", reason=reason, code=code)

    def _release(self, version: DocumentVersion, me: str, exc: BaseException) -> None:
        try:
            with transaction(self.rt.sessions) as session:
                session.execute(
                    update(DocumentVersion)
                    .where(DocumentVersion.id == version.id, DocumentVersion.lease_owner == me)
                    .values(status=ProcessingStatus.queued.value, lease_owner=None, lease_expires_at=None)
                )
                _set_document_status(session, version, ProcessingStatus.queued.value)
                record_event(session, version.id, "job", "retry", me, f"{type(exc).__name__}: {exc}"[:500])
        except Exception as release_error:  # noqa: BLE001 - the lease then simply expires
            log.warning("job.release_failed", error=str(release_error))

    def fail_after_retries(self, version_id: str, reason: str) -> None:
        """Called when transient errors exhausted the retries: give the user a reason, not a spinner."""
        with transaction(self.rt.sessions) as session:
            version = session.get(DocumentVersion, version_id)
            if version is None or version.status in (
                ProcessingStatus.ready.value,
                ProcessingStatus.failed.value,
            ):
                return
            version.status = ProcessingStatus.failed.value
            version.failure_reason = reason
            version.lease_owner = None
            version.lease_expires_at = None
            _set_document_status(session, version, ProcessingStatus.failed.value)
            record_event(session, version_id, "job", "failed", worker_identity(), reason)
        metrics.DOCUMENTS_PROCESSED.labels("failed").inc()


def _still_ours(session: Session, version_id: str, me: str) -> bool:
    """Lock the version row and check our lease; the rest of the transaction then owns it."""
    renewed = session.execute(
        update(DocumentVersion)
        .where(
            DocumentVersion.id == version_id,
            DocumentVersion.lease_owner == me,
            DocumentVersion.status == ProcessingStatus.processing.value,
        )
        .values(lease_owner=me)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(renewed) == 1


def _rowcount(result: Any) -> int:
    count: int = result.rowcount
    return count


def _set_document_status(session: Session, version: DocumentVersion, status: str) -> None:
    session.execute(
        update(Document)
        .where(Document.id == version.document_id, Document.current_version_id == version.id)
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _attachment_name(filename: str, index: int) -> str:
    from legalai.documents.intake import sanitize_filename

    return sanitize_filename(filename or "", default=f"attachment-{index}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def release_leases(session: Session) -> int:
    """Free every processing lease: only for a single process that knows no other worker exists
    (the in-process worker at start-up), so its own interrupted jobs restart at once."""
    result = session.execute(
        update(DocumentVersion)
        .where(DocumentVersion.status == ProcessingStatus.processing.value)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def stale_versions(session: Session, queued_before: datetime | None = None) -> list[tuple[str, str, str]]:
    """Versions whose message is probably lost (a crash): queued since before ``queued_before``
    (every queued one if None), or processing under an expired (or released) lease.
    (version id, organization, matter)."""
    now = utcnow()
    queued = DocumentVersion.status == ProcessingStatus.queued.value
    if queued_before is not None:
        queued = queued & or_(
            DocumentVersion.updated_at < queued_before,
            DocumentVersion.updated_at.is_(None) & (DocumentVersion.created_at < queued_before),
        )
    cond = or_(
        queued,
        (DocumentVersion.status == ProcessingStatus.processing.value)
        & or_(DocumentVersion.lease_expires_at.is_(None), DocumentVersion.lease_expires_at < now),
    )
    rows = session.execute(
        select(DocumentVersion.id, DocumentVersion.organization_id, DocumentVersion.matter_id)
        .where(cond)
        .order_by(DocumentVersion.created_at)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]
