"""The job queue (Dramatiq): a Redis broker when LEGALAI_REDIS_URL is set, an in-process broker and
worker threads otherwise.

Two queues: ``documents`` (extraction to searchable, ``documents.process``) and ``followup``
(the analysis and embedding stages of ready versions, AI summaries). Both are consumed by the same
workers (``legalai worker`` and the in-process one); follow-up actors have a lower priority, so a
worker always takes waiting extraction first and a backlog of analyses never delays searchability.

Messages carry only ids (version, organization, matter) and the request id. The database status is
the truth: on start-up and then periodically, work whose message is probably lost (a crash) is
enqueued again: versions and stages queued for longer than ``sweep_grace_seconds``, or left
processing/running under an expired lease. At start-up of the single in-process worker every
unfinished job is sent again. Claims make a duplicate harmless: it finds the work finished, or
under another worker's live lease and ends quietly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import QueueJoinTimeout
from dramatiq.middleware import CurrentMessage
from sqlalchemy import func, select

from legalai.ask.summary import pending_summaries
from legalai.documents.models import DocumentVersion, ProcessingEvent, Stage
from legalai.documents.stages import StageRunner, release_stage_leases, stale_stages
from legalai.documents.tasks import (
    DocumentProcessor,
    PermanentJobError,
    TransientJobError,
    release_leases,
    stale_versions,
    worker_identity,
)
from legalai.kit.db import refresh_planner_statistics, transaction, utcnow
from legalai.kit.unavailable import classify_unavailable
from legalai.observability.logging import bound_contextvars, get_logger
from legalai.settings import Settings
from legalai.storage.protocol import BlobCorrupted, BlobNotFound, StorageError

log = get_logger(__name__)

QUEUE = "documents"
FOLLOWUP_QUEUE = "followup"
QUEUES = (QUEUE, FOLLOWUP_QUEUE)
# Dramatiq takes the lowest number first from the messages a worker holds.
PRIORITY_PROCESS = 0
PRIORITY_EMBED = 10
PRIORITY_ANALYZE = 20
PRIORITY_SUMMARY = 30


def is_outage(exc: BaseException) -> bool:
    """Whether a job failed because a dependency is down or saturated (the database, Redis, S3),
    not because of the document. Such a job is not marked failed when its retries are spent,
    until ``job_outage_grace_seconds`` after its first failure: the message is dropped, the version
    was given back as ``queued`` (or its lease expires) and the sweeper sends it again."""
    if isinstance(exc, TransientJobError):
        return True
    if isinstance(exc, StorageError) and not isinstance(exc, BlobNotFound | BlobCorrupted):
        return True
    return classify_unavailable(exc) is not None


def make_broker(settings: Settings) -> dramatiq.Broker:
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            namespace=settings.redis_namespace,
            heartbeat_timeout=settings.redis_heartbeat_timeout_ms,
            maintenance_chance=settings.redis_maintenance_chance,
        )
    else:
        broker = StubBroker()
    broker.add_middleware(CurrentMessage())
    return broker


# How long a job that waits out a dependency outage pauses before its next round of attempts.
OUTAGE_RESEND_MAX_MS = 15_000


class JobQueue:
    def __init__(self, settings: Settings, runtime: Any) -> None:
        self.settings = settings
        self.broker = make_broker(settings)
        self.processor = DocumentProcessor(runtime, self.enqueue, self.send_stage)
        self.stages = StageRunner(runtime)
        self._worker: dramatiq.Worker | None = None
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()
        document_jobs = {
            "max_retries": settings.job_max_retries,
            "min_backoff": settings.job_min_backoff_ms,
            "max_backoff": settings.job_max_backoff_ms,
            "throws": (PermanentJobError,),
        }
        self.process_document = self._actor(
            self._run,
            "documents.process",
            QUEUE,
            PRIORITY_PROCESS,
            time_limit=int((settings.extraction_timeout_seconds + 600) * 1000),
            **document_jobs,
        )
        # The analysis stage (after processing, and re-analysis) and the embedding stage.
        self.analyze_document = self._actor(
            self._analyze,
            "documents.analyze",
            FOLLOWUP_QUEUE,
            PRIORITY_ANALYZE,
            time_limit=3_600_000,
            **document_jobs,
        )
        self.embed_document = self._actor(
            self._embed,
            "documents.embed",
            FOLLOWUP_QUEUE,
            PRIORITY_EMBED,
            time_limit=3_600_000,
            **document_jobs,
        )
        self.summarize_document = self._actor(
            self._summarize,
            "documents.ai_summary",
            FOLLOWUP_QUEUE,
            PRIORITY_SUMMARY,
            max_retries=settings.ai_job_max_retries,
            min_backoff=settings.ai_job_min_backoff_ms,
            max_backoff=settings.ai_job_max_backoff_ms,
            time_limit=int((settings.ai_timeout_seconds * settings.ai_max_attempts * 3 + 120) * 1000),
        )

    def _actor(
        self, fn: Callable[..., None], name: str, queue: str, priority: int, **options: Any
    ) -> dramatiq.Actor[..., None]:
        actor: dramatiq.Actor[..., None] = dramatiq.actor(  # type: ignore[call-overload]
            fn, broker=self.broker, actor_name=name, queue_name=queue, priority=priority, **options
        )
        return actor

    # ---- producing ------------------------------------------------------------------------------

    def enqueue(self, version: DocumentVersion) -> None:
        self.send(version.id, version.organization_id, version.matter_id, version.request_id)

    def send(
        self, version_id: str, organization_id: str, matter_id: str, request_id: str | None = None
    ) -> None:
        self.process_document.send(version_id, organization_id, matter_id, request_id)

    def send_analysis(self, version_id: str, organization_id: str, matter_id: str) -> None:
        self.analyze_document.send(version_id, organization_id, matter_id)

    def send_stage(self, stage: str, version_id: str, organization_id: str, matter_id: str) -> None:
        actor = self.analyze_document if stage == Stage.analysis.value else self.embed_document
        actor.send(version_id, organization_id, matter_id)

    def send_summary(self, version_id: str) -> None:
        self.summarize_document.send(version_id)

    # ---- consuming ------------------------------------------------------------------------------

    def _summarize(self, version_id: str) -> None:
        """An AI summary; raises (so Dramatiq retries with backoff) while providers are down."""
        from legalai.ask.summary import run_summary

        with bound_contextvars(job="documents.ai_summary", version_id=version_id):
            status = run_summary(self.processor.rt, version_id)
        log.info("summary.done", status=status)

    def _analyze(self, version_id: str, organization_id: str, matter_id: str) -> None:
        """The analysis stage of one ready version (after processing, or a re-analysis)."""
        self._stage(Stage.analysis.value, version_id, matter_id)

    def _embed(self, version_id: str, organization_id: str, matter_id: str) -> None:
        """The embedding stage: dense vectors of the version's chunks."""
        self._stage(Stage.embedding.value, version_id, matter_id)

    def _stage(self, stage: str, version_id: str, matter_id: str) -> None:
        with bound_contextvars(job=f"stage.{stage}", version_id=version_id, matter_id=matter_id):
            try:
                status = self.stages.run(stage, version_id, worker_identity())
            except PermanentJobError:
                raise
            except Exception as exc:
                message = CurrentMessage.get_current_message()
                retries = message.options.get("retries", 0) if message else 0
                if retries >= self.settings.job_max_retries:
                    self.stages.fail_after_retries(
                        stage, version_id, f"The {stage} stage failed after {retries + 1} attempts: {exc}"
                    )
                    raise PermanentJobError(str(exc)) from exc
                log.warning("stage.retry", error=str(exc), retries=retries)
                raise
        log.info("stage.job_done", status=status)

    def _run(self, version_id: str, organization_id: str, matter_id: str, request_id: str | None) -> None:
        with bound_contextvars(request_id=request_id, job="documents.process"):
            try:
                self.processor.process(version_id, organization_id, matter_id)
            except PermanentJobError:
                raise
            except Exception as exc:
                message = CurrentMessage.get_current_message()
                retries = message.options.get("retries", 0) if message else 0
                if retries >= self.settings.job_max_retries and not isinstance(exc, TransientJobError):
                    if is_outage(exc) and self._waits_for_outage(version_id):
                        # A dependency is down: this message is spent, so send a fresh one after a
                        # pause instead of waiting for the sweeper's grace (the job lease, minutes).
                        log.warning("job.waiting_for_dependency", error=str(exc)[:300], retries=retries)
                        self._resend_later(version_id, organization_id, matter_id, request_id)
                        return
                    self.processor.fail_after_retries(
                        version_id, f"Processing failed after {retries + 1} attempts: {exc}"
                    )
                    raise PermanentJobError(str(exc)) from exc
                log.warning("job.retry", error=str(exc), retries=retries)
                raise

    def _resend_later(
        self, version_id: str, organization_id: str, matter_id: str, request_id: str | None
    ) -> None:
        delay_ms = min(self.settings.job_max_backoff_ms, OUTAGE_RESEND_MAX_MS)
        try:
            self.process_document.send_with_options(
                args=(version_id, organization_id, matter_id, request_id), delay=delay_ms
            )
        except Exception as exc:  # noqa: BLE001 - the broker is down too: the sweeper resends it later
            log.warning("job.resend_failed", error=f"{type(exc).__name__}: {exc}"[:300])

    def _waits_for_outage(self, version_id: str) -> bool:
        """Whether the version's first failure for an outage is more recent than the grace."""
        grace = self.settings.job_outage_grace_seconds
        if grace <= 0:
            return False
        try:
            began = self.outage_began(version_id)
        except Exception:  # noqa: BLE001 - the database is down too: it could not be marked anyway
            return True
        return began is None or utcnow() - began < timedelta(seconds=grace)

    def outage_began(self, version_id: str) -> datetime | None:
        """When the version's job was first given back for a retry (its first transient failure)."""
        with self.processor.rt.sessions() as session:
            began: datetime | None = session.scalar(
                select(func.min(ProcessingEvent.created_at)).where(
                    ProcessingEvent.version_id == version_id,
                    ProcessingEvent.stage == "job",
                    ProcessingEvent.outcome == "retry",
                )
            )
        if began is not None and began.tzinfo is None:  # SQLite keeps no time zone
            began = began.replace(tzinfo=UTC)
        return began

    def start_worker(self, threads: int | None = None) -> None:
        self._worker = dramatiq.Worker(
            self.broker,
            queues=set(QUEUES),
            worker_threads=threads or self.settings.worker_threads,
            worker_timeout=100,
        )
        self._worker.start()

    def recover(self, *, release_own_leases: bool = False) -> int:
        """Enqueue the work the database says is unfinished and probably lost. Returns how many.

        Queued versions, pending stages and waiting summaries are sent again only once they have
        waited longer than ``sweep_grace_seconds`` (a backlog must not fill the queue with
        duplicates); processing versions and running stages once their lease has expired.

        ``release_own_leases``: this is the only worker (in-process mode, at start-up), so leases
        left by its previous run are void and every unfinished job is sent again now.
        """
        with transaction(self.processor.rt.sessions) as session:
            if release_own_leases:
                release_leases(session)
                release_stage_leases(session)
            since = (
                None
                if release_own_leases
                else utcnow() - timedelta(seconds=self.settings.effective_sweep_grace_seconds)
            )
            pending = stale_versions(session, since)
            stages = stale_stages(session, since)
            summaries = pending_summaries(session, since)
        for version_id, org, matter in pending:
            self.send(version_id, org, matter, None)
        for stage, version_id, org, matter in stages:
            self.send_stage(stage, version_id, org, matter)
        for version_id in summaries:
            self.send_summary(version_id)
        if pending or stages or summaries:
            log.info("queue.recovered", count=len(pending), stages=len(stages), summaries=len(summaries))
        return len(pending) + len(stages) + len(summaries)

    def start_sweeper(self) -> None:
        interval_seconds = self.settings.sweep_interval_seconds

        def loop() -> None:
            while not self._stop.wait(interval_seconds):
                try:
                    self.recover()
                    analyzed = refresh_planner_statistics(self.processor.rt.engine)
                    if analyzed:
                        log.info("db.analyzed", tables=analyzed)
                except Exception as exc:  # noqa: BLE001 - keep sweeping; the next round may succeed
                    log.warning("queue.sweep_failed", error=str(exc))

        self._sweeper = threading.Thread(target=loop, name="legalai-sweeper", daemon=True)
        self._sweeper.start()

    def join(self, timeout: float = 30.0) -> None:
        """Wait until the in-process queues are drained, follow-up stages included (tests, CLI).

        A processing job sends its stages when it finishes, and a stage may still be in a worker
        thread when its queue looks empty, so both queues are joined until a pass finds nothing.
        """
        if not isinstance(self.broker, StubBroker):
            return
        deadline = time.monotonic() + timeout
        while True:
            for queue in QUEUES:
                left = max(0.001, deadline - time.monotonic())
                try:
                    self.broker.join(queue, timeout=max(1, int(left * 1000)), fail_fast=False)
                except QueueJoinTimeout as exc:
                    raise TimeoutError(f"the in-process queues are not drained after {timeout} s") from exc
            if self._worker is not None:
                self._worker.join()
            if not self._unfinished():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the in-process queues are not drained after {timeout} s")

    def _unfinished(self) -> int:
        assert isinstance(self.broker, StubBroker)
        return sum(
            self.broker.queues[name].unfinished_tasks
            for queue in QUEUES
            for name in (queue, f"{queue}.DQ")
            if name in self.broker.queues
        )

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.stop(timeout=10_000)
            self._worker = None
        self.broker.close()
