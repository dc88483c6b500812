"""Running, storing and refreshing analyses; organizations' playbooks.

An analysis is computed in the processing job right after extraction (outside any transaction)
and stored with the document version in the job's final transaction. A failing analysis never
fails the document: it is stored as ``failed`` with its reason. ``reanalyze_matter`` marks the
out-of-date analyses of a matter ``queued`` and enqueues one ``documents.analyze`` job each;
progress is read back from the database (``matter_progress``), and the worker's sweeper
re-enqueues queued analyses after a crash, so nothing is lost.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.analysis.models import AnalysisStatus, DocumentAnalysis, StoredPlaybook
from legalai.analysis.pipeline import Analyzers, PageText, analyze_pages, load_clause_model
from legalai.analysis.repository import AnalysisRepository
from legalai.documents.models import Document, DocumentVersion, Page, ProcessingStatus
from legalai.kit.db import after_commit, utcnow
from legalai.kit.errors import InvalidInput, NotFound
from legalai.observability.logging import get_logger

log = get_logger(__name__)


def fingerprint(versions: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class AnalysisOutcome:
    status: str
    result: dict[str, Any] | None
    error: str | None
    versions: dict[str, Any]
    playbook_id: str | None
    duration_ms: float

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.versions)


class AnalysisService:
    """Per-process: the clause model is loaded once, parsed playbooks are cached by content."""

    def __init__(self, max_chars: int, enabled: bool = True) -> None:
        self.max_chars = max_chars
        self.enabled = enabled
        self._playbooks: dict[str, Any] = {}
        self._lock = threading.Lock()

    # ---- playbooks ------------------------------------------------------------------------------

    def _parse(self, source: str) -> Any:
        from legalai.analysis.playbooks import load_playbook

        key = hashlib.sha256(source.encode()).hexdigest()
        with self._lock:
            cached = self._playbooks.get(key)
        if cached is None:
            cached = load_playbook(source)
            with self._lock:
                self._playbooks[key] = cached
        return cached

    def analyzers(self, session: Session, organization_id: str) -> tuple[Analyzers, str | None]:
        """The clause model and the organization's active playbook (the default one if none)."""
        from legalai.analysis.playbooks import default_playbook

        stored = active_playbook(session, organization_id)
        playbook = self._parse(stored.source) if stored is not None else default_playbook()
        model, problems = load_clause_model()
        return Analyzers(clause_model=model, playbook=playbook, problems=problems), (
            stored.id if stored is not None else None
        )

    def current_fingerprint(self, session: Session, organization_id: str) -> str:
        analyzers, _id = self.analyzers(session, organization_id)
        return fingerprint(analyzers.versions)

    # ---- computing ------------------------------------------------------------------------------

    def compute(self, session: Session, organization_id: str, pages: Sequence[PageText]) -> AnalysisOutcome:
        started = time.perf_counter()
        versions: dict[str, Any] = {}
        playbook_id: str | None = None
        try:
            analyzers, playbook_id = self.analyzers(session, organization_id)
            versions = analyzers.versions
            result = analyze_pages(pages, analyzers, max_chars=self.max_chars)
        except Exception as exc:  # noqa: BLE001 - stored as a failed analysis, the document stays ready
            log.warning("analysis.failed", error=f"{type(exc).__name__}: {exc}")
            return AnalysisOutcome(
                AnalysisStatus.failed,
                None,
                f"The analysis failed: {type(exc).__name__}: {exc}"[:1000],
                versions,
                playbook_id,
                _ms(started),
            )
        return AnalysisOutcome(AnalysisStatus.ready, result, None, versions, playbook_id, _ms(started))

    def store(self, session: Session, version: DocumentVersion, outcome: AnalysisOutcome) -> None:
        row = session.scalar(select(DocumentAnalysis).where(DocumentAnalysis.version_id == version.id))
        if row is None:
            row = DocumentAnalysis(
                version_id=version.id,
                document_id=version.document_id,
                organization_id=version.organization_id,
                matter_id=version.matter_id,
                attempts=0,
            )
            session.add(row)
        row.status = outcome.status
        row.result = outcome.result
        row.error = outcome.error
        row.versions = outcome.versions
        row.fingerprint = outcome.fingerprint
        row.playbook_id = outcome.playbook_id
        row.duration_ms = outcome.duration_ms
        row.attempts = (row.attempts or 0) + 1
        row.updated_at = utcnow()
        session.flush()

    def analyze_version(self, session: Session, version_id: str) -> str:
        """The re-analysis job's body: recompute from the stored pages. Returns the new status."""
        version = session.get(DocumentVersion, version_id)
        if version is None or version.status != ProcessingStatus.ready.value:
            return "gone"
        row = session.scalar(select(DocumentAnalysis).where(DocumentAnalysis.version_id == version_id))
        if row is not None and row.status != AnalysisStatus.queued:
            return "done"  # a duplicate delivery: another job already refreshed it
        pages = [
            PageText(number, text)
            for number, text in session.execute(
                select(Page.number, Page.text).where(Page.version_id == version_id).order_by(Page.number)
            ).all()
        ]
        outcome = self.compute(session, version.organization_id, pages)
        self.store(session, version, outcome)
        return outcome.status


