"""Everything a process needs, built once from Settings and passed down (API, worker, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.access import PrincipalCache
from legalai.accounts.principal import Principal
from legalai.accounts.usage import UsageRecorder
from legalai.ai.gateway import AIGateway, build_gateway
from legalai.analysis.isolated import AnalysisPool
from legalai.analysis.service import AnalysisService
from legalai.ask.service import AskService
from legalai.audit.chainer import AuditChainer
from legalai.documents.extraction.ooxml import ExpansionLimits
from legalai.documents.extraction.registry import ExtractionOptions
from legalai.documents.extraction.sandbox import Sandbox
from legalai.documents.intake import ArchiveLimits
from legalai.documents.models import DocumentVersion
from legalai.documents.service import IntakeContext
from legalai.kit.db import make_engine, make_sessionmaker
from legalai.observability import metrics
from legalai.retrieval.service import RetrievalService
from legalai.settings import Settings
from legalai.storage import BlobStore, build_blob_store
from legalai.worker import JobQueue


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    sandbox: Sandbox
    scratch: Path
    analysis: AnalysisService
    retrieval: RetrievalService
    usage: UsageRecorder = field(init=False)
    principals: PrincipalCache = field(init=False)
    queue: JobQueue = field(init=False)
    ai: AIGateway = field(init=False)
    _ask: AskService | None = field(init=False, default=None)
    audit_chainer: AuditChainer | None = field(init=False, default=None)

    @property
    def archive_limits(self) -> ArchiveLimits:
        s = self.settings
        return ArchiveLimits(
            max_entries=s.max_archive_entries,
            max_total_bytes=s.max_archive_total_bytes,
            max_ratio=s.max_archive_ratio,
            max_file_bytes=s.max_upload_bytes,
        )

    def intake(self, session: Session, principal: Principal, request_id: str | None = None) -> IntakeContext:
        """What document intake needs from this process, for one unit of work."""
        return IntakeContext(
            session=session,
            principal=principal,
            store=self.store,
            enqueue=self.queue.enqueue,
            limits=self.archive_limits,
            scratch=self.scratch,
            request_id=request_id,
        )

    def count_versions_by_state(self) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(
                select(DocumentVersion.status, func.count()).group_by(DocumentVersion.status)
            ).all()
        return {status: count for status, count in rows}

    @property
    def ask(self) -> AskService:
        """Question answering over matters (built on first use: it loads the retrieval models)."""
        if self._ask is None:
            self._ask = AskService(self.retrieval, self.ai)
        return self._ask

    def start_audit_chainer(self) -> bool:
        """Link pending audit events in the background (every process that records them runs one).
        Returns False if it was running already."""
        if self.audit_chainer is not None:
            return False
        s = self.settings
        self.audit_chainer = AuditChainer(
            self.engine, interval_seconds=s.audit_chain_interval_seconds, batch_size=s.audit_chain_batch_size
        )
        self.audit_chainer.start()
        return True

    def stop_audit_chainer(self) -> None:
        """Stop the chainer promptly, chaining what is pending one last time."""
        chainer, self.audit_chainer = self.audit_chainer, None
        if chainer is not None:
            chainer.stop()

    def close(self) -> None:
        self.usage.stop()
        self.queue.stop()
        self.stop_audit_chainer()  # after the worker threads, which may still record events
        self.analysis.close()
        self.ai.close()
        self.engine.dispose()


def build_runtime(settings: Settings) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    scratch = (settings.data_dir / "tmp").resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url, limits=settings.database_limits())
    sandbox = Sandbox(
        timeout_seconds=settings.extraction_timeout_seconds,
        cpu_seconds=settings.extraction_cpu_seconds,
        memory_mb=settings.extraction_memory_mb,
        options=ExtractionOptions(
            ocr_languages=settings.ocr_languages,
            ocr_dpi=settings.ocr_dpi,
            ocr_min_chars=settings.ocr_min_chars_per_page,
            package_limits=ExpansionLimits(
                max_entries=settings.max_archive_entries,
                max_total_bytes=settings.max_archive_total_bytes,
                max_ratio=settings.max_archive_ratio,
            ),
        ),
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=build_blob_store(settings),
        sandbox=sandbox,
        scratch=scratch,
        analysis=AnalysisService(
            settings.analysis_max_chars,
            enabled=settings.analysis_enabled,
            pool=(
                AnalysisPool() if settings.analysis_enabled and settings.effective_analysis_isolated else None
            ),
        ),
        retrieval=RetrievalService.from_settings(settings),
    )
    runtime.usage = UsageRecorder(runtime.sessions)
    runtime.principals = PrincipalCache(max_age=settings.principal_cache_seconds)
    runtime.queue = JobQueue(settings, runtime)
    runtime.ai = build_gateway(
        settings,
        runtime.sessions,
        offline_embedder=lambda texts: runtime.retrieval.embedder().embed(texts).tolist(),
    )
    metrics.install_job_state_collector(runtime.count_versions_by_state)
    return runtime
