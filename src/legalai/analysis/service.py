"""Running, storing and refreshing analyses; organizations' playbooks.

An analysis is the ``analysis`` stage of a version (``legalai.documents.stages``): a job of its
own, sent when the version becomes ready (searchable), computed outside any transaction and stored
(``AnalysisService.store``) in the stage's finishing transaction. A failing analysis never fails
the document: it is stored as ``failed`` with its reason. ``reanalyze_matter`` puts the analysis
stage of a matter's out-of-date versions back to ``pending`` and enqueues one ``documents.analyze``
job each; progress is read back from the database (``matter_progress``), and the worker's sweeper
re-enqueues pending stages after a crash, so nothing is lost.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.analysis.isolated import AnalysisPool
from legalai.analysis.models import AnalysisStatus, DocumentAnalysis, StoredPlaybook
from legalai.analysis.pipeline import Analyzers, PageText, analyze_pages, load_clause_model
from legalai.analysis.repository import AnalysisRepository
from legalai.documents.models import (
    Document,
    DocumentVersion,
    ProcessingStatus,
    Stage,
    StageStatus,
    VersionStage,
)
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

    def __init__(self, max_chars: int, enabled: bool = True, pool: AnalysisPool | None = None) -> None:
        self.max_chars = max_chars
        self.enabled = enabled
        # When set, analyses are computed in a child process (``legalai.analysis.isolated``).
        self.pool = pool
        self._playbooks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

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
        analyzers, stored = self._analyzers(session, organization_id)
        return analyzers, stored.id if stored is not None else None

    def _analyzers(self, session: Session, organization_id: str) -> tuple[Analyzers, StoredPlaybook | None]:
        from legalai.analysis.playbooks import default_playbook

        stored = active_playbook(session, organization_id)
        playbook = self._parse(stored.source) if stored is not None else default_playbook()
        model, problems = load_clause_model()
        return Analyzers(clause_model=model, playbook=playbook, problems=problems), stored

    def current_fingerprint(self, session: Session, organization_id: str) -> str:
        analyzers, _id = self.analyzers(session, organization_id)
        return fingerprint(analyzers.versions)

    # ---- computing ------------------------------------------------------------------------------

    def compute(self, session: Session, organization_id: str, pages: Sequence[PageText]) -> AnalysisOutcome:
        started = time.perf_counter()
        versions: dict[str, Any] = {}
        playbook_id: str | None = None
        try:
            analyzers, stored = self._analyzers(session, organization_id)
            playbook_id = stored.id if stored is not None else None
            versions = analyzers.versions
            if self.pool is not None:
                source = stored.source if stored is not None else None
                result = self.pool.analyze(source, pages, self.max_chars)
            else:
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


def active_playbook(session: Session, organization_id: str) -> StoredPlaybook | None:
    return session.scalar(
        select(StoredPlaybook)
        .where(StoredPlaybook.organization_id == organization_id, StoredPlaybook.active.is_(True))
        .order_by(StoredPlaybook.created_at.desc())
        .limit(1)
    )


UNFINISHED = (StageStatus.pending.value, StageStatus.running.value)


@dataclass
class AnalysisState:
    """What is known about the analysis of a document's current version."""

    row: DocumentAnalysis | None  # the stored result (possibly a previous one during a re-analysis)
    stage: str | None  # pending, running, done, failed, skipped (None: nothing recorded)
    stage_error: str | None = None

    @property
    def status(self) -> str:
        """``pending`` or ``running`` while the analysis stage has not finished (a stored earlier
        result, if any, is still served with it); else the stored result's ``ready``/``failed``."""
        if self.stage in UNFINISHED:
            return self.stage
        if self.row is not None:
            return self.row.status
        return AnalysisStatus.failed


def analysis_state(session: Session, principal: Principal, doc: Document) -> AnalysisState | None:
    """The analysis state of ``doc``'s current version, or None if there is none and none will come
    (the document failed to process, analysis is switched off or was skipped)."""
    if doc.current_version_id is None:
        return None
    row = AnalysisRepository(session, principal).for_document(doc.id)
    stage = session.get(VersionStage, (doc.current_version_id, Stage.analysis.value))
    if doc.status in (ProcessingStatus.queued.value, ProcessingStatus.processing.value):
        return AnalysisState(row, StageStatus.pending.value)
    if stage is None:
        return AnalysisState(row, None) if row is not None else None
    if row is None and stage.status not in (*UNFINISHED, StageStatus.failed.value):
        return None
    return AnalysisState(row, stage.status, stage.error)


def get_analysis(session: Session, principal: Principal, document_id: str) -> tuple[Document, AnalysisState]:
    from legalai.documents.repository import DocumentRepository

    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)
    if doc.current_version_id is None:
        raise NotFound("This document has no content yet")
    state = analysis_state(session, principal, doc)
    if state is None:
        raise NotFound("This document has no analysis (it failed to process, or analysis is switched off)")
    return doc, state


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
        select(VersionStage.status, DocumentAnalysis.status, DocumentAnalysis.fingerprint, func.count())
        .select_from(versions)
        .outerjoin(
            VersionStage,
            (VersionStage.version_id == versions.c.id) & (VersionStage.stage == Stage.analysis.value),
        )
        .outerjoin(DocumentAnalysis, DocumentAnalysis.version_id == versions.c.id)
        .group_by(VersionStage.status, DocumentAnalysis.status, DocumentAnalysis.fingerprint)
    ).all()
    up_to_date = queued = failed = 0
    for stage_status, status, row_fingerprint, count in rows:
        is_current = row_fingerprint == current
        if stage_status in UNFINISHED:
            queued += count  # pending or running: the analysis stage has not finished
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
    """Put the analysis stage of the matter's out-of-date versions back to pending and enqueue them
    after commit. With ``force`` every ready document is re-analyzed. Returns the version ids
    queued."""
    from legalai.documents.stages import mark_pending

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
    stages = {
        row.version_id: row.status
        for row in session.scalars(
            select(VersionStage).where(
                VersionStage.version_id.in_(version_ids), VersionStage.stage == Stage.analysis.value
            )
        ).all()
    }
    queued: list[str] = []
    for version_id in version_ids:
        row = existing.get(version_id)
        if stages.get(version_id) == StageStatus.pending.value:
            queued.append(version_id)  # already waiting; sent again, the job is idempotent
            continue
        if (
            row is not None
            and not force
            and row.fingerprint == current
            and row.status == AnalysisStatus.ready
            and stages.get(version_id) != StageStatus.running.value
        ):
            continue
        version = session.get(DocumentVersion, version_id)
        assert version is not None
        # A run in progress (with what may be the old playbook) loses its lease: the new job counts.
        mark_pending(session, version, Stage.analysis.value)
        queued.append(version_id)
    session.flush()
    for version_id in queued:
        after_commit(session, functools.partial(send, version_id, organization_id, matter_id))
    return queued


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