def active_playbook(session: Session, organization_id: str) -> StoredPlaybook | None:
    return session.scalar(
        select(StoredPlaybook)
        .where(StoredPlaybook.organization_id == organization_id, StoredPlaybook.active.is_(True))
        .order_by(StoredPlaybook.created_at.desc())
        .limit(1)
    )


def get_analysis(
    session: Session, principal: Principal, document_id: str
) -> tuple[Document, DocumentAnalysis]:
    from legalai.documents.repository import DocumentRepository

    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)
    if doc.current_version_id is None:
        raise NotFound("This document has no content yet")
    row = AnalysisRepository(session, principal).for_document(doc.id)
    if row is None:
        if doc.status in (ProcessingStatus.queued.value, ProcessingStatus.processing.value):
            raise NotFound("The document is still being processed; its analysis is not ready yet")
        raise NotFound("This document has no analysis (it failed to process, or analysis is switched off)")
    return doc, row


# ---- re-analysis of a matter ------------------------------------------------------------------------


@dataclass
class Progress:
    total: int  # ready documents (current versions) in the matter
    up_to_date: int  # analyzed with the running analyzer, model and playbook
    queued: int
    failed: int
    outdated: int  # analyzed with something older (or never): what reanalyze would refresh

    def as_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "up_to_date": self.up_to_date,
            "queued": self.queued,
            "failed": self.failed,
            "outdated": self.outdated,
        }


def _current_versions(matter_id: str, organization_id: str) -> Any:
    return (
        select(DocumentVersion.id)
        .join(Document, Document.current_version_id == DocumentVersion.id)
        .where(
            Document.matter_id == matter_id,
            Document.organization_id == organization_id,
            DocumentVersion.status == ProcessingStatus.ready.value,
        )
    )


def matter_progress(
    session: Session, service: AnalysisService, organization_id: str, matter_id: str
) -> Progress:
    current = service.current_fingerprint(session, organization_id)
    versions = _current_versions(matter_id, organization_id).subquery()
    total = session.scalar(select(func.count()).select_from(versions)) or 0
    rows = session.execute(
        select(DocumentAnalysis.status, DocumentAnalysis.fingerprint, func.count())
        .where(DocumentAnalysis.version_id.in_(select(versions.c.id)))
        .group_by(DocumentAnalysis.status, DocumentAnalysis.fingerprint)
    ).all()
    up_to_date = queued = failed = 0
    for status, row_fingerprint, count in rows:
        is_current = row_fingerprint == current
        if status == AnalysisStatus.queued:
            queued += count
        elif status == AnalysisStatus.failed and is_current:
            failed += count
        elif status == AnalysisStatus.ready and is_current:
            up_to_date += count
    return Progress(total, up_to_date, queued, failed, total - up_to_date - queued - failed)


def reanalyze_matter(
    session: Session,
    service: AnalysisService,
    organization_id: str,
    matter_id: str,
    send: Callable[[str, str, str], None],
    *,
    force: bool = False,
) -> list[str]:
    """Mark the matter's out-of-date analyses queued and enqueue them after commit.

    With ``force`` every ready document is re-analyzed. Returns the version ids queued.
    """
    if not service.enabled:
        raise InvalidInput("Analysis is switched off on this server (LEGALAI_ANALYSIS_ENABLED=false)")
    current = service.current_fingerprint(session, organization_id)
    version_ids = list(session.scalars(_current_versions(matter_id, organization_id)).all())
    existing = {
        row.version_id: row
        for row in session.scalars(
            select(DocumentAnalysis).where(DocumentAnalysis.version_id.in_(version_ids))
        ).all()
    }
    queued: list[str] = []
    for version_id in version_ids:
        row = existing.get(version_id)
        if row is not None and row.status == AnalysisStatus.queued:
            queued.append(version_id)  # already waiting; sent again, the job is idempotent
            continue
        if (
            row is not None
            and not force
            and row.fingerprint == current
            and row.status == AnalysisStatus.ready
        ):
            continue
        if row is None:
            version = session.get(DocumentVersion, version_id)
            assert version is not None
            session.add(
                DocumentAnalysis(
                    version_id=version_id,
                    document_id=version.document_id,
                    organization_id=organization_id,
                    matter_id=matter_id,
                    status=AnalysisStatus.queued,
                    versions={},
                    fingerprint="",
                    attempts=0,
                )
            )
        else:
            session.execute(
                update(DocumentAnalysis)
                .where(DocumentAnalysis.id == row.id)
                .values(status=AnalysisStatus.queued, updated_at=utcnow())
            )
        queued.append(version_id)
    session.flush()
    for version_id in queued:
        after_commit(session, functools.partial(send, version_id, organization_id, matter_id))
    return queued


def queued_analyses(session: Session, waiting_since: datetime | None = None) -> list[tuple[str, str, str]]:
    """Analyses waiting for a job (queued before ``waiting_since`` if given: probably lost)."""
    stmt = select(
        DocumentAnalysis.version_id, DocumentAnalysis.organization_id, DocumentAnalysis.matter_id
    ).where(DocumentAnalysis.status == AnalysisStatus.queued)
    if waiting_since is not None:
        stmt = stmt.where(DocumentAnalysis.updated_at < waiting_since)
    rows = session.execute(stmt).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
